"""Arguments, grids and launches of the two sparse MLA kernels.

One description of a launch, :class:`SparseMLALaunch` (kernel function, every argument by name,
grid, launch options), built by :func:`make_launch`, serves every caller:

* the op (:mod:`tle.ops.sparse_mla`) compiles it once per call signature and replays it;
* :func:`launch_sparse_mla` runs one named kernel on exactly the given problem (no kernel choice,
  no padding, no fallback, no caching): the launcher benchmarks and tests use to time or check a
  kernel directly, e.g. the warp-specialized kernel persistent or one tile per CTA;
* :func:`tle.ops.kernel_source` turns it into the ``(ASTSource, options)`` the JIT would compile
  (:mod:`tle.ops.aot`), for CPU-only compile checks.

Tensors of an unbatched call are passed as they are (no rank-4 views); their batch stride is the
one ``unsqueeze(0)`` would give, so the kernels' specialization does not depend on the form.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from . import aot
from .sparse_mla_tl import SparseMLAConfig, default_config
from .sparse_mla_validation import D_V, LOG2E, SUPPORTED_DTYPES, SparseMLAProblem, validate_sparse_mla_inputs

__all__ = [
    "KERNELS",
    "SparseMLALaunch",
    "allocate_outputs",
    "device_facts",
    "launch_sparse_mla",
    "make_launch",
    "ws_shape_reason",
]

KERNELS = ("tl", "ws")
WS_BLOCK = 64  # the warp-specialized kernel's tile: 64 heads x 64 KV rows per block
WS_NUM_WARPS = 4  # warps of its default partition (warp_specialize adds the other two warpgroups)
_INT32_MAX = 2**31 - 1
# Both kernels' signatures start with these, in this order (the op's cached launches rely on it).
POINTER_ARGS = ("q_ptr", "kv_ptr", "idx_ptr", "sink_ptr", "topk_len_ptr", "out_ptr", "max_logits_ptr", "lse_ptr")


@functools.lru_cache(maxsize=None)
def _device_facts_by_index(index: int):
    props = torch.cuda.get_device_properties(index)
    return (props.major, props.minor), props.multi_processor_count


def device_facts(device) -> tuple:
    """``((major, minor), SM count)`` of a CUDA device (an index or a ``torch.device``), queried
    once per device."""
    if isinstance(device, int):
        return _device_facts_by_index(device)
    device = torch.device(device)
    return _device_facts_by_index(device.index if device.index is not None else torch.cuda.current_device())


def ws_shape_reason(prob: SparseMLAProblem, dtype, config: Optional[SparseMLAConfig] = None) -> Optional[str]:
    """Why the warp-specialized kernel cannot compute this problem as it is (None when it can).
    Only the problem's shape and dtype (and an explicit plain-kernel config) count here; the GPU
    and the Triton version are the op's business (:func:`tle.ops.select_kernel`)."""
    if prob.d_v != D_V:
        return f"d_v = {prob.d_v} (needs 512)"
    if dtype not in SUPPORTED_DTYPES:
        return f"dtype {dtype}"
    if config is not None and (config.block_h, config.block_k) != (WS_BLOCK, WS_BLOCK):
        return f"config {config} (needs 64 heads x 64 rows per block)"
    return None  # any h_q: a last block with fewer than 64 heads reads zero-filled Q rows


def allocate_outputs(prob: SparseMLAProblem, q: torch.Tensor):
    """``(out, max_logits, lse)`` for ``prob``, contiguous, on q's device (rank follows q)."""
    lead = tuple(q.shape[:-1])
    out = torch.empty((*lead, prob.d_v), dtype=q.dtype, device=q.device)
    max_logits = torch.empty(lead, dtype=torch.float32, device=q.device)
    lse = torch.empty(lead, dtype=torch.float32, device=q.device)
    return out, max_logits, lse


def _batch_stride(t: torch.Tensor, batched: bool) -> int:
    return t.stride(0) if batched else t.shape[0] * t.stride(0)


