"""tle-materialize-pipeline through Triton 3.6 (CPU only: compiled to sm_90 cubins with ptxas).

* ``tle.pipeline`` registrations -> the TLE steps inserted before ``assign_latencies``;
* the sparse MLA kernel compiled with the step: the N-slot rings, the waits, Triton's pipeliner
  leaving the loop alone, cp.async + wgmma in the PTX and no spills (cuobjdump);
* a small gather GEMM with a static trip count: pipelined (3 slots) and fully peeled.

``python test/python/test_pipeline_hint.py --capture`` regenerates the pre-pipeliner TTGIR under
test/lit/Inputs/ (``*_prepipeline.ttgir.mlir``) that the lit tests use.
"""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tempfile

import pytest

from test_hook_common import (TARGET, make_source, requires_native, sparse_mla_available,  # noqa: F401
                              tle_env)

import triton
import triton.language as tl

import tle
import tle.pipeline
from tle import integration, ttgir_text
from tle_test_support import INPUTS

CUOBJDUMP = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")


@pytest.fixture
def pipeline_env(tle_env):
    tle.pipeline.clear()
    yield tle_env
    tle.pipeline.reset_default()


# ---------------------------------------------------------------------------------------------
# Registrations -> inserted steps (no compilation)
# ---------------------------------------------------------------------------------------------


def _steps():
    return [(s.name, s.pipeline, before) for s, before, _ in integration.inserted_steps()]


def test_materialize_registers_kernel_step(pipeline_env):
    def my_kernel():
        pass

    assert tle.pipeline.materialize(my_kernel, stages=3) is my_kernel
    tle.pipeline.materialize("other_kernel")
    assert tle.pipeline.registered() == {"my_kernel": 3, "other_kernel": 2}
    assert _steps() == [("tle-materialize-pipeline:kernels",
                         "tle-materialize-pipeline{gather-only=false kernels=my_kernel:3,other_kernel:2}",
                         "assign_latencies")]
    tle.pipeline.forget(my_kernel)
    assert tle.pipeline.registered() == {"other_kernel": 2}
    tle.pipeline.forget("other_kernel")
    assert _steps() == []


def test_materialize_as_decorator_on_jit_kernel(pipeline_env):
    @tle.pipeline.materialize(stages=4, smem_budget=100000, hoist_address_loads=False)
    @triton.jit
    def deco_kernel(x):
        pass

    assert isinstance(deco_kernel, triton.runtime.JITFunction)
    assert tle.pipeline.registered() == {"deco_kernel": 4}
    assert _steps()[0][1] == ("tle-materialize-pipeline{gather-only=false kernels=deco_kernel:4 "
                              "smem-budget=100000 hoist-address-loads=false}")


def test_auto_composes_after_kernel_step(pipeline_env):
    tle.pipeline.auto(stages=3)
    assert _steps() == [("tle-materialize-pipeline:auto", "tle-materialize-pipeline{stages=3}",
                         "assign_latencies")]
    tle.pipeline.materialize("k")
    assert [name for name, _, _ in _steps()] == ["tle-materialize-pipeline:kernels",
                                                  "tle-materialize-pipeline:auto"]
    tle.pipeline.auto(stages=2, gather_only=False)
    assert _steps()[1][1] == "tle-materialize-pipeline{stages=2 gather-only=false}"
    tle.pipeline.disable_auto()
    assert [name for name, _, _ in _steps()] == ["tle-materialize-pipeline:kernels"]
    tle.pipeline.clear()
    assert _steps() == [] and tle.pipeline.registered() == {}


@pytest.mark.parametrize("bad", [1, 17, 2.0, True, "2"])
def test_bad_stages_rejected(pipeline_env, bad):
    with pytest.raises(ValueError):
        tle.pipeline.materialize("k", stages=bad)
    with pytest.raises(ValueError):
        tle.pipeline.auto(stages=bad)
    assert _steps() == []


def test_bad_kernel_and_budget_rejected(pipeline_env):
    with pytest.raises(TypeError):
        tle.pipeline.materialize(42)
    with pytest.raises(TypeError):
        tle.pipeline.materialize("not a name")
    with pytest.raises(ValueError):
        tle.pipeline.materialize("k", smem_budget=0)
    assert _steps() == []


def test_pipeline_identity_changes_cache_key(pipeline_env):
    before = integration.cache_identity()
    tle.pipeline.materialize("k", stages=2)
    two = integration.cache_identity()
    tle.pipeline.materialize("k", stages=3)
    assert len({before, two, integration.cache_identity()}) == 3


# ---------------------------------------------------------------------------------------------
# The pass itself (native library)
# ---------------------------------------------------------------------------------------------


@requires_native()
def test_pass_is_registered():
    passes = tle.list_passes()
    assert "tle-materialize-pipeline" in passes
    assert "cp.async ring" in passes["tle-materialize-pipeline"]


