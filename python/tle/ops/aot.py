"""Ahead-of-time compilation of any ``@triton.jit`` or ``@gluon.jit`` kernel, without a GPU.

:func:`kernel_source` returns what the JIT would compile for one launch: the specialization
(constexpr values, ``tt.divisibility = 16`` on 16-divisible integers and 16-byte-aligned pointers,
``== 1`` integers) is computed by Triton's own argument binder, so it matches a real launch. Pass
``device="meta"`` tensors to describe large problems for free (a meta tensor's data pointer is 0,
which counts as aligned, like a CUDA allocation). Then::

    src, options = kernel_source(my_kernel, dict(x_ptr=x, n=n, BLOCK=128), options=dict(num_warps=4))
    compiled = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=options)

Triton has no public API for "the source of this launch"; the pieces used here
(``create_function_from_signature``, ``JITFunction._pack_args``, ``ASTSource`` and
``GluonASTSource``) have kept their signatures from Triton 3.6 to 3.9. Each is looked up once,
and a Triton that changed one gets an :class:`AOTUnsupported` error naming it.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping, Optional

__all__ = ["AOTUnsupported", "compile_kernel", "kernel_source"]


class AOTUnsupported(RuntimeError):
    """This Triton lacks a piece the ahead-of-time helper relies on."""


@functools.lru_cache(maxsize=None)
def _api():
    import triton
    from triton import knobs
    from triton.compiler import compiler
    from triton.runtime import jit

    missing = [name for owner, name in ((jit, "create_function_from_signature"), (jit.JITFunction, "_pack_args"),
                                        (compiler, "ASTSource"), (compiler, "make_backend"))
               if not hasattr(owner, name)]
    if missing:
        raise AOTUnsupported(f"triton {triton.__version__} has no {', '.join(missing)}: tle.ops.aot needs an "
                             "update for this version")
    return jit.create_function_from_signature, compiler.ASTSource, compiler.make_backend, knobs


def _source_class(fn):
    is_gluon = getattr(fn, "is_gluon", None)
    if callable(is_gluon) and is_gluon():
        try:
            from triton.experimental.gluon._runtime import GluonASTSource
        except ImportError as e:
            raise AOTUnsupported(f"cannot import Gluon's ASTSource: {e}") from e
        return GluonASTSource
    return _api()[1]


def _jit_options(fn, knobs) -> dict:
    """The options JITFunction.run adds to every launch (so AOT compiles the same binary)."""
    extra = {"debug": bool(getattr(fn, "debug", False)) or bool(getattr(knobs.runtime, "debug", False))}
    for name in ("instrumentation_mode", "fpsan_homomorphic_casts"):  # 3.6+ / 3.9+
        if hasattr(knobs.compilation, name):
            extra[name] = getattr(knobs.compilation, name)
    return extra


def kernel_source(fn, kwargs: Mapping[str, Any], *, options: Optional[Mapping[str, Any]] = None, target=None):
    """``(source, options)`` that ``fn[grid](**kwargs, **options)`` would compile for ``target``.

    ``fn``: a ``@triton.jit`` or ``@gluon.jit`` kernel; ``kwargs``: its arguments by name (tensors
    on any device, including ``meta``); ``options``: launch options (``num_warps``,
    ``num_stages``, ...); ``target``: a ``GPUTarget`` (default sm_90, the H100/H200).
    """
    create_binder, _, make_backend, knobs = _api()
    if target is None:
        from triton.backends.compiler import GPUTarget

        target = GPUTarget("cuda", 90, 32)
    backend = make_backend(target)
    call = {**_jit_options(fn, knobs), **dict(options or {}), **dict(kwargs)}
    binder = create_binder(fn.signature, fn.params, backend)
    bound_args, specialization, leftover = binder(**call)
    packed, signature, constexprs, attrs = fn._pack_args(backend, call, bound_args, specialization, leftover)
    return _source_class(fn)(fn, signature, constexprs, attrs), dict(packed.__dict__)


def compile_kernel(fn, kwargs: Mapping[str, Any], *, options: Optional[Mapping[str, Any]] = None, target=None):
    """:func:`kernel_source` compiled with ``triton.compile`` (PTX / cubin in ``.asm``)."""
    import triton
    from triton.backends.compiler import GPUTarget

    target = target or GPUTarget("cuda", 90, 32)
    src, opts = kernel_source(fn, kwargs, options=options, target=target)
    return triton.compile(src, target=target, options=opts)
