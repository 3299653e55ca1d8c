"""TLE's exception and warning types (one place; re-exported by ``tle``)."""
from __future__ import annotations

from typing import Optional

from ._native import TLEError


class TLEWarning(UserWarning):
    """TLE could not do something and Triton compiled stock instead (one warning per cause)."""


class TLEStepError(TLEError):
    """A TLE step failed while compiling a kernel (raised instead of warning with TLE_STRICT=1)."""

    def __init__(self, message: str, diagnostics: str = "", step: str = "", reproducer: Optional[str] = None):
        super().__init__(message, diagnostics)
        self.step = step
        self.reproducer = reproducer


__all__ = ["TLEError", "TLEWarning", "TLEStepError"]
