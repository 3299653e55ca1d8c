"""tle-wgmma-operand-reuse on a real kernel: a Gluon kernel that re-stages a shared tile through
registers for its WGMMA. With TLE_GLUON=1 the copy is gone from TTGIR and PTX (CPU compile to an
sm_90 cubin)."""
import re
import sys
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")
import tle  # noqa: E402
from tle_test_support import compile_stock_and_tle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "kernels"))


@pytest.mark.skipif(not tle.has_native_rewrites(), reason="built without __TLE__")
def test_staged_wgmma_operand_is_read_in_place(tmp_path, monkeypatch):
    import gluon_staged_operand

    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path))
    stock, tled = compile_stock_and_tle(*gluon_staged_operand.make_source(), gluon=True)

    def staging(kernel):
        ttgir = kernel.asm["ttgir"]
        return (ttgir.count("ttg.local_load"), len(re.findall(r"ttg\.local_alloc %", ttgir)),
                kernel.asm["ptx"].count("ld.shared"))

    assert staging(stock) == (1, 2, 4)  # b_smem.load + two register->shared allocations
    loads, allocs, ld_shared = staging(tled)
    assert (loads, allocs, ld_shared) == (0, 1, 0)
    assert "wgmma.mma_async" in tled.asm["ptx"]
    assert tled.asm["ptx"].count("fence.proxy.async") >= 1  # the user's fence still orders b_smem
