"""TLE runtime configuration: environment variables + programmatic overrides.

Environment (read at every compile, so a test or a launcher can change them at any time):

  TLE_DISABLE=1        kill switch: stock Triton behaviour (no stage wrapper, stock cache keys).
                       Wins over ``tle.enable()``.
  TLE_PIPELINE=<p>     post-ttgir TLE pipeline (MLIR textual pipeline, default "tle-pipeline");
                       an empty value runs no post-ttgir step.
  TLE_STRICT=1         a failing TLE step raises instead of warning and compiling stock.
  TLE_DUMP_DIR=<dir>   write the IR before and after every TLE step under <dir>.
  TLE_REPRO_DIR=<dir>  where failure reproducers go (default: <tmp>/tle-repro).
  TLE_GLUON=1          also run the post-ttgir pipeline on Gluon kernels (default: leave them alone).
  TLE_MATERIALIZE=0    ``import tle`` does not register the default gather-loop pipelining
                       (tle.pipeline.auto); read when tle.pipeline.reset_default() runs.
  TLE_NATIVE_LIB=<so>  path of libtle_capi.so (``native_library_override``, used by tle._native).
  TLE_TLE_OPT=<exe>    path of tle-opt (``tool_override``).
  TLE_CACHE_DIR=<dir>  where TLE keeps what it builds on first use (the op's C++ entry point,
                       tle.ops.torch_ext); default ~/.cache/tle.

Programmatic overrides (``set_options``, ``enable``/``disable``) take precedence over the
environment, except that ``TLE_DISABLE=1`` always disables.
"""
from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, fields, replace
from typing import Optional

ENV_DISABLE = "TLE_DISABLE"
ENV_PIPELINE = "TLE_PIPELINE"
ENV_STRICT = "TLE_STRICT"
ENV_DUMP_DIR = "TLE_DUMP_DIR"
ENV_REPRO_DIR = "TLE_REPRO_DIR"
ENV_GLUON = "TLE_GLUON"

ENV_MATERIALIZE = "TLE_MATERIALIZE"
ENV_NATIVE_LIB = "TLE_NATIVE_LIB"
ENV_CACHE_DIR = "TLE_CACHE_DIR"

ENV_VARS = (ENV_DISABLE, ENV_PIPELINE, ENV_STRICT, ENV_DUMP_DIR, ENV_REPRO_DIR, ENV_GLUON, ENV_NATIVE_LIB)

DEFAULT_PIPELINE = "tle-pipeline"

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: Optional[str]) -> bool:
    return value is not None and value.strip().lower() in _TRUE


@dataclass(frozen=True)
class Options:
    """A snapshot of TLE's configuration, taken once per compilation."""

    enabled: bool = True
    pipeline: str = DEFAULT_PIPELINE
    strict: bool = False
    dump_dir: Optional[str] = None
    repro_dir: Optional[str] = None
    gluon: bool = False
    #: True when TLE_DISABLE=1 forced ``enabled`` off.
    env_disabled: bool = False

    @property
    def repro_root(self) -> str:
        return self.repro_dir or os.path.join(tempfile.gettempdir(), "tle-repro")

    def output_identity(self) -> str:
        """The part of the configuration that can change compiled code (cache-key material).
        strict / dump_dir / repro_dir only change diagnostics, not the kernel."""
        return f"pipeline={self.pipeline!r};gluon={int(self.gluon)}"


_lock = threading.Lock()
_overrides: dict = {}
_generation = 0  # bumped on every programmatic change (cheap cache invalidation for callers)


# Fast path for per-launch calls: os.environ.get() costs ~1 us per missing key (KeyError inside);
# on POSIX CPython the raw bytes dict behind os.environ answers in ~50 ns.
try:
    _RAW_KEYS = tuple(os.environ.encodekey(k) for k in ENV_VARS)  # type: ignore[attr-defined]
    _RAW_OK = isinstance(os.environ._data, dict)  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - non-CPython / unusual platforms
    _RAW_KEYS, _RAW_OK = (), False




