"""GPU test setup: make the source tree importable when TLE is not installed; seed everything."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]

try:
    import tle.ops  # noqa: F401
except ImportError:
    sys.path.insert(0, str(_REPO / "python"))


@pytest.fixture(autouse=True)
def _deterministic_seed():
    try:
        import torch
    except ImportError:
        yield
        return
    torch.manual_seed(0)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(0)
    yield
