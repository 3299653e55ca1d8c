"""ctypes binding to libtle_capi.so, TLE's C-ABI library.

ctypes (not a CPython extension) keeps what Python loads independent of the CPython minor
version: a tree built with Python 3.11 runs unchanged under Python 3.12 on the GPU machine.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

LIB_NAME = "libtle_capi.so"


class TLEError(RuntimeError):
    """A TLE pipeline failed; ``diagnostics`` holds MLIR's diagnostic text."""

    def __init__(self, message: str, diagnostics: str = ""):
        super().__init__(f"{message}\n{diagnostics}".rstrip())
        self.diagnostics = diagnostics


def _candidate_paths():
    env = os.environ.get("TLE_NATIVE_LIB")
    if env:
        yield Path(env)
    import tle  # the package may span the source tree and site-packages (editable install)

    for entry in getattr(tle, "__path__", [os.path.dirname(__file__)]):
        yield Path(entry) / "_lib" / LIB_NAME


_lib = None


def library() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidate_paths():
        tried.append(str(path))
        if path.is_file():
            # RTLD_LOCAL: our static MLIR copy must not interpose on Triton's or upstream mlir's.
            lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
            _declare(lib)
            _lib = lib
            return lib
    raise ImportError(
        "TLE native library not found (looked in: " + ", ".join(tried) + "). "
        "Install TLE with `pip install .` or set TLE_NATIVE_LIB."
    )


def _declare(lib: ctypes.CDLL) -> None:
    lib.tle_run_pipeline.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_void_p),
    ]
    lib.tle_run_pipeline.restype = ctypes.c_int
    lib.tle_list_passes.argtypes = []
    lib.tle_list_passes.restype = ctypes.c_void_p
    lib.tle_version.argtypes = []
    lib.tle_version.restype = ctypes.c_char_p
    lib.tle_has_native_rewrites.argtypes = []
    lib.tle_has_native_rewrites.restype = ctypes.c_int
    lib.tle_free.argtypes = [ctypes.c_void_p]
    lib.tle_free.restype = None


def _take_string(lib: ctypes.CDLL, ptr: int | None, size: int | None = None) -> str:
    if not ptr:
        return ""
    try:
        raw = ctypes.string_at(ptr, size) if size is not None else ctypes.string_at(ptr)
        return raw.decode("utf-8", errors="replace")
    finally:
        lib.tle_free(ptr)


def run_pipeline(ir_text: str, pipeline: str = "tle-pipeline") -> str:
    """Parse ``ir_text`` (generic-form Triton IR), run ``pipeline`` and return the printed result.

    ``pipeline`` is an MLIR textual pipeline, e.g. ``"tle-pipeline"`` or
    ``"tle-lower-views,tle-fence-lowering"``. Raises TLEError carrying MLIR's diagnostics.
    """
    lib = library()
    data = ir_text.encode("utf-8")
    out = ctypes.c_void_p()
    out_len = ctypes.c_size_t()
    diag = ctypes.c_void_p()
    rc = lib.tle_run_pipeline(data, len(data), pipeline.encode("utf-8"),
                              ctypes.byref(out), ctypes.byref(out_len), ctypes.byref(diag))
    text = _take_string(lib, out.value, out_len.value)
    diagnostics = _take_string(lib, diag.value)
    if rc != 0:
        raise TLEError(f"TLE pipeline '{pipeline}' failed", diagnostics)
    return text


def list_passes() -> dict[str, str]:
    """Registered TLE passes: name -> one-line description."""
    lib = library()
    listing = _take_string(lib, lib.tle_list_passes())
    passes = {}
    for line in listing.splitlines():
        name, _, description = line.partition("\t")
        if name:
            passes[name] = description
    return passes


def version() -> str:
    return library().tle_version().decode()


def has_native_rewrites() -> bool:
    """True when the library was built with __TLE__ (rewrites of Triton's own IR)."""
    return bool(library().tle_has_native_rewrites())


def tool_path(name: str) -> Path:
    """Path of a TLE executable (``tle-opt``) shipped inside the package, or TLE_<NAME> env."""
    env = os.environ.get("TLE_" + name.upper().replace("-", "_"))
    if env:
        return Path(env)
    import tle

    for entry in getattr(tle, "__path__", [os.path.dirname(__file__)]):
        candidate = Path(entry) / "_bin" / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"TLE tool '{name}' not found; install TLE with `pip install .`")


def tle_opt_main() -> None:
    """Console entry point: run the packaged tle-opt binary with this process's arguments."""
    import sys

    binary = str(tool_path("tle-opt"))
    os.execv(binary, [binary, *sys.argv[1:]])
