"""Hand-offs between warp partitions (``gl.warp_specialize``) through shared memory.

The rules these helpers encode (PTX ISA memory model, Hopper):

* cp.async writes shared memory through the generic proxy; WGMMA reads its shared operands
  through the async proxy. A consumer that acquires a tile filled by cp.async (mbarrier wait)
  must execute ``fence.proxy.async`` before its WGMMA reads the tile: :func:`wait_async_tile`.
* A value written to shared memory with ordinary stores and read by *another* warpgroup's WGMMA
  needs the writer's ``fence.proxy.async`` after its stores, then every writing thread done (a
  partition barrier), then one release (mbarrier arrive): :func:`publish_for_wgmma`.
* Gluon's ``mbarrier.arrive`` is issued once per partition; the partition barrier before it makes
  every thread's preceding work part of that arrival: :func:`signal`.
* A cp.async arrival (``cp.async.mbarrier.arrive.noinc``) is per thread and does not raise the
  expected count: a barrier fed by ``N`` copying threads is initialised with count ``N``:
  :func:`arrive_when_copies_land`.

Phases: a barrier used once per loop iteration ``t`` completes phase ``t``; waiters pass
``t & 1``. Reusing one barrier is safe when the protocol keeps the arriving side less than one
phase ahead of every waiter (each kernel documents why its protocol does).
"""
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.ampere import async_copy
from triton.experimental.gluon.language.nvidia.hopper import fence_async_shared, mbarrier

from .compat import thread_barrier


@gluon.jit
def wait_async_tile(bar, phase):
    """Acquire a shared tile filled by cp.async (another partition) for this partition's WGMMA."""
    mbarrier.wait(bar, phase)
    fence_async_shared()


@gluon.jit
def arrive_when_copies_land(bar):
    """Every thread: arrive on ``bar`` once its cp.async copies issued so far have landed."""
    async_copy.mbarrier_arrive(bar, increment_count=False)


@gluon.jit
def signal(bar):
    """All threads of this partition are done with their preceding work: one arrive on ``bar``."""
    thread_barrier()
    mbarrier.arrive(bar, count=1)


@gluon.jit
def publish_for_wgmma(bar):
    """Shared-memory stores made by this partition become readable by another partition's WGMMA."""
    fence_async_shared()
    thread_barrier()
    mbarrier.arrive(bar, count=1)


@gluon.jit
def publish_rows(buf, values, bar):
    """Store a per-row vector (e.g. a running max) for another partition and release it."""
    buf.store(values)
    thread_barrier()
    mbarrier.arrive(bar, count=1)


@gluon.jit
def receive_rows(buf, bar, phase, layout: gl.constexpr):
    """Wait for another partition's :func:`publish_rows` and load the vector in ``layout``."""
    mbarrier.wait(bar, phase)
    return buf.load(layout)


@gluon.jit
def loop_variant(x):
    """``x`` through an opaque register move, so values derived from it are not loop-invariant.

    A WGMMA kernel that keeps its operands in fixed shared buffers has loop-invariant smem
    descriptors (one 64-bit value per 16-wide K step per operand); LLVM hoists all of them out of
    the loop and ptxas then spills them (80 descriptors = 160 registers in the sparse MLA
    consumers). Indexing the buffers with ``loop_variant(slot)`` keeps each descriptor computed
    next to its WGMMA, where ptxas moves it to a uniform register.
    """
    return gl.inline_asm_elementwise("mov.b32 $0, $1;", "=r,r", [x], dtype=gl.int32, is_pure=False, pack=1)


# Named hardware barriers between two partitions (PTX ``bar.arrive`` / ``bar.sync`` with a thread
# count): the cheapest one-way hand-off when both sides always meet in the same order. ``bar.arrive``
# does not block and releases the arriving threads' prior shared-memory writes to the threads that
# complete ``bar.sync`` on the same id. Triton numbers its own partition barriers from 0 upwards,
# so TLE kernels take ids from the top of the 16 the hardware has.
@gluon.jit
def named_barrier_arrive(bar_id: gl.constexpr, num_threads: gl.constexpr):
    gl.inline_asm_elementwise(f"bar.arrive {bar_id}, {num_threads};", "=r", [], dtype=gl.int32, is_pure=False,
                              pack=1)


@gluon.jit
def named_barrier_sync(bar_id: gl.constexpr, num_threads: gl.constexpr):
    gl.inline_asm_elementwise(f"bar.sync {bar_id}, {num_threads};", "=r", [], dtype=gl.int32, is_pure=False,
                              pack=1)
