"""Suite-wide pytest setup (test/python and test/gpu).

The Triton version matrix: CI runs the whole suite on the pinned Triton and everything that talks
to Triton again on 3.7.1, 3.8.0 and 3.9.0. Modules that exercise only TLE's native tools (lit,
fuzzing, the C API) do not depend on the Triton version; they are marked ``triton_independent``
(and the op's C++ entry point, which depends on torch only) so the matrix runs skip them with
``-m "not triton_independent"``.
"""
from __future__ import annotations

import os

import pytest

TRITON_INDEPENDENT = {"test_lit.py", "test_native.py", "test_bad_input.py", "test_fuzz.py", "test_coexistence.py",
                      "test_bench.py", "test_torch_ext.py"}

# Triton 3.9 warns on every compile that its FP-fusion default will change; 1 is today's default.
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "triton_independent: exercises only TLE's native tools")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in TRITON_INDEPENDENT:
            item.add_marker(pytest.mark.triton_independent)


def pytest_report_header(config):
    try:
        import triton

        return f"triton {triton.__version__} ({os.path.dirname(triton.__file__)})"
    except ImportError:
        return "triton: not installed"
