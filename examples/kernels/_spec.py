"""Shared helpers for the example kernels: build an ``ASTSource`` specialised like the JIT does.

Each example module exposes ``make_source(**overrides) -> (src, options)`` so the capture tool and the
tests compile exactly the same specialisation: pointer arguments and integer strides that the JIT
would see as multiples of 16 carry ``tt.divisibility = 16`` (the JIT's "D" specialisation).
"""
from __future__ import annotations

from triton.compiler import ASTSource

DIV16 = [["tt.divisibility", 16]]


def source(fn, signature: dict, constexprs: dict, divisible: list[str] = (), source_cls=ASTSource):
    """``signature`` maps every runtime arg name to a Triton type string ("*bf16", "i32", ...);
    ``constexprs`` maps constexpr arg names to values; ``divisible`` names the args the JIT would
    mark divisible by 16 (16-byte aligned pointers, strides that are multiples of 16).
    ``source_cls``: ``GluonASTSource`` for Gluon kernels."""
    names = fn.arg_names
    full_sig = {}
    for name in names:
        if name in constexprs:
            full_sig[name] = "constexpr"
        else:
            full_sig[name] = signature[name]
    attrs = {(names.index(n),): DIV16 for n in divisible}
    consts = {(names.index(k),): v for k, v in constexprs.items()}
    return source_cls(fn, full_sig, consts, attrs)
