"""The stages hook TLE installs into Triton, and install / enable / disable.

Triton calls ``knobs.runtime.add_stages_inspection_hook`` in two ways, and the hook serves both:

* ``hook(backend, stages, options, language, capability)`` from ``CUDABackend.add_stages`` (every
  version): TLE wraps ``stages["ttgir"]`` (and ``stages["llir"]`` for its fallback), and for
  Gluon kernels ``stages["ptx"]``, where tle.gluon.cluster's placeholders are lowered;
* ``hook()`` from ``compile()`` and every JIT launch (3.7+), which must return ``(key, hash)``
  for Triton's cache keys: TLE's identity (identity.py).

A hook installed before TLE is chained in both conventions. Any problem inside TLE's part of the
hook gives one TLEWarning and leaves the compilation stock (TLE_STRICT=1 raises); the one
exception is a failed cluster lowering, which raises: such a kernel has no stock form.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import re
from typing import Callable, Iterator, Optional

import triton
from triton import knobs

from .. import config as _config
from .. import ttgir_text
from . import identity
from .discovery import DiscoveryError, discover
from .runner import (Compilation, RestartFromPristine, StepFailed, handle_failure, kernel_name, run_post_only,
                     run_staged, warn_once)
from .state import STATE
from .steps import POST_STEP_NAME, TLEStep, build_plan

#: Capabilities whose sequences tell a capability-specific pass from a missing one.
PROBE_CAPABILITIES = (80, 90, 100)


# -- stock pass names -------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _probe_names(capability: int) -> tuple:
    from triton._C.libtriton import ir
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import CUDABackend

    backend = CUDABackend(GPUTarget("cuda", capability, 32))
    seq = discover(CUDABackend.make_ttgir, ir.context(), {}, backend.parse_options({}), capability)
    return tuple(seq.names)


def stock_pass_names(capability: Optional[int] = None) -> list:
    """Names of the installed make_ttgir's passes for ``capability`` (default: the union over
    sm_80/90/100), usable as anchors of ``insert_step``. Empty when discovery fails."""
    caps = PROBE_CAPABILITIES if capability is None else (capability,)
    names: list = []
    for cap in caps:
        try:
            names += [n for n in _probe_names(cap) if n not in names]
        except DiscoveryError:
            pass
    return names


# -- the ttgir / llir stage wrappers ----------------------------------------------------------


def _wrap_triton_ttgir(backend, stock_fn, opt, capability: int, cfg: _config.Options, state: dict):
    make_ttgir = type(backend).make_ttgir

    def tle_make_ttgir(src, metadata):
        c = Compilation(cfg, opt, capability, metadata, kernel_name(src))
        try:
            sequence = discover(make_ttgir, src.context, metadata, opt, capability)
        except DiscoveryError as e:
            if cfg.strict:
                raise
            warn_once(f"discovery:{e}", f"TLE: cannot record triton {triton.__version__}'s make_ttgir ({e}); "
                      "only the post-TTGIR TLE step runs", stacklevel=2)
            sequence = None
        elsewhere = stock_pass_names() if sequence is not None else ()
        plan = build_plan(sequence, cfg.pipeline, elsewhere)
        if plan.missing_anchors:
            warn_once(f"missing:{plan.missing_anchors}",
                      f"TLE: triton {triton.__version__}'s make_ttgir has no pass "
                      f"{', '.join(map(repr, plan.missing_anchors))} to anchor TLE steps on; "
                      "only the post-TTGIR TLE step runs", stacklevel=2)
        if not plan.tle_steps:
            return stock_fn(src, metadata)
        # The stock path never depends on a module TLE touched: a pristine TTIR copy (~1-2 ms)
        # serves the fallbacks here and in make_llir.
        pristine = ttgir_text.clone_module(src)
        state.update(compilation=c, pristine=pristine)
        if not plan.staged:
            return run_post_only(stock_fn, src, metadata, c, plan)
        try:
            return run_staged(src, metadata, c, plan, sequence)
        except RestartFromPristine:
            c.changed = False
            state["pristine"] = None
            return stock_fn(pristine, metadata)

    tle_make_ttgir.__tle__ = True
    return tle_make_ttgir


def _wrap_gluon_ttgir(stock_fn, opt, capability: int, cfg: _config.Options, state: dict):
    step = TLEStep(POST_STEP_NAME, cfg.pipeline)

    def tle_gluon_to_ttgir(src, metadata):
        c = Compilation(cfg, opt, capability, metadata, kernel_name(src))
        state.update(compilation=c, pristine=ttgir_text.clone_module(src))
        mod = stock_fn(src, metadata)
        try:
            new, _ = c.run_tle_step(step, mod)
        except StepFailed as f:
            handle_failure(c, f)
            return mod
        metadata["tensordesc_meta"] = new.get_tensordesc_metadata()
        return new

    tle_gluon_to_ttgir.__tle__ = True
    return tle_gluon_to_ttgir


def _wrap_llir(stock_llir, stock_ttgir, state: dict):
    """make_llir on TLE-changed TTGIR; if Triton fails to lower it, fall back to the stock TTGIR
    compiled from the pristine copy."""

    def tle_make_llir(src, metadata):
        c = state.get("compilation")
        if c is None or not c.changed or state.get("pristine") is None:
            return stock_llir(src, metadata)
        try:
            return stock_llir(src, metadata)
        except Exception as e:
            handle_failure(c, c.downstream_failure("make_llir", e))
            pristine, state["pristine"] = state["pristine"], None
            return stock_llir(stock_ttgir(pristine, metadata), metadata)

    tle_make_llir.__tle__ = True
    return tle_make_llir


def _wrap_ptx(stock_ptx):
    """make_ptx, then the lowering of tle.gluon.cluster's placeholders (Gluon kernels that use
    them only; any other PTX passes through untouched)."""

    def tle_make_ptx(src, metadata):
        from ..gluon import cluster_lowering  # Gluon is loaded by now; `import tle` stays light

        ptx = stock_ptx(src, metadata)
        if not cluster_lowering.has_placeholders(ptx):
            return ptx
        return cluster_lowering.lower(ptx)  # errors raise: the kernel cannot run without it

    tle_make_ptx.__tle__ = True
    return tle_make_ptx


def _language(name: str):
    from triton.backends.compiler import Language

    return getattr(Language, name, None)


def _add_tle_stages(backend, stages, options, language, capability) -> None:
    cfg = _config.current()
    if not cfg.enabled or getattr(getattr(backend, "target", None), "backend", None) != "cuda":
        return
    if capability is None:
        capability = backend._parse_arch(options.arch)
    stock_ptx = stages.get("ptx")
    if language == _language("GLUON") and stock_ptx is not None and not getattr(stock_ptx, "__tle__", False):
        stages["ptx"] = _wrap_ptx(stock_ptx)
    stock_ttgir, stock_llir = stages.get("ttgir"), stages.get("llir")
    if stock_ttgir is None or getattr(stock_ttgir, "__tle__", False):
        return
    state: dict = {}  # shared by this compilation's wrappers
    if language == _language("TRITON"):
        wrapped = _wrap_triton_ttgir(backend, stock_ttgir, options, capability, cfg, state)
    elif language == _language("GLUON") and cfg.gluon and cfg.pipeline:
        wrapped = _wrap_gluon_ttgir(stock_ttgir, options, capability, cfg, state)
    else:
        return
    stages["ttgir"] = wrapped
    if stock_llir is not None:
        stages["llir"] = _wrap_llir(stock_llir, stock_ttgir, state)


# -- the hook -------------------------------------------------------------------------------------


def _tle_problem(what: str, e: BaseException) -> None:
    if _config.current().strict:
        raise e
    warn_once(f"hook:{what}:{type(e).__name__}", f"TLE: {what} failed ({type(e).__name__}: {e}); "
              "compiling with stock Triton", stacklevel=4)


def _accepts_no_arguments(fn: Callable) -> bool:
    try:
        inspect.signature(fn).bind()
        return True
    except (TypeError, ValueError):
        return False


def stages_hook(*args, **kwargs):
    """The function TLE installs as ``knobs.runtime.add_stages_inspection_hook``."""
    prev = STATE.previous_hook
    if not args and not kwargs:  # Triton 3.7+: contribute to the cache keys
        try:
            key, digest = identity.hook_key()
        except Exception as e:
            _tle_problem("computing TLE's cache identity", e)
            key, digest = "-tle-unavailable", "tle-unavailable"
        if prev is not None and _accepts_no_arguments(prev):
            pkey, pdigest = prev()
            return f"{pkey}{key}", f"{pdigest}{digest}"
        return key, digest
    if len(args) in (4, 5) and not kwargs:
        backend, stages, options, language = args[:4]
        capability = args[4] if len(args) == 5 else None
        try:
            _add_tle_stages(backend, stages, options, language, capability)
        except Exception as e:
            _tle_problem("installing TLE's stages", e)
    else:
        _tle_problem("the stages hook", TypeError(
            f"unknown calling convention: {len(args)} positional, {sorted(kwargs)} keyword arguments"))
    if prev is not None:
        return prev(*args, **kwargs)
    return None


stages_hook.__tle__ = True


# -- install / enable / disable -------------------------------------------------------------------

_NO_ARG_CALL = re.compile(r"add_stages_inspection_hook\(\s*\)")


def _triton_asks_hook_for_key() -> bool:
    """True when this Triton's ``compile()`` asks the hook for a cache-key part (3.7+)."""
    try:
        from triton.compiler import compiler

        return bool(_NO_ARG_CALL.search(inspect.getsource(compiler.compile)))
    except (OSError, TypeError, ImportError, AttributeError):
        return False


