"""Replaying a compiled Triton kernel with a fixed grid, without Triton's per-launch Python layers.

``CompiledKernel[grid](*args, stream=s)`` runs four Python layers before the C launcher: the
runner closure, ``launch_metadata`` (a LazyDict for the launch hooks, built even when no hook
is installed), the ``run`` property and ``CudaLauncher.__call__`` (scratch allocation), and the
C launcher then calls both (empty) hook chains back in Python. For a kernel launched thousands of
times per second by an op that has already checked its arguments, that is most of the launch.

:func:`direct_launcher` calls the C launcher itself with the same arguments Triton would pass,
for the launcher layouts it knows (Triton 3.6; 3.7-3.9), and only while no launch hook is
installed: with a hook (a profiler such as proton) every launch goes through Triton's own path,
so the hooks see it. Kernels that need a scratch allocation or instrumentation, and launcher
layouts it does not know, always take Triton's path.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

__all__ = ["KernelLauncher", "direct_launcher"]


# The argument list CudaLauncher.__call__ passes to its C launcher, as source text, per layout we
# can replay: "per-kernel" (3.6: a C module compiled for the kernel's signature, arguments spread)
# and "generic" (3.7-3.9: one launcher driven by the kernel signature, arguments as one sequence).
_BASE = ("gridX", "gridY", "gridZ", "stream", "function")
_HOOK_PARAMS = ("kernel_metadata", "launch_metadata", "launch_enter_hook", "launch_exit_hook")
_KNOWN = {  # (parameters of __call__, arguments of its self.launch call) -> layout
    (_BASE + ("*args",),
     _BASE + ("self.launch_cooperative_grid", "self.launch_pdl", "global_scratch", "profile_scratch", "*args")):
        "per-kernel",
    **{(_BASE + _HOOK_PARAMS + ("*args",),
        _BASE + ("self.launch_cooperative_grid", "self.launch_pdl") + _HOOK_PARAMS
        + ("global_scratch", "profile_scratch", "self.arg_annotations", "self.kernel_signature", name)): "generic"
       for name in ("args", "kernel_args")},
}
# what CompiledKernel's runner hands to the launcher (the same in 3.6-3.9)
_RUNNER_CALL = ("grid[0]", "grid[1]", "grid[2]", "stream", "self.function", "self.packed_metadata", "launch_metadata",
                "knobs.runtime.launch_enter_hook", "knobs.runtime.launch_exit_hook", "*args")
_LAYOUTS: dict = {}  # launcher class -> layout (or None)


def _one_call(fn, callee: str) -> Optional[tuple]:
    """The arguments (as source text) of the one call of ``callee`` in ``fn``, or None."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and ast.unparse(node.func) == callee]
    if len(calls) != 1 or calls[0].keywords:
        return None
    return tuple(ast.unparse(a) for a in calls[0].args)


def _call_layout(cls) -> Optional[str]:
    """The layout of ``cls.__call__`` (parameters and its one ``self.launch(...)`` call, read from
    the source), provided CompiledKernel's runner calls it the way this module assumes."""
    import inspect

    from triton.compiler.compiler import CompiledKernel

    if _one_call(CompiledKernel.__getitem__, "self.run") != _RUNNER_CALL:
        return None
    try:
        params = tuple(("*" if p.kind is p.VAR_POSITIONAL else "") + p.name
                       for p in inspect.signature(cls.__call__).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    return _KNOWN.get((params, _one_call(cls.__call__, "self.launch")))


def _layout(launcher) -> Optional[str]:
    """Which argument layout ``launcher`` (a CudaLauncher) passes to its C launcher, or None when
    this launch must take Triton's own path."""
    needed = ("launch", "global_scratch_size", "profile_scratch_size", "launch_cooperative_grid", "launch_pdl")
    if not all(hasattr(launcher, name) for name in needed):
        return None
    if launcher.global_scratch_size or launcher.profile_scratch_size or getattr(launcher, "gsan_enabled", False):
        return None  # Triton allocates scratch (or instruments) per launch: its path only
    cls = type(launcher)
    if cls not in _LAYOUTS:
        _LAYOUTS[cls] = _call_layout(cls)
    layout = _LAYOUTS[cls]
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
        self.layout = None if launcher is None else _layout(launcher)
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
