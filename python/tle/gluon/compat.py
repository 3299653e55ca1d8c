"""Every Gluon name that differs between the Triton versions TLE supports, resolved once at import.

The helpers of :mod:`tle.gluon` and the kernels built from them (``tle.ops.sparse_mla_ws``) use
these names and never test a version themselves, so a new Triton release that renames something
is handled here and nowhere else. Checked against the PyPI wheels 3.6.0, 3.7.1, 3.8.0 and 3.9.0
(CPU compiles for sm_90, 2026-12-01):

============================  =========================  ===========================================
name here                     3.6                        3.7 / 3.8 / 3.9
============================  =========================  ===========================================
``thread_barrier()``          ``gl.thread_barrier``      ``gl.barrier`` (same lowering: the barrier
                                                         of the calling partition's warps)
``async_load``                ``async_copy.async_copy``  3.7: the old name; 3.8: ``async_load`` (the
                              ``_global_to_shared``      old name an alias); 3.9: ``async_load``
                                                         only (the old name raises)
``reinterpret(desc, ...)``    ``desc._reinterpret``      3.7 / 3.8: ``_reinterpret``; 3.9:
                                                         ``desc.reinterpret``
============================  =========================  ===========================================

``async_load`` passes no cache policy: 3.6-3.8 lower cp.async without one whatever is asked,
3.9 turns ``eviction_policy`` into ``createpolicy`` + ``.L2::cache_hint`` copies, which the
kernel was never measured with. Not needed by TLE's code and so not wrapped: ``@gluon.aggregate``
(public from 3.8 only).

Toolchain: 3.9 assembles sm_90 with its bundled ``ptxas-blackwell`` and emits PTX ISA 9.4, which
the older bundled ``ptxas`` rejects; :func:`ptxas_path` asks Triton which one it uses.
"""
from __future__ import annotations

import re
from typing import Optional

import triton
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language._core import builtin
from triton.experimental.gluon.language.nvidia.ampere import async_copy as _async_copy

TRITON_VERSION = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", triton.__version__).groups())
# the oldest Triton whose Gluon has what tle.gluon needs (warp_specialize with per-partition
# register counts, cp.async to NVMMA-shared tiles with mbarrier completion)
OLDEST = (3, 6)

_missing: list = []


def _first(owner, *names):
    """The first of ``names`` that ``owner`` has. When it has none, the name is recorded for
    :func:`unsupported_reason` and a stand-in is returned that fails the compile of any kernel
    using it with that reason (importing tle.gluon never fails)."""
    for name in names:
        value = getattr(owner, name, None)
        if value is not None:
            return value
    what = f"{owner.__name__}.{' or '.join(names)}"
    _missing.append(what)

    @builtin
    def _unavailable(*args, _semantic=None, **kwargs):
        raise RuntimeError(f"tle.gluon needs {what}, which triton {triton.__version__} lacks")

    return _unavailable


# A barrier of the calling partition's warps (bar.sync with the partition's thread count).
thread_barrier = _first(gl, "barrier", "thread_barrier")

# cp.async of a pointer tensor into a shared tile, masked-off elements zero-filled:
# async_load(dst, ptrs, mask=mask). The new name first: 3.8 has both (the old one an alias), 3.9
# keeps the old one only to raise.
async_load = _first(_async_copy, "async_load", "async_copy_global_to_shared")


@builtin
def reinterpret(desc, dtype, shape, layout, _semantic=None):
    """``desc`` viewed with another dtype / shape / layout: the method is ``_reinterpret`` in
    3.6-3.8 and ``reinterpret`` in 3.9."""
    method = getattr(desc, "reinterpret", None) or getattr(desc, "_reinterpret")
    return method(dtype, shape, layout, _semantic=_semantic)


def unsupported_reason() -> Optional[str]:
    """Why this Triton cannot build tle.gluon's kernels, or None when it can."""
    if TRITON_VERSION < OLDEST:
        return (f"triton {triton.__version__} is older than {OLDEST[0]}.{OLDEST[1]}, the oldest Gluon "
                "tle.gluon is built for")
    if _missing:
        return f"triton {triton.__version__}'s Gluon lacks {', '.join(_missing)}"
    return None


def ptxas_path(arch: int = 90) -> Optional[str]:
    """The ptxas Triton itself runs for ``sm_<arch>`` (3.9: its ptxas-blackwell also for sm_90),
    None when Triton finds none (a wheel without the CUDA tools)."""
    try:
        from triton.backends.nvidia.compiler import get_ptxas

        return get_ptxas(arch).path
    except Exception:  # noqa: BLE001 - any lookup failure means "no ptxas to test with"
        return None
