"""tle.integration.launch: the direct launch hands the C launcher exactly what Triton's own path
would, only for launcher layouts it recognizes, and steps aside while a launch hook is installed.

The C launcher is replaced by a recorder (no GPU here); the launcher classes are the installed
Triton's own where it matters (layout recognition) and stand-ins written like it otherwise. The
GPU tests run the op through the real launchers (test/gpu/test_torch_op_gpu.py)."""
from __future__ import annotations

import pytest
import triton
from triton import knobs
from triton.backends.nvidia.driver import CudaLauncher

from tle.integration import launch as L


class _PerKernel:
    """Written like Triton 3.6's CudaLauncher."""

    def __init__(self, record, scratch=0):
        self.launch, self.global_scratch_size, self.profile_scratch_size = record, scratch, 0
        self.launch_cooperative_grid, self.launch_pdl = False, True

    def __call__(self, gridX, gridY, gridZ, stream, function, *args):
        global_scratch = profile_scratch = None
        self.launch(gridX, gridY, gridZ, stream, function, self.launch_cooperative_grid, self.launch_pdl,
                    global_scratch, profile_scratch, *args)


class _Generic:
    """Written like Triton 3.7-3.9's CudaLauncher."""

    def __init__(self, record, scratch=0):
        self.launch, self.global_scratch_size, self.profile_scratch_size = record, scratch, 0
        self.launch_cooperative_grid, self.launch_pdl = True, False
        self.arg_annotations, self.kernel_signature = ("ann",), b"sig"
        self.gsan_enabled = False

    def __call__(self, gridX, gridY, gridZ, stream, function, kernel_metadata, launch_metadata, launch_enter_hook,
                 launch_exit_hook, *args):
        global_scratch = profile_scratch = None
        kernel_args = args
        self.launch(gridX, gridY, gridZ, stream, function, self.launch_cooperative_grid, self.launch_pdl,
                    kernel_metadata, launch_metadata, launch_enter_hook, launch_exit_hook, global_scratch,
                    profile_scratch, self.arg_annotations, self.kernel_signature, kernel_args)


class _Reordered(_Generic):
    """A future launcher that takes the scratch buffers first: not a layout TLE knows."""

    def __call__(self, gridX, gridY, gridZ, stream, function, kernel_metadata, launch_metadata, launch_enter_hook,
                 launch_exit_hook, *args):
        global_scratch = profile_scratch = None
        self.launch(gridX, gridY, gridZ, stream, function, self.launch_cooperative_grid, self.launch_pdl,
                    global_scratch, profile_scratch, kernel_metadata, launch_metadata, launch_enter_hook,
                    launch_exit_hook, self.arg_annotations, self.kernel_signature, args)


class _Compiled:
    """A CompiledKernel whose runner does what Triton's does; without hooks it passes None where
    Triton passes empty hook chains and their metadata (the C launcher calls nothing either way)."""

    function, packed_metadata = 0xF00, (4, 1, 1024)

    def __init__(self, launcher_cls, scratch=0):
        self.calls = []
        self.run = launcher_cls(lambda *a: self.calls.append(("launch", a)), scratch)

    def __getitem__(self, grid):
        def runner(*args, stream=None):
            self.calls.append(("runner", None))
            enter, leave = knobs.runtime.launch_enter_hook, knobs.runtime.launch_exit_hook
            meta = None if not enter.calls else {"name": "k"}
            if meta is not None:
                enter(meta)
            self.run(grid[0], grid[1], grid[2], stream, self.function, self.packed_metadata, meta,
                     None if not enter.calls else enter, None if not leave.calls else leave, *args)
        return runner


ARGS = ["q", "kv", 7, 0.5, None]


def test_recognizes_the_installed_triton():
    expected = "per-kernel" if triton.__version__.startswith("3.6.") else "generic"
    assert L._call_layout(CudaLauncher) == expected


@pytest.mark.parametrize("cls", [_PerKernel, _Generic])
def test_direct_launch_passes_what_tritons_path_passes(cls):
    compiled = _Compiled(cls)
    launcher = L.direct_launcher(compiled, (132,))
    assert launcher.layout == ("per-kernel" if cls is _PerKernel else "generic")
    launcher(list(ARGS), 77)
    compiled.runner_path = compiled[(132, 1, 1)]
    compiled.runner_path(*ARGS, stream=77)
    (kind1, direct), (kind2, _), (kind3, via_triton) = compiled.calls
    assert (kind1, kind2, kind3) == ("launch", "runner", "launch")
    assert direct[:5] == (132, 1, 1, 77, 0xF00)
    if cls is _Generic:  # the sequence may be a list or a tuple: the C launcher takes any sequence
        direct = direct[:-1] + (tuple(direct[-1]),)
    assert direct == via_triton


@pytest.mark.parametrize("cls", [_PerKernel, _Generic])
def test_a_launch_hook_sends_launches_through_triton(cls):
    compiled = _Compiled(cls)
    launcher = L.direct_launcher(compiled, (8,))
    seen = []
    hook = seen.append
    knobs.runtime.launch_enter_hook.add(hook)
    try:
        launcher(list(ARGS), 1)
    finally:
        knobs.runtime.launch_enter_hook.remove(hook)
    assert [k for k, _ in compiled.calls] == ["runner", "launch"] and seen == [{"name": "k"}]
    launcher(list(ARGS), 1)
    assert [k for k, _ in compiled.calls] == ["runner", "launch", "launch"]


@pytest.mark.parametrize("make", [lambda: _Compiled(_Reordered), lambda: _Compiled(_Generic, scratch=256)],
                         ids=["unknown-layout", "needs-scratch"])
def test_unrecognized_or_scratch_launchers_take_tritons_path(make):
    compiled = make()
    launcher = L.direct_launcher(compiled, (8,))
    assert launcher.layout is None
    launcher(list(ARGS), 1)
    assert [k for k, _ in compiled.calls] == ["runner", "launch"]


def test_no_launcher_without_a_grid_indexable_kernel():
    assert L.direct_launcher(None, (1,)) is None
    assert L.direct_launcher(object(), (1,)) is None
