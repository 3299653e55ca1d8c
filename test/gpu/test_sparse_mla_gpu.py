"""Sparse MLA forward on a GPU against the fp32 reference (tle.ops.reference).

Tolerances (kernel vs fp32 reference on the same inputs):
  out         relative Frobenius error ||out - ref|| / ||ref|| < 1e-2 (bf16) / 3e-3 (fp16), and
              elementwise |out - ref| <= atol + rtol * |ref| with (1e-2, 2e-2) bf16, (2e-3, 5e-3) fp16
              (P is rounded to the input dtype before the PV product, and out is stored in it);
  lse         same +inf positions, finite values within 5e-4 absolute (natural log);
  max_logits  same -inf positions, finite values within 1e-4 absolute + 1e-5 relative.
Inputs use q, kv ~ N(0, 1) so that P = q.k / sqrt(d_qk) has unit spread (randn/10 would make the
softmax nearly uniform and hide errors). Seeds are fixed; the kernel is deterministic.

Every correctness test runs twice: backend="triton" (TLE's hooks off: the plain kernel) and
backend="tle" (TLE's default for the call: the warp-specialized kernel where it applies, h_q a
multiple of 64 with 64x64 blocks, else the plain kernel through TLE's passes; skipped when TLE
is unavailable). test_sparse_mla_ws_gpu.py covers the warp-specialized kernel in depth.

Run on a CUDA machine: python -m pytest test/gpu -q   (skips cleanly without CUDA)
"""
from __future__ import annotations

import math
import os
import zlib

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

from tle.ops import (  # noqa: E402
    sparse_mla_fwd,
    sparse_mla_fwd_reference,
    tle_hooks_available,
)

BF16, FP16 = torch.bfloat16, torch.float16
DEV = "cuda"
TOL = {
    BF16: dict(rel=1e-2, atol=1e-2, rtol=2e-2),
    FP16: dict(rel=3e-3, atol=2e-3, rtol=5e-3),
}
INT32_MAX = 2**31 - 1


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------
def make_indices(s_q, s_kv, topk, gen, *, invalid=0.0, oob=False, mask_rows=(), dup=False):
    """[s_q, 1, topk] int32: per row `topk` distinct sorted rows of [0, s_kv), padded with -1 when
    s_kv < topk; optional random invalid entries, alternating -1 / s_kv rows, fully masked rows and
    duplicate-heavy rows."""
    if dup:
        idx = torch.randint(0, max(s_kv, 1), (s_q, topk), generator=gen, device=DEV)
    else:
        n = min(topk, s_kv)
        keys = torch.rand(s_q, s_kv, generator=gen, device=DEV)
        idx = keys.topk(n, dim=-1).indices.sort(dim=-1).values
        if n < topk:
            idx = torch.cat([idx, torch.full((s_q, topk - n), -1, device=DEV, dtype=idx.dtype)], dim=-1)
    idx = idx.to(torch.int32)
    if invalid > 0:
        bad_values = torch.tensor([-1, -100, s_kv, s_kv + 7, INT32_MAX, -(2**31)], dtype=torch.int32, device=DEV)
        pick = torch.rand(s_q, topk, generator=gen, device=DEV) < invalid
        which = torch.randint(0, len(bad_values), (s_q, topk), generator=gen, device=DEV)
        idx = torch.where(pick, bad_values[which], idx)
    if oob:
        row = 1 if s_q > 1 else 0
        alt = torch.where(torch.arange(topk, device=DEV) % 2 == 0, -1, s_kv).to(torch.int32)
        idx[row] = alt
    for r in mask_rows:
        idx[r] = -1
    return idx[:, None, :].contiguous()


