"""tle.integration.launch: the direct launch hands the C launcher exactly what Triton's own path
would, only for Triton code it was checked against, and steps aside while a launch hook is
installed.

Triton's own path is the installed Triton's real code -- CompiledKernel's runner and
CudaLauncher.__call__ -- driven on the CPU with the C launcher replaced by a recorder (objects
built without compiling anything). The GPU tests run the op through the real C launchers
(test/gpu/test_torch_op_gpu.py)."""
from __future__ import annotations

import pytest
import triton
from triton import knobs
from triton.backends.nvidia.driver import CudaLauncher
from triton.compiler.compiler import CompiledKernel

from tle.integration import launch as L

GENERIC = not triton.__version__.startswith("3.6.")
ARGS = [0x7000, 0x8000, 7, 0.5, None]  # two pointers, an int, a float, an absent pointer


class _Driver:
    """What CudaLauncher.__call__ may ask the active driver for (nothing, without scratch)."""

    def __getattr__(self, name):
        raise AssertionError(f"the launch asked the driver for {name}")


@pytest.fixture
def cpu_driver():
    config = triton.runtime.driver
    saved = config._active  # reset_active() would create the CUDA driver: no GPU here
    config.set_active(_Driver())
    yield
    config._active = saved


def _launcher(record, scratch=0):
    """Triton's CudaLauncher, its C launch replaced by ``record``."""
    launcher = object.__new__(CudaLauncher)
    launcher.launch = record
    launcher.num_ctas = 1
    launcher.global_scratch_size, launcher.global_scratch_align = scratch, 128
    launcher.profile_scratch_size, launcher.profile_scratch_align = 0, 1
    launcher.launch_cooperative_grid, launcher.launch_pdl = False, True
    if GENERIC:
        launcher.arg_annotations, launcher.kernel_signature = ("annotations",), b"signature"
        launcher.gsan_enabled = False
    return launcher


def _compiled(scratch=0):
    """Triton's CompiledKernel (loaded, as after its first launch) on that launcher."""
    calls = []
    compiled = object.__new__(CompiledKernel)
    compiled.module, compiled.function, compiled.name, compiled.src = object(), 0xF00, "k", None
    compiled.packed_metadata = (4, 1, 1024)
    compiled._run = _launcher(lambda *a: calls.append(a), scratch)
    return compiled, calls


# argument positions of launch metadata and the two hooks in each layout's C-launcher call
_HOOK_SLOTS = (8, 9, 10) if GENERIC else (10, 11, 12)


def test_the_installed_triton_is_a_verified_one():
    assert L.fingerprint(CompiledKernel.__getitem__) in L._VERIFIED_RUNNERS
    assert L._call_layout(CudaLauncher) == ("generic" if GENERIC else "per-kernel")


def test_direct_launch_passes_what_tritons_path_passes(cpu_driver):
    compiled, calls = _compiled()
    launcher = L.direct_launcher(compiled, (132,))
    assert launcher.layout == ("generic" if GENERIC else "per-kernel")
    launcher(list(ARGS), 77)
    compiled[(132, 1, 1)](*ARGS, stream=77)  # Triton's own path, for comparison
    direct, via_triton = calls
    assert direct[:5] == (132, 1, 1, 77, 0xF00) and len(direct) == len(via_triton)
    for i, (ours, theirs) in enumerate(zip(direct, via_triton)):
        if i in _HOOK_SLOTS:  # Triton: launch metadata and empty hook chains; here: nothing to call
            assert ours is None and (theirs is None or i == _HOOK_SLOTS[0] or not theirs.calls)
        elif GENERIC and i == len(direct) - 1:  # the kernel arguments, as one sequence
            assert list(ours) == list(theirs) == ARGS
        else:
            assert ours == theirs, i


def test_a_launch_hook_sends_launches_through_triton(cpu_driver):
    compiled, calls = _compiled()
    launcher = L.direct_launcher(compiled, (8,))
    hook = lambda metadata: None  # noqa: E731
    knobs.runtime.launch_enter_hook.add(hook)
    try:
        launcher(list(ARGS), 1)
    finally:
        knobs.runtime.launch_enter_hook.remove(hook)
    assert calls[0][_HOOK_SLOTS[1]] is knobs.runtime.launch_enter_hook  # Triton's path, hook chain passed
    launcher(list(ARGS), 1)
    assert calls[1][_HOOK_SLOTS[1]] is None  # direct again once the hook is gone


def test_a_kernel_with_scratch_memory_takes_tritons_path():
    compiled, _ = _compiled(scratch=256)
    assert L.direct_launcher(compiled, (8,)).layout is None


def test_unverified_triton_code_takes_tritons_path(monkeypatch):
    class Patched(CudaLauncher):
        def __call__(self, gridX, gridY, gridZ, stream, function, *args):  # a layout never checked
            self.launch(gridX, gridY, gridZ, stream, function, *args)

    assert L._call_layout(Patched) is None
    monkeypatch.setattr(L, "_VERIFIED_RUNNERS", set())
    assert L._call_layout(CudaLauncher) is None


def _f(a, b):
    return a + b


class _Reformatted:
    def _f(a,b):  # noqa: E231,N805 - the same code as _f, laid out differently
        # a comment
        return (a
                + b)


def _g(a, b):
    return a - b


def test_fingerprint_sees_code_not_layout():
    assert L.fingerprint(_f) == L.fingerprint(_Reformatted._f) != L.fingerprint(_g)
    assert L.fingerprint(len) is None  # no Python source


def test_a_compiled_kernel_with_its_own_runner_takes_tritons_path():
    class Custom(CompiledKernel):
        def __getitem__(self, grid):
            return lambda *args, stream=None: None

    assert L._call_layout(CudaLauncher, Custom) is None
    assert L._call_layout(CudaLauncher, CompiledKernel) is not None


def test_no_launcher_without_a_grid_indexable_kernel():
    assert L.direct_launcher(None, (1,)) is None
    assert L.direct_launcher(object(), (1,)) is None


def _other_pythons() -> list:
    """Python 3.10 / 3.12 / 3.13 interpreters that run here (pyenv's, or on PATH; its shims that
    do not run are left out)."""
    import shutil
    import subprocess
    from pathlib import Path

    found = set()
    for version in ("3.10", "3.12", "3.13"):
        found.update(str(p) for p in Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
        on_path = shutil.which(f"python{version}")
        if on_path:
            found.add(on_path)
    ok = []
    for exe in sorted(found):
        try:
            if subprocess.run([exe, "-c", ""], capture_output=True, timeout=20).returncode == 0:
                ok.append(exe)
        except (OSError, subprocess.TimeoutExpired):
            pass
    return ok


_OTHER_PYTHONS = _other_pythons()


@pytest.mark.skipif(not _OTHER_PYTHONS, reason="no other Python interpreter here (CI has 3.11 only)")
@pytest.mark.parametrize("python", _OTHER_PYTHONS)
def test_fingerprints_hold_on_other_pythons(python, tmp_path):
    """The installed Triton's launch code has the same fingerprint under other Pythons (the GPU
    machine runs 3.12): ast.dump would not (3.12 and 3.13 change it)."""
    import subprocess
    import textwrap

    script = tmp_path / "fp.py"
    script.write_text(textwrap.dedent(f"""
        import ast, importlib.util, sys, textwrap
        spec = importlib.util.spec_from_file_location("launch", {L.__file__!r})
        L = importlib.util.module_from_spec(spec); spec.loader.exec_module(L)
        def fp(path, cls, meth, out):
            src = open(path).read()
            node = next(m for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ClassDef) and n.name == cls
                        for m in n.body if isinstance(m, ast.FunctionDef) and m.name == meth)
            seg = textwrap.dedent(ast.get_source_segment(src, node, padded=True))
            open(out, "w").write("class C:\\n" + textwrap.indent(seg, "    "))
            spec = importlib.util.spec_from_file_location(cls, out)
            m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
            return L.fingerprint(getattr(m.C, meth))
        print(fp(sys.argv[1], "CudaLauncher", "__call__", sys.argv[3]),
              fp(sys.argv[2], "CompiledKernel", "__getitem__", sys.argv[4]))
    """))
    import triton.backends.nvidia.driver as drv
    import triton.compiler.compiler as comp

    out = subprocess.run([python, str(script), drv.__file__, comp.__file__, str(tmp_path / "a.py"),
                          str(tmp_path / "b.py")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [L.fingerprint(CudaLauncher.__call__), L.fingerprint(CompiledKernel.__getitem__)]
