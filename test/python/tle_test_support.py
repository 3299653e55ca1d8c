"""Paths and helpers shared by TLE's Python tests (imported by name; conftest.py holds fixtures)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIT_DIR = ROOT / "test" / "lit"
INPUTS = LIT_DIR / "Inputs"


def normalize_ssa_names(text: str) -> str:
    """Rename SSA values and block labels in order of first appearance, so two printings of the
    same IR compare equal whatever names the printers chose."""
    names: dict = {}

    def rename(match):
        sigil, name = match.group(1), match.group(2)
        key = sigil + name
        if key not in names:
            names[key] = f"{sigil}v{len(names)}"
        return names[key]

    return re.sub(r"([%^])([A-Za-z_0-9$.\-]+)", rename, text)


def compile_stock_and_tle(src, options, *, gluon=False):
    """Compile `src` for sm_90 on the CPU twice: stock (TLE disabled) and through TLE in strict
    mode (`gluon=True` lets TLE process Gluon kernels). Returns (stock, tle) compiled kernels."""
    import triton
    from triton.backends.compiler import GPUTarget

    import tle
    from tle import config

    target = GPUTarget("cuda", 90, 32)
    tle.disable()
    try:
        stock = triton.compile(src, target=target, options=options)
    finally:
        tle.enable()
    config.set_options(gluon=gluon or None, strict=True)
    try:
        with_tle = triton.compile(src, target=target, options=options)
    finally:
        config.set_options(gluon=None, strict=None)
    return stock, with_tle


def triton_ptxas():
    """Path of the ptxas the installed Triton compiles sm_90 with (3.9 uses its newer bundled
    ptxas; the older one rejects the PTX ISA 3.9 emits), or None."""
    try:
        from triton.backends.nvidia.compiler import get_ptxas

        path = get_ptxas(90).path
    except Exception:
        return None
    return path if path and Path(path).is_file() else None


def ptxas_report(ptx: str, tmp_path, name: str) -> str:
    """ptxas -v's report (stderr) for ``ptx`` on sm_90a; asserts that ptxas succeeded."""
    import subprocess

    ptx_file = Path(tmp_path) / f"{name}.ptx"
    ptx_file.write_text(ptx)
    proc = subprocess.run([triton_ptxas(), "-v", "-arch=sm_90a", str(ptx_file), "-o", str(ptx_file.with_suffix(".o"))],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr
