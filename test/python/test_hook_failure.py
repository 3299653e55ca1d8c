"""Failure policy: a failing TLE step warns + writes a reproducer + compiles stock; strict raises."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from test_hook_common import compile_kernel, fake_native, requires_native, tle_env  # noqa: F401

from triton._C.libtriton import ir
from triton.compiler.compiler import make_backend

import tle
from tle import hook, ttgir_text
from tle._native import TLEError


def _stock(name):
    tle.disable()
    try:
        return compile_kernel(name)
    finally:
        tle.enable()


def _repro_dirs(tmp):
    root = Path(tmp) / "repro"
    return sorted(p for p in root.iterdir()) if root.exists() else []


def _check_reproducer(d: Path, pipeline: str):
    assert (d / "input.mlir").is_file()
    assert (d / "pipeline.txt").read_text().strip() == pipeline
    readme = (d / "README").read_text()
    assert "tle-opt" in readme and pipeline in readme and "input.mlir" in readme
    assert (d / "diagnostics.txt").read_text().strip()
    # the input is the IR before the failing step, in generic form, readable by Triton
    from test_hook_common import TARGET

    ctx = ir.context()
    ir.load_dialects(ctx)
    make_backend(TARGET).load_dialects(ctx)
    text = (d / "input.mlir").read_text()
    assert text.lstrip().startswith(('"builtin.module"', "#loc"))
    assert ttgir_text.generic_text_to_module(text, ctx).verify()


@pytest.mark.parametrize("name", ["softmax", "matmul"])
def test_failing_step_warns_writes_reproducer_and_compiles_stock(tle_env, fake_native, name):
    stock = _stock(name)
    fake_native.mode = "fail"
    with pytest.warns(hook.TLEWarning) as rec:
        k = compile_kernel(name)
    msg = str(rec[0].message)
    assert "injected failure" in msg and "reproducer:" in msg and "compiling with stock Triton" in msg
    dirs = _repro_dirs(tle_env)
    assert len(dirs) == 1 and str(dirs[0]) in msg
    _check_reproducer(dirs[0], "tle-pipeline")
    assert k.asm["ttgir"] == stock.asm["ttgir"]
    assert k.asm["cubin"] == stock.asm["cubin"]


def test_strict_raises_with_diagnostics(tle_env, fake_native, monkeypatch):
    fake_native.mode = "fail"
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(hook.TLEStepError) as ei:
        compile_kernel("softmax")
    err = ei.value
    assert isinstance(err, TLEError)
    assert "injected failure" in err.diagnostics
    assert err.step == hook.POST_STEP_NAME
    assert err.reproducer and os.path.isdir(err.reproducer)


def test_unparsable_output_falls_back(tle_env, fake_native):
    stock = _stock("vector_add")
    fake_native.mode = "garbage"
    with pytest.warns(hook.TLEWarning, match="Parse MLIR file failed"):
        k = compile_kernel("vector_add")
    d = _repro_dirs(tle_env)[0]
    assert (d / "output.mlir").read_text().startswith('"builtin.module"')
    assert "output.mlir" in (d / "diagnostics.txt").read_text()
    assert k.asm["ttgir"] == stock.asm["ttgir"]


def test_output_failing_triton_verifier_falls_back(tle_env, monkeypatch):
    def bad(text, pipeline):
        i = text.rfind("}) {")
        return text[:i + 4] + "zzz_not_a_dialect_attr = 1 : i32, " + text[i + 4:]

    monkeypatch.setattr(tle._native, "run_pipeline", bad)
    stock = _stock("vector_add")
    # (Triton verifies while parsing: the verifier message comes back as the diagnostics)
    with pytest.warns(hook.TLEWarning, match="dialect-prefixed names"):
        k = compile_kernel("vector_add")
    assert "zzz_not_a_dialect_attr" in (_repro_dirs(tle_env)[0] / "diagnostics.txt").read_text()
    assert k.asm["ttgir"] == stock.asm["ttgir"]


def test_failure_after_a_changing_step_restarts_stock(tle_env, fake_native):
    """mid step changes the module, post step fails -> the pristine TTIR copy is compiled stock."""
    stock = _stock("matmul")
    fake_native.mode = "marker"
    fake_native.fail_on = {"tle-pipeline": "fail"}
    hook.insert_step("tle-mid", before="assign_latencies", name="mid")
    with pytest.warns(hook.TLEWarning):
        k = compile_kernel("matmul")
    assert fake_native.calls == ["tle-mid", "tle-pipeline"]
    assert "tle.test_marker" not in k.asm["ttgir"]
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]


def test_failure_of_first_step_skips_later_tle_steps(tle_env, fake_native):
    stock = _stock("matmul")
    fake_native.mode = "marker"
    fake_native.fail_on = {"tle-mid": "fail"}
    hook.insert_step("tle-mid", before="assign_latencies", name="mid", rerun=("fence_insertion",))
    with pytest.warns(hook.TLEWarning, match="'mid'"):
        k = compile_kernel("matmul")
    assert fake_native.calls == ["tle-mid"]  # post step skipped after the failure
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]


def test_missing_native_library_warns_once(tle_env, fake_native, monkeypatch):
    fake_native.mode = "missing"
    stock = _stock("vector_add")
    with pytest.warns(hook.TLEWarning, match="native library unavailable"):
        k = compile_kernel("vector_add")
    assert k.asm["ttgir"] == stock.asm["ttgir"]
    assert _repro_dirs(tle_env) == []  # nothing to reproduce
    with warnings.catch_warnings():
        warnings.simplefilter("error", hook.TLEWarning)
        compile_kernel("softmax")  # second kernel: no second warning
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(hook.TLEStepError, match="native library unavailable"):
        compile_kernel("matmul")


@requires_native()
def test_nonexistent_pass_with_real_library(tle_env, monkeypatch):
    stock = _stock("softmax")
    monkeypatch.setenv("TLE_PIPELINE", "nonexistent-pass")
    with pytest.warns(hook.TLEWarning, match="does not refer to a registered pass"):
        k = compile_kernel("softmax")
    dirs = _repro_dirs(tle_env)
    assert len(dirs) == 1
    _check_reproducer(dirs[0], "nonexistent-pass")
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]
    # the reproducer reproduces: the same input fails the same way through the library
    with pytest.raises(TLEError, match="nonexistent-pass"):
        tle._native.run_pipeline((dirs[0] / "input.mlir").read_text(), "nonexistent-pass")
    # and the same input goes through the default pipeline
    assert tle._native.run_pipeline((dirs[0] / "input.mlir").read_text(), "tle-pipeline")

    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(hook.TLEStepError) as ei:
        compile_kernel("matmul")
    assert "does not refer to a registered pass" in ei.value.diagnostics


def test_stock_pass_failing_after_tle_change_falls_back(tle_env, fake_native, monkeypatch):
    """A TLE step changes the IR, then one of Triton's own later passes fails on it: that is TLE's
    fault -> warning + reproducer (input = TLE's output) + stock compile from the pristine TTIR."""
    stock = _stock("matmul")
    fake_native.mode = "marker"
    hook.insert_step("tle-mid", before="assign_latencies", name="mid")
    real = hook._run_stock_segment

    def flaky(mod, steps, c):
        if c.changed:
            raise RuntimeError("PassManager::run failed (simulated)")
        return real(mod, steps, c)

    monkeypatch.setattr(hook, "_run_stock_segment", flaky)
    with pytest.warns(hook.TLEWarning, match="make_ttgir-after-mid") as rec:
        k = compile_kernel("matmul")
    assert "simulated" in str(rec[0].message)
    (d,) = _repro_dirs(tle_env)
    assert "tle.test_marker" in (d / "input.mlir").read_text()
    assert "make_ttgir failed on the IR produced by TLE" in (d / "README").read_text()
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]


