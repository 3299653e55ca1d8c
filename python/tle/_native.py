"""ctypes binding to libtle_capi.so, TLE's C-ABI library.

ctypes (not a CPython extension) keeps what Python loads independent of the CPython minor
version: a tree built with Python 3.11 runs unchanged under Python 3.12 on the GPU machine.
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from . import config

LIB_NAME = "libtle_capi.so"
# The C ABI this module calls (TLE_ABI_VERSION in capi/tle_capi.h).
ABI_VERSION = 2


class TLEError(RuntimeError):
    """A TLE pipeline failed; ``diagnostics`` holds MLIR's diagnostic text."""

    def __init__(self, message: str, diagnostics: str = ""):
        super().__init__(f"{message}\n{diagnostics}".rstrip())
        self.diagnostics = diagnostics


def _package_dirs():
    """Every directory a ``tle`` package may live in: this module's package first (it may span
    the source tree and site-packages in an editable install), then any other ``tle`` on
    sys.path, e.g. the installed package while tests import the source tree's Python."""
    seen = set()
    import tle

    for entry in list(getattr(tle, "__path__", [])) + [os.path.dirname(__file__)]:
        if entry not in seen:
            seen.add(entry)
            yield Path(entry)
    for entry in sys.path:
        candidate = os.path.join(entry or os.getcwd(), "tle")
        if candidate not in seen and os.path.isdir(candidate):
            seen.add(candidate)
            yield Path(candidate)


def _candidate_paths():
    env = config.native_library_override()
    if env:
        yield Path(env)
        return  # an explicit choice is never silently replaced by another library
    for entry in _package_dirs():
        yield entry / "_lib" / LIB_NAME


_lib = None


def library() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidate_paths():
        if not path.is_file():
            tried.append(f"{path} (missing)")
            continue
        # RTLD_LOCAL: our static MLIR copy must not interpose on Triton's or upstream mlir's.
        lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
        abi = _abi_version(lib)
        if abi != ABI_VERSION:
            # Calling through another signature would pass garbage: never use such a library.
            tried.append(f"{path} (C ABI {abi}, this tle package needs {ABI_VERSION}: rebuild it)")
            continue
        _declare(lib)
        _lib = lib
        return lib
    raise ImportError(
        "TLE native library not found (looked at: " + ", ".join(tried) + "). "
        "Install TLE with `pip install .` or set TLE_NATIVE_LIB."
    )


def _abi_version(lib: ctypes.CDLL) -> int:
    try:
        fn = lib.tle_abi_version
    except AttributeError:
        return 1  # libraries before the ABI was versioned
    fn.argtypes = []
    fn.restype = ctypes.c_int
    return fn()


def _declare(lib: ctypes.CDLL) -> None:
    lib.tle_run_pipeline.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
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


def _utf8(value, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"run_pipeline: {what} must be str, not {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates: not text MLIR could read
        raise TLEError(f"run_pipeline: {what} is not valid Unicode text ({e.reason} at index {e.start})") from None


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} characters)"


def run_pipeline(ir_text: str, pipeline: str = "tle-pipeline") -> str:
    """Parse ``ir_text`` (generic-form Triton IR), run ``pipeline`` and return the printed result.

    ``pipeline`` is an MLIR textual pipeline, e.g. ``"tle-pipeline"`` or
    ``"tle-split-dot-warps,tle-lower-to-triton"``. Raises TypeError for arguments that are not
    str and TLEError carrying MLIR's diagnostics for everything else (invalid IR, an unknown pass
    or option, input or pipelines beyond TLE's limits, a NUL byte in either).
    """
    data = _utf8(ir_text, "ir_text")
    pipe = _utf8(pipeline, "pipeline")
    lib = library()
    out = ctypes.c_void_p()
    out_len = ctypes.c_size_t()
    diag = ctypes.c_void_p()
    rc = lib.tle_run_pipeline(data, len(data), pipe, len(pipe),
                              ctypes.byref(out), ctypes.byref(out_len), ctypes.byref(diag))
    text = _take_string(lib, out.value, out_len.value)
    diagnostics = _take_string(lib, diag.value)
    if rc != 0:
        reason = {2: " (bad arguments to the C API)", 3: " (out of memory)"}.get(rc, "")
        raise TLEError(f"TLE pipeline '{_short(pipeline)}' failed{reason}", diagnostics)
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
    env = config.tool_override(name)
    if env:
        return Path(env)
    for entry in _package_dirs():
        candidate = entry / "_bin" / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"TLE tool '{name}' not found; install TLE with `pip install .`")


def tle_opt_main() -> None:
    """Console entry point: run the packaged tle-opt binary with this process's arguments."""
    import sys

    binary = str(tool_path("tle-opt"))
    os.execv(binary, [binary, *sys.argv[1:]])
