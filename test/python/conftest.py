"""Fixtures: TLE's tools and the TTGIR captured from real Triton 3.6 kernels."""
import pytest

from tle_test_support import INPUTS


@pytest.fixture(scope="session")
def tle_opt() -> str:
    from tle._native import tool_path

    return str(tool_path("tle-opt"))


@pytest.fixture(scope="session")
def captured_ttgir() -> dict:
    """Stock TTGIR captured from real Triton 3.6 kernels (generic form, alias-free)."""
    # <kernel>.ttgir.mlir only: <kernel>.triton-3.X.ttgir.mlir are other versions' captures.
    return {p.name.split(".")[0]: p.read_text() for p in sorted(INPUTS.glob("*.ttgir.mlir"))
            if p.name.count(".") == 2}
