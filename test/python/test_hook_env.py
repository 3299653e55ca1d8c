"""TLE_DISABLE / TLE_PIPELINE / TLE_DUMP_DIR / TLE_GLUON, enable/disable, install/chaining."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from test_hook_common import TARGET, compile_kernel, fake_native, tle_env, tle_key_part  # noqa: F401

from triton import knobs
from triton._C.libtriton import ir
from triton.compiler.compiler import make_backend

import tle
from tle import config as tle_config
from tle import integration, ttgir_text
from tle.integration.state import STATE


def _ctx():
    ctx = ir.context()
    ir.load_dialects(ctx)
    make_backend(TARGET).load_dialects(ctx)
    return ctx


def test_lead_exports():
    for name in ("enable", "disable", "is_enabled", "install"):
        assert callable(getattr(tle, name))
    assert integration.is_installed()
    assert knobs.runtime.add_stages_inspection_hook is not None


def test_tle_disable_env_is_stock(tle_env, fake_native, monkeypatch):
    monkeypatch.setenv("TLE_DISABLE", "1")
    assert not tle.is_enabled()
    k = compile_kernel("matmul")
    assert fake_native.calls == []
    assert tle_key_part() == ""
    with pytest.warns(tle.TLEWarning, match="TLE_DISABLE=1"):
        tle.enable()
    assert not tle.is_enabled()
    assert compile_kernel("matmul").hash == k.hash
    monkeypatch.delenv("TLE_DISABLE")
    assert tle.is_enabled()
    compile_kernel("matmul")
    assert fake_native.calls == ["tle-pipeline"]


def test_enable_disable_toggle(tle_env, fake_native):
    assert tle.is_enabled()
    tle.disable()
    assert not tle.is_enabled()
    compile_kernel("vector_add")
    assert fake_native.calls == []
    tle.enable()
    assert tle.is_enabled()
    compile_kernel("vector_add")
    assert fake_native.calls == ["tle-pipeline"]


def test_pipeline_env(tle_env, fake_native, monkeypatch):
    monkeypatch.setenv("TLE_PIPELINE", "tle-split-dot-warps,tle-lower-to-triton")
    compile_kernel("vector_add")
    assert fake_native.calls == ["tle-split-dot-warps,tle-lower-to-triton"]
    monkeypatch.setenv("TLE_PIPELINE", "")
    compile_kernel("softmax")  # empty: no post-ttgir step at all
    assert len(fake_native.calls) == 1
    tle_config.set_options(pipeline="tle-insert-wgmma-fences")  # programmatic override wins
    compile_kernel("matmul")
    assert fake_native.calls[-1] == "tle-insert-wgmma-fences"


def test_dump_dir(tle_env, fake_native, monkeypatch):
    dump = Path(tle_env) / "dump"
    monkeypatch.setenv("TLE_DUMP_DIR", str(dump))
    fake_native.mode = "marker"
    integration.insert_step("tle-mid", before="assign_latencies", name="mid")
    compile_kernel("matmul")
    (kdir,) = list(dump.iterdir())
    assert kdir.name.startswith("matmul_kernel-")
    names = sorted(p.name for p in kdir.iterdir())
    assert names == ["01-mid.after.mlir", "01-mid.before.mlir",
                     "02-tle-post.after.mlir", "02-tle-post.before.mlir"]
    ctx = _ctx()
    for n in names:
        text = (kdir / n).read_text()
        assert text.startswith("// TLE step")
        mod = ttgir_text.generic_text_to_module(text, ctx)  # every dump is parseable IR
        assert ("tle.test_marker" in mod.str()) == (n != "01-mid.before.mlir")
    # "before" of the mid step is pre-pipeliner IR, "before" of the post step is final TTGIR
    assert "ttg.async_wait" not in (kdir / "01-mid.before.mlir").read_text()
    assert "ttg.async_wait" in (kdir / "02-tle-post.before.mlir").read_text()


def test_no_dump_without_env(tle_env, fake_native):
    compile_kernel("vector_add")
    assert not (Path(tle_env) / "dump").exists()


def test_gluon_left_alone_by_default_and_opt_in(tle_env, fake_native, monkeypatch):
    fake_native.mode = "marker"
    k = compile_kernel("gluon_wgmma")
    assert fake_native.calls == [] and "tle.test_marker" not in k.asm["ttgir"]
    monkeypatch.setenv("TLE_GLUON", "1")
    k2 = compile_kernel("gluon_wgmma")
    assert fake_native.calls == ["tle-pipeline"]
    assert "tle.test_marker" in k2.asm["ttgir"] and k2.asm["cubin"][:4] == b"\x7fELF"
    fake_native.mode = "fail"
    tle_config.set_options(gluon=True, pipeline="other")  # new key -> compiles again
    with pytest.warns(tle.TLEWarning):
        k3 = compile_kernel("gluon_wgmma")
    assert k3.asm["ttgir"] == k.asm["ttgir"]


def test_install_idempotent_and_chains(tle_env, fake_native):
    original = knobs.runtime.add_stages_inspection_hook
    integration.uninstall()
    assert knobs.runtime.add_stages_inspection_hook is not integration.stages_hook
    seen = []

    def previous(backend, stages, options, language, capability):
        # runs after TLE's wrapper is in place and may wrap it in turn
        seen.append(getattr(stages["ttgir"], "__tle__", False))
        inner = stages["ttgir"]

        def observe(mod, metadata):
            out = inner(mod, metadata)
            seen.append("observed")
            return out

        stages["ttgir"] = observe

    knobs.runtime.add_stages_inspection_hook = previous
    try:
        integration.install()
        integration.install()  # idempotent
        assert knobs.runtime.add_stages_inspection_hook is integration.stages_hook
        compile_kernel("vector_add")
        assert seen == [True, "observed"]  # previous hook called exactly once, after TLE's
        assert fake_native.calls == ["tle-pipeline"]
        tle.disable()
        compile_kernel("vector_add")
        assert seen[2:] == [False, "observed"]  # still chained while TLE is off
        tle.enable()
        integration.uninstall()
        assert knobs.runtime.add_stages_inspection_hook is previous
        from triton.backends.nvidia.compiler import CUDABackend
        import triton.runtime.jit as jit_mod

        assert not getattr(CUDABackend.hash, "__tle__", False)
        assert STATE.orig_backend_hash is None
        assert not getattr(jit_mod.compute_cache_key, "__tle__", False)
        assert not tle.is_enabled()
    finally:
        integration.uninstall()
        knobs.runtime.add_stages_inspection_hook = original if original is not integration.stages_hook else None
        integration.install()


def test_reinstall_after_knob_cleared(tle_env):
    knobs.runtime.add_stages_inspection_hook = None
    integration.install()
    assert knobs.runtime.add_stages_inspection_hook is integration.stages_hook


def test_set_options_validation():
    with pytest.raises(TypeError):
        tle_config.set_options(no_such_option=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tle_config.set_options(strict=True)
        assert tle_config.current().strict
        tle_config.set_options(strict=None)
        assert not tle_config.current().strict


def test_chains_a_keyed_previous_hook(tle_env, fake_native):
    """A hook of the 3.7+ kind installed before TLE: its key part and its stage changes survive."""
    original = knobs.runtime.add_stages_inspection_hook
    integration.uninstall()
    seen = []

    def previous(*args):
        if not args:
            return "-prev", "p"
        seen.append(len(args))

    knobs.runtime.add_stages_inspection_hook = previous
    try:
        integration.install()
        key, digest = integration.stages_hook()
        assert key.startswith("-prev") and digest.startswith("p") and len(key) > len("-prev")
        tle.disable()
        assert integration.stages_hook() == ("-prev", "p")
        tle.enable()
        compile_kernel("vector_add")
        assert seen == [5] and fake_native.calls == ["tle-pipeline"]
    finally:
        integration.uninstall()
        knobs.runtime.add_stages_inspection_hook = original if original is not integration.stages_hook else None
        integration.install()


def test_problem_inside_the_hook_warns_once_and_compiles_stock(tle_env, fake_native, monkeypatch):
    from tle.integration import hook as hook_mod

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug in TLE's hook")

    tle.disable()
    stock = compile_kernel("softmax")
    tle.enable()
    monkeypatch.setattr(hook_mod, "_add_tle_stages", boom)
    with pytest.warns(tle.TLEWarning, match="simulated bug"):
        k = compile_kernel("softmax")
    assert fake_native.calls == [] and k.asm["cubin"] == stock.asm["cubin"]
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(RuntimeError, match="simulated bug"):
        compile_kernel("matmul")


def test_unknown_calling_convention_is_stock(tle_env, fake_native):
    with pytest.warns(tle.TLEWarning, match="unknown calling convention"):
        assert integration.stages_hook(1, 2) is None


def test_enabled_context_manager(tle_env, fake_native):
    with tle.enabled(False):
        assert not tle.is_enabled()
        compile_kernel("vector_add")
    assert tle.is_enabled() and fake_native.calls == []
    compile_kernel("vector_add")
    assert fake_native.calls == ["tle-pipeline"]
