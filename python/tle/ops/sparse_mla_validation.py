"""Input rules of sparse MLA forward, shared by the op, its fake (meta) implementation, the launcher
and the fp32 reference.

Everything here reads tensor *metadata* only (shapes, strides, dtypes, devices), never tensor
values, so it runs on CPU, meta and fake tensors alike and can never synchronize with a GPU. The
sizes in :class:`SparseMLAProblem` are taken from the tensors as they are: plain ints for real
tensors, symbolic sizes while torch.compile traces with dynamic shapes.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "D_V",
    "HEAD_MULTIPLE",
    "SUPPORTED_DTYPES",
    "SUPPORTED_D_QK",
    "SparseMLAProblem",
    "check_scale",
    "scale_value",
    "validate_sparse_mla_inputs",
]

D_V = 512  # V is the latent part of each kv row: FlashMLA supports exactly this
SUPPORTED_D_QK = (512, 576)
SUPPORTED_DTYPES = (torch.bfloat16, torch.float16)
HEAD_MULTIPLE = 16

LOG2E = 1.4426950408889634
_FP32_MAX = 3.4028234663852886e38
# The kernels take sm_scale * log2(e) as an fp32 argument (scores are kept in base 2); a scale
# whose product does not fit in fp32 would become inf there and turn every score into inf / NaN.
SCALE_LIMIT = _FP32_MAX / LOG2E


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


def check_scale(value: float) -> float:
    """``value`` if it is a usable scale (finite, and finite in fp32 once multiplied by log2 e)."""
    if -SCALE_LIMIT <= value <= SCALE_LIMIT:  # False for NaN too
        return value
    if not math.isfinite(value):
        raise ValueError(f"sm_scale must be finite, got {value}")
    raise ValueError(f"sm_scale = {value:g} overflows float32 in the kernels (they compute in float32 with "
                     f"sm_scale * log2(e)); |sm_scale| must be <= {SCALE_LIMIT:.4g}")


def scale_value(sm_scale: Any) -> float:
    """``sm_scale`` as a Python float: a real number, or a one-element CPU tensor.

    A tensor on any other device is refused rather than read: reading a CUDA tensor's value would
    synchronize the host with the GPU (and break CUDA-graph capture), and a meta / fake tensor has
    no value at all.
    """
    if type(sm_scale) is float:
        return check_scale(sm_scale)
    if isinstance(sm_scale, torch.Tensor):
        if sm_scale.numel() != 1:
            raise TypeError(f"sm_scale must be a Python float (or a one-element tensor), got a tensor of shape "
                            f"{tuple(sm_scale.shape)}")
        if sm_scale.device.type != "cpu":
            why = ("reading it would synchronize with the device" if sm_scale.device.type == "cuda"
                   else "it has no value to read")
            raise TypeError(f"sm_scale must be a Python float or a CPU tensor, got a tensor on {sm_scale.device} "
                            f"({why}); pass float(sm_scale) computed once outside the hot path")
        sm_scale = sm_scale.item()
    if not isinstance(sm_scale, numbers.Real) or isinstance(sm_scale, bool):
        raise TypeError(f"sm_scale must be a real number, got {type(sm_scale).__name__}")
    return check_scale(float(sm_scale))


def _check_tensor(name: str, t: Any) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")


def _check_last_dim_contiguous(name: str, t: torch.Tensor) -> None:
    if t.dim() > 0 and t.shape[-1] > 1 and t.stride(-1) != 1:
        raise ValueError(f"{name} must be contiguous in its last dimension (stride(-1) == 1), "
                         f"got strides {tuple(t.stride())}")


def validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None,
                               *, allowed_dtypes=SUPPORTED_DTYPES) -> SparseMLAProblem:
    """Check every input rule of :func:`tle.ops.sparse_mla_fwd` without touching the device.

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
    sm_scale = scale_value(sm_scale)

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

    return SparseMLAProblem(batched, batch, s_q, h_q, s_kv, h_kv, d_qk, d_v, topk, sm_scale)
