"""TLE_DISABLE / TLE_PIPELINE / TLE_DUMP_DIR / TLE_GLUON, enable/disable, install/chaining."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from test_hook_common import TARGET, compile_kernel, fake_native, tle_env  # noqa: F401

from triton import knobs
from triton._C.libtriton import ir
from triton.compiler.compiler import make_backend

import tle
from tle import config as tle_config
from tle import hook, ttgir_text


def _ctx():
    ctx = ir.context()
    ir.load_dialects(ctx)
    make_backend(TARGET).load_dialects(ctx)
    return ctx


def test_lead_exports():
    for name in ("enable", "disable", "is_enabled", "install"):
        assert callable(getattr(tle, name))
    assert hook.is_installed()
    assert knobs.runtime.add_stages_inspection_hook is not None


def test_tle_disable_env_is_stock(tle_env, fake_native, monkeypatch):
    stock_hash = hook._orig_backend_hash(make_backend(TARGET))
    monkeypatch.setenv("TLE_DISABLE", "1")
    assert not tle.is_enabled()
    k = compile_kernel("matmul")
    assert fake_native.calls == []
    assert make_backend(TARGET).hash() == stock_hash
    with pytest.warns(hook.TLEWarning, match="TLE_DISABLE=1"):
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
    hook.insert_step("tle-mid", before="assign_latencies", name="mid")
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
    with pytest.warns(hook.TLEWarning):
        k3 = compile_kernel("gluon_wgmma")
    assert k3.asm["ttgir"] == k.asm["ttgir"]


def test_install_idempotent_and_chains(tle_env, fake_native):
    original = knobs.runtime.add_stages_inspection_hook
    hook.uninstall()
    assert knobs.runtime.add_stages_inspection_hook is not hook._stages_hook
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
        hook.install()
        hook.install()  # idempotent
        assert knobs.runtime.add_stages_inspection_hook is hook._stages_hook
        compile_kernel("vector_add")
        assert seen == [True, "observed"]  # previous hook called exactly once, after TLE's
        assert fake_native.calls == ["tle-pipeline"]
        tle.disable()
        compile_kernel("vector_add")
        assert seen[2:] == [False, "observed"]  # still chained while TLE is off
        tle.enable()
        hook.uninstall()
        assert knobs.runtime.add_stages_inspection_hook is previous
        from triton.backends.nvidia.compiler import CUDABackend
        import triton.runtime.jit as jit_mod

        assert not getattr(CUDABackend.hash, "__tle__", False)
        assert not getattr(jit_mod.compute_cache_key, "__tle__", False)
        assert not tle.is_enabled()
    finally:
        hook.uninstall()
        knobs.runtime.add_stages_inspection_hook = original if original is not hook._stages_hook else None
        hook.install()


def test_reinstall_after_knob_cleared(tle_env):
    knobs.runtime.add_stages_inspection_hook = None
    hook.install()
    assert knobs.runtime.add_stages_inspection_hook is hook._stages_hook


def test_set_options_validation():
    with pytest.raises(TypeError):
        tle_config.set_options(no_such_option=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tle_config.set_options(strict=True)
        assert tle_config.current().strict
        tle_config.set_options(strict=None)
        assert not tle_config.current().strict
