"""tle.gluon building blocks, compiled on the CPU for sm_90: each helper must lower to the
instructions its contract names (the GPU behaviour is covered by the sparse MLA GPU tests)."""
import re
import sys
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.experimental import gluon  # noqa: E402
from triton.experimental.gluon import language as gl  # noqa: E402
from triton.experimental.gluon._runtime import GluonASTSource  # noqa: E402
from triton.experimental.gluon.language.nvidia.ampere import async_copy  # noqa: E402
from triton.experimental.gluon.language.nvidia.hopper import mbarrier  # noqa: E402

from tle.gluon import compat  # noqa: E402
from tle.gluon import (  # noqa: E402
    arrive_when_copies_land,
    gather_tile_async,
    loop_variant,
    named_barrier_arrive,
    named_barrier_sync,
    publish_for_wgmma,
    signal,
    wait_async_tile,
)


sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "kernels"))


def _compile(fn, signature, constexprs=None, num_warps=4):
    names = fn.arg_names
    constexprs = constexprs or {}
    sig = {n: ("constexpr" if n in constexprs else signature[n]) for n in names}
    consts = {(names.index(k),): v for k, v in constexprs.items()}
    # pointers and strides divisible by 16, as the JIT specializes them (the gather needs the
    # row offsets provably 16-byte aligned to issue 16-byte copies)
    attrs = {(names.index(n),): [["tt.divisibility", 16]] for n in signature if n.endswith("ptr") or n == "stride"}
    src = GluonASTSource(fn, sig, consts, attrs)
    return triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": num_warps})


@gluon.jit
def _barriers_kernel(x_ptr):
    named_barrier_arrive(13, 256)
    named_barrier_sync(14, 128)


def test_named_barriers_lower_to_bar_arrive_and_bar_sync():
    ptx = _compile(_barriers_kernel, {"x_ptr": "*i32"}).asm["ptx"]
    assert "bar.arrive 13, 256;" in ptx
    assert "bar.sync 14, 128;" in ptx


@gluon.jit
def _loop_variant_kernel(out_ptr, n):
    acc = 0
    for i in range(n):
        acc += loop_variant(i - i) + 7
    gl.store(out_ptr, acc)


def test_loop_variant_is_an_opaque_move_inside_the_loop():
    k = _compile(_loop_variant_kernel, {"out_ptr": "*i32", "n": "i32"})
    assert re.search(r'tt\.elementwise_inline_asm "mov\.b32 \$0, \$1;".*pure = false', k.asm["ttgir"])
    # not folded to 0 and not hoisted: the move sits in the loop body of the PTX
    body = k.asm["ptx"].split("$L__BB0_2:", 1)[-1]
    assert "mov.b32" in k.asm["ptx"] and re.search(r"mov\.b32\s+%r\d+, %r\d+;", body)


@gluon.jit
def _gather_kernel(src_ptr, idx_ptr, out_ptr, stride):
    layout: gl.constexpr = gl.BlockedLayout([1, 8], [4, 8], [4, 1], [1, 0])
    smem_layout: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)
    rows_l: gl.constexpr = gl.SliceLayout(1, layout)
    tile = gl.allocate_shared_memory(gl.bfloat16, [64, 64], smem_layout)
    bars = gl.allocate_shared_memory(gl.int64, [2, 1], mbarrier.MBarrierLayout())
    mbarrier.init(bars.index(0), count=128)
    mbarrier.init(bars.index(1), count=1)
    idx = gl.load(idx_ptr + gl.arange(0, 64, layout=rows_l))
    gather_tile_async(tile, src_ptr, idx * stride, idx >= 0, 64, 64, layout)
    arrive_when_copies_land(bars.index(0))
    wait_async_tile(bars.index(0), 0)
    publish_for_wgmma(bars.index(1))
    signal(bars.index(1))
    vals = tile.load(layout)
    offs = gl.arange(0, 64, layout=rows_l)[:, None] * 64 + gl.arange(0, 64, layout=gl.SliceLayout(0, layout))[None, :]
    gl.store(out_ptr + offs, vals)


