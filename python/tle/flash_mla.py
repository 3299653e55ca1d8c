"""FlashMLA's sparse prefill API on TLE's op: the whole migration is the import.

.. code-block:: python

    # from flash_mla import flash_mla_sparse_fwd
    from tle.flash_mla import flash_mla_sparse_fwd

    out, max_logits, lse = flash_mla_sparse_fwd(q, kv, indices, sm_scale, d_v=512,
                                                attn_sink=None, topk_length=None)

Same names, argument order, defaults, semantics and returns as FlashMLA's
``flash_mla_sparse_fwd`` (the SM90 sparse prefill kernel): q ``[s_q, h_q, d_qk]``, kv
``[s_kv, h_kv=1, d_qk]``, indices ``[s_q, 1, topk]`` int32 (an index < 0 or >= s_kv is skipped),
``attn_sink`` ``[h_q]`` fp32 (``out *= exp(lse) / (exp(lse) + exp(attn_sink))``; +inf zeroes the
row), ``topk_length`` ``[s_q]`` int32 (only the first ``topk_length[i]`` indices of row i count);
returns ``out [s_q, h_q, d_v]`` (q's dtype), ``max_logits`` and ``lse`` ``[s_q, h_q]`` fp32 with a
natural-log lse; a row without a valid index gives out 0, lse +inf, max_logits -inf. It returns a
tuple (unpacks like FlashMLA's sequence of three tensors).

Where TLE accepts more than FlashMLA: any h_q that is a multiple of 16 (FlashMLA: 64 or 128,
callers pad), any ``topk >= 1`` (FlashMLA: a multiple of 128), fp16 as well as bf16, a leading
batch dimension on q / kv / indices / topk_length, any strides with a contiguous last
dimension, and ``sm_scale`` as a one-element CPU tensor. It is a registered torch op
(``torch.ops.tle.sparse_mla_fwd``): torch.compile (``fullgraph=True``) and CUDA graphs capture it.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from .ops.sparse_mla import sparse_mla_fwd as _sparse_mla_fwd

__all__ = ["flash_mla_sparse_fwd"]


def flash_mla_sparse_fwd(q: torch.Tensor, kv: torch.Tensor, indices: torch.Tensor, sm_scale: float, d_v: int = 512,
                         attn_sink: Optional[torch.Tensor] = None,
                         topk_length: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sparse attention prefill with FlashMLA's interface; see the module docstring."""
    return _sparse_mla_fwd(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
