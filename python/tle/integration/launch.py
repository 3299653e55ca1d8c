"""Replaying a compiled Triton kernel with a fixed grid, without Triton's per-launch Python layers.

``CompiledKernel[grid](*args, stream=s)`` runs four Python layers before the C launcher: the
runner closure, ``launch_metadata`` (a LazyDict for the launch hooks, built even when no hook
is installed), the ``run`` property and ``CudaLauncher.__call__`` (scratch allocation), and the
C launcher then calls both (empty) hook chains back in Python. For a kernel launched thousands of
times per second by an op that has already checked its arguments, that is most of the launch.

:func:`direct_launcher` calls the C launcher itself with the same arguments Triton would pass,
for the Triton releases whose launch code it was checked against (3.6.0, 3.7.1, 3.8.0, 3.9.0; by
fingerprint), and only while no launch hook is installed: with a hook (a profiler such as proton) every launch goes through Triton's own path,
so the hooks see it. Kernels that need a scratch allocation or instrumentation, and Triton code it
was not checked against, always take Triton's path.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

__all__ = ["KernelLauncher", "direct_launcher"]


# The Triton code the direct launch stands in for, by fingerprint (the AST of its source): the
# runner of CompiledKernel[grid] and CudaLauncher.__call__ of each Triton release whose argument
# passing was checked against the direct launch (test/python/test_kernel_launcher.py drives the
# real ones on the CPU with the C launcher replaced). Two layouts: "per-kernel" (3.6: a C module
# compiled for the kernel's signature, arguments spread) and "generic" (3.7-3.9: one launcher
# driven by the kernel signature, arguments as one sequence). Any other code -- a newer Triton, a
# patched one -- takes Triton's own path: slower by a few microseconds, never wrong.
_VERIFIED_RUNNERS = {"298a99432ec4268b"}  # CompiledKernel.__getitem__, 3.6.0-3.9.0
_VERIFIED_LAUNCHERS = {
    "cfc25ff2ab000bdf": "per-kernel",  # 3.6.0
    "b1ea1862c5f75b17": "generic",  # 3.7.1
    "66e406d613bbb84b": "generic",  # 3.8.0
    "857aff49cf2bf778": "generic",  # 3.9.0
}
_LAYOUTS: dict = {}  # (launcher class, compiled-kernel class) -> layout (or None)


def fingerprint(fn) -> Optional[str]:
    """A digest of ``fn``'s syntax tree: node types and their identifiers and constants, in walk
    order. Comments, formatting and line numbers do not count, and neither do the fields Python
    versions add or omit when empty (``ast.dump`` differs between 3.11, 3.12 and 3.13; this does
    not, checked on 3.10-3.13)."""
    import ast
    import hashlib
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    parts = []
    for node in ast.walk(tree):
        parts.append(type(node).__name__)
        parts.extend(f"{name}={value!r}" for name, value in ast.iter_fields(node)
                     if isinstance(value, (str, bytes, int, float, complex)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _call_layout(cls, compiled_cls=None) -> Optional[str]:
    """The verified layout of ``cls.__call__``, provided the compiled kernel's runner
    (``compiled_cls.__getitem__``, default Triton's CompiledKernel) is a verified one."""
    if compiled_cls is None:
        from triton.compiler.compiler import CompiledKernel as compiled_cls
    if fingerprint(compiled_cls.__getitem__) not in _VERIFIED_RUNNERS:
        return None
    return _VERIFIED_LAUNCHERS.get(fingerprint(cls.__call__))


def _layout(launcher, compiled_cls) -> Optional[str]:
    """Which argument layout ``launcher`` (a CudaLauncher) passes to its C launcher, or None when
    this launch must take Triton's own path."""
    needed = ("launch", "global_scratch_size", "profile_scratch_size", "launch_cooperative_grid", "launch_pdl")
    if not all(hasattr(launcher, name) for name in needed):
        return None
    if launcher.global_scratch_size or launcher.profile_scratch_size or getattr(launcher, "gsan_enabled", False):
        return None  # Triton allocates scratch (or instruments) per launch: its path only
    key = (type(launcher), compiled_cls)
    if key not in _LAYOUTS:
        _LAYOUTS[key] = _call_layout(*key)
    layout = _LAYOUTS[key]
    if layout == "generic" and not (hasattr(launcher, "arg_annotations") and hasattr(launcher, "kernel_signature")):
        return None
    return layout


class KernelLauncher:
    """``launcher(args, stream)`` launches ``compiled`` on ``grid`` with ``args`` (every kernel
    argument in parameter order, as Triton's binder passes them). ``layout`` says how calls
    without launch hooks reach the C launcher directly (None: always Triton's path)."""

    __slots__ = ("compiled", "grid", "runner", "layout", "_launch", "_fixed", "_signature", "_runtime", "_chain")

    def __init__(self, compiled, grid: Sequence[int]):
        from triton import knobs

        self.compiled = compiled  # kept alive: newer Tritons unload the module with it
        self.grid = tuple(grid) + (1,) * (3 - len(grid))
        self.runner = compiled[self.grid]  # loads the binary (errors such as too much shared memory raise here)
        launcher = getattr(compiled, "run", None)
        self.layout = None if launcher is None else _layout(launcher, type(compiled))
        self._runtime = knobs.runtime
        self._chain = getattr(knobs, "HookChain", None)
        if self.layout is not None:
            self._launch = launcher.launch
            self._fixed = (launcher.launch_cooperative_grid, launcher.launch_pdl, compiled.function,
                           compiled.packed_metadata)
            self._signature = ((launcher.arg_annotations, launcher.kernel_signature) if self.layout == "generic"
                               else ())

    def hooked(self) -> bool:
        """Whether a launch hook is installed now (then launches take Triton's path)."""
        for hook in (self._runtime.launch_enter_hook, self._runtime.launch_exit_hook):
            if hook is not None and (type(hook) is not self._chain or hook.calls):
                return True
        return False

    def __call__(self, args: list, stream: int) -> None:
        if self.layout is None or self.hooked():
            self.runner(*args, stream=stream)
            return
        gx, gy, gz = self.grid
        coop, pdl, function, metadata = self._fixed
        if self.layout == "generic":  # (grid, stream, fn, coop, pdl, meta, launch meta, 2 hooks, 2 scratch, sig, args)
            annotations, signature = self._signature
            self._launch(gx, gy, gz, stream, function, coop, pdl, metadata, None, None, None, None, None,
                         annotations, signature, args)
        else:  # per-kernel: (grid, stream, fn, coop, pdl, 2 scratch, meta, launch meta, 2 hooks, *args)
            self._launch(gx, gy, gz, stream, function, coop, pdl, None, None, metadata, None, None, None, *args)


def direct_launcher(compiled, grid: Sequence[int]) -> Optional[Callable[[list, int], None]]:
    """A :class:`KernelLauncher` for ``compiled`` (a ``CompiledKernel``), or None when this
    Triton's compiled kernels cannot be indexed by a grid (or a JIT cache hook kept it from being
    compiled). Load errors propagate."""
    if compiled is None or not hasattr(type(compiled), "__getitem__"):
        return None
    return KernelLauncher(compiled, grid)