def make_problem(s_q, h_q, d_qk, s_kv, topk, dtype, batch=None, seed=0, *, sink=False, topk_length=False,
                 **index_kw):
    gen = torch.Generator(device=DEV).manual_seed(seed)
    pre = () if batch is None else (batch,)
    q = torch.randn(*pre, s_q, h_q, d_qk, generator=gen, device=DEV).to(dtype)
    kv = torch.randn(*pre, s_kv, 1, d_qk, generator=gen, device=DEV).to(dtype)
    if batch is None:
        idx = make_indices(s_q, s_kv, topk, gen, **index_kw)
    else:
        idx = torch.stack([make_indices(s_q, s_kv, topk, gen, **index_kw) for _ in range(batch)])
    extra = {}
    if sink:
        s = torch.randn(h_q, generator=gen, device=DEV) * 2 + math.log(topk)
        s[0], s[1] = -math.inf, math.inf
        extra["attn_sink"] = s
    if topk_length:
        tl_ = torch.randint(0, topk + 1, (*pre, s_q), generator=gen, device=DEV).to(torch.int32)
        tl_.view(-1)[0] = 0
        tl_.view(-1)[-1] = topk
        if tl_.numel() > 2:
            tl_.view(-1)[1] = min(topk, 65)
        extra["topk_length"] = tl_
    return q, kv, idx, d_qk ** -0.5, extra


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------
def check_against_reference(got, ref, dtype):
    out, ml, lse = got
    rout, rml, rlse = ref
    tol = TOL[dtype]
    assert out.dtype == dtype and ml.dtype == torch.float32 and lse.dtype == torch.float32
    assert out.shape == rout.shape and ml.shape == rml.shape and lse.shape == rlse.shape
    assert not torch.isnan(out).any() and not torch.isnan(ml).any() and not torch.isnan(lse).any()
    o = out.float()
    rel = ((o - rout).norm() / rout.norm().clamp_min(1e-30)).item()
    assert rel < tol["rel"], f"relative error of out {rel:.3e} >= {tol['rel']}"
    torch.testing.assert_close(o, rout, atol=tol["atol"], rtol=tol["rtol"])
    assert torch.equal(torch.isposinf(lse), torch.isposinf(rlse))
    assert torch.equal(torch.isneginf(ml), torch.isneginf(rml))
    assert not torch.isinf(lse[~torch.isposinf(rlse)]).any()
    fin = torch.isfinite(rlse)
    torch.testing.assert_close(lse[fin], rlse[fin], atol=5e-4, rtol=0)
    torch.testing.assert_close(ml[fin], rml[fin], atol=1e-4, rtol=1e-5)
    masked = ~fin
    if masked.any():
        assert torch.all(out[masked] == 0)
    return rel


def run_and_check(q, kv, idx, sm_scale, extra, dtype, **kw):
    got = sparse_mla_fwd(q, kv, idx, sm_scale, **extra, **kw)
    ref = sparse_mla_fwd_reference(q, kv, idx, sm_scale, **extra)
    check_against_reference(got, ref, dtype)
    return got, ref


# --------------------------------------------------------------------------------------------------
# Correctness across shapes and features
# --------------------------------------------------------------------------------------------------
# (id, s_q, h_q, d_qk, s_kv, topk, dtype, batch, features)
CASES = [
    ("headline-slice", 64, 128, 576, 8192, 2048, BF16, None, {}),
    ("h64-d512-fp16", 48, 64, 512, 4096, 512, FP16, None, {}),
    ("h16-topk1", 37, 16, 576, 300, 1, BF16, None, {}),
    ("h32-topk100-invalid", 33, 32, 576, 1000, 100, BF16, None, {"invalid": 0.2}),
    ("h48-skv<topk-pad", 20, 48, 576, 130, 200, FP16, None, {}),
    ("h80-d512-topk4096", 8, 80, 512, 5000, 4096, BF16, None, {"invalid": 0.1}),
    ("h96-topk320", 16, 96, 576, 3000, 320, BF16, None, {}),
    ("h112-fp16-topk192", 16, 112, 576, 3000, 192, FP16, None, {}),
    ("h128-masked-rows-oob", 24, 128, 576, 2000, 256, BF16, None, {"mask_rows": (0, 5, 23), "oob": True}),
    ("topk_length", 32, 64, 576, 4000, 640, BF16, None, {"topk_length": True}),
    ("attn_sink", 32, 128, 576, 4000, 256, BF16, None, {"sink": True, "mask_rows": (3,)}),
    ("sink+topk_length-fp16-d512", 16, 32, 512, 900, 130, FP16, None, {"sink": True, "topk_length": True}),
    ("duplicates", 16, 64, 576, 10, 256, BF16, None, {"dup": True}),
    ("batched", 16, 64, 576, 1500, 192, BF16, 3, {"sink": True, "topk_length": True, "invalid": 0.1}),
    ("batched-fp16-d512-h16", 8, 16, 512, 700, 130, FP16, 2, {"mask_rows": (2,)}),
]


