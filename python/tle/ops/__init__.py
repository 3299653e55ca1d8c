"""TLE's kernels: Triton ops with a PyTorch reference for each.

``sparse_mla_fwd`` -- DeepSeek-V3.2 sparse MLA forward (prefill) with FlashMLA's semantics;
``reference.sparse_mla_fwd_reference`` is its fp32 PyTorch reference (CPU or GPU).
"""
from .sparse_mla import (  # noqa: F401
    SparseMLAConfig,
    SparseMLAProblem,
    default_config,
    kernel_source,
    sparse_mla_fwd,
    tle_hooks,
    tle_hooks_available,
    tle_hooks_enabled,
    validate_sparse_mla_inputs,
)
from .reference import sparse_mla_fwd_reference  # noqa: F401

__all__ = [
    "SparseMLAConfig",
    "SparseMLAProblem",
    "default_config",
    "kernel_source",
    "sparse_mla_fwd",
    "sparse_mla_fwd_reference",
    "tle_hooks",
    "tle_hooks_available",
    "tle_hooks_enabled",
    "validate_sparse_mla_inputs",
]
