"""Cross-CTA building blocks for kernels launched as 2-CTA clusters (``num_ctas=2``).

Gluon (3.6-3.9) launches clusters but has no operation on another CTA's shared memory. These
helpers add the three a pair of CTAs needs to split one tile between them (issue 12's column
split of sparse MLA): a bulk copy from this CTA's shared memory into the peer's, completing
bytes on the peer's mbarrier (:func:`copy_to_peer`); an arrive on the peer's mbarrier
(:func:`peer_arrive`), with which a receiver tells the sender a buffer is free again; and the
cluster-wide barrier (:func:`cluster_sync`). The peer is the other CTA of the pair
(``cluster_ctarank ^ 1``); its buffer and barrier are the ones at the same shared-memory offset
as the local ones passed in, which is how distributed shared memory addresses work (``mapa``).

How they are built: the PTX these need takes shared-memory addresses, which no Gluon value
carries. Each helper emits (a) for every buffer it names, an mbarrier arrive on that buffer
that never executes (predicate false) but whose PTX operand is the buffer's address, tagged by
its count, and (b) one placeholder instruction naming the operation, its ``site`` and the
register of its predicate. :mod:`tle.gluon.cluster_lowering` (run by ``import tle`` on the PTX of
every Gluon kernel that has placeholders) replaces the placeholder with the real instructions,
using the addresses of the tagged arrives just before it. A placeholder left in the PTX (TLE
not enabled) is not an instruction: ptxas stops with its name, nothing runs wrong silently.

``site`` (a constexpr, 0-63) tells the call sites of one kernel apart; each call needs its own.
Triton 3.6 only (``SUPPORTED``): a kernel using these on 3.7+ stops at compile time with the
reason; 3.7+ Gluon has cluster barriers of its own but no bulk copy between CTAs.
Memory model: :func:`copy_to_peer` fences this partition's generic-proxy stores into ``src``
for the async proxy (the bulk copy reads through it) and waits for all of the partition's
threads before one thread issues the copy; the receiver's ``mbarrier.wait`` on ``bar`` makes the
data visible to it, as for a TMA load. A CTA must not exit while a copy into it or out of it may
still run: end the kernel with :func:`cluster_sync`.
"""
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import fence_async_shared, mbarrier

from . import cluster_lowering as _lowering
from .compat import TRITON_VERSION, reinterpret, thread_barrier

ADDRESS_TAG = gl.constexpr(_lowering.ADDRESS_TAG)
ROLE_SRC = gl.constexpr(_lowering.ROLES["src"])
ROLE_DST = gl.constexpr(_lowering.ROLES["dst"])
ROLE_BAR = gl.constexpr(_lowering.ROLES["bar"])
MAX_SITES = gl.constexpr(_lowering.MAX_SITES)
PLACEHOLDER = gl.constexpr(_lowering.PLACEHOLDER)
# Triton 3.6 only, for now: from 3.7 on, Gluon treats a barrier in a CTA-broadcast layout as one
# barrier of the cluster (its arrives go to CTA 0's copy) and 3.8/3.9 restrict reinterpreting and
# arriving on sub-views, so the address tags below would name the wrong memory or not compile.
SUPPORTED = gl.constexpr(TRITON_VERSION[:2] == (3, 6))
UNSUPPORTED_MESSAGE = gl.constexpr("tle.gluon.cluster is built for Triton 3.6's Gluon (3.7+ lower cluster "
                                   "barriers differently; docs/gluon-layer.md)")


@gluon.constexpr_function
def _holds_a_word(shape, dtype):
    """Whether a buffer of ``shape`` x ``dtype`` has at least the 8 bytes its address tag views."""
    n = dtype.primitive_bitwidth // 8
    for d in shape:
        n *= d
    return n >= 8


