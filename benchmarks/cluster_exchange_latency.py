"""How long one DSMEM exchange between the two CTAs of a cluster takes (tle.gluon.cluster).

The column-split sparse MLA design (docs/perf/LOG.md, 2026-12-01 fourth session) exchanges a
64 x 64 fp32 partial score tile (16 KB) between the two CTAs of a cluster for every 64-row KV
block, on the critical path of the warpgroup that owns the block. This program measures that
exchange where it would run: every SM busy (one 2-CTA cluster per SM pair), each CTA looping
"store my tile, copy it into the peer's buffer, wait for the peer's tile, read it, tell the
peer its buffer is free". Printed: the time per round (= one exchange with its hand-shakes, the
latency a warpgroup would wait) for several tile sizes, median of interleaved rounds, and
(to compare) a round of the same loop without the copy (store + read of the local tile).

    python benchmarks/cluster_exchange_latency.py        # on the GPU machine, ~20 s
"""
from __future__ import annotations

import statistics
import sys

import torch
import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import mbarrier

import tle  # noqa: F401  (lowers the cluster placeholders)
from tle.gluon.cluster import cluster_rank, cluster_sync, copy_to_peer, peer_arrive


@gluon.jit
def _exchange_loop(out_ptr, rounds, N: gl.constexpr, COPY: gl.constexpr):
    layout: gl.constexpr = gl.BlockedLayout([4], [32], [gl.num_warps()], [0], cga_layout=[[0]])
    flat: gl.constexpr = gl.SwizzledSharedLayout(1, 1, 1, [0], cga_layout=[[0]])
    src = gl.allocate_shared_memory(gl.float32, [N], flat)
    dst = gl.allocate_shared_memory(gl.float32, [N], flat)
    bars = gl.allocate_shared_memory(gl.int64, [2, 1], mbarrier.MBarrierLayout())
    mbarrier.init(bars.index(0), count=1)
    mbarrier.init(bars.index(1), count=1)
    rank = gl.max(cluster_rank(), 0)
    cluster_sync()
    offs = gl.arange(0, N, layout=layout)
    acc = gl.zeros([N], gl.float32, layout)
    for r in range(rounds):
        if COPY:
            mbarrier.expect(bars.index(0), N * 4)
            if r > 0:
                mbarrier.wait(bars.index(1), (r - 1) & 1)
        src.store(acc + (rank + r).to(gl.float32))
        if COPY:
            copy_to_peer(src, dst, bars.index(0), N * 4, 0)
            mbarrier.wait(bars.index(0), r & 1)
            acc = acc + dst.load(layout)
            peer_arrive(bars.index(1), 1)
        else:
            gl.thread_barrier()
            acc = acc + src.load(layout)
            gl.thread_barrier()
    cluster_sync()
    gl.store(out_ptr + gl.program_id(0) * N + offs, acc)  # keeps the loop's work alive


def main() -> int:
    if not torch.cuda.is_available():
        print("needs a GPU")
        return 1
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    clusters, rounds = sms // 2, 2000
    cases = [(n, copy) for n in (1024, 2048, 4096) for copy in (True, False)]
    times = {c: [] for c in cases}
    for rep in range(7):  # interleaved
        for n, copy in cases:
            out = torch.empty(clusters, n, dtype=torch.float32, device="cuda")
            fn = lambda: _exchange_loop[(clusters,)](out, rounds, N=n, COPY=copy, num_ctas=2, num_warps=4)  # noqa: E731
            fn()
            torch.cuda.synchronize()
            t = triton.testing.do_bench(fn, warmup=5, rep=50, return_mode="median")
            times[(n, copy)].append(t * 1e3 / rounds)
    print(f"# {clusters} clusters of 2 CTAs (all {sms} SMs), {rounds} rounds a launch, 4 warps a CTA; "
          "median of 7 interleaved do_bench medians")
    print(f"{'tile bytes':>10} {'exchange round (us)':>20} {'local round (us)':>17} {'exchange - local':>17}")
    for n in (1024, 2048, 4096):
        ex, lo = statistics.median(times[(n, True)]), statistics.median(times[(n, False)])
        print(f"{n * 4:>10} {ex:>20.3f} {lo:>17.3f} {ex - lo:>17.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
