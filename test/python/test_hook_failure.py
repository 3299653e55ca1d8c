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
from tle import integration, ttgir_text
from tle.integration import runner
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
    with pytest.warns(tle.TLEWarning) as rec:
        k = compile_kernel(name)
    msg = str(rec[0].message)
    assert "injected failure" in msg and "reproducer:" in msg and "compiled with stock Triton" in msg
    dirs = _repro_dirs(tle_env)
    assert len(dirs) == 1 and str(dirs[0]) in msg
    _check_reproducer(dirs[0], "tle-pipeline")
    assert k.asm["ttgir"] == stock.asm["ttgir"]
    assert k.asm["cubin"] == stock.asm["cubin"]


def test_strict_raises_with_diagnostics(tle_env, fake_native, monkeypatch):
    fake_native.mode = "fail"
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(tle.TLEStepError) as ei:
        compile_kernel("softmax")
    err = ei.value
    assert isinstance(err, TLEError)
    assert "injected failure" in err.diagnostics
    assert err.step == integration.POST_STEP_NAME
    assert err.reproducer and os.path.isdir(err.reproducer)


def test_unparsable_output_falls_back(tle_env, fake_native):
    stock = _stock("vector_add")
    fake_native.mode = "garbage"
    with pytest.warns(tle.TLEWarning, match="custom op 'this' is unknown"):
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
    with pytest.warns(tle.TLEWarning, match="dialect-prefixed names"):
        k = compile_kernel("vector_add")
    assert "zzz_not_a_dialect_attr" in (_repro_dirs(tle_env)[0] / "diagnostics.txt").read_text()
    assert k.asm["ttgir"] == stock.asm["ttgir"]


def test_failure_after_a_changing_step_restarts_stock(tle_env, fake_native):
    """mid step changes the module, post step fails -> the pristine TTIR copy is compiled stock."""
    stock = _stock("matmul")
    fake_native.mode = "marker"
    fake_native.fail_on = {"tle-pipeline": "fail"}
    integration.insert_step("tle-mid", before="assign_latencies", name="mid")
    with pytest.warns(tle.TLEWarning):
        k = compile_kernel("matmul")
    assert fake_native.calls == ["tle-mid", "tle-pipeline"]
    assert "tle.test_marker" not in k.asm["ttgir"]
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]


def test_failure_of_first_step_skips_later_tle_steps(tle_env, fake_native):
    stock = _stock("matmul")
    fake_native.mode = "marker"
    fake_native.fail_on = {"tle-mid": "fail"}
    integration.insert_step("tle-mid", before="assign_latencies", name="mid", rerun=("fence_insertion",))
    with pytest.warns(tle.TLEWarning, match="'mid'"):
        k = compile_kernel("matmul")
    assert fake_native.calls == ["tle-mid"]  # post step skipped after the failure
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]


def test_missing_native_library_warns_once(tle_env, fake_native, monkeypatch):
    fake_native.mode = "missing"
    stock = _stock("vector_add")
    with pytest.warns(tle.TLEWarning, match="native library unavailable"):
        k = compile_kernel("vector_add")
    assert k.asm["ttgir"] == stock.asm["ttgir"]
    assert _repro_dirs(tle_env) == []  # nothing to reproduce
    with warnings.catch_warnings():
        warnings.simplefilter("error", tle.TLEWarning)
        compile_kernel("softmax")  # second kernel: no second warning
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(tle.TLEStepError, match="native library unavailable"):
        compile_kernel("matmul")


@requires_native()
def test_nonexistent_pass_with_real_library(tle_env, monkeypatch):
    stock = _stock("softmax")
    monkeypatch.setenv("TLE_PIPELINE", "nonexistent-pass")
    with pytest.warns(tle.TLEWarning, match="does not refer to a registered pass"):
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
    with pytest.raises(tle.TLEStepError) as ei:
        compile_kernel("matmul")
    assert "does not refer to a registered pass" in ei.value.diagnostics


