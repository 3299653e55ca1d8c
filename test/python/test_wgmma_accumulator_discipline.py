"""tle-hoist-wgmma-accumulators on a real kernel: a Gluon kernel that scales one accumulator
between two async WGMMAs of one stage. Stock: ptxas serializes the stage (C7517, an injected
warpgroup.wait). With TLE_GLUON=1 the scaling moves before the stage and the warning is gone."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")
import tle  # noqa: E402
from tle.gluon import compat  # noqa: E402
from tle_test_support import compile_stock_and_tle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "kernels"))
PTXAS = Path(compat.ptxas_path(90) or "/nonexistent")  # the one Triton runs for sm_90 (3.9: ptxas-blackwell)


def _ptxas_report(kernel, tmp_path, name):
    ptx = tmp_path / f"{name}.ptx"
    ptx.write_text(kernel.asm["ptx"])
    proc = subprocess.run([str(PTXAS), "-v", "-arch=sm_90a", str(ptx), "-o", str(tmp_path / f"{name}.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.skipif(not PTXAS.is_file(), reason="triton wheel without ptxas")
@pytest.mark.skipif(not tle.has_native_rewrites(), reason="built without __TLE__")
def test_accumulator_built_before_the_wgmma_stage(tmp_path, monkeypatch):
    import gluon_two_accumulators

    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path))
    stock, tled = compile_stock_and_tle(*gluon_two_accumulators.make_source(), gluon=True)

    assert re.search(r"C751[57]", _ptxas_report(stock, tmp_path, "stock"))
    report = _ptxas_report(tled, tmp_path, "tle")
    assert not re.search(r"C751[57]", report), report
    # In the loop the scaling now precedes both WGMMAs of the stage.
    body = tled.asm["ttgir"].split("scf.for", 1)[1]
    assert body.index("arith.mulf") < body.index("ttng.warp_group_dot ")