def test_genuine_stock_failure_is_not_hidden(tle_env, fake_native, monkeypatch):
    def broken(mod, steps, c):
        raise RuntimeError("stock pass failure (simulated)")

    monkeypatch.setattr(hook, "_run_stock_segment", broken)
    with pytest.raises(RuntimeError, match="stock pass failure"):
        compile_kernel("vector_add")


def test_make_llir_failing_on_tle_output_falls_back(tle_env, fake_native, monkeypatch):
    from triton.backends.nvidia.compiler import CUDABackend

    stock = _stock("softmax")
    fake_native.mode = "marker"
    real = CUDABackend.make_llir

    def picky(self, src, metadata, options, capability):
        if "tle.test_marker" in src.str():
            raise RuntimeError("cannot lower (simulated)")
        return real(self, src, metadata, options, capability)

    monkeypatch.setattr(CUDABackend, "make_llir", picky)
    with pytest.warns(hook.TLEWarning, match="make_llir-after-tle-post"):
        k = compile_kernel("softmax")
    # Known limitation: the ttgir artifact was stored before make_llir ran, so it is TLE's.
    assert "tle.test_marker" in k.asm["ttgir"]
    assert k.asm["llir"] == stock.asm["llir"] and k.asm["cubin"] == stock.asm["cubin"]
    monkeypatch.setenv("TLE_STRICT", "1")
    monkeypatch.setenv("TLE_PIPELINE", "strict-variant")  # new cache key -> compiles again
    with pytest.raises(hook.TLEStepError, match="make_llir"):
        compile_kernel("softmax")
