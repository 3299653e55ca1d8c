"""PyTorch references for TLE's ops (fp32, CPU or GPU).

:func:`sparse_mla_fwd_reference` follows :func:`tle.ops.sparse_mla_fwd` exactly (same validation,
same semantics) and is chunked over query tokens so that the headline problem (s_q = 4096,
h_q = 128, topk = 2048, d_qk = 576) fits in a bounded amount of memory.
"""
from __future__ import annotations

import contextlib
import math
from typing import Optional

import torch

from .sparse_mla_validation import D_V, validate_sparse_mla_inputs

__all__ = ["sparse_mla_fwd_reference"]

_REFERENCE_DTYPES = (torch.bfloat16, torch.float16, torch.float32)


def _rows_per_chunk(h_q: int, topk: int, d_qk: int, budget_bytes: int) -> int:
    # per query token: gathered kv rows (fp32), scores + probabilities (fp32), mask
    per_token = topk * d_qk * 4 + 3 * h_q * topk * 4 + topk * 16
    return max(1, budget_bytes // per_token)


@contextlib.contextmanager
def _ieee_fp32_matmul():
    """fp32 matmuls without TF32 on GPU for the duration of the block (restored afterwards)."""
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


@torch.no_grad()
def sparse_mla_fwd_reference(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *,
                             chunk_budget_bytes: int = 256 << 20, out_dtype: Optional[torch.dtype] = None):
    """fp32 reference of sparse MLA forward; returns ``(out, max_logits, lse)``.

    Same arguments and shapes as :func:`tle.ops.sparse_mla_fwd` (rank 3, or rank 4 with a leading
    batch dimension). Also accepts fp32 q/kv. Everything is computed in fp32 from the inputs as
    given; ``out`` is returned in fp32 unless ``out_dtype`` is set. ``lse`` is natural-log.
    ``chunk_budget_bytes`` bounds the temporary memory per chunk of query tokens.
    """
    prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length,
                                      allowed_dtypes=_REFERENCE_DTYPES)
    q4 = q if prob.batched else q.unsqueeze(0)
    kv4 = kv if prob.batched else kv.unsqueeze(0)
    idx4 = indices if prob.batched else indices.unsqueeze(0)
    tlen = None
    if topk_length is not None:
        tlen = topk_length if prob.batched else topk_length.unsqueeze(0)
    device = q.device
    B, S, H, T = prob.batch, prob.s_q, prob.h_q, prob.topk

    out = torch.zeros((B, S, H, prob.d_v), dtype=torch.float32, device=device)
    max_logits = torch.full((B, S, H), -math.inf, dtype=torch.float32, device=device)
    lse = torch.full((B, S, H), math.inf, dtype=torch.float32, device=device)
    sink = None if attn_sink is None else attn_sink.to(torch.float32)

    step = _rows_per_chunk(H, T, prob.d_qk, chunk_budget_bytes)
    slots = torch.arange(T, device=device)
    with _ieee_fp32_matmul():
        _fill(q4, kv4, idx4, tlen, sink, prob, step, slots, out, max_logits, lse)

    if out_dtype is not None:
        out = out.to(out_dtype)
    if not prob.batched:
        return out[0], max_logits[0], lse[0]
    return out, max_logits, lse


def _fill(q4, kv4, idx4, tlen, sink, prob, step, slots, out, max_logits, lse):
    B, S, H = prob.batch, prob.s_q, prob.h_q
    for b in range(B):
        kv_b = kv4[b, :, 0, :]  # [s_kv, d_qk]
        for s0 in range(0, S, step):
            s1 = min(S, s0 + step)
            idx = idx4[b, s0:s1, 0, :].to(torch.int64)  # [c, T]
            valid = (idx >= 0) & (idx < prob.s_kv)
            if tlen is not None:
                valid &= slots[None, :] < tlen[b, s0:s1, None].to(torch.int64)
            if prob.s_kv == 0 or not bool(valid.any()):
                continue  # every row of the chunk keeps out 0, lse +inf, max_logits -inf
            kvg = kv_b[torch.where(valid, idx, 0)].to(torch.float32)  # [c, T, d_qk]
            qc = q4[b, s0:s1].to(torch.float32)  # [c, H, d_qk]
            scores = torch.einsum("chd,ctd->cht", qc, kvg) * prob.sm_scale
            scores = scores.masked_fill(~valid[:, None, :], -math.inf)
            row_max = scores.amax(dim=-1)  # [c, H], -inf for rows without a valid index
            row_lse = torch.logsumexp(scores, dim=-1)  # -inf for rows without a valid index
            has_any = valid.any(dim=-1)[:, None].expand(-1, H)  # [c, H]
            base = torch.where(has_any, row_lse, torch.zeros_like(row_lse))
            probs = torch.exp(scores - base[..., None])  # exp(-inf) = 0 for invalid entries
            o = torch.einsum("cht,ctd->chd", probs, kvg[..., :prob.d_v])
            if sink is not None:
                # e^lse / (e^lse + e^sink) = sigmoid(lse - sink): 1 for sink = -inf, 0 for sink = +inf
                factor = torch.sigmoid(row_lse - sink[None, :])
                o = o * torch.where(has_any, factor, torch.zeros_like(factor))[..., None]
            out[b, s0:s1] = o
            max_logits[b, s0:s1] = row_max
            lse[b, s0:s1] = torch.where(has_any, row_lse, torch.full_like(row_lse, math.inf))
