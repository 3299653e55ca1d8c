"""tle.flash_mla.flash_mla_sparse_fwd against FlashMLA itself, on FlashMLA's own domain (bf16,
h_q 64 / 128, topk a multiple of 128, d_qk 576 / 512, attn_sink, topk_length, invalid indices,
rows without any valid index): same shapes, dtypes and inf pattern, values within two bf16
kernels' distance of each other (each is within the GPU-test tolerances of the fp32 reference).

FlashMLA is the SM90 sparse-prefill library built from its sources (``flash_mla_sm90_src.so``,
see the FlashMLA anchor's README), loaded from the path in ``TLE_FLASHMLA_LIB``; the tests skip
when it is unset. Run: TLE_FLASHMLA_LIB=/path/flash_mla_sm90_src.so python -m pytest -q -rs test/gpu/test_flash_mla_gpu.py
"""
from __future__ import annotations

import importlib.util
import os

import pytest

torch = pytest.importorskip("torch")

_LIB = os.environ.get("TLE_FLASHMLA_LIB")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
              pytest.mark.skipif(not _LIB, reason="TLE_FLASHMLA_LIB (FlashMLA's flash_mla_sm90_src.so) not set")]

from test_sparse_mla_gpu import BF16, check_against_reference, make_problem  # noqa: E402

from tle.flash_mla import flash_mla_sparse_fwd  # noqa: E402
from tle.ops import sparse_mla_fwd_reference  # noqa: E402


@pytest.fixture(scope="module")
def flashmla():
    if not os.path.isfile(_LIB):
        pytest.fail(f"TLE_FLASHMLA_LIB={_LIB} is not a file")
    spec = importlib.util.spec_from_file_location("flash_mla_sm90_src", _LIB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# (id, s_q, h_q, d_qk, s_kv, topk, features)
CASES = [
    ("h128-topk2048", 64, 128, 576, 8192, 2048, {}),
    ("h64-topk512-invalid", 48, 64, 576, 4000, 512, {"invalid": 0.2}),
    ("h128-sink-masked-rows", 32, 128, 576, 4000, 256, {"sink": True, "mask_rows": (0, 7)}),
    ("h64-topk_length", 40, 64, 576, 4000, 640, {"topk_length": True}),
    ("h128-sink-topk_length", 32, 128, 576, 3000, 384, {"sink": True, "topk_length": True}),
    ("h64-d512", 32, 64, 512, 3000, 256, {}),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_drop_in_matches_flashmla(flashmla, case):
    _, s_q, h_q, d_qk, s_kv, topk, feats = case
    q, kv, idx, scale, extra = make_problem(s_q, h_q, d_qk, s_kv, topk, BF16, seed=21, **feats)
    sink, tlen = extra.get("attn_sink"), extra.get("topk_length")
    try:
        theirs = tuple(flashmla.sparse_prefill_fwd(q, kv, idx, scale, 512, sink, tlen))
    except RuntimeError as e:  # outside this build's domain (e.g. d_qk 512 not compiled in)
        pytest.skip(f"FlashMLA refuses this case: {str(e).splitlines()[0]}")
    ours = flash_mla_sparse_fwd(q, kv, idx, scale, 512, sink, tlen)
    assert isinstance(ours, tuple) and len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
    # both against the fp32 reference, then against each other
    ref = sparse_mla_fwd_reference(q, kv, idx, scale, **extra)
    check_against_reference(ours, ref, BF16)
    out, ml, lse = ours
    fout, fml, flse = theirs
    assert torch.equal(torch.isposinf(lse), torch.isposinf(flse))
    assert torch.equal(torch.isneginf(ml), torch.isneginf(fml))
    rel = ((out.float() - fout.float()).norm() / fout.float().norm().clamp_min(1e-30)).item()
    assert rel < 1e-2, f"TLE vs FlashMLA relative difference of out {rel:.3e}"
    torch.testing.assert_close(out.float(), fout.float(), atol=2e-2, rtol=4e-2)
    fin = torch.isfinite(flse)
    torch.testing.assert_close(lse[fin], flse[fin], atol=1e-3, rtol=0)
    torch.testing.assert_close(ml[fin], fml[fin], atol=1e-3, rtol=1e-5)
    assert torch.all(out[~fin] == 0) and torch.all(fout[~fin] == 0)