def install() -> None:
    """Install TLE into Triton (idempotent); chains a stages hook installed before."""
    with STATE.lock:
        current = knobs.runtime.add_stages_inspection_hook
        if STATE.installed:
            if current is None:  # somebody cleared the knob: put ours back
                knobs.runtime.add_stages_inspection_hook = stages_hook
            return
        STATE.previous_hook = None if getattr(current, "__tle__", False) else current
        STATE.keyed_hook = _triton_asks_hook_for_key()
        if not STATE.keyed_hook:
            identity.patch_cache_keys()
        knobs.runtime.add_stages_inspection_hook = stages_hook
        STATE.installed = True
        STATE.identity_cache.clear()


def uninstall() -> None:
    """Undo ``install()``: the previous hook and Triton's key functions come back."""
    with STATE.lock:
        if not STATE.installed:
            return
        if knobs.runtime.add_stages_inspection_hook is stages_hook:
            knobs.runtime.add_stages_inspection_hook = STATE.previous_hook
        identity.unpatch_cache_keys()
        STATE.previous_hook = None
        STATE.installed = False
        STATE.identity_cache.clear()


def is_installed() -> bool:
    return STATE.installed


def enable() -> None:
    """TLE on for later compilations (``TLE_DISABLE=1`` still wins)."""
    install()
    _config.set_options(enabled=True)
    if _config.current().env_disabled:
        warn_once("env-disable", "tle.enable(): TLE_DISABLE=1 is set; TLE stays disabled")


def disable() -> None:
    """TLE off: later compilations are stock, with stock cache keys."""
    _config.set_options(enabled=False)


def is_enabled() -> bool:
    return STATE.installed and _config.current().enabled


@contextlib.contextmanager
def enabled(flag: bool = True) -> Iterator[None]:
    """``with tle.enabled(False): ...`` compiles stock inside the block (process-wide setting)."""
    before = _config.overrides().get("enabled")
    if flag:
        enable()
    else:
        disable()
    try:
        yield
    finally:
        _config.set_options(enabled=before)
