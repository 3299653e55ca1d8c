"""Sparse MLA forward (DeepSeek-V3.2 prefill) as a plain Triton kernel with FlashMLA's semantics.

Public entry points:

* :func:`sparse_mla_fwd` -- validate, then launch :func:`_sparse_mla_fwd_kernel` on CUDA tensors.
* :func:`validate_sparse_mla_inputs` -- every input rule, device-agnostic (runs on CPU tensors).
* :class:`SparseMLAConfig` / :func:`default_config` -- the launch configuration (heads per program,
  keys per step, warps, pipeline stages), selectable per call so a benchmark can tune honestly.
* :func:`kernel_source` -- the ``ASTSource`` + options the JIT would compile for a given call,
  built by Triton's own binder, so a CPU-only machine can compile the exact specialization.

Semantics (FlashMLA ``flash_mla_sparse_fwd``): ``P = q . k * sm_scale`` over the gathered rows of
``kv``; ``max_logits = max P``; ``lse = logsumexp P`` in natural-log units; ``out = softmax(P) @ V``
with V the first ``d_v`` (= 512) columns of each kv row. An index < 0 or >= s_kv is skipped. A row
without any valid index gives ``out = 0``, ``lse = +inf``, ``max_logits = -inf``.
"""
from __future__ import annotations

import contextlib
import functools
import math
import warnings
import numbers
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Optional, Union

import torch
import triton
import triton.language as tl

__all__ = [
    "KERNELS",
    "SparseMLAConfig",
    "SparseMLAProblem",
    "default_config",
    "kernel_source",
    "sparse_mla_fwd",
    "tle_hooks",
    "tle_hooks_available",
    "tle_hooks_enabled",
    "validate_sparse_mla_inputs",
    "ws_unsupported_reason",
]

D_V = 512  # V is the latent part of each kv row: FlashMLA supports exactly this
SUPPORTED_D_QK = (512, 576)
SUPPORTED_DTYPES = (torch.bfloat16, torch.float16)
HEAD_MULTIPLE = 16

_LOG2E = tl.constexpr(1.4426950408889634)  # log2(e): scores are kept in base 2 inside the loop
_LN2 = tl.constexpr(0.6931471805599453)  # ln(2): back to natural units for lse / max_logits


# --------------------------------------------------------------------------------------------------
# Kernel
# --------------------------------------------------------------------------------------------------
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


_sparse_mla_fwd_kernel = triton.jit(_sparse_mla_fwd_kernel_fn, do_not_specialize=_DO_NOT_SPECIALIZE)


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SparseMLAProblem:
    """Sizes of a validated call. ``batch`` is 1 and ``batched`` False for rank-3 inputs."""

    batched: bool
    batch: int
    s_q: int
    h_q: int
    s_kv: int
    h_kv: int
    d_qk: int
    d_v: int
    topk: int
    sm_scale: float

    @property
    def flops(self) -> int:
        """FlashMLA's count: 2 * s_q * h_q * topk * (d_qk + d_v) per batch element."""
        return 2 * self.batch * self.s_q * self.h_q * self.topk * (self.d_qk + self.d_v)


def _check_tensor(name: str, t: Any) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")


def _check_last_dim_contiguous(name: str, t: torch.Tensor) -> None:
    if t.dim() > 0 and t.shape[-1] > 1 and t.stride(-1) != 1:
        raise ValueError(f"{name} must be contiguous in its last dimension (stride(-1) == 1), "
                         f"got strides {tuple(t.stride())}")


def validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None,
                               *, allowed_dtypes=SUPPORTED_DTYPES) -> SparseMLAProblem:
    """Check every input rule of :func:`sparse_mla_fwd` without touching the device.

    Raises TypeError for a wrong Python type or dtype and ValueError for a wrong rank, shape,
    layout, device mix or value. ``allowed_dtypes`` lets the fp32 reference reuse the same rules.
    Returns the problem sizes.
    """
    _check_tensor("q", q)
    _check_tensor("kv", kv)
    _check_tensor("indices", indices)

    # dtypes
    if q.dtype not in allowed_dtypes:
        names = ", ".join(str(d).replace("torch.", "") for d in allowed_dtypes)
        raise TypeError(f"q must have dtype in ({names}), got {str(q.dtype).replace('torch.', '')}")
    if kv.dtype != q.dtype:
        raise TypeError(f"kv must have the same dtype as q ({q.dtype}), got {kv.dtype}")
    if indices.dtype != torch.int32:
        raise TypeError(f"indices must have dtype int32, got {indices.dtype}")

    # ranks
    if q.dim() not in (3, 4):
        raise ValueError(f"q must be [s_q, h_q, d_qk] or batched [batch, s_q, h_q, d_qk]; got rank {q.dim()} "
                         f"(shape {tuple(q.shape)})")
    batched = q.dim() == 4
    layout = "batched [batch, " if batched else "["
    if kv.dim() != q.dim():
        raise ValueError(f"kv must have rank {q.dim()} like q ({layout}s_kv, h_kv, d_qk]), got rank {kv.dim()} "
                         f"(shape {tuple(kv.shape)})")
    if indices.dim() != q.dim():
        raise ValueError(f"indices must have rank {q.dim()} like q ({layout}s_q, h_kv, topk]), got rank "
                         f"{indices.dim()} (shape {tuple(indices.shape)})")

    # shapes
    s_q, h_q, d_qk = q.shape[-3:]
    s_kv, h_kv, d_kv = kv.shape[-3:]
    batch = q.shape[0] if batched else 1
    if batched:
        if kv.shape[0] != batch:
            raise ValueError(f"kv batch size {kv.shape[0]} does not match q batch size {batch}")
        if indices.shape[0] != batch:
            raise ValueError(f"indices batch size {indices.shape[0]} does not match q batch size {batch}")
    if d_kv != d_qk:
        raise ValueError(f"kv last dimension ({d_kv}) must equal q's d_qk ({d_qk})")
    if d_qk not in SUPPORTED_D_QK:
        raise ValueError(f"d_qk must be 512 or 576 (512 latent + 64 RoPE), got {d_qk}")
    if h_kv != 1:
        raise ValueError(f"h_kv must be 1 (one latent kv row per token, shared by all heads), got {h_kv}")
    if indices.shape[-3] != s_q:
        raise ValueError(f"indices s_q dimension ({indices.shape[-3]}) must equal q's s_q ({s_q})")
    if indices.shape[-2] != h_kv:
        raise ValueError(f"indices h_kv dimension ({indices.shape[-2]}) must equal kv's h_kv ({h_kv})")
    if h_q < HEAD_MULTIPLE or h_q % HEAD_MULTIPLE != 0:
        raise ValueError(f"h_q must be a positive multiple of {HEAD_MULTIPLE}, got {h_q}")
    topk = indices.shape[-1]
    if topk < 1:
        raise ValueError(f"topk (indices last dimension) must be >= 1, got {topk}")

    # d_v, sm_scale
    if not isinstance(d_v, numbers.Integral) or isinstance(d_v, bool):
        raise TypeError(f"d_v must be an int, got {type(d_v).__name__}")
    if d_v > d_qk:
        raise ValueError(f"d_v ({d_v}) must be <= d_qk ({d_qk})")
    if d_v != D_V:
        raise ValueError(f"d_v must be {D_V} (V is the first {D_V} columns of each kv row), got {d_v}")
    if isinstance(sm_scale, torch.Tensor):
        if sm_scale.numel() != 1:
            raise TypeError(f"sm_scale must be a Python float (or a one-element tensor), got a tensor of shape "
                            f"{tuple(sm_scale.shape)}")
        sm_scale = sm_scale.item()
    if not isinstance(sm_scale, numbers.Real) or isinstance(sm_scale, bool):
        raise TypeError(f"sm_scale must be a real number, got {type(sm_scale).__name__}")
    sm_scale = float(sm_scale)
    if not math.isfinite(sm_scale):
        raise ValueError(f"sm_scale must be finite, got {sm_scale}")

    # layout
    _check_last_dim_contiguous("q", q)
    _check_last_dim_contiguous("kv", kv)
    _check_last_dim_contiguous("indices", indices)

    # optional inputs
    if attn_sink is not None:
        _check_tensor("attn_sink", attn_sink)
        if attn_sink.dtype != torch.float32:
            raise TypeError(f"attn_sink must have dtype float32, got {attn_sink.dtype}")
        if tuple(attn_sink.shape) != (h_q,):
            raise ValueError(f"attn_sink must have shape [h_q] = ({h_q},), got {tuple(attn_sink.shape)}")
    if topk_length is not None:
        _check_tensor("topk_length", topk_length)
        if topk_length.dtype != torch.int32:
            raise TypeError(f"topk_length must have dtype int32, got {topk_length.dtype}")
        want = (batch, s_q) if batched else (s_q,)
        if tuple(topk_length.shape) != want:
            what = "[batch, s_q]" if batched else "[s_q]"
            raise ValueError(f"topk_length must have shape {what} = {want}, got {tuple(topk_length.shape)}")

    # devices
    device = q.device
    for name, t in (("kv", kv), ("indices", indices), ("attn_sink", attn_sink), ("topk_length", topk_length)):
        if t is not None and t.device != device:
            raise ValueError(f"{name} is on {t.device} but q is on {device}: all inputs must be on one device")

    return SparseMLAProblem(batched, int(batch), int(s_q), int(h_q), int(s_kv), int(h_kv), int(d_qk), int(d_v),
                            int(topk), sm_scale)


