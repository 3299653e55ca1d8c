"""Runs each lit/FileCheck file of test/lit as one pytest test."""
import subprocess
import sys

import pytest

from conftest import LIT_DIR

LIT_FILES = sorted(p for p in LIT_DIR.rglob("*.mlir") if "Inputs" not in p.parts)


@pytest.mark.parametrize("path", LIT_FILES, ids=[str(p.relative_to(LIT_DIR)) for p in LIT_FILES])
def test_lit(path, tle_opt):
    proc = subprocess.run([sys.executable, "-c", "import lit.main; lit.main.main()", "-v", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert "Passed: 1" in proc.stdout or "Unsupported: 1" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