@gluon.jit
def _tag_address(buf, SITE: gl.constexpr, ROLE: gl.constexpr):
    gl.static_assert(SUPPORTED, UNSUPPORTED_MESSAGE)
    gl.static_assert(SITE >= 0 and SITE < MAX_SITES, "cluster op site must be in [0, 64)")
    gl.static_assert(_holds_a_word(buf.shape, buf.dtype), "a cluster buffer holds at least 8 bytes")
    if gl.num_ctas() > 1:  # a CTA-broadcast view: the same offset in each CTA
        layout: gl.constexpr = mbarrier.MBarrierLayout(cga_layout=[[0]])
    else:
        layout: gl.constexpr = mbarrier.MBarrierLayout()
    first_word = reinterpret(buf, gl.int64, [1], layout)
    mbarrier.arrive(first_word, count=ADDRESS_TAG + 4 * SITE + ROLE, pred=False)


@gluon.jit
def _one_per_thread():
    """A tensor with one element in every thread of the calling partition (element i in thread i)."""
    gl.static_assert(SUPPORTED, UNSUPPORTED_MESSAGE)
    if gl.num_ctas() > 1:
        layout: gl.constexpr = gl.BlockedLayout([1], [32], [gl.num_warps()], [0], cga_layout=[[0]])
    else:
        layout: gl.constexpr = gl.BlockedLayout([1], [32], [gl.num_warps()], [0])
    return gl.arange(0, 32 * gl.num_warps(), layout=layout)


@gluon.constexpr_function
def _placeholder_asm(op, site, arg):
    return f"{PLACEHOLDER.value}.{op}.{site}.{arg} $1;\nmov.u32 $0, 0;"


@gluon.jit
def _placeholder(OP: gl.constexpr, SITE: gl.constexpr, ARG: gl.constexpr, pred):
    """The placeholder instruction, executed by the partition's first thread when ``pred``."""
    lane = _one_per_thread()
    on = ((lane == 0) & pred).to(gl.int32)
    gl.inline_asm_elementwise(_placeholder_asm(OP, SITE, ARG), "=r,r", [on], dtype=gl.int32, is_pure=False,
                              pack=1)


@gluon.jit
def copy_to_peer(src, dst, bar, NBYTES: gl.constexpr, SITE: gl.constexpr, pred=True):
    """Copy the first ``NBYTES`` of shared buffer ``src`` into the peer CTA's ``dst``; the bytes
    complete on the peer's ``bar`` (its owner arms it with ``mbarrier.expect(bar, NBYTES)``).
    Called by every thread of a partition after it stored ``src``."""
    gl.static_assert(NBYTES % 16 == 0, "bulk copies move multiples of 16 bytes")
    fence_async_shared()
    thread_barrier()
    _tag_address(src, SITE, ROLE_SRC)
    _tag_address(dst, SITE, ROLE_DST)
    _tag_address(bar, SITE, ROLE_BAR)
    _placeholder("copy_to_peer", SITE, NBYTES, pred)


@gluon.jit
def peer_arrive(bar, SITE: gl.constexpr, pred=True):
    """One arrive (release, cluster scope) on the peer CTA's ``bar``, after all of this
    partition's threads got here."""
    thread_barrier()
    _tag_address(bar, SITE, ROLE_BAR)
    _placeholder("peer_arrive", SITE, 0, pred)


@gluon.jit
def cluster_sync():
    """Every thread of both CTAs: barrier.cluster arrive (release) + wait (acquire)."""
    lane = _one_per_thread()
    gl.inline_asm_elementwise("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n"
                              "mov.u32 $0, 0;", "=r,r", [lane], dtype=gl.int32, is_pure=False, pack=1)


@gluon.jit
def cluster_rank():
    """This CTA's rank in its cluster (0 or 1), as a tensor of the calling partition's lanes."""
    lane = _one_per_thread()
    return gl.inline_asm_elementwise("mov.u32 $0, %cluster_ctarank;", "=r,r", [lane], dtype=gl.int32,
                                     is_pure=True, pack=1)