@requires_native()
def test_bad_options_are_errors():
    text = (INPUTS / "matmul_prepipeline.ttgir.mlir").read_text()
    for pipeline in ("tle-materialize-pipeline{stages=1}", "tle-materialize-pipeline{kernels=a:99}",
                     "tle-materialize-pipeline{smem-budget=0}"):
        with pytest.raises(tle.TLEError) as e:
            tle.run_pipeline(text, pipeline)
        assert "tle-materialize-pipeline" in e.value.diagnostics


# ---------------------------------------------------------------------------------------------
# Real kernels compiled to sm_90 with the step inserted
# ---------------------------------------------------------------------------------------------


def _resource_usage(kernel, tmp_path) -> str:
    path = tmp_path / "k.cubin"
    path.write_bytes(kernel.asm["cubin"])
    out = subprocess.run([CUOBJDUMP, "--dump-resource-usage", str(path)], capture_output=True,
                         text=True, check=True).stdout
    (usage,) = re.findall(r"REG:\d+ STACK:\d+ SHARED:\d+ LOCAL:\d+", out)
    return usage


def _loop_waits(ttgir: str) -> list:
    return [int(n) for n in re.findall(r"ttg\.async_wait %[^{]*\{num = (\d+) : i32\}", ttgir)]


def _check_ptx(ptx: str):
    assert re.search(r"cp\.async\.cg\.shared\.global \[[^]]+\], \[[^]]+\], 0x10", ptx)  # 16 B copies
    assert "cp.async.commit_group" in ptx and "cp.async.wait_group" in ptx
    assert "wgmma.mma_async" in ptx


@requires_native()
@pytest.mark.skipif(not sparse_mla_available(), reason="tle.ops.sparse_mla unavailable")
def test_sparse_mla_compiles_with_materialized_pipeline(pipeline_env):
    tle.config.set_options(strict=True)
    src, options = make_source("sparse_mla_plain")
    tle.pipeline.materialize("_sparse_mla_fwd_kernel_fn", stages=3)  # 3 x 73.7 KB do not fit
    k = triton.compile(src, target=TARGET, options=options)
    ttgir, ptx = k.asm["ttgir"], k.asm["ptx"]
    # Two 2-slot rings (512 latent + 64 rope columns), the loop marked for Triton's pipeliner.
    assert re.search(r"ttg\.local_alloc : \(\) -> !ttg\.memdesc<2x64x512xbf16, #shared\d*, #smem, mutable>", ttgir)
    assert re.search(r"ttg\.local_alloc : \(\) -> !ttg\.memdesc<2x64x64xbf16, #shared\d*, #smem, mutable>", ttgir)
    assert "tt.num_stages = 1" in ttgir and "tle.materialized_stages = 2" in ttgir
    # Prologue (1 iteration) + steady state, 2 tiles each: Triton added no copies of its own.
    assert ttgir.count("ttg.async_copy_global_to_local") == 4
    assert ttgir.count("ttg.async_commit_group") == 2
    assert _loop_waits(ttgir) == [0]  # slot i waited with N-2 = 0 groups left in flight
    assert re.search(r"ttg\.async_wait \{num = 0 : i32\}", ttgir)  # epilogue drain
    assert re.search(r"ttng\.warp_group_dot_wait %\S+ \{pendings = 1 : i32\}", ttgir)
    _check_ptx(ptx)
    usage = _resource_usage(k, pipeline_env)
    assert "STACK:0 " in usage and usage.endswith("LOCAL:0"), usage
    assert k.metadata.shared <= 232448


