"""FlashMLA as a benchmark provider: loading its builds, and the padding a FlashMLA user pays.

Two builds are known:

* the source build ``flash_mla_sm90_src.so`` (FlashMLA's SM90 sparse prefill from upstream sources
  with upstream's flags, --use_fast_math included: the strongest anchor), a CPython extension
  module exposing ``sparse_prefill_fwd(q, kv, indices, sm_scale, d_v, attn_sink, topk_length) ->
  (out, max_logits, lse)``, loaded by file path;
* the op library inside the vllm 0.24.0 wheel (``_flashmla_C.abi3.so``), which registers
  ``torch.ops._flashmla_C.sparse_prefill_fwd`` (weaker: built without --use_fast_math).

FlashMLA's sparse prefill takes h_q in {64, 128}, topk a multiple of 128, h_kv = 1 and no batch
dimension. :func:`padded_call` pads q's heads with zeros (attn_sink with -inf: no sink) and the
index lists with -1 (an invalid index contributes nothing) and returns views of the real heads:
these copies run inside the timed call, because a caller with 16 or 32 heads per GPU makes them.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Callable, Optional

FLASHMLA_HEADS = (64, 128)
FLASHMLA_TOPK_MULTIPLE = 128
SOURCE_MODULE = "flash_mla_sm90_src"  # the extension's PyInit_ name: it must be loaded under it


def padded_shape(h_q: int, topk: int) -> tuple:
    """(heads, topk) FlashMLA is called with for a problem of h_q heads and topk indices."""
    if h_q < 1 or topk < 1:
        raise ValueError(f"h_q and topk must be positive, got {h_q}, {topk}")
    heads = next((h for h in FLASHMLA_HEADS if h >= h_q), None)
    if heads is None:
        raise ValueError(f"FlashMLA takes at most {FLASHMLA_HEADS[-1]} heads per call, got h_q={h_q}")
    return heads, -(-topk // FLASHMLA_TOPK_MULTIPLE) * FLASHMLA_TOPK_MULTIPLE


def unsupported_reason(h_q: int, topk: int, d_qk: int, dtype_name: str, batched: bool = False) -> Optional[str]:
    """Why FlashMLA cannot run this problem even with padding (None: it can)."""
    if dtype_name not in ("bf16", "bfloat16"):
        return "FlashMLA's sparse prefill is bf16 only"
    if batched:
        return "FlashMLA's sparse prefill has no batch dimension"
    if d_qk not in (512, 576):
        return f"d_qk = {d_qk} (FlashMLA takes 512 or 576)"
    if h_q > FLASHMLA_HEADS[-1]:
        return f"h_q = {h_q} > {FLASHMLA_HEADS[-1]}"
    return None


def padded_call(fn: Callable, q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
    """``fn`` (FlashMLA's argument order, (out, max_logits, lse) back) on inputs padded to its
    limits; returns the results of the real heads (views: no copy back)."""
    import torch.nn.functional as F

    h_q, topk = q.shape[1], indices.shape[-1]
    heads, topk_p = padded_shape(h_q, topk)
    if heads != h_q:
        q = F.pad(q, (0, 0, 0, heads - h_q))
        if attn_sink is not None:
            attn_sink = F.pad(attn_sink, (0, heads - h_q), value=-math.inf)  # -inf: no sink
    if topk_p != topk:
        indices = F.pad(indices, (0, topk_p - topk), value=-1)
    out, max_logits, lse = fn(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)[:3]
    if heads != h_q:
        out, max_logits, lse = out[:, :h_q], max_logits[:, :h_q], lse[:, :h_q]
    return out, max_logits, lse


def load_source_build(path: str) -> Callable:
    """``sparse_prefill_fwd`` of the source-built extension at ``path`` (needs the Python and torch
    it was built against: on the H200 machine, Python 3.12 / torch 2.11)."""
    importlib.import_module("torch")  # the extension links against torch's libraries: load them first

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--flashmla-src {path}: no such file")
    spec = importlib.util.spec_from_file_location(SOURCE_MODULE, str(p))
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not loadable as a Python extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, "sparse_prefill_fwd", None)
    if fn is None:
        raise AttributeError(f"{path} has no sparse_prefill_fwd")
    return fn


def load_op_library(path: str):
    """The ``torch.ops._flashmla_C.sparse_prefill_fwd`` overload registered by a FlashMLA op
    library (the vllm wheel's ``_flashmla_C.abi3.so``)."""
    import torch

    if not Path(path).is_file():
        raise FileNotFoundError(f"--flashmla-lib {path}: no such file")
    torch.ops.load_library(path)
    try:
        return torch.ops._flashmla_C.sparse_prefill_fwd.default
    except (AttributeError, RuntimeError) as e:
        raise RuntimeError(f"{path} does not register torch.ops._flashmla_C.sparse_prefill_fwd ({e})")