_TLE_OFF = os.environ.get("TLE_DISABLE", "").strip().lower() in ("1", "true", "yes", "on")
_NO_TLE = pytest.mark.skipif(not tle_hooks_available() or _TLE_OFF, reason="TLE hooks unavailable or TLE_DISABLE=1")
# The whole matrix runs for the plain kernel (TLE off) and for the same kernel compiled by TLE.
BACKENDS = ["triton", pytest.param("tle", marks=_NO_TLE)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_reference(case, backend):
    _, s_q, h_q, d_qk, s_kv, topk, dtype, batch, feats = case
    seed = zlib.crc32(case[0].encode()) % 1000
    q, kv, idx, scale, extra = make_problem(s_q, h_q, d_qk, s_kv, topk, dtype, batch, seed=seed, **feats)
    run_and_check(q, kv, idx, scale, extra, dtype, backend=backend)


# Every config the benchmark's --tune search may pick must be correct too.
TUNE_CONFIGS = ["64,32,8,2", "64,64,8,1", "64,64,8,3", "64,32,8,3", "64,64,4,2", "64,32,4,1", "16,64,4,2",
                "32,32,8,2"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", TUNE_CONFIGS)
def test_configs(config, backend):
    q, kv, idx, scale, extra = make_problem(16, 128, 576, 3000, 300, BF16, seed=3, invalid=0.1, mask_rows=(7,))
    run_and_check(q, kv, idx, scale, extra, BF16, config=config, backend=backend)


def test_deterministic_and_unbatched_equals_batched():
    q, kv, idx, scale, extra = make_problem(8, 64, 576, 2000, 256, BF16, batch=2, seed=4, sink=True,
                                            topk_length=True)
    a = sparse_mla_fwd(q, kv, idx, scale, **extra, backend="triton")
    b = sparse_mla_fwd(q, kv, idx, scale, **extra, backend="triton")
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    for i in range(2):
        one = sparse_mla_fwd(q[i], kv[i], idx[i], scale, attn_sink=extra["attn_sink"],
                             topk_length=extra["topk_length"][i], backend="triton")
        torch.testing.assert_close(one[0].float(), a[0][i].float(), atol=1e-2, rtol=1e-2)
        torch.testing.assert_close(one[1], a[1][i], atol=1e-5, rtol=1e-6)
        torch.testing.assert_close(one[2], a[2][i], atol=1e-5, rtol=1e-6)


def test_strided_inputs():
    """Views with padded head / token / index strides (last dim contiguous) are handled."""
    q, kv, idx, scale, extra = make_problem(12, 64, 576, 1000, 200, BF16, seed=5)
    qb = torch.zeros(12, 64, 640, dtype=BF16, device=DEV)
    qb[..., :576] = q
    kvb = torch.zeros(1000, 1, 704, dtype=BF16, device=DEV)
    kvb[..., :576] = kv
    ib = torch.full((12, 1, 256), -1, dtype=torch.int32, device=DEV)
    ib[..., :200] = idx
    qv, kvv, iv = qb[..., :576], kvb[..., :576], ib[..., :200]
    assert not qv.is_contiguous() and not kvv.is_contiguous() and not iv.is_contiguous()
    run_and_check(qv, kvv, iv, scale, {}, BF16, backend="triton")


def test_empty_and_large_kv_offsets():
    q, kv, idx, scale, _ = make_problem(4, 16, 576, 64, 32, BF16, seed=6)
    out, ml, lse = sparse_mla_fwd(q[:0], kv, idx[:0], scale, backend="triton")
    assert out.shape == (0, 16, 512) and ml.shape == (0, 16) and lse.shape == (0, 16)
    # s_kv * d_qk > 2^31: row offsets need 64-bit arithmetic
    s_kv = 3_800_000
    gen = torch.Generator(device=DEV).manual_seed(7)
    kv = torch.randn(s_kv, 1, 576, generator=gen, device=DEV).to(BF16)
    idx = torch.randint(s_kv - 5000, s_kv, (4, 1, 64), generator=gen, device=DEV).to(torch.int32)
    idx[0, 0, :8] = torch.arange(8, dtype=torch.int32, device=DEV)
    run_and_check(q, kv, idx, scale, {}, BF16, backend="triton")


# --------------------------------------------------------------------------------------------------
# "tle" provider (same kernel compiled with TLE's passes) vs "triton" provider (TLE off)
# --------------------------------------------------------------------------------------------------
@_NO_TLE
@pytest.mark.parametrize("shape", [
    (64, 128, 576, 8192, 2048, BF16, {}),
    (16, 48, 576, 500, 100, BF16, {"invalid": 0.2, "mask_rows": (3,)}),
    (16, 64, 512, 2000, 256, FP16, {"sink": True, "topk_length": True}),
], ids=["headline-slice", "h48-topk100", "d512-fp16-sink-topk_length"])
def test_tle_provider_matches_triton_provider(shape):
    s_q, h_q, d_qk, s_kv, topk, dtype, feats = shape
    q, kv, idx, scale, extra = make_problem(s_q, h_q, d_qk, s_kv, topk, dtype, seed=8, **feats)
    stock = sparse_mla_fwd(q, kv, idx, scale, **extra, backend="triton")
    tle_ = sparse_mla_fwd(q, kv, idx, scale, **extra, backend="tle", kernel="tl")  # same kernel, TLE's passes
    ref = sparse_mla_fwd_reference(q, kv, idx, scale, **extra)
    check_against_reference(stock, ref, dtype)
    check_against_reference(tle_, ref, dtype)
    so, to = stock[0].float(), tle_[0].float()
    rel = ((to - so).norm() / so.norm().clamp_min(1e-30)).item()
    assert rel < 2e-3, f"tle vs triton relative difference {rel:.3e}"
    fin = torch.isfinite(stock[2])
    assert torch.equal(fin, torch.isfinite(tle_[2]))
    torch.testing.assert_close(tle_[2][fin], stock[2][fin], atol=1e-4, rtol=0)
    torch.testing.assert_close(tle_[1][fin], stock[1][fin], atol=1e-5, rtol=1e-6)
