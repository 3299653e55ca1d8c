"""TLE's warp-specialized sparse MLA kernel (tle.ops.sparse_mla_ws), compiled on the CPU for sm_90
at the headline size (s_q=4096, h_q=128, topk=2048, d_qk=576 and 512): the properties its speed
rests on must be visible in the PTX and in ptxas' report."""
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton")
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.experimental import gluon  # noqa: E402

import tle  # noqa: E402
from tle.gluon import compat  # noqa: E402
from tle.ops import kernel_source  # noqa: E402
from tle.ops import sparse_mla_ws as ws  # noqa: E402

PTXAS = compat.ptxas_path(90)  # the one Triton runs for sm_90 (3.9: ptxas-blackwell)
pytestmark = pytest.mark.skipif(not (PTXAS and Path(PTXAS).is_file()), reason="triton without ptxas")


def _compile(tmp_path, d_qk=576):
    q = torch.empty(4096, 128, d_qk, dtype=torch.bfloat16, device="meta")
    kv = torch.empty(65536, 1, d_qk, dtype=torch.bfloat16, device="meta")
    idx = torch.empty(4096, 1, 2048, dtype=torch.int32, device="meta")
    src, options = kernel_source(q, kv, idx, d_qk ** -0.5, kernel="ws")
    kernel = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=options)
    name = f"ws{d_qk}"
    (tmp_path / f"{name}.ptx").write_text(kernel.asm["ptx"])
    proc = subprocess.run([PTXAS, "-v", "-arch=sm_90a", str(tmp_path / f"{name}.ptx"), "-o",
                           str(tmp_path / f"{name}.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return kernel, proc.stderr


@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    return _compile(tmp_path_factory.mktemp("ws"))


def _ops(ptx, pattern):
    return Counter(re.findall(pattern, ptx))


def test_no_spills_and_no_wgmma_serialization(headline):
    _, report = headline
    assert "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" in report, report
    assert not re.search(r"C751[0-9]", report), report


def test_three_warpgroups_with_register_split(headline):
    """12 warps; the producer gives registers up (72), the consumers take them (232 / 200)."""
    kernel, _ = headline
    ptx = kernel.asm["ptx"]
    assert kernel.metadata.num_warps == 12  # 4 (default partition) + 4 (consumer 1) + 4 (producer)
    regs = _ops(ptx, r"setmaxnreg\.(inc|dec)\.sync\.aligned\.u32\s+(\d+)")
    assert ("dec", str(ws.PRODUCER_REGS.value)) in regs
    assert ("inc", str(ws.CONSUMER_REGS.value)) in regs
    assert ("dec", str(504 - ws.CONSUMER_REGS.value - ws.PRODUCER_REGS.value)) in regs  # default partition


def test_each_block_multiplied_once(headline):
    """Q K^T of a block runs on one warpgroup only: 36 m64n64k16 per block, three code sites
    (consumer 0's tile prologue and loop, consumer 1's loop); P V in four m64n256k16 steps."""
    ptx = headline[0].asm["ptx"]
    shapes = _ops(ptx, r"wgmma\.mma_async\.sync\.aligned\.(m\d+n\d+k\d+)")
    assert shapes["m64n64k16"] == 3 * 36
    assert shapes["m64n32k16"] == 0  # nothing split or duplicated across warpgroups
    assert shapes["m64n256k16"] % 4 == 0 and shapes["m64n256k16"] >= 16


def test_gather_is_cp_async_with_mbarrier_completion(headline):
    ptx = headline[0].asm["ptx"]
    # 16-byte cp.async with a source-size operand (zero fill for invalid rows)
    assert re.search(r"cp\.async\.cg\.shared\.global \[[^\]]+\], \[[^\]]+\], (16|0x10), %r\d+;", ptx)
    assert len(re.findall(r"cp\.async\.mbarrier\.arrive\.noinc\.shared\.b64", ptx)) >= 5  # Q + 4 half-slots
    assert "cp.async.wait_group" not in ptx  # completion is tracked by mbarriers, not by waiting


def test_consumer_handoffs_on_named_barriers(headline):
    ptx = headline[0].asm["ptx"]
    for bar_id in range(12, 16):
        assert f"bar.arrive {bar_id}, 256;" in ptx
        assert f"bar.sync {bar_id}, 256;" in ptx


# instructions that order or touch shared memory (what the barrier protocol is made of)
_SYNC = re.compile(r"^\s*(@!?%p\d+\s+)?(bar\.|barrier\.|mbarrier\.|fence\.|wgmma\.|cp\.async|st\.shared|ld\.shared|"
                   r"stmatrix|ldmatrix|setmaxnreg)")


def test_barrier_protocol(headline):
    """The hand-off rules of tle.gluon hold in the binary on every Triton version:
    * each one-thread mbarrier arrive (``signal``/``publish_*``) comes right after its
      partition's barrier, so all 128 threads' prior work is part of the arrival (13 sites);
    * of the 15 mbarrier waits, the 8 that acquire a cp.async-filled tile for a WGMMA (Q and the
      KV halves, ``wait_async_tile``) are followed by ``fence.proxy.async`` (generic-proxy
      writes, async-proxy reads: the fence the removed TILE_FENCE=False variant dropped); the
      other 7 (the producer's slot/Q waits, the row-sum receives) feed no WGMMA;
    * P0 and P1 are fenced before their named-barrier release to the other consumer's WGMMA."""
    ptx = headline[0].asm["ptx"]
    sync = [line.strip() for line in ptx.splitlines() if _SYNC.match(line)]
    arrives = [i for i, line in enumerate(sync) if re.search(r"mbarrier\.arrive\.shared::cta\.b64 _", line)]
    assert len(arrives) == 13
    assert all(re.fullmatch(r"bar\.sync\s+\d+, 128;", sync[i - 1]) for i in arrives), [sync[i - 1] for i in arrives]
    waits = [i for i, line in enumerate(sync) if "mbarrier.try_wait" in line]
    assert len(waits) == 15
    assert sum(sync[i + 1].startswith("fence.proxy.async") for i in waits) == 8
    for bar_id in (ws._P0.value, ws._P1.value):
        i = sync.index(f"bar.arrive {bar_id}, 256;")
        assert sync[i - 1].startswith("fence.proxy.async"), sync[i - 1]
    # Stock Triton differs here: from 3.7 on its lowering to LLVM adds a fence of its own (not in
    # the TTGIR) before consumer 1's P0 V0 WGMMA, after that consumer's P1 stores: 10 fences on
    # 3.6, 11 from 3.7.
    expected = 10 if compat.TRITON_VERSION < (3, 7) else 11
    assert ptx.count("fence.proxy.async.shared::cta") == expected


@gluon.jit
def _plain_value(x):
    return x


def test_descriptors_stay_next_to_their_wgmma(tmp_path, monkeypatch):
    """Without tle.gluon.loop_variant the loop-invariant smem descriptors are hoisted and spilled:
    the helper is what keeps the kernel at zero spills."""
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(ws, "loop_variant", _plain_value)
    _, report = _compile(tmp_path)
    m = re.search(r"(\d+) bytes spill stores", report)
    assert m and int(m.group(1)) > 0, report


def test_d512_compiles_without_spills(tmp_path):
    _, report = _compile(tmp_path, d_qk=512)
    assert "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" in report, report


def test_unsupported_reason_for_the_ops_fallback(monkeypatch):
    """The installed Triton builds the kernel with the properties above: no reason. A Gluon that
    lacks a name, or a build that spills, gives the reason the op falls back with."""
    assert ws.ws_kernel_unsupported_reason() is None

    class Built:  # a loaded CompiledKernel as the op's warmup returns it
        n_spills = 0

    assert ws.ws_kernel_unsupported_reason(Built()) is None
    Built.n_spills = 24
    assert "spills (24 bytes" in ws.ws_kernel_unsupported_reason(Built())
    monkeypatch.setattr(compat, "_missing", ["language.async_load or async_copy_global_to_shared"])
    assert "lacks language.async_load" in ws.ws_kernel_unsupported_reason()

# The op's kernel choice and its fallback when this kernel cannot be built: test/python/test_torch_op.py.
