"""Two CTAs of a cluster swap a shared-memory buffer every round (tle.gluon.cluster).

Launched with ``num_ctas=2`` (grid = number of clusters). Each round ``r``, CTA ``rank`` fills
its ``src`` with ``rank * 1000000 + r * 10000 + i``, copies it into the peer's ``dst``
(:func:`tle.gluon.cluster.copy_to_peer`, bytes counted on the peer's ``bars[0]``), waits for the
peer's copy into its own ``dst``, stores what it received to ``out`` and tells the peer that its
``dst`` may be overwritten (:func:`tle.gluon.cluster.peer_arrive` on the peer's ``bars[1]``). A
sender waits for that arrive before it rewrites ``src`` for the next round: until then its last
copy may still be reading it. So the host expects, in row ``(cluster * 2 + rank) * ROUNDS + r``,
``(1 - rank) * 1000000 + r * 10000 + i``. This is the protocol the column-split sparse MLA
design needs for its per-block exchange of partial scores (docs/perf/LOG.md, issue 12).
"""
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import mbarrier

from tle.gluon.cluster import cluster_rank, cluster_sync, copy_to_peer, peer_arrive


@gluon.jit
def cluster_exchange_kernel(out_ptr, ROUNDS: gl.constexpr, N: gl.constexpr):
    layout: gl.constexpr = gl.BlockedLayout([4], [32], [gl.num_warps()], [0], cga_layout=[[0]])
    flat: gl.constexpr = gl.SwizzledSharedLayout(1, 1, 1, [0], cga_layout=[[0]])
    src = gl.allocate_shared_memory(gl.int32, [N], flat)
    dst = gl.allocate_shared_memory(gl.int32, [N], flat)
    bar_layout: gl.constexpr = mbarrier.MBarrierLayout(cga_layout=[[0]])
    full = gl.allocate_shared_memory(gl.int64, [1], bar_layout)  # my dst is full: my expect + the peer's bytes
    free = gl.allocate_shared_memory(gl.int64, [1], bar_layout)  # the peer read its dst: my src, its dst free
    mbarrier.init(full, count=1)
    mbarrier.init(free, count=1)
    rank = gl.max(cluster_rank(), 0)
    cluster_sync()  # both CTAs' barriers exist before either side touches the other's
    offs = gl.arange(0, N, layout=layout)
    per_cta: gl.constexpr = gl.BlockedLayout([1, 4], [1, 32], [1, gl.num_warps()], [1, 0], cga_layout=[[1, 0]])
    pair_rows = gl.arange(0, 2, layout=gl.SliceLayout(1, per_cta))
    cols = gl.arange(0, N, layout=gl.SliceLayout(0, per_cta))
    for r in gl.static_range(ROUNDS):
        mbarrier.expect(full, N * 4)
        if r > 0:
            mbarrier.wait(free, (r - 1) & 1)
        src.store(rank * 1000000 + r * 10000 + offs)
        copy_to_peer(src, dst, full, N * 4, 0)
        mbarrier.wait(full, r & 1)
        # [2, N] with the CTA bit on the row: CTA `rank` owns row `rank` of its cluster's pair of
        # rows and stores it. (A tensor in the broadcast layout is one value for Triton, stored
        # by CTA 0 only; what each CTA received differs.)
        got = gl.expand_dims(dst.load(gl.SliceLayout(0, per_cta)), 0) + gl.expand_dims(pair_rows * 0, 1)
        rows = (gl.program_id(0) * 2 + gl.expand_dims(pair_rows, 1)) * ROUNDS + r
        gl.store(out_ptr + rows * N + gl.expand_dims(cols, 0), got)
        peer_arrive(free, 1)
    cluster_sync()  # no CTA leaves while a copy into or out of it may still run