def _decode(v):
    if v is None or isinstance(v, str):
        return v
    return os.environ.decodevalue(v)  # type: ignore[attr-defined]


def state_key() -> tuple:
    """Changes whenever the effective options (or TLE_NATIVE_LIB) may have changed: the raw values
    of TLE's environment variables (bytes on POSIX), then the generation of programmatic changes.
    Flat, and read straight from the dict behind os.environ: it runs on every launch."""
    if _RAW_OK:
        return (*map(os.environ._data.get, _RAW_KEYS), _generation)  # type: ignore[attr-defined]
    return (*(os.environ.get(name) for name in ENV_VARS), _generation)


def _from_env(snapshot: tuple) -> Options:
    disable, pipeline, strict, dump_dir, repro_dir, gluon, _native_lib = (_decode(v) for v in snapshot)
    return Options(
        enabled=not _flag(disable),
        pipeline=DEFAULT_PIPELINE if pipeline is None else pipeline.strip(),
        strict=_flag(strict),
        dump_dir=dump_dir or None,
        repro_dir=repro_dir or None,
        gluon=_flag(gluon),
        env_disabled=_flag(disable),
    )


_cache: dict = {}


def current() -> Options:
    """Effective options now (environment + overrides). Cheap enough to call per kernel launch."""
    key = state_key()
    opts = _cache.get(key)
    if opts is not None:
        return opts
    with _lock:
        opts = _from_env(key[:-1])
        if _overrides:
            opts = replace(opts, **_overrides)
        if opts.env_disabled:
            opts = replace(opts, enabled=False)
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = opts
        return opts


def native_library_override() -> Optional[str]:
    """TLE_NATIVE_LIB: the libtle_capi.so to load instead of the packaged one (None: packaged)."""
    return os.environ.get(ENV_NATIVE_LIB) or None


def tool_override(name: str) -> Optional[str]:
    """TLE_<NAME> (e.g. TLE_TLE_OPT for ``tle-opt``): the executable to use instead of the packaged one."""
    return os.environ.get("TLE_" + name.upper().replace("-", "_")) or None


def cache_dir() -> str:
    """TLE_CACHE_DIR, else ~/.cache/tle, else (no writable home) a private directory under the
    temporary directory: TLE loads code it built from here, so a shared, predictable path is
    used only when it is this user's own and nobody else can write to it."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return env
    home = os.path.expanduser("~")
    if home and home != "~" and os.access(home, os.W_OK):
        return os.path.join(home, ".cache", "tle")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = os.path.join(tempfile.gettempdir(), f"tle-cache-{uid}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
        if st.st_uid == uid and not st.st_mode & 0o022 and not os.path.islink(path):
            return path
    except OSError:
        pass
    global _private_cache
    if _private_cache is None:  # someone else's or unsafe: a fresh one for this process
        _private_cache = tempfile.mkdtemp(prefix="tle-cache-")
    return _private_cache


_private_cache: Optional[str] = None


def materialize_by_default() -> bool:
    """TLE_MATERIALIZE: "0" turns off the gather-loop pipelining ``import tle`` registers."""
    return os.environ.get(ENV_MATERIALIZE, "1").strip() != "0"


def generation() -> int:
    return _generation


def set_options(**kwargs) -> None:
    """Override options programmatically (``None`` removes an override), e.g.
    ``set_options(pipeline="tle-lower-views", strict=True)``."""
    global _generation
    names = {f.name for f in fields(Options)} - {"env_disabled"}
    unknown = set(kwargs) - names
    if unknown:
        raise TypeError(f"unknown TLE option(s): {sorted(unknown)}")
    with _lock:
        for k, v in kwargs.items():
            if v is None:
                _overrides.pop(k, None)
            else:
                _overrides[k] = v
        _generation += 1
        _cache.clear()


def reset_options() -> None:
    """Drop every programmatic override (back to the environment)."""
    global _generation
    with _lock:
        _overrides.clear()
        _generation += 1
        _cache.clear()


def overrides() -> dict:
    return dict(_overrides)