def test_stock_pass_failing_after_tle_change_falls_back(tle_env, fake_native, monkeypatch):
    """A TLE step changes the IR, then one of Triton's own later passes fails on it: that is TLE's
    fault -> warning + reproducer (input = TLE's output) + stock compile from the pristine TTIR."""
    stock = _stock("matmul")
    fake_native.mode = "marker"
    integration.insert_step("tle-mid", before="assign_latencies", name="mid")
    real = runner._run_passes

    def flaky(mod, passes, sequence):
        if "tle.test_marker" in mod.str():
            raise RuntimeError("PassManager::run failed (simulated)")
        return real(mod, passes, sequence)

    monkeypatch.setattr(runner, "_run_passes", flaky)
    with pytest.warns(tle.TLEWarning, match="make_ttgir-after-mid") as rec:
        k = compile_kernel("matmul")
    assert "simulated" in str(rec[0].message)
    (d,) = _repro_dirs(tle_env)
    assert "tle.test_marker" in (d / "input.mlir").read_text()
    assert "make_ttgir failed on the IR produced by TLE" in (d / "README").read_text()
    assert k.asm["ttgir"] == stock.asm["ttgir"] and k.asm["cubin"] == stock.asm["cubin"]


def test_genuine_stock_failure_is_not_hidden(tle_env, fake_native, monkeypatch):
    def broken(mod, passes, sequence):
        raise RuntimeError("stock pass failure (simulated)")

    monkeypatch.setattr(runner, "_run_passes", broken)
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
    with pytest.warns(tle.TLEWarning, match="make_llir-after-tle-post"):
        k = compile_kernel("softmax")
    # Known limitation: the ttgir artifact was stored before make_llir ran, so it is TLE's.
    assert "tle.test_marker" in k.asm["ttgir"]
    assert k.asm["llir"] == stock.asm["llir"] and k.asm["cubin"] == stock.asm["cubin"]
    monkeypatch.setenv("TLE_STRICT", "1")
    monkeypatch.setenv("TLE_PIPELINE", "strict-variant")  # new cache key -> compiles again
    with pytest.raises(tle.TLEStepError, match="make_llir"):
        compile_kernel("softmax")


def test_warning_is_short_and_diagnostics_go_to_the_reproducer(tle_env, fake_native, monkeypatch):
    long_diag = "\n".join(f"fake.mlir:{i}:1: error: line {i} of a very long diagnostic " + "x" * 200
                          for i in range(300))

    def fail(text, pipeline):
        fake_native.calls.append(pipeline)
        raise TLEError(f"TLE pipeline '{pipeline}' failed", long_diag)

    monkeypatch.setattr(tle._native, "run_pipeline", fail)
    with pytest.warns(tle.TLEWarning) as rec:
        compile_kernel("softmax")
    msg = str(rec[0].message)
    assert len(msg) < 600 and msg.count("\n") == 0, msg
    assert "softmax_kernel" in msg and "'tle-post'" in msg and "reproducer:" in msg
    (d,) = _repro_dirs(tle_env)
    assert (d / "diagnostics.txt").read_text().strip() == long_diag


def test_unwritable_dump_dir_never_fails_a_compile(tle_env, fake_native, monkeypatch):
    blocker = Path(tle_env) / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TLE_DUMP_DIR", str(blocker / "dumps"))
    stock = _stock("vector_add")
    with pytest.warns(tle.TLEWarning, match="cannot write TLE_DUMP_DIR") as rec:
        k = compile_kernel("vector_add")
    assert len([w for w in rec if issubclass(w.category, tle.TLEWarning)]) == 1
    assert fake_native.calls == ["tle-pipeline"] and k.asm["cubin"] == stock.asm["cubin"]


def test_stock_fallback_is_not_served_to_a_strict_compile(tle_env, fake_native, monkeypatch):
    """A kernel compiled stock after a TLE failure must not satisfy a later strict compilation
    from the same cache (it would have raised): strictness is part of TLE's identity."""
    fake_native.mode = "fail"
    with pytest.warns(tle.TLEWarning):
        compile_kernel("softmax")
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(tle.TLEStepError):
        compile_kernel("softmax")


@requires_native()
def test_reproducer_command_reproduces(tle_env, monkeypatch):
    import subprocess

    monkeypatch.setenv("TLE_PIPELINE", "tle-split-dot-warps{no-such-option=1}")
    with pytest.warns(tle.TLEWarning):
        compile_kernel("matmul")
    (d,) = _repro_dirs(tle_env)
    tool_dir = os.path.dirname(str(tle.tool_path("tle-opt")))
    env = dict(os.environ, PATH=tool_dir + os.pathsep + os.environ.get("PATH", ""))
    r = subprocess.run(["sh", str(d / "reproduce.sh")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0
    assert "no-such-option" in r.stdout + r.stderr
    # the same command with a valid pipeline succeeds on the same input: the input is sound
    ok = subprocess.run(["sh", "-c", runner.reproduce_command("tle-pipeline")], cwd=d, capture_output=True,
                        text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