# --------------------------------------------------------------------------------------------------
# TLE hooks (``import tle`` installs them, enabled; guarded so this module also works without them)
# --------------------------------------------------------------------------------------------------
def _tle_package():
    try:
        import tle
    except ImportError:  # pragma: no cover - this module lives inside tle
        return None
    return tle


def tle_hooks_available() -> bool:
    """True when the ``tle`` package exposes ``enable()``, ``disable()`` and ``is_enabled()``."""
    t = _tle_package()
    return t is not None and all(callable(getattr(t, n, None)) for n in ("enable", "disable", "is_enabled"))


def tle_hooks_enabled() -> bool:
    """Whether TLE's compile hooks are on now (False when TLE offers no hooks)."""
    return tle_hooks_available() and bool(_tle_package().is_enabled())


@contextlib.contextmanager
def tle_hooks(enabled: bool):
    """Turn TLE's compile hooks on or off for the duration of the block, then restore the state.

    TLE keys Triton's caches by its state, so kernels compiled either way never mix. Asking for
    ``enabled=True`` raises RuntimeError when TLE has no hooks or cannot turn them on (for
    instance ``TLE_DISABLE=1``); ``enabled=False`` without hooks is a no-op.
    """
    enabled = bool(enabled)
    if not tle_hooks_available():
        if enabled:
            raise RuntimeError("TLE compile hooks are not available: the tle package has no "
                               "enable()/disable()/is_enabled()")
        yield
        return
    t = _tle_package()
    previous = bool(t.is_enabled())
    if enabled != previous:
        (t.enable if enabled else t.disable)()
    try:
        if enabled and not t.is_enabled():
            raise RuntimeError("tle.enable() did not turn TLE on (is TLE_DISABLE=1 set?)")
        yield
    finally:
        if bool(t.is_enabled()) != previous:
            (t.enable if previous else t.disable)()


# --------------------------------------------------------------------------------------------------
# Launch
# --------------------------------------------------------------------------------------------------
_INT32_MAX = 2**31 - 1


def _as_rank4(t: torch.Tensor, batched: bool) -> torch.Tensor:
    return t if batched else t.unsqueeze(0)