def kernel_arguments(prob: SparseMLAProblem, q, kv, indices, attn_sink, topk_length, out, max_logits, lse,
                     block_h: int, block_k: int) -> dict:
    """Every runtime argument and constexpr of both kernels, by name (tensors on any device).
    ``attn_sink`` / ``topk_length`` must be contiguous; ``max_logits`` and ``lse`` share a layout."""
    batched = prob.batched
    kv_span = (prob.s_kv - 1) * kv.stride(-3) + prob.d_qk if prob.s_kv > 0 else 0
    return dict(
        q_ptr=q, kv_ptr=kv, idx_ptr=indices, sink_ptr=attn_sink, topk_len_ptr=topk_length,
        out_ptr=out, max_logits_ptr=max_logits, lse_ptr=lse,
        s_q=prob.s_q, h_q=prob.h_q, s_kv=prob.s_kv, topk=prob.topk,
        stride_qb=_batch_stride(q, batched), stride_qs=q.stride(-3), stride_qh=q.stride(-2),
        stride_kvb=_batch_stride(kv, batched), stride_kvs=kv.stride(-3),
        stride_ib=_batch_stride(indices, batched), stride_is=indices.stride(-3),
        stride_tlb=topk_length.stride(0) if topk_length is not None and topk_length.dim() == 2 else 0,
        stride_ob=_batch_stride(out, batched), stride_os=out.stride(-3), stride_oh=out.stride(-2),
        stride_lb=_batch_stride(lse, batched), stride_ls=lse.stride(-2),
        qk_scale_log2=prob.sm_scale * LOG2E,
        D_V=prob.d_v, D_ROPE=prob.d_qk - prob.d_v,
        BLOCK_H=block_h, BLOCK_K=block_k,
        EVEN_H=prob.h_q % block_h == 0,
        HAS_SINK=attn_sink is not None, HAS_TOPK_LENGTH=topk_length is not None,
        INDEX_64=kv_span > _INT32_MAX,
    )


@dataclass
class SparseMLALaunch:
    """One launch of a sparse MLA kernel: ``fn[grid](**kwargs, **options)``."""

    kernel: str  # "tl" or "ws"
    fn: Any  # the JIT function (sparse_mla_tl_kernel / sparse_mla_ws_kernel)
    kwargs: dict  # every argument by name
    grid: tuple
    options: dict = field(default_factory=dict)  # num_warps, num_stages

    def run(self):
        """Launch through Triton's JIT on the current device and stream."""
        return self.fn[self.grid](**self.kwargs, **self.options)

    def compile(self):
        """Compile (JIT cache included) without launching; returns Triton's compiled kernel."""
        kernel = self.fn.warmup(grid=self.grid, **self.kwargs, **self.options)
        return kernel.result() if hasattr(kernel, "result") else kernel

    def source(self, target=None):
        """``(ASTSource, options)`` of this launch for ``target`` (default sm_90), see tle.ops.aot."""
        return aot.kernel_source(self.fn, self.kwargs, options=self.options, target=target)

    def positional(self) -> list:
        """The arguments in the kernel's parameter order, defaults included: what Triton's binder
        hands to a compiled kernel's launcher."""
        return [self.kwargs[p.name] if p.name in self.kwargs else p.default for p in self.fn.params]

    def specialization(self) -> tuple:
        """What decides which binary this launch compiles to, apart from strides and alignment
        (used to remember compile failures)."""
        kw = self.kwargs
        q = kw["q_ptr"]
        return (self.kernel, q.device, q.dtype, kw["D_ROPE"], kw["HAS_SINK"], kw["HAS_TOPK_LENGTH"], kw["INDEX_64"])


def _tl_kernel():
    from .sparse_mla_tl import sparse_mla_tl_kernel

    return sparse_mla_tl_kernel


def _ws_kernel():
    # imported on first use: importing tle.ops must not need Triton's (experimental) Gluon
    from .sparse_mla_ws import sparse_mla_ws_kernel

    return sparse_mla_ws_kernel