@triton.jit
def _gather_gemm(a_ptr, b_ptr, idx_ptr, c_ptr, stride_a, stride_b,
                 K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    """C = A @ B[idx]: rows of B gathered through idx, K (constexpr) in BK steps."""
    offs_m = tl.arange(0, BM)
    offs_n = tl.arange(0, BN)
    offs_k = tl.arange(0, BK)
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k in range(0, K, BK):
        rows = tl.load(idx_ptr + k + offs_k)
        a = tl.load(a_ptr + offs_m[:, None] * stride_a + (k + offs_k)[None, :])
        b = tl.load(b_ptr + rows[:, None] * stride_b + offs_n[None, :])
        acc = tl.dot(a, b, acc)
    tl.store(c_ptr + offs_m[:, None] * BN + offs_n[None, :], acc.to(tl.bfloat16))


def _gather_gemm_source(K):
    from _spec import source

    return source(_gather_gemm,
                  {"a_ptr": "*bf16", "b_ptr": "*bf16", "idx_ptr": "*i32", "c_ptr": "*bf16",
                   "stride_a": "i32", "stride_b": "i32"},
                  {"K": K, "BM": 64, "BN": 64, "BK": 32},
                  divisible=["a_ptr", "b_ptr", "idx_ptr", "c_ptr", "stride_a", "stride_b"])


@requires_native()
@pytest.mark.parametrize("K, stages, peeled", [(256, 3, False), (64, 3, True)])
def test_gather_gemm_pipelined_or_peeled(pipeline_env, K, stages, peeled):
    tle.config.set_options(strict=True)
    tle.pipeline.auto(stages=stages)
    k = triton.compile(_gather_gemm_source(K), target=TARGET, options={"num_warps": 4, "num_stages": 3})
    ttgir = k.asm["ttgir"]
    copies = ttgir.count("ttg.async_copy_global_to_local")
    if peeled:  # 2 iterations: both issued up front into a 2-slot ring, no loop left
        assert "scf.for" not in ttgir
        assert re.search(r"!ttg\.memdesc<2x32x64xbf16", ttgir)
        assert copies == 2 * 2
        # The pass waits {num = 1} then {num = 0} (lit: materialize-pipeline.mlir); Triton's
        # canonicalizer merges waits with no copy in between into one.
        assert _loop_waits(ttgir) in ([1, 0], [0])
    else:  # 8 iterations, 3 slots: 2 preloaded, 1 in flight while slot i is consumed
        assert "tle.materialized_stages = 3" in ttgir
        assert re.search(r"!ttg\.memdesc<3x32x64xbf16", ttgir)
        assert copies == 2 * 2 + 2
        assert _loop_waits(ttgir) == [1]
    _check_ptx(k.asm["ptx"])
    usage = _resource_usage(k, pipeline_env)
    assert "STACK:0 " in usage and usage.endswith("LOCAL:0"), usage


@requires_native()
def test_dense_loops_left_to_triton_by_auto(pipeline_env):
    """auto() takes gathers only: a dense matmul keeps Triton's own pipeline."""
    tle.pipeline.auto(stages=3)
    src, options = make_source("matmul")
    ttgir = triton.compile(src, target=TARGET, options=options).asm["ttgir"]
    assert "tle.materialized_stages" not in ttgir and "async_copy_global_to_local" in ttgir


# ---------------------------------------------------------------------------------------------
# Capture of the pre-pipeliner TTGIR used by the lit tests
# ---------------------------------------------------------------------------------------------

_CAPTURES = {
    "sparse_mla_prepipeline": ("sparse_mla_plain", {},
                               "plain sparse MLA fwd (tle.ops.sparse_mla), bf16, s_q=4096, h_q=128, "
                               "topk=2048, d_qk=576, s_kv=8192, BH=64, BK=64, 8 warps, num_stages=2"),
    "matmul_prepipeline": ("matmul", {}, "bf16 matmul, 128x128x64 tiles, 8 warps, num_stages=3"),
}


def capture_prepipeline_ttgir(kernel: str, **kw) -> str:
    """TTGIR of ``kernel`` right before Triton's pipeliner (``assign_latencies``), generic,
    alias-free and without locations."""
    from triton._C.libtriton import ir
    from triton.compiler.compiler import make_backend

    saved = integration.inserted_steps()
    integration.clear_steps()
    dump = tempfile.mkdtemp(prefix="tle-capture-")
    tle.config.set_options(dump_dir=dump, pipeline="", enabled=True)
    try:
        integration.insert_step("builtin.module()", before="assign_latencies", name="capture")
        src, options = make_source(kernel, **kw)
        triton.compile(src, target=TARGET, options=options)
    finally:
        integration.clear_steps()
        for step, before, after in saved:
            integration.insert_step(step.pipeline, before=before, after=after, name=step.name, rerun=step.rerun)
        tle.config.reset_options()
    (path,) = glob.glob(os.path.join(dump, "*", "*-capture.before.mlir"))
    text = open(path).read().split("\n", 1)[1]
    ctx = ir.context()
    ir.load_dialects(ctx)
    make_backend(TARGET).load_dialects(ctx)
    return ttgir_text.module_to_generic_text(ttgir_text.generic_text_to_module(text, ctx), debug_info=False)


def _write_captures():
    for name, (kernel, kw, what) in _CAPTURES.items():
        text = capture_prepipeline_ttgir(kernel, **kw)
        header = (f"// Triton {triton.__version__} TTGIR right before the pipeliner (make_ttgir step "
                  f"assign_latencies), sm_90, {what}.\n"
                  "// Generic form, aliases expanded, locations stripped. Regenerate: "
                  "python test/python/test_pipeline_hint.py --capture\n")
        (INPUTS / f"{name}.ttgir.mlir").write_text(header + text)
        print("wrote", INPUTS / f"{name}.ttgir.mlir")


if __name__ == "__main__":
    if sys.argv[1:] != ["--capture"]:
        raise SystemExit("usage: python test/python/test_pipeline_hint.py --capture  (tests: pytest)")
    _write_captures()