def _kernel_arguments(q4, kv4, idx4, sink, tlen, out4, ml3, lse3, prob: SparseMLAProblem,
                      cfg: SparseMLAConfig):
    """Keyword arguments of one launch (tensors may be on any device, including ``meta``)."""
    kv_span = (prob.s_kv - 1) * kv4.stride(1) + prob.d_qk if prob.s_kv > 0 else 0
    args = dict(
        q_ptr=q4, kv_ptr=kv4, idx_ptr=idx4, sink_ptr=sink, topk_len_ptr=tlen,
        out_ptr=out4, max_logits_ptr=ml3, lse_ptr=lse3,
        s_q=prob.s_q, h_q=prob.h_q, s_kv=prob.s_kv, topk=prob.topk,
        stride_qb=q4.stride(0), stride_qs=q4.stride(1), stride_qh=q4.stride(2),
        stride_kvb=kv4.stride(0), stride_kvs=kv4.stride(1),
        stride_ib=idx4.stride(0), stride_is=idx4.stride(1),
        stride_tlb=(tlen.stride(0) if tlen is not None and tlen.dim() == 2 else 0),
        stride_ob=out4.stride(0), stride_os=out4.stride(1), stride_oh=out4.stride(2),
        stride_lb=lse3.stride(0), stride_ls=lse3.stride(1),
        qk_scale_log2=prob.sm_scale * 1.4426950408889634,
        D_V=prob.d_v, D_ROPE=prob.d_qk - prob.d_v,
        BLOCK_H=cfg.block_h, BLOCK_K=cfg.block_k,
        EVEN_H=prob.h_q % cfg.block_h == 0,
        HAS_SINK=sink is not None, HAS_TOPK_LENGTH=tlen is not None,
        INDEX_64=kv_span > _INT32_MAX,
    )
    programs = prob.batch * prob.s_q * triton.cdiv(prob.h_q, cfg.block_h)
    if programs > _INT32_MAX:
        raise ValueError(f"batch * s_q * ceil(h_q / {cfg.block_h}) = {programs} programs exceeds the grid limit "
                         f"{_INT32_MAX}; split the call")
    return args, (programs,)


def _allocate_outputs(q4: torch.Tensor, prob: SparseMLAProblem):
    out4 = torch.empty((prob.batch, prob.s_q, prob.h_q, prob.d_v), dtype=q4.dtype, device=q4.device)
    ml3 = torch.empty((prob.batch, prob.s_q, prob.h_q), dtype=torch.float32, device=q4.device)
    lse3 = torch.empty((prob.batch, prob.s_q, prob.h_q), dtype=torch.float32, device=q4.device)
    return out4, ml3, lse3