def test_gather_and_handoffs_lower_to_their_instructions():
    ptx = _compile(_gather_kernel, {"src_ptr": "*bf16", "idx_ptr": "*i32", "out_ptr": "*bf16",
                                    "stride": "i32"}).asm["ptx"]
    # 64 rows x 64 columns of bf16 = 512 16-byte pieces over 128 threads: 4 cp.async per thread,
    # each with a source-size operand (0 for an invalid row: zero fill)
    copies = re.findall(r"cp\.async\.cg\.shared\.global \[[^\]]+\], \[[^\]]+\], (?:16|0x10), %r\d+;", ptx)
    assert len(copies) == 4
    assert "cp.async.mbarrier.arrive.noinc.shared.b64" in ptx  # per-thread arrival, count not raised
    assert re.search(r"mbarrier\.try_wait\.parity", ptx)
    assert ptx.count("fence.proxy.async.shared::cta") == 2  # after the acquire; before the release
    assert "mbarrier.arrive" in ptx


def test_gather_asks_for_no_cache_policy():
    """The kernel was measured with plain cp.async: 3.6-3.8 ignore an eviction policy there, 3.9
    would turn one into createpolicy + .L2::cache_hint copies, so the gather passes none."""
    ptx = _compile(_gather_kernel, {"src_ptr": "*bf16", "idx_ptr": "*i32", "out_ptr": "*bf16",
                                    "stride": "i32"}).asm["ptx"]
    assert "cache_hint" not in ptx and "createpolicy" not in ptx


# --------------------------------------------------------------------------------------------------
# tle.gluon.compat: the one place that knows which Triton has which Gluon name
# --------------------------------------------------------------------------------------------------
def test_compat_resolves_each_name_for_this_triton():
    """Expected per version (PyPI wheels): gl.thread_barrier became gl.barrier in 3.7;
    async_copy_global_to_shared became async_load in 3.8 (an alias there, raising in 3.9)."""
    assert compat.unsupported_reason() is None
    if compat.TRITON_VERSION < (3, 7):
        assert compat.thread_barrier is gl.thread_barrier
    else:
        assert compat.thread_barrier is gl.barrier
    if compat.TRITON_VERSION < (3, 8):
        assert compat.async_load is async_copy.async_copy_global_to_shared
    else:
        assert compat.async_load is async_copy.async_load


_STAND_IN = None  # set by the test below: what compat returns for a name this Triton lacks


@gluon.jit
def _uses_missing_name(x_ptr):
    _STAND_IN(x_ptr)


def test_compat_missing_name_fails_the_compile_with_its_reason(monkeypatch):
    """A name no version has: importing still works; a kernel using it fails to compile, naming
    it, and unsupported_reason() reports it (the op then runs its plain kernel)."""
    import types

    monkeypatch.setattr(compat, "_missing", [])
    stand_in = compat._first(types.SimpleNamespace(__name__="gl"), "future_barrier", "older_barrier")
    assert "gl.future_barrier or older_barrier" in compat.unsupported_reason()
    monkeypatch.setitem(globals(), "_STAND_IN", stand_in)
    with pytest.raises(Exception, match="tle.gluon needs gl.future_barrier or older_barrier"):
        _compile(_uses_missing_name, {"x_ptr": "*i32"})


def test_ptxas_is_the_one_triton_runs():
    """3.9 assembles sm_90 with ptxas-blackwell (its PTX ISA 9.4 is newer than the legacy ptxas)."""
    path = compat.ptxas_path(90)
    if path is None:
        pytest.skip("triton without ptxas")
    expected = "ptxas" if compat.TRITON_VERSION < (3, 9) else "ptxas-blackwell"
    assert path.rsplit("/", 1)[-1] == expected


# --------------------------------------------------------------------------------------------------
# examples/kernels/gluon_row_handoff.py: the sparse MLA kernel's row hand-off, for compute-sanitizer
# --------------------------------------------------------------------------------------------------
_SYNC = re.compile(r"^\s*(@!?%p\d+\s+)?(bar\.|barrier\.|mbarrier\.|fence\.|st\.shared|ld\.shared)")


def _row_handoff_sync(mode):
    import gluon_row_handoff as rh

    src, options = rh.make_source(mode)
    ptx = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=options).asm["ptx"]
    return [line.strip() for line in ptx.splitlines() if _SYNC.match(line)]


