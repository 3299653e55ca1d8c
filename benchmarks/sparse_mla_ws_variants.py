"""Variants of TLE's warp-specialized sparse MLA kernel, as user providers for `python -m tle.bench`.

    python -m tle.bench sparse-mla --provider benchmarks.sparse_mla_ws_variants:mbarrier_handoffs ...

Each provider launches `tle.ops.sparse_mla_ws.sparse_mla_ws_kernel` with one design choice
switched, so a single benchmark run measures what that choice contributes (`benchmarks/
ab_sparse_mla.py` times them in interleaved rounds). Choices measured and then removed from the
kernel (L2 prefetch, Q K^T before P1) are in docs/perf/LOG.md with the commit that had them.
"""
import torch

from tle.ops import sparse_mla as sm


def _launch(q, kv, indices, sm_scale, d_v, one_tile_per_cta=False, **variant):
    prob = sm.validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v)
    cfg = sm.default_config(prob.h_q)
    q4, kv4, idx4 = (sm._as_rank4(t, prob.batched) for t in (q, kv, indices))
    out4, ml3, lse3 = sm._allocate_outputs(q4, prob)
    args, grid = sm._kernel_arguments(q4, kv4, idx4, None, None, out4, ml3, lse3, prob, cfg)
    launch_grid = grid if one_tile_per_cta else sm._ws_grid(grid, q.device)
    with sm.tle_hooks(True), torch.cuda.device(q.device):
        sm._ws_kernel()[launch_grid](**args, num_tiles=grid[0], **variant, num_warps=4)
    return (out4, ml3, lse3) if prob.batched else (out4[0], ml3[0], lse3[0])


def mbarrier_handoffs(q, kv, indices, sm_scale, d_v):
    """Consumer <-> consumer hand-offs on mbarriers (partition barrier + arrive + try_wait)
    instead of named hardware barriers."""
    return _launch(q, kv, indices, sm_scale, d_v, NAMED_HANDOFFS=False)


def share_during_pv(q, kv, indices, sm_scale, d_v):
    """Consumer 0 takes consumer 1's max and shares P0 while its register-P WGMMA runs (instead
    of waiting for that WGMMA first)."""
    return _launch(q, kv, indices, sm_scale, d_v, SHARE_DURING_PV=True)


def one_tile_per_cta(q, kv, indices, sm_scale, d_v):
    """Not persistent: one CTA per (token, head block) tile, as FlashMLA launches."""
    return _launch(q, kv, indices, sm_scale, d_v, one_tile_per_cta=True)


def no_tile_fence(q, kv, indices, sm_scale, d_v):
    """No fence.proxy.async after acquiring a cp.async-filled KV tile (FlashMLA has none; the PTX
    memory model asks for one between generic-proxy writes and WGMMA's async-proxy reads)."""
    return _launch(q, kv, indices, sm_scale, d_v, TILE_FENCE=False)


def p1_early(q, kv, indices, sm_scale, d_v):
    """Consumer 1 hands P1 over as soon as it is stored, before waiting for P0."""
    return _launch(q, kv, indices, sm_scale, d_v, P1_EARLY=True)


def late1_after_late0(q, kv, indices, sm_scale, d_v):
    """Consumer 0 releases slot 1's late half only after queueing its whole next Q K^T (so after
    slot 0's late half has landed) instead of before waiting for it."""
    return _launch(q, kv, indices, sm_scale, d_v, LATE1_FIRST=False)


def early1_before_p0(q, kv, indices, sm_scale, d_v):
    """Consumer 1 waits for its register-P WGMMA and releases slot 1's early half before waiting
    for consumer 0's P0."""
    return _launch(q, kv, indices, sm_scale, d_v, EARLY1_BEFORE_P0=True)