def make_launch(prob: SparseMLAProblem, q, kv, indices, attn_sink, topk_length, out, max_logits, lse, *,
                kernel: str, config: Optional[SparseMLAConfig] = None, num_sms: Optional[int] = None,
                constexprs: Optional[dict] = None) -> SparseMLALaunch:
    """The launch of ``kernel`` ("tl" or "ws") for a validated problem and its output tensors.

    ``config``: the plain kernel's configuration (default :func:`default_config`). ``num_sms``:
    the warp-specialized kernel is persistent, one CTA per SM walking tiles ``i, i + grid, ...``;
    ``None`` launches one CTA per tile. ``constexprs``: extra constexpr arguments by name.
    """
    if kernel == "tl":
        cfg = config or default_config(prob.h_q)
        fn, block_h, block_k = _tl_kernel(), cfg.block_h, cfg.block_k
        options = dict(num_warps=cfg.num_warps, num_stages=cfg.num_stages)
    elif kernel == "ws":
        reason = ws_shape_reason(prob, q.dtype, config)
        if reason:
            raise ValueError(f"the warp-specialized kernel does not support this call: {reason}")
        fn, block_h, block_k = _ws_kernel(), WS_BLOCK, WS_BLOCK
        options = dict(num_warps=WS_NUM_WARPS)
    else:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if tuple(fn.arg_names[:len(POINTER_ARGS)]) != POINTER_ARGS:
        raise RuntimeError(f"the {kernel} kernel's signature no longer starts with {POINTER_ARGS}")
    kwargs = kernel_arguments(prob, q, kv, indices, attn_sink, topk_length, out, max_logits, lse, block_h, block_k)
    programs = prob.batch * prob.s_q * -(-prob.h_q // block_h)
    if programs > _INT32_MAX:
        raise ValueError(f"batch * s_q * ceil(h_q / {block_h}) = {programs} programs exceeds the grid limit "
                         f"{_INT32_MAX}; split the call")
    grid = (programs,)
    if kernel == "ws":
        kwargs["num_tiles"] = programs
        if num_sms is not None:
            grid = (min(programs, num_sms),)
    if constexprs:
        unknown = set(constexprs) - set(fn.arg_names)
        if unknown:
            raise ValueError(f"{kernel} kernel has no parameter(s) {sorted(unknown)}")
        kwargs.update(constexprs)
    return SparseMLALaunch(kernel, fn, kwargs, grid, options)


def _contiguous(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    return None if t is None else t.contiguous()


def launch_sparse_mla(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *, kernel: str = "ws",
                      config=None, persistent: bool = True, constexprs: Optional[dict] = None):
    """Run ``kernel`` ("ws" or "tl") on exactly this problem; returns ``(out, max_logits, lse)``.

    No kernel choice, no head padding, no fallback and no caching: the launcher for benchmarks and
    tests that time or check one kernel. Compiles with TLE's current state (wrap it in
    ``tle.enabled(...)`` to choose). ``persistent=False`` launches the warp-specialized kernel
    with one CTA per tile instead of one per SM. Runs on the inputs' device and that device's
    current stream. CPU tensors work for ``kernel="tl"`` under ``TRITON_INTERPRET=1``.
    """
    prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    cfg = None if config is None else SparseMLAConfig.parse(config)
    out, max_logits, lse = allocate_outputs(prob, q)
    if out.numel() == 0:
        return out, max_logits, lse
    cuda = q.device.type == "cuda"
    num_sms = device_facts(q.device)[1] if cuda and persistent and kernel == "ws" else None
    launch = make_launch(prob, q, kv, indices, _contiguous(attn_sink), _contiguous(topk_length), out, max_logits,
                         lse, kernel=kernel, config=cfg, num_sms=num_sms, constexprs=constexprs)
    with torch.cuda.device(q.device) if cuda else contextlib.nullcontext():
        launch.run()
    return out, max_logits, lse
