"""TLE's ops: Triton / Gluon kernels behind registered torch ops, with a PyTorch reference each.

``sparse_mla_fwd`` -- DeepSeek-V3.2 sparse MLA forward (prefill) with FlashMLA's semantics, the
registered op ``torch.ops.tle.sparse_mla_fwd`` (torch.compile, torch.export and CUDA graphs work;
``tle.flash_mla`` is the FlashMLA drop-in); ``reference.sparse_mla_fwd_reference`` is its fp32
PyTorch reference (CPU or GPU).

Modules: :mod:`.sparse_mla` (the op: API, kernel choice, cached launches), :mod:`.sparse_mla_tl`
and :mod:`.sparse_mla_ws` (the kernels), :mod:`.sparse_mla_launch` (their launches, shared by the
op, benchmarks and tests), :mod:`.sparse_mla_validation` (input rules), :mod:`.aot` (compile any
Triton / Gluon kernel ahead of time, without a GPU), :mod:`.reference`.
"""
import contextlib as _contextlib

from .reference import sparse_mla_fwd_reference  # noqa: F401
from .sparse_mla import (  # noqa: F401
    KernelChoice,
    SparseMLAConfig,
    SparseMLAProblem,
    default_config,
    kernel_source,
    select_kernel,
    sparse_mla_fwd,
    validate_sparse_mla_inputs,
)
from .sparse_mla_launch import launch_sparse_mla  # noqa: F401

__all__ = [
    "KernelChoice",
    "SparseMLAConfig",
    "SparseMLAProblem",
    "default_config",
    "kernel_source",
    "launch_sparse_mla",
    "select_kernel",
    "sparse_mla_fwd",
    "sparse_mla_fwd_reference",
    "tle_hooks",
    "tle_hooks_available",
    "tle_hooks_enabled",
    "validate_sparse_mla_inputs",
]


# -- thin aliases of TLE's own switch (tle.enabled / tle.is_enabled); kept for existing callers ----
def tle_hooks_available() -> bool:
    """True when TLE can compile through Triton (``tle.enabled`` works)."""
    import tle

    return getattr(tle, "_triton", None) is not None


def tle_hooks_enabled() -> bool:
    """``tle.is_enabled()``."""
    import tle

    return bool(tle.is_enabled())


@_contextlib.contextmanager
def tle_hooks(enabled: bool):
    """``tle.enabled(enabled)``, plus: asking for TLE on raises RuntimeError when it cannot be on
    (no Triton integration, or ``TLE_DISABLE=1``); asking for it off without TLE is a no-op."""
    import tle

    enabled = bool(enabled)
    if not tle_hooks_available():
        if enabled:
            raise RuntimeError("TLE compile hooks are not available: tle has no Triton integration")
        yield
        return
    with tle.enabled(enabled):
        if enabled and not tle.is_enabled():
            raise RuntimeError("tle.enable() did not turn TLE on (is TLE_DISABLE=1 set?)")
        yield