def _small_contiguous(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    return None if t is None else t.contiguous()


def _resolve_config(config, h_q: int) -> SparseMLAConfig:
    return default_config(h_q) if config is None else SparseMLAConfig.parse(config)


KERNELS = ("tl", "ws")


def ws_unsupported_reason(prob: SparseMLAProblem, dtype, cfg: SparseMLAConfig, device=None) -> Optional[str]:
    """Why TLE's warp-specialized kernel cannot run this call (None when it can)."""
    if prob.d_v != D_V:
        return f"d_v = {prob.d_v} (needs 512)"
    if prob.h_q % 64:
        return f"h_q = {prob.h_q} is not a multiple of 64"
    if dtype not in SUPPORTED_DTYPES:
        return f"dtype {dtype}"
    if (cfg.block_h, cfg.block_k) != (64, 64):
        return f"config {cfg} (needs 64 heads x 64 rows per block)"
    if device is not None and getattr(device, "type", None) == "cuda":
        major, minor = _device_facts(device)[0]
        if (major, minor) != (9, 0):
            return f"sm_{major}{minor} (the kernel uses Hopper WGMMA and setmaxnreg)"
    return None


def _resolve_kernel(kernel: Optional[str], tle_on: bool, prob, dtype, cfg, device=None) -> str:
    """``None``: TLE's warp-specialized kernel when TLE compiles the call and supports it, else the
    plain ``@triton.jit`` kernel. An explicit ``"ws"`` that cannot run raises ValueError."""
    if kernel not in (None,) + KERNELS:
        raise ValueError(f"kernel must be None, 'tl' or 'ws', got {kernel!r}")
    reason = ws_unsupported_reason(prob, dtype, cfg, device)
    if kernel == "ws" and reason:
        raise ValueError(f"the warp-specialized kernel does not support this call: {reason}")
    if kernel is None:
        return "ws" if tle_on and reason is None else "tl"
    return kernel


@functools.lru_cache(maxsize=None)
def _device_facts_by_index(index: int):
    props = torch.cuda.get_device_properties(index)
    return (props.major, props.minor), props.multi_processor_count


def _device_index(device) -> int:
    device = torch.device(device)
    return device.index if device.index is not None else torch.cuda.current_device()


def _device_facts(device):
    """((major, minor), SM count) of a CUDA device, queried once per device."""
    return _device_facts_by_index(_device_index(device))


def _ws_grid(tiles_grid, device):
    """The warp-specialized kernel is persistent: one CTA per SM (its ~218 KB of shared memory
    allow one), each walking tiles i, i + grid, ...; the next tile's Q and first KV blocks then
    load while the current tile's epilogue runs."""
    return (min(tiles_grid[0], _device_facts(torch.device(device))[1]),)


_WS_READY: set = set()  # specializations of the ws kernel compiled in this process
_WS_FAILED: dict = {}  # specialization -> why it could not be compiled


def _ws_specialization(args, device) -> tuple:
    return (_device_index(device), args["q_ptr"].dtype, args["D_ROPE"], args["HAS_SINK"], args["HAS_TOPK_LENGTH"],
            args["INDEX_64"], tle_hooks_enabled())


def _ws_compiles(args, grid, device, explicit: bool) -> bool:
    """Compile (without launching) the ws kernel for this call's specialization, once per process.

    The kernel depends on Triton's Gluon API, which is experimental: if it cannot be compiled,
    TLE warns once (TLEWarning, with the reason) and the call runs the plain kernel; with
    ``TLE_STRICT=1`` or an explicit ``kernel="ws"`` the error is raised instead."""
    key = _ws_specialization(args, device)
    if key in _WS_READY:
        return True
    cause, first_failure = None, key not in _WS_FAILED
    if first_failure:
        try:
            _ws_kernel().warmup(**args, num_tiles=grid[0], grid=_ws_grid(grid, device), num_warps=4)
            _WS_READY.add(key)
            return True
        except Exception as e:  # noqa: BLE001 - any compile failure falls back (or raises below)
            lines = str(e).strip().splitlines()
            _WS_FAILED[key] = f"{type(e).__name__}: {lines[-1] if lines else ''}"
            cause = e
    message = f"TLE's warp-specialized sparse MLA kernel failed to compile ({_WS_FAILED[key]})"
    if explicit or _strict():
        raise RuntimeError(message) from cause
    if first_failure:
        from ..hook import TLEWarning

        warnings.warn(f"{message}; running the plain kernel instead (TLE_STRICT=1 raises)", TLEWarning,
                      stacklevel=3)
    return False


def _strict() -> bool:
    from .. import config

    return bool(config.current().strict)


def _ws_kernel():
    from .sparse_mla_ws import sparse_mla_ws_kernel

    return sparse_mla_ws_kernel


def sparse_mla_fwd(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *,
                   config=None, backend: Optional[str] = None, kernel: Optional[str] = None):
    """Sparse MLA forward with FlashMLA's semantics; returns ``(out, max_logits, lse)``.

    Unbatched: q [s_q, h_q, d_qk], kv [s_kv, 1, d_qk], indices [s_q, 1, topk] (int32), optional
    topk_length [s_q] (int32) -> out [s_q, h_q, d_v] (q's dtype), max_logits / lse [s_q, h_q] fp32.
    Batched (rank 4): a leading batch dimension on q, kv, indices, topk_length and all outputs;
    the indices of batch element b address rows of kv[b]. attn_sink is [h_q] fp32 in both forms.

    ``lse`` is the natural-log logsumexp of ``P = q . k * sm_scale`` over the valid indices;
    ``max_logits`` is max P. Rows without a valid index: out 0, lse +inf, max_logits -inf.

    config: :class:`SparseMLAConfig` (or its dict / ``"BH,BK,WARPS,STAGES"``); default
        :func:`default_config`.
    backend: ``"triton"`` compiles and runs the kernel with TLE's hooks off, ``"tle"`` with them
        on (the state is switched for the call and restored); ``None`` uses the current state
        (``import tle`` enables TLE; see :func:`tle_hooks`).
    kernel: ``"ws"`` TLE's warp-specialized Gluon kernel (:mod:`tle.ops.sparse_mla_ws`: Hopper,
        h_q a multiple of 64, 64x64 blocks), ``"tl"`` the plain ``@triton.jit`` kernel; ``None``
        picks ``"ws"`` when TLE compiles the call and the kernel supports it, else ``"tl"``.
    """
    prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    if q.device.type != "cuda":
        raise ValueError(f"sparse_mla_fwd runs a CUDA kernel but the inputs are on {q.device}; "
                         "use tle.ops.reference.sparse_mla_fwd_reference on CPU")
    if backend not in (None, "triton", "tle"):
        raise ValueError(f"backend must be None, 'triton' or 'tle', got {backend!r}")
    cfg = _resolve_config(config, prob.h_q)
    tle_on = tle_hooks_enabled() if backend is None else backend == "tle"
    which = _resolve_kernel(kernel, tle_on, prob, q.dtype, cfg, q.device)

    q4, kv4, idx4 = (_as_rank4(t, prob.batched) for t in (q, kv, indices))
    out4, ml3, lse3 = _allocate_outputs(q4, prob)
    if out4.numel() > 0:
        args, grid = _kernel_arguments(q4, kv4, idx4, _small_contiguous(attn_sink), _small_contiguous(topk_length),
                                       out4, ml3, lse3, prob, cfg)
        hooks = contextlib.nullcontext() if backend is None else tle_hooks(backend == "tle")
        with hooks, torch.cuda.device(q.device):
            if which == "ws" and not _ws_compiles(args, grid, q.device, explicit=kernel == "ws"):
                which = "tl"
            if which == "ws":
                _ws_kernel()[_ws_grid(grid, q.device)](**args, num_tiles=grid[0], num_warps=4)
            else:
                _sparse_mla_fwd_kernel[grid](**args, num_warps=cfg.num_warps, num_stages=cfg.num_stages)

    if prob.batched:
        return out4, ml3, lse3
    return out4[0], ml3[0], lse3[0]


# --------------------------------------------------------------------------------------------------
# Ahead-of-time source (CPU-only compile checks, IR capture)
# --------------------------------------------------------------------------------------------------
def kernel_source(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *, config=None,
                  target=None, kernel: str = "tl"):
    """The ``(ASTSource, options)`` the JIT would compile for this call, without a GPU.

    Tensors may live on any device; ``device="meta"`` tensors describe large problems for free
    (their data pointer 0 counts as 16-byte aligned, like a CUDA allocation). The specialization
    (constexprs, ``tt.divisibility = 16`` on 16-divisible strides and aligned pointers) is produced
    by Triton's own argument binder, so it matches a real launch exactly.
    Compile with ``triton.compile(src, target=GPUTarget("cuda", 90, 32), options=options)``;
    wrap that in ``tle_hooks(False)`` for the plain-Triton binary (``import tle`` enables TLE).
    ``kernel``: ``"tl"`` (the plain kernel) or ``"ws"`` (TLE's warp-specialized Gluon kernel).
    """
    from triton.backends.compiler import GPUTarget
    from triton.compiler.compiler import ASTSource, make_backend
    from triton.runtime.jit import create_function_from_signature

    prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    cfg = _resolve_config(config, prob.h_q)
    q4, kv4, idx4 = (_as_rank4(t, prob.batched) for t in (q, kv, indices))
    out4 = torch.empty((prob.batch, prob.s_q, prob.h_q, prob.d_v), dtype=q.dtype, device="meta")
    ml3 = torch.empty((prob.batch, prob.s_q, prob.h_q), dtype=torch.float32, device="meta")
    lse3 = torch.empty_like(ml3)
    args, grid = _kernel_arguments(q4, kv4, idx4, _small_contiguous(attn_sink), _small_contiguous(topk_length),
                                   out4, ml3, lse3, prob, cfg)

    which = _resolve_kernel(kernel, True, prob, q.dtype, cfg)
    if which == "ws":
        from triton.experimental.gluon._runtime import GluonASTSource

        fn, source_cls, launch_opts = _ws_kernel(), GluonASTSource, dict(num_warps=4)
        args["num_tiles"] = grid[0]
    else:
        fn, source_cls = _sparse_mla_fwd_kernel, ASTSource
        launch_opts = dict(num_warps=cfg.num_warps, num_stages=cfg.num_stages)
    backend = make_backend(target or GPUTarget("cuda", 90, 32))
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    bound_args, specialization, options = binder(**args, **launch_opts)
    options, signature, constexprs, attrs = fn._pack_args(backend, launch_opts, bound_args, specialization, options)
    return source_cls(fn, signature, constexprs, attrs), options.__dict__
