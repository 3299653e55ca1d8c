"""Shared fixtures: where TLE's tools and bundled Triton IR live."""
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIT_DIR = ROOT / "test" / "lit"
INPUTS = LIT_DIR / "Inputs"


@pytest.fixture(scope="session")
def tle_opt() -> str:
    from tle._native import tool_path

    return str(tool_path("tle-opt"))


@pytest.fixture(scope="session")
def captured_ttgir() -> dict:
    """Stock TTGIR captured from real Triton 3.6 kernels (generic form, alias-free)."""
    return {p.name.split(".")[0]: p.read_text() for p in sorted(INPUTS.glob("*.ttgir.mlir"))}


def normalize_ssa_names(text: str) -> str:
    """Rename SSA values and block labels in order of first appearance, so two printings of the
    same IR compare equal whatever names the printers chose."""
    names: dict = {}

    def rename(match):
        sigil, name = match.group(1), match.group(2)
        key = sigil + name
        if key not in names:
            names[key] = f"{sigil}v{len(names)}"
        return names[key]

    return re.sub(r"([%^])([A-Za-z_0-9$.\-]+)", rename, text)
