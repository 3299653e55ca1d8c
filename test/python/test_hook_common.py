"""Shared helpers for the TLE hook / text-bridge tests (CPU only; target sm_90 via ptxas).

Imported by test_hook_*.py and test_ttgir_text.py. Tests that need the real libtle_capi.so skip
with a reason when it cannot be loaded; everything else runs against a fake ``run_pipeline``.
"""
from __future__ import annotations

import glob
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for sub in ("python", "examples/kernels", "tools"):
    p = str(ROOT / sub)
    if p not in sys.path:
        sys.path.insert(0, p)

# Point tle._native at a lead-built library when nothing else is configured.
if not os.environ.get("TLE_NATIVE_LIB"):
    _built = sorted(glob.glob(str(ROOT / "build" / "*" / "libtle_capi.so")))
    if _built:
        os.environ["TLE_NATIVE_LIB"] = _built[0]

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402

import tle  # noqa: E402,F401  (installs the hook)
from tle import _native, integration, ttgir_text  # noqa: E402
from tle.integration.state import STATE  # noqa: E402
from tle import config as tle_config  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)

# Example kernels (examples/kernels/<name>.py, each with make_source()).
EXAMPLES = ["vector_add", "softmax", "matmul", "flash_attention_fwd", "gluon_wgmma", "tma_matmul"]
TRITON_EXAMPLES = [k for k in EXAMPLES if k != "gluon_wgmma"]

TLE_ENV = ("TLE_DISABLE", "TLE_PIPELINE", "TLE_STRICT", "TLE_DUMP_DIR", "TLE_REPRO_DIR", "TLE_GLUON")

#: Triton 3.7+ asks the hook for its cache-key part; 3.6 has TLE wrap the key functions.
KEYED_HOOK = STATE.keyed_hook


def tle_key_part():
    """What TLE adds to Triton's compile cache key in the current state ("" when off), in
    whichever way the installed Triton takes it."""
    if STATE.keyed_hook:
        return integration.stages_hook()[0]
    from triton.compiler.compiler import make_backend

    backend = make_backend(TARGET)
    return backend.hash()[len(STATE.orig_backend_hash(backend)):]


def native_available() -> tuple:
    try:
        _native.library()
        return True, ""
    except ImportError as e:
        return False, f"libtle_capi.so not loadable: {e}"


def requires_native():
    ok, why = native_available()
    return pytest.mark.skipif(not ok, reason=why)


def mlir_opt_path():
    import capture_ttgir

    return capture_ttgir.find_mlir_opt()


def make_source(name: str, **kw):
    if name == "sparse_mla_plain":
        import capture_ttgir

        return capture_ttgir.sparse_mla_source(**kw)
    return importlib.import_module(name).make_source(**kw)


def compile_kernel(name: str, **kw):
    src, options = make_source(name, **kw)
    return triton.compile(src, target=TARGET, options=options)


def sparse_mla_available() -> bool:
    try:
        import tle.ops.sparse_mla  # noqa: F401
        return True
    except Exception:
        return False


def nodebug(ttgir: str) -> str:
    """TTGIR text (from CompiledKernel.asm) re-printed without locations, for comparisons."""
    from triton._C.libtriton import ir
    from triton.compiler.compiler import make_backend

    ctx = ir.context()
    ir.load_dialects(ctx)
    make_backend(TARGET).load_dialects(ctx)
    return ttgir_text.generic_text_to_module(ttgir, ctx).str_nodebug()


class FakeNative:
    """Stand-in for ``tle._native.run_pipeline``: records calls; ``mode`` selects the behaviour.

    identity -- return the text unchanged
    marker   -- add a module attribute ``tle.test_marker`` (a visible, harmless change)
    fail     -- raise TLEError with diagnostics
    garbage  -- return text Triton cannot parse
    missing  -- raise ImportError (library not found)
    fail_on  -- dict pipeline -> mode, overriding ``mode`` per pipeline
    """

    def __init__(self, mode="identity"):
        self.mode = mode
        self.fail_on = {}
        self.calls = []

    def __call__(self, text, pipeline="tle-pipeline"):
        self.calls.append(pipeline)
        mode = self.fail_on.get(pipeline, self.mode)
        if mode == "identity":
            return text
        if mode == "marker":
            if "tle.test_marker" in text:
                return text
            i = text.rfind("}) {")
            assert i > 0
            return text[:i + 4] + "tle.test_marker = 1 : i32, " + text[i + 4:]
        if mode == "fail":
            raise _native.TLEError(f"TLE pipeline '{pipeline}' failed",
                                   "fake.mlir:1:1: error: injected failure for testing")
        if mode == "garbage":
            return '"builtin.module"() ({ this is not mlir }) : () -> ()'
        if mode == "missing":
            raise ImportError("TLE native library not found (fake)")
        raise AssertionError(mode)


@pytest.fixture
def tle_env(monkeypatch, tmp_path):
    """Clean TLE state: hook installed, no TLE_* env, fresh Triton cache dir, no overrides or
    inserted steps, warn-once memory cleared. Restores everything afterwards."""
    for var in TLE_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("TRITON_ALWAYS_COMPILE", raising=False)
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton-cache"))
    monkeypatch.setenv("TLE_REPRO_DIR", str(tmp_path / "repro"))
    integration.install()
    tle_config.reset_options()
    integration.clear_steps()
    STATE.warned.clear()
    yield tmp_path
    tle_config.reset_options()
    integration.clear_steps()
    STATE.warned.clear()
    integration.install()


@pytest.fixture
def fake_native(monkeypatch):
    fake = FakeNative()
    monkeypatch.setattr(_native, "run_pipeline", fake)
    return fake


def run_mlir_opt(text: str, *args: str) -> str:
    exe = mlir_opt_path()
    r = subprocess.run([exe, "--allow-unregistered-dialect", "--mlir-print-op-generic", *args, "-"],
                       input=text, capture_output=True, text=True)
    if r.returncode != 0:
        raise _native.TLEError("mlir-opt failed", r.stderr)
    return r.stdout


def have_mlir_opt() -> bool:
    p = mlir_opt_path()
    return bool(p) and (os.path.isfile(p) or shutil.which(p) is not None)
