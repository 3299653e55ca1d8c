"""TLE: Triton Language Extensions for stock Triton.

``import tle`` hooks TLE's MLIR passes into stock Triton's compilation (see
docs/triton-integration.md). ``tle.disable()`` / ``tle.enable()`` or ``TLE_DISABLE=1`` give
stock behaviour. ``tle.run_pipeline(ir_text)`` runs TLE's passes on Triton IR text directly.
"""
from ._native import TLEError, has_native_rewrites, list_passes, run_pipeline, tool_path
from .errors import TLEStepError, TLEWarning

__version__ = "0.1.0"

__all__ = [
    "TLEError", "TLEWarning", "TLEStepError", "run_pipeline", "list_passes", "has_native_rewrites", "tool_path",
    "enable", "disable", "enabled", "is_enabled", "__version__",
]

try:
    import triton as _triton  # noqa: F401
except ImportError:  # TLE's compiler tools work without Triton; the hook needs it.
    _triton = None

if _triton is not None:
    from .integration import disable, enable, enabled, install, is_enabled

    install()
    from . import pipeline as _pipeline

    _pipeline.reset_default()
else:
    def _no_triton(*_args, **_kwargs):
        raise ImportError("the TLE compilation hook needs the `triton` package")

    enable = disable = install = enabled = _no_triton

    def is_enabled() -> bool:
        return False
