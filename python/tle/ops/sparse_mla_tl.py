"""The plain ``@triton.jit`` sparse MLA forward kernel (``kernel="tl"``) and its launch configuration.

This is the kernel TLE's compiler passes are measured on (the ``triton`` / ``tle_tl`` benchmark
providers compile it without and with TLE) and the one the op runs where the warp-specialized
kernel does not apply. Launching it: :mod:`tle.ops.sparse_mla_launch`.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Union

import triton
import triton.language as tl

__all__ = ["SparseMLAConfig", "default_config", "sparse_mla_tl_kernel"]

_LOG2E = tl.constexpr(1.4426950408889634)  # log2(e): scores are kept in base 2 inside the loop
_LN2 = tl.constexpr(0.6931471805599453)  # ln(2): back to natural units for lse / max_logits


def _sparse_mla_fwd_kernel_fn(
    q_ptr, kv_ptr, idx_ptr, sink_ptr, topk_len_ptr,
    out_ptr, max_logits_ptr, lse_ptr,
    s_q, h_q, s_kv, topk,
    stride_qb, stride_qs, stride_qh,
    stride_kvb, stride_kvs,
    stride_ib, stride_is,
    stride_tlb,
    stride_ob, stride_os, stride_oh,
    stride_lb, stride_ls,
    qk_scale_log2,
    D_V: tl.constexpr, D_ROPE: tl.constexpr,
    BLOCK_H: tl.constexpr, BLOCK_K: tl.constexpr,
    EVEN_H: tl.constexpr, HAS_SINK: tl.constexpr, HAS_TOPK_LENGTH: tl.constexpr,
    INDEX_64: tl.constexpr,
):
    """One program = one (batch, query token, BLOCK_H-head block).

    The query block [BLOCK_H, D_V (+ D_ROPE)] stays resident; the loop walks the token's index list
    BLOCK_K entries at a time, gathers those kv rows, and runs an online softmax in base 2.
    Invalid entries (index out of [0, s_kv), or past topk_length) are loaded as zeros and get a
    score of -inf, so they add exactly nothing. Scores are kept relative to a finite base
    (0 while nothing valid has been seen) so a fully masked block never computes -inf - -inf.
    """
    pid = tl.program_id(0)
    n_hblocks = tl.cdiv(h_q, BLOCK_H)
    hblock = pid % n_hblocks
    row = pid // n_hblocks  # = b * s_q + token
    tok = (row % s_q).to(tl.int64)
    b = (row // s_q).to(tl.int64)

    offs_h = hblock * BLOCK_H + tl.arange(0, BLOCK_H)
    mask_h = offs_h < h_q
    offs_v = tl.arange(0, D_V)

    # ---- query block: latent part [BLOCK_H, D_V] and RoPE part [BLOCK_H, D_ROPE] ----------------
    q_rows = q_ptr + b * stride_qb + tok * stride_qs + offs_h[:, None] * stride_qh
    if EVEN_H:
        q_nope = tl.load(q_rows + offs_v[None, :])
    else:
        q_nope = tl.load(q_rows + offs_v[None, :], mask=mask_h[:, None], other=0.0)
    if D_ROPE > 0:
        offs_r = tl.arange(0, D_ROPE)
        if EVEN_H:
            q_rope = tl.load(q_rows + D_V + offs_r[None, :])
        else:
            q_rope = tl.load(q_rows + D_V + offs_r[None, :], mask=mask_h[:, None], other=0.0)

    # ---- how many index entries of this token count ---------------------------------------------
    n_idx = topk
    if HAS_TOPK_LENGTH:
        n_idx = tl.load(topk_len_ptr + b * stride_tlb + tok)
        n_idx = tl.minimum(tl.maximum(n_idx, 0), topk)

    idx_row = idx_ptr + b * stride_ib + tok * stride_is
    kv_batch = kv_ptr + b * stride_kvb
    offs_bk = tl.arange(0, BLOCK_K)

    m_i = tl.full([BLOCK_H], float("-inf"), dtype=tl.float32)  # running max, base-2 scaled units
    l_i = tl.zeros([BLOCK_H], dtype=tl.float32)  # running sum of 2^(s - m_i)
    acc = tl.zeros([BLOCK_H, D_V], dtype=tl.float32)

    for start in range(0, n_idx, BLOCK_K):
        offs_k = start + offs_bk
        idx = tl.load(idx_row + offs_k, mask=offs_k < n_idx, other=-1)
        valid = (idx >= 0) & (idx < s_kv)
        if INDEX_64:
            row_off = idx.to(tl.int64) * stride_kvs
        else:
            row_off = idx * stride_kvs
        kv_rows = kv_batch + row_off[:, None]
        k_nope = tl.load(kv_rows + offs_v[None, :], mask=valid[:, None], other=0.0)  # [BLOCK_K, D_V]

        s = tl.dot(q_nope, tl.trans(k_nope))
        if D_ROPE > 0:
            k_rope = tl.load(kv_rows + D_V + offs_r[None, :], mask=valid[:, None], other=0.0)
            s = tl.dot(q_rope, tl.trans(k_rope), s)
        s = tl.where(valid[None, :], s * qk_scale_log2, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, 1))
        # Nothing valid seen yet -> m_new = -inf: subtract 0 instead so that alpha = 2^-inf = 0 and
        # p = 2^-inf = 0 (never -inf - -inf = NaN).
        m_base = tl.where(m_new == float("-inf"), 0.0, m_new)
        alpha = tl.exp2(m_i - m_base)
        p = tl.exp2(s - m_base[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None]
        acc = tl.dot(p.to(k_nope.dtype), k_nope, acc)
        m_i = m_new

    # ---- epilogue -------------------------------------------------------------------------------
    has_any = m_i > float("-inf")
    l_safe = tl.where(has_any, l_i, 1.0)
    lse2 = tl.where(has_any, m_i + tl.log2(l_safe), float("inf"))  # base-2 lse
    scale = 1.0 / l_safe
    if HAS_SINK:
        # out *= e^lse / (e^lse + e^sink) = 1 / (1 + 2^(sink*log2e - lse2)); the where keeps a
        # fully masked row (lse2 = +inf, out = 0) away from inf - inf.
        if EVEN_H:
            sink = tl.load(sink_ptr + offs_h)
        else:
            sink = tl.load(sink_ptr + offs_h, mask=mask_h, other=float("-inf"))
        z = tl.where(has_any, sink * _LOG2E - lse2, 0.0)
        scale = scale / (1.0 + tl.exp2(z))
    out = acc * scale[:, None]

    out_ptrs = (out_ptr + b * stride_ob + tok * stride_os
                + offs_h[:, None] * stride_oh + offs_v[None, :])
    stat_off = b * stride_lb + tok * stride_ls + offs_h
    lse = lse2 * _LN2
    max_logits = m_i * _LN2
    if EVEN_H:
        tl.store(out_ptrs, out.to(out_ptr.dtype.element_ty))
        tl.store(lse_ptr + stat_off, lse)
        tl.store(max_logits_ptr + stat_off, max_logits)
    else:
        tl.store(out_ptrs, out.to(out_ptr.dtype.element_ty), mask=mask_h[:, None])
        tl.store(lse_ptr + stat_off, lse, mask=mask_h)
        tl.store(max_logits_ptr + stat_off, max_logits, mask=mask_h)


# Sizes and the index count vary per call; specializing on their value (== 1) or divisibility would
# only multiply compilations. Strides stay specialized: their divisibility-by-16 hints matter a lot.
_DO_NOT_SPECIALIZE = ["s_q", "h_q", "s_kv", "topk"]


# The function keeps its name: it is the kernel's name in IR, in captured TTGIR and in pipeline
# hints (``tle.pipeline.materialize("_sparse_mla_fwd_kernel_fn", ...)``).
sparse_mla_tl_kernel = triton.jit(_sparse_mla_fwd_kernel_fn, do_not_specialize=_DO_NOT_SPECIALIZE)


def _is_pow2(x: int) -> bool:
    return x > 0 and (x & (x - 1)) == 0


@dataclass(frozen=True)
class SparseMLAConfig:
    """Launch configuration: ``block_h`` heads and ``block_k`` index entries per step."""

    block_h: int = 64
    block_k: int = 64
    num_warps: int = 8
    num_stages: int = 2

    def __post_init__(self):
        for name in ("block_h", "block_k", "num_warps", "num_stages"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(f"SparseMLAConfig.{name} must be an int, got {type(v).__name__}")
        if not (_is_pow2(self.block_h) and 16 <= self.block_h <= 128):
            raise ValueError(f"SparseMLAConfig.block_h must be a power of 2 in [16, 128], got {self.block_h}")
        if not (_is_pow2(self.block_k) and 16 <= self.block_k <= 256):
            raise ValueError(f"SparseMLAConfig.block_k must be a power of 2 in [16, 256], got {self.block_k}")
        if self.num_warps not in (1, 2, 4, 8, 16):
            raise ValueError(f"SparseMLAConfig.num_warps must be one of 1, 2, 4, 8, 16, got {self.num_warps}")
        if self.num_stages < 1:
            raise ValueError(f"SparseMLAConfig.num_stages must be >= 1, got {self.num_stages}")

    @classmethod
    def parse(cls, spec: Union["SparseMLAConfig", Mapping[str, Any], str, tuple, list]) -> "SparseMLAConfig":
        """Accept a config, a mapping of its fields, or ``"BH,BK,WARPS,STAGES"`` / a 4-sequence."""
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"block_h", "block_k", "num_warps", "num_stages"}
            if unknown:
                raise ValueError(f"unknown SparseMLAConfig field(s): {sorted(unknown)}")
            return cls(**spec)
        if isinstance(spec, str):
            parts = [p for p in spec.replace(" ", "").split(",") if p]
            if len(parts) != 4 or not all(p.isdigit() for p in parts):
                raise ValueError(f"config string must be 'BH,BK,WARPS,STAGES' (4 integers), got {spec!r}")
            return cls(*map(int, parts))
        if isinstance(spec, (tuple, list)) and len(spec) == 4:
            return cls(*spec)
        raise TypeError(f"cannot make a SparseMLAConfig from {spec!r}")

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"BH={self.block_h},BK={self.block_k},warps={self.num_warps},stages={self.num_stages}"


def default_config(h_q: int) -> SparseMLAConfig:
    """The default launch configuration for ``h_q`` heads.

    64-head blocks, 64-entry steps, 8 warps, 2 stages: the layout that works well on H200 (WGMMA,
    no register spills at d_qk = 576). h_q = 16 and h_q = 32 use a block of exactly that many
    heads (Triton then uses mma.sync; 4 and 8 warps compile without spills); every other head
    count that is not a multiple of 64 uses 64-head blocks with the tail heads masked.
    """
    if h_q <= 16:
        return SparseMLAConfig(16, 64, 4, 2)
    if h_q == 32:
        return SparseMLAConfig(32, 64, 8, 2)
    return SparseMLAConfig(64, 64, 8, 2)