def test_row_handoff_example_lowers_like_the_kernels_epilogue():
    """The sanitizer's minimal kernel must be the kernel's pattern, or its verdict says nothing
    about the kernel: stores, the partition's bar.sync, one thread's mbarrier arrive on one side;
    every thread's try_wait, then the loads, on the other (as test_sparse_mla_ws_ptx checks)."""
    import gluon_row_handoff as rh

    sync = _row_handoff_sync(rh.MBARRIER)
    arrives = [i for i, line in enumerate(sync) if re.search(r"mbarrier\.arrive\.shared::cta\.b64 _", line)]
    waits = [i for i, line in enumerate(sync) if "mbarrier.try_wait" in line]
    assert len(arrives) == 2 and len(waits) == 2  # A -> B and B -> A
    for i in arrives:
        assert re.fullmatch(r"bar\.sync\s+\d+, 128;", sync[i - 1])
        assert any(line.startswith("st.shared") for line in sync[i - 4:i])
    for i in waits:
        assert sync[i + 1].startswith("ld.shared")
    named = _row_handoff_sync(rh.NAMED)
    assert not any("mbarrier.try_wait" in line or "mbarrier.arrive" in line for line in named)
    for bar_id in (12, 13):
        assert f"bar.arrive {bar_id}, 256;" in named and f"bar.sync {bar_id}, 256;" in named
    racy = _row_handoff_sync(rh.RACY)
    assert not any(re.search(r"mbarrier\.(try_wait|arrive)|bar\.arrive|bar\.sync 1[23]", line) for line in racy)


@pytest.mark.gpu
def test_row_handoff_example_exchanges_every_round():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available() or torch.cuda.get_device_capability() < (9, 0):
        pytest.skip("needs a Hopper GPU")
    import gluon_row_handoff as rh

    for mode in (rh.MBARRIER, rh.NAMED):
        out, want = rh.run(mode, rounds=64, ctas=4)
        assert torch.equal(out, want), mode


@pytest.mark.triton_independent
def test_sanitizer_log_summary(tmp_path):
    """scripts/sanitize_gpu.sh reads compute-sanitizer's logs through test/gpu/sanitize_cases.py:
    the closing summary, and racecheck's two-line reports grouped by source location."""
    import subprocess

    log = tmp_path / "racecheck.log"
    log.write_text(
        "========= COMPUTE-SANITIZER\n"
        "========= Warning: Race reported between Write access at sparse_mla_ws_kernel+0x1a30 in "
        "/x/stage/tle/gluon/handoff.py:60\n"
        "=========     and Read access at sparse_mla_ws_kernel+0x3b40 in /x/stage/tle/gluon/handoff.py:69"
        " [512 hazards]\n"
        "=========\n"
        "========= Warning: Race reported between Write access at sparse_mla_ws_kernel+0x1a30 in "
        "/x/stage/tle/gluon/handoff.py:60\n"
        "=========     and Read access at sparse_mla_ws_kernel+0x3b60 in /x/stage/tle/gluon/handoff.py:69"
        " [128 hazards]\n"
        "========= Error: Race reported between Write access at sparse_mla_ws_kernel+0x100\n"
        "=========     and Write access at sparse_mla_ws_kernel+0x180 [6 hazards]\n"
        "========= RACECHECK SUMMARY: 3 hazards displayed (1 error, 2 warnings)\n")
    races = tmp_path / "races.txt"
    driver = Path(__file__).resolve().parents[2] / "test" / "gpu" / "sanitize_cases.py"
    proc = subprocess.run([sys.executable, str(driver), "summarize", str(log), str(races)], capture_output=True,
                          text=True, check=True)
    assert proc.stdout.strip() == "3 hazards displayed (1 error, 2 warnings)"
    assert races.read_text().splitlines() == [
        "    warning Write@handoff.py:60 <-> Read@handoff.py:69  (2 reports, 640 hazards)",
        "    error   Write@sparse_mla_ws_kernel+0x100 <-> Write@sparse_mla_ws_kernel+0x180  (1 reports, 6 hazards)",
    ]
