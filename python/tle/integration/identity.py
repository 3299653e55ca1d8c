"""TLE's identity in Triton's cache keys.

A kernel compiled through TLE must never be served to a compilation without TLE, or with other TLE
steps, and vice versa. TLE's identity (version, this package's code, the native library's build,
the configuration that can change code, the registered steps) is therefore part of both of
Triton's keys whenever TLE is on; with TLE off the keys are exactly stock.

* Triton 3.7+: the stages hook is called with no arguments by ``compile()`` and by every JIT
  launch and returns ``(key, hash)``, which Triton folds into both keys (:func:`hook_key`).
* Triton 3.6: nothing asks the hook, so ``CUDABackend.hash`` (disk key) and
  ``triton.runtime.jit.compute_cache_key`` (JIT key) are wrapped (:func:`patch_cache_keys`).

``strict`` is part of the identity: a kernel compiled with a stock fallback must not satisfy a
later TLE_STRICT=1 compilation, which would have raised.
"""
from __future__ import annotations

import functools
import hashlib
import os
from typing import Optional

from .. import _native
from .. import config as _config
from .state import STATE
from .steps import registry_fingerprint

#: Bump when the integration's behaviour changes compiled code in a way no digest below sees.
INTEGRATION_VERSION = "2"

_MISSING = object()


@functools.lru_cache(maxsize=None)
def _python_digest() -> str:
    """sha256 of the Python files that decide what TLE does to a kernel."""
    h = hashlib.sha256(INTEGRATION_VERSION.encode())
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = [os.path.join(pkg, "ttgir_text.py"), os.path.join(pkg, "config.py"),
             os.path.join(pkg, "gluon", "cluster_lowering.py")]  # rewrites the PTX of Gluon kernels
    here = os.path.dirname(os.path.abspath(__file__))
    files += sorted(os.path.join(here, f) for f in os.listdir(here) if f.endswith(".py"))
    for path in files:
        try:
            with open(path, "rb") as f:
                h.update(f.read())
        except OSError:
            h.update(b"?")
    return h.hexdigest()[:16]


def tle_version() -> str:
    import tle

    return str(getattr(tle, "__version__", "dev"))


@functools.lru_cache(maxsize=8)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def native_build_id() -> str:
    """``<library version>:<sha256 of the .so>`` of the native library, or ``none``."""
    try:
        lib = _native.library()
    except (ImportError, OSError):
        return "none"
    path = getattr(lib, "_name", None)
    try:
        ver = lib.tle_version().decode()
    except Exception:
        ver = "?"
    digest = "?"
    if path and os.path.isfile(path):
        st = os.stat(path)
        digest = _file_digest(path, st.st_mtime_ns, st.st_size)
    return f"{ver}:{digest}"


def cache_identity() -> Optional[str]:
    """TLE's cache-key contribution, or ``None`` when TLE is off. Called on every JIT launch:
    a dict lookup keyed by the raw environment state when nothing changed."""
    if not STATE.installed:
        return None
    key = (*_config.state_key(), STATE.steps_generation)
    ident = STATE.identity_cache.get(key, _MISSING)
    if ident is _MISSING:
        cfg = _config.current()
        ident = None if not cfg.enabled else _compute(cfg)
        if len(STATE.identity_cache) > 64:
            STATE.identity_cache.clear()
        STATE.identity_cache[key] = ident
    return ident


def _compute(cfg: _config.Options) -> str:
    material = ";".join([
        f"tle={tle_version()}", f"py={_python_digest()}", cfg.output_identity(), f"strict={int(cfg.strict)}",
        f"steps={registry_fingerprint()}", f"native={native_build_id()}",
    ])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def hook_key() -> tuple:
    """The ``(key, hash)`` pair Triton 3.7+ asks the hook for: empty strings when TLE is off."""
    ident = cache_identity()
    return ("", "") if ident is None else (f"-tle-{ident}", ident)


# -- Triton 3.6: wrapping the two key functions ---------------------------------------------------


def _patched_backend_hash(self):
    base = STATE.orig_backend_hash(self)
    ident = cache_identity()
    return base if ident is None else f"{base}-tle-{ident}"


def _patched_compute_cache_key(kernel_key_cache, specialization, options):
    key = STATE.orig_compute_cache_key(kernel_key_cache, specialization, options)
    ident = cache_identity()
    return key if ident is None else f"{key}-tle-{ident}"


_patched_backend_hash.__tle__ = True
_patched_compute_cache_key.__tle__ = True


def patch_cache_keys() -> None:
    from triton.backends.nvidia.compiler import CUDABackend
    import triton.runtime.jit as jit_mod

    if not getattr(CUDABackend.hash, "__tle__", False):
        STATE.orig_backend_hash = CUDABackend.hash
        CUDABackend.hash = _patched_backend_hash
    if hasattr(jit_mod, "compute_cache_key") and not getattr(jit_mod.compute_cache_key, "__tle__", False):
        STATE.orig_compute_cache_key = jit_mod.compute_cache_key
        jit_mod.compute_cache_key = _patched_compute_cache_key


def unpatch_cache_keys() -> None:
    from triton.backends.nvidia.compiler import CUDABackend
    import triton.runtime.jit as jit_mod

    if STATE.orig_backend_hash is not None and getattr(CUDABackend.hash, "__tle__", False):
        CUDABackend.hash = STATE.orig_backend_hash
    if STATE.orig_compute_cache_key is not None and getattr(jit_mod.compute_cache_key, "__tle__", False):
        jit_mod.compute_cache_key = STATE.orig_compute_cache_key
    STATE.orig_backend_hash = STATE.orig_compute_cache_key = None
