"""User-level hint for TLE's tile-style pipeline materialization (``tle-materialize-pipeline``).

The pass rewrites a loop that gathers tiles into shared memory and reads them with WGMMA into an
explicit cp.async ring pipeline (see docs/pipeline-materialization.md). It runs inside Triton's
make_ttgir, before Triton's own pipeliner (step ``assign_latencies``), and only where asked:

* ``materialize(kernel, stages=N)`` -- this kernel's tile -> WGMMA loops, gathers and dense loads
  alike, with an N-slot ring (clamped to the shared-memory budget). Usable as a decorator::

      @tle.pipeline.materialize(stages=2)
      @triton.jit
      def kernel(...): ...

* ``auto(stages=N)`` -- every kernel's loops that gather through loaded indices (the pattern
  Triton's pipeliner handles least well); loops of kernels named with ``materialize`` are
  handled first and then skipped.
* per loop, ``for i in tl.range(lo, hi, step, num_stages=N)`` sets that loop's stages (a loop
  with ``num_stages=1`` is never touched).

``import tle.pipeline`` is enough (``import tle`` installs the compile hook). Every change
re-inserts the TLE steps, whose pipeline strings are part of TLE's cache identity, so kernels
compiled before and after a change never share a cache entry. Registrations are by kernel name
(the ``tt.func`` symbol, i.e. the Python function's ``__name__``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional, Union

from . import config as _config
from .integration import steps as _steps

__all__ = [
    "PASS_NAME", "ANCHOR", "MIN_STAGES", "MAX_STAGES",
    "materialize", "forget", "auto", "disable_auto", "clear", "reset_default", "registered", "pipelines",
]

PASS_NAME = "tle-materialize-pipeline"
#: The pass runs right before this stock make_ttgir step (Triton's pipeliner starts there).
ANCHOR = "assign_latencies"
MIN_STAGES, MAX_STAGES = 2, 16

_KERNELS_STEP = f"{PASS_NAME}:kernels"
_AUTO_STEP = f"{PASS_NAME}:auto"


@dataclass(frozen=True)
class _Auto:
    stages: int
    gather_only: bool
    smem_budget: Optional[int]
    hoist_address_loads: bool


_lock = threading.Lock()
_kernels: dict = {}  # name -> stages
_auto: Optional[_Auto] = None
_common: dict = {}  # options shared by the kernels step: smem_budget, hoist_address_loads


def _check_stages(stages) -> int:
    if isinstance(stages, bool) or not isinstance(stages, int) or not MIN_STAGES <= stages <= MAX_STAGES:
        raise ValueError(f"stages must be an int in [{MIN_STAGES}, {MAX_STAGES}], got {stages!r}")
    return stages


def _check_budget(smem_budget) -> Optional[int]:
    if smem_budget is None:
        return None
    if isinstance(smem_budget, bool) or not isinstance(smem_budget, int) or smem_budget <= 0:
        raise ValueError(f"smem_budget must be a positive int (bytes), got {smem_budget!r}")
    return smem_budget


def _kernel_name(kernel) -> str:
    if isinstance(kernel, str):
        name = kernel
    else:
        fn = getattr(kernel, "fn", kernel)  # triton.JITFunction wraps the Python function
        name = getattr(fn, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"expected a @triton.jit kernel, a function or a kernel name, got {kernel!r}")
    return name


def _options(smem_budget: Optional[int], hoist_address_loads: bool) -> list:
    opts = []
    if smem_budget is not None:
        opts.append(f"smem-budget={smem_budget}")
    if not hoist_address_loads:
        opts.append("hoist-address-loads=false")
    return opts


def pipelines() -> list:
    """The TLE pipelines the current registrations insert before ``assign_latencies``, in order."""
    with _lock:
        return _pipelines_locked()


def _pipelines_locked() -> list:
    out = []
    if _kernels:
        entries = ",".join(f"{name}:{stages}" for name, stages in sorted(_kernels.items()))
        opts = ["gather-only=false", f"kernels={entries}"]
        opts += _options(_common.get("smem_budget"), _common.get("hoist_address_loads", True))
        out.append((_KERNELS_STEP, f"{PASS_NAME}{{{' '.join(opts)}}}"))
    if _auto is not None:
        opts = [f"stages={_auto.stages}"]
        if not _auto.gather_only:
            opts.append("gather-only=false")
        opts += _options(_auto.smem_budget, _auto.hoist_address_loads)
        out.append((_AUTO_STEP, f"{PASS_NAME}{{{' '.join(opts)}}}"))
    return out


def _sync_locked() -> None:
    for name in (_KERNELS_STEP, _AUTO_STEP):
        _steps.remove_step(name)
    for name, pipeline in _pipelines_locked():
        _steps.insert_step(pipeline, before=ANCHOR, name=name)


def materialize(kernel=None, *, stages: int = 2, smem_budget: Optional[int] = None,
                hoist_address_loads: bool = True) -> Union[Callable, object]:
    """Materialize the pipelines of ``kernel`` (a ``@triton.jit`` function, a function or its
    name) with ``stages`` ring slots. Returns ``kernel``; without ``kernel`` returns a decorator.

    ``smem_budget`` (bytes, default 227 KB) and ``hoist_address_loads`` apply to every kernel
    registered this way (the last value given wins).
    """
    stages = _check_stages(stages)
    smem_budget = _check_budget(smem_budget)
    if kernel is None:
        return lambda k: materialize(k, stages=stages, smem_budget=smem_budget,
                                     hoist_address_loads=hoist_address_loads)
    name = _kernel_name(kernel)
    with _lock:
        _kernels[name] = stages
        _common["smem_budget"] = smem_budget
        _common["hoist_address_loads"] = bool(hoist_address_loads)
        _sync_locked()
    return kernel


def forget(kernel) -> None:
    """Undo ``materialize`` for ``kernel`` (no error if it was not registered)."""
    name = _kernel_name(kernel)
    with _lock:
        _kernels.pop(name, None)
        _sync_locked()


def auto(stages: int = 2, *, gather_only: bool = True, smem_budget: Optional[int] = None,
         hoist_address_loads: bool = True) -> None:
    """Materialize the pipelines of every kernel's indirect-gather -> WGMMA loops
    (``gather_only=False``: every tile -> WGMMA loop, dense loads included)."""
    global _auto
    cfg = _Auto(_check_stages(stages), bool(gather_only), _check_budget(smem_budget), bool(hoist_address_loads))
    with _lock:
        _auto = cfg
        _sync_locked()


def reset_default() -> None:
    """The state ``import tle`` sets up: every registration forgotten, and ``auto(stages=2)``
    (gather loops only) when the native library has __TLE__ and TLE_MATERIALIZE is not "0"."""
    from ._native import has_native_rewrites

    clear()
    try:
        native = has_native_rewrites()
    except ImportError:  # no native library: the hook warns once at compile time
        native = False
    if native and _config.materialize_by_default():
        auto(stages=2)


def disable_auto() -> None:
    global _auto
    with _lock:
        _auto = None
        _sync_locked()


def clear() -> None:
    """Forget every registration and remove the TLE steps."""
    global _auto
    with _lock:
        _kernels.clear()
        _common.clear()
        _auto = None
        _sync_locked()


def registered() -> dict:
    """Kernel name -> stages of the ``materialize`` registrations."""
    with _lock:
        return dict(_kernels)
