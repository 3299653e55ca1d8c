"""The sparse MLA kernel's per-row hand-off between two warp partitions, in isolation.

Two partitions of 4 warps (``gl.warp_specialize``) exchange a 64-float vector every round, the
way the warp-specialized sparse MLA kernel's consumers exchange their row-sum partials at the end
of each tile (``tle.ops.sparse_mla_ws``, epilogue): A publishes ``r * 64 + row``, B receives it
and publishes it back plus 1000, A receives that. Both store what they received, so the host can
check every round. Round ``r + 1`` reuses the same two buffers and two mbarriers (phase ``r & 1``),
which adds the write-after-read direction the kernel has across tiles.

``MODE``:
  * ``MBARRIER`` (0): ``tle.gluon.publish_rows`` / ``receive_rows``, as in the kernel (st.shared,
    partition bar.sync, one thread's mbarrier.arrive / every thread's try_wait, ld.shared);
  * ``NAMED`` (1): the same exchange on named barriers (bar.arrive / bar.sync 256), as the
    kernel's per-pair max and P hand-offs;
  * ``RACY`` (2): no synchronization at all, the positive control for a race detector (values
    not checked).

Used by ``scripts/sanitize_gpu.sh`` (compute-sanitizer) and ``test/python/test_tle_gluon.py``;
``docs/gluon-layer.md`` has the ordering argument.
"""
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import mbarrier

from tle.gluon import named_barrier_arrive, named_barrier_sync, publish_rows, receive_rows

MBARRIER, NAMED, RACY = 0, 1, 2

# the layout the kernel's row statistics live in: rows of one warpgroup's WGMMA accumulator
# (each row held by the 4 threads of a quad)
ROWS = gl.constexpr(gl.SliceLayout(1, gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                                 instr_shape=[16, 64, 16])))
_A_TO_B = gl.constexpr(12)  # named barrier ids (from the top of the 16, like the kernel's)
_B_TO_A = gl.constexpr(13)


@gluon.jit
def _side_a(buf, bars, out, rounds, MODE: gl.constexpr):
    rows = gl.arange(0, 64, layout=ROWS)
    for r in range(rounds):
        sent = (r * 64 + rows).to(gl.float32)
        if MODE == 0:
            publish_rows(buf.index(0), sent, bars.index(0))
            got = receive_rows(buf.index(1), bars.index(1), r & 1, ROWS)
        elif MODE == 1:
            buf.index(0).store(sent)
            named_barrier_arrive(_A_TO_B, 256)
            named_barrier_sync(_B_TO_A, 256)
            got = buf.index(1).load(ROWS)
        else:
            buf.index(0).store(sent)
            got = buf.index(1).load(ROWS)
        gl.store(out + r * 128 + rows, got)


@gluon.jit
def _side_b(buf, bars, out, rounds, MODE: gl.constexpr):
    rows = gl.arange(0, 64, layout=ROWS)
    for r in range(rounds):
        if MODE == 0:
            got = receive_rows(buf.index(0), bars.index(0), r & 1, ROWS)
            publish_rows(buf.index(1), got + 1000.0, bars.index(1))
        elif MODE == 1:
            named_barrier_sync(_A_TO_B, 256)
            got = buf.index(0).load(ROWS)
            buf.index(1).store(got + 1000.0)
            named_barrier_arrive(_B_TO_A, 256)
        else:
            got = buf.index(0).load(ROWS)
            buf.index(1).store(got + 1000.0)
        gl.store(out + r * 128 + 64 + rows, got)


@gluon.jit
def row_handoff_kernel(out_ptr, rounds, MODE: gl.constexpr):
    """CTA ``i`` writes ``rounds x [A received (64), B received (64)]`` at ``out_ptr + i * rounds * 128``."""
    layout: gl.constexpr = gl.SwizzledSharedLayout(vec=1, per_phase=1, max_phase=1, order=[0])
    buf = gl.allocate_shared_memory(gl.float32, [2, 64], layout)
    bars = gl.allocate_shared_memory(gl.int64, [2, 1], mbarrier.MBarrierLayout())
    for i in gl.static_range(2):
        mbarrier.init(bars.index(i), count=1)  # one arrive (publish_rows') completes a phase
    out = out_ptr + gl.program_id(0) * rounds * 128
    gl.warp_specialize([
        (_side_a, (buf, bars, out, rounds, MODE)),
        (_side_b, (buf, bars, out, rounds, MODE)),
    ], [4], [80])


def expected(rounds, ctas=1):
    """What a correct exchange writes (torch, on the CPU)."""
    import torch

    r = torch.arange(rounds, dtype=torch.float32)[:, None] * 64 + torch.arange(64, dtype=torch.float32)[None, :]
    return torch.cat([r + 1000.0, r], dim=1).reshape(-1).repeat(ctas)


def run(mode=MBARRIER, rounds=16, ctas=2):
    """Launch on the current CUDA device; returns (output, expected) on the CPU."""
    import torch

    out = torch.full((ctas * rounds * 128,), float("nan"), dtype=torch.float32, device="cuda")
    row_handoff_kernel[(ctas,)](out, rounds, MODE=mode, num_warps=4)
    torch.cuda.synchronize()
    return out.cpu(), expected(rounds, ctas)


def make_source(MODE=MBARRIER):
    from triton.experimental.gluon._runtime import GluonASTSource

    from _spec import source as _source

    src = _source(row_handoff_kernel, {"out_ptr": "*fp32", "rounds": "i32"}, {"MODE": MODE},
                  divisible=["out_ptr"], source_cls=GluonASTSource)
    return src, {"num_warps": 4}
