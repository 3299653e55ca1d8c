"""TLE: Triton Language Extensions for stock Triton.

``import tle`` hooks TLE's MLIR passes into stock Triton's compilation (see
docs/triton-integration.md). ``tle.disable()`` / ``tle.enable()`` or ``TLE_DISABLE=1`` give
stock behaviour. ``tle.run_pipeline(ir_text)`` runs TLE's passes on Triton IR text directly.
"""
from ._native import TLEError, has_native_rewrites, list_passes, run_pipeline, tool_path

__version__ = "0.1.0"

__all__ = [
    "TLEError", "run_pipeline", "list_passes", "has_native_rewrites", "tool_path",
    "enable", "disable", "is_enabled", "__version__",
]

try:
    import triton as _triton  # noqa: F401
except ImportError:  # TLE's compiler tools work without Triton; the hook needs it.
    _triton = None

if _triton is not None:
    import os as _os

    from .hook import disable, enable, install, is_enabled

    install()
    # Tile-style pipelines for indirect-gather -> WGMMA loops are on by default (a rewrite of
    # Triton's own IR, so only with __TLE__); TLE_MATERIALIZE=0 turns it off. Dense loops stay
    # with Triton's pipeliner unless a kernel asks (tle.pipeline.materialize).
    try:
        _native_rewrites = has_native_rewrites()
    except ImportError:  # native library missing: the hook warns once at compile time
        _native_rewrites = False
    if _native_rewrites and _os.environ.get("TLE_MATERIALIZE", "1") != "0":
        from . import pipeline as _pipeline

        _pipeline.auto(stages=2)
else:
    def _no_triton(*_args, **_kwargs):
        raise ImportError("the TLE compilation hook needs the `triton` package (3.6.x)")

    enable = disable = install = _no_triton

    def is_enabled() -> bool:
        return False
