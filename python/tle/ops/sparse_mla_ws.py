"""Warp-specialized sparse MLA forward for Hopper, written in Gluon from TLE's building blocks.

Persistent: one CTA per SM walks tiles (batch, query token, 64-head block). Three warpgroups:

* producer (``_producer``): per tile, Q by cp.async; then the token's KV rows 64 at a time with
  cp.async into a 2-slot ring of NVMMA-swizzled tiles (``tle.gluon.gather``), block ``2t + j``
  into slot ``j``, each slot filled and released in two halves (see the barrier table below);
* consumer 0 (default partition, ``_consumer0``) owns the even blocks and output columns
  [0, 256); consumer 1 (``_consumer1``) owns the odd blocks and columns [256, 512).

Each block's ``Q K^T`` (64 x 64 x d_qk) is computed once, by the warpgroup that owns the block,
so the two consumers' ``Q K^T`` and softmax phases interleave: while one runs its softmax the
tensor cores run the other's GEMMs. ``P`` stays in registers for the owner's half of ``P V``
(register-A WGMMA) and goes through shared memory for the other half (the other warpgroup's
WGMMA); with d_qk = 576 it is written over the block's RoPE tile, which is dead after ``Q K^T``.

Online softmax across the pair (base 2, scores pre-scaled by ``sm_scale * log2 e``):
consumer 0 computes ``m0 = max(m, rowmax S0)`` and publishes it; consumer 1 computes
``m1 = max(m0, rowmax S1)`` and publishes it; consumer 0 rescales its ``P0`` (and its output) from
``m0`` to ``m1`` before sharing ``P0``. Both end every pair normalized to ``m1``; each keeps its own
row-sum partial, added in the epilogue.

Protocol (phases: pair barriers complete once per pair, counted across tiles; tile barriers once
per tile): ready-early/late[j] (producer's cp.async arrivals, + its bias store for the late
half) -> consumers; free-early/late[j] (one consumer each) -> producer; Q ready / Q free between
producer and consumers; the max / P hand-offs between the consumers on named barriers. No side
can run a full phase ahead of a waiter: every signal of pair ``t + 1`` is issued after its
sender waited on a signal the receiver sends after its own wait of pair ``t``. The walk-through
and the measured effect of each choice: ``docs/gluon-layer.md``.
"""
from __future__ import annotations

from typing import Optional

import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (
    fence_async_shared,
    mbarrier,
    warpgroup_mma,
    warpgroup_mma_wait,
)

from tle.gluon import (
    arrive_when_copies_land,
    gather_rows_async,
    gather_tile_async,
    loop_variant,
    named_barrier_arrive,
    named_barrier_sync,
    publish_rows,
    receive_rows,
    signal,
    wait_async_tile,
)
from tle.gluon import compat


def ws_kernel_unsupported_reason(compiled=None) -> Optional[str]:
    """Why the op should run the plain kernel instead of this one on this Triton, or None.

    Without ``compiled``: whether the installed Triton's Gluon has everything the kernel uses
    (resolved by :mod:`tle.gluon.compat`). 3.6.0, 3.7.1, 3.8.0 and 3.9.0 build it with the same
    properties (no spills, the register split, one Q K^T per block, the barrier protocol:
    ``test/python/test_sparse_mla_ws_ptx.py`` in each version's venv); a newer Triton is tried.
    With ``compiled`` (the ``CompiledKernel`` of a warmup, on the GPU): also whether ptxas kept it
    free of spills, the one of those properties a loaded binary reports (a build that spills
    loses the speed this kernel exists for)."""
    reason = compat.unsupported_reason()
    if reason is not None or compiled is None:
        return reason
    try:
        if getattr(compiled, "n_spills", None) is None:
            compiled._init_handles()  # what the first launch does: loads the binary, reads its spills
        spills = int(compiled.n_spills)
    except Exception:  # noqa: BLE001 - cannot tell (no driver): the compile itself succeeded
        return None
    if spills > 0:
        return f"with triton {triton.__version__} the kernel spills ({spills} bytes of local memory)"
    return None


# Registers per thread (setmaxnreg): consumer 1 gets CONSUMER_REGS (its O half: 128, S: 32, P and
# the softmax state), the producer PRODUCER_REGS, and Triton gives the default partition
# (consumer 0) the rest of the file: 3 x 168 - 200 - 72 = 232 (168 = 65536 / 384 threads, in 8s).
CONSUMER_REGS = gl.constexpr(200)
PRODUCER_REGS = gl.constexpr(72)

# One warpgroup's WGMMA layouts: S = Q K^T of a block (64 x 64), its O half (64 x 256), and P as
# the register A operand of the P V WGMMA (the same rows per thread as S: no data movement).
S_LAYOUT = gl.constexpr(gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1], instr_shape=[16, 64, 16]))
O_LAYOUT = gl.constexpr(gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1], instr_shape=[16, 256, 16]))
P_OPERAND_LAYOUT = gl.constexpr(gl.DotOperandLayout(operand_index=0, parent=O_LAYOUT.value, k_width=2))
S_ROWS = gl.constexpr(gl.SliceLayout(1, S_LAYOUT.value))  # per-head vectors (running max, row sum)
S_COLS = gl.constexpr(gl.SliceLayout(0, S_LAYOUT.value))  # per-KV-row vectors (validity bias)
O_ROWS = gl.constexpr(gl.SliceLayout(1, O_LAYOUT.value))  # the same heads, as O's rows

# barrier slots in the CTA's mbarrier array. Each ring slot is filled and released in two halves:
# the "early" half is the part of V its owner multiplies with its own P (slot 0: columns
# [0, 256), slot 1: [256, 512)); it is free as soon as the owner's register-P WGMMA is done, so
# the producer refills it while the rest of the pair runs. The "late" half (the other 256
# columns + the RoPE tile, which carries the shared P) is free only after the other consumer's
# WGMMA. Q K^T starts on the early half.
_READY_EARLY = gl.constexpr(0)  # + slot
_READY_LATE = gl.constexpr(2)  # + slot
_FREE_EARLY = gl.constexpr(4)  # + slot
_FREE_LATE = gl.constexpr(6)  # + slot
_Q_READY = gl.constexpr(8)  # producer -> consumers, once per tile
_Q_FREE = gl.constexpr(9)  # consumers -> producer: both done with the tile's Q (after their last Q K^T)
# slots 10-13 are unused: they carried the consumer hand-offs of the measured mbarrier variant
# (removed switch NAMED_HANDOFFS, docs/perf/LOG.md); they stay allocated so that the frozen
# kernel's shared-memory layout, and its PTX, are the measured ones
_L0 = gl.constexpr(14)  # consumer 0 -> consumer 1: its row-sum partial, once per tile
_L1 = gl.constexpr(15)  # consumer 1 -> consumer 0
_NUM_BARS = gl.constexpr(16)

# consumer <-> consumer hand-offs within a pair, on named hardware barriers (tle.gluon.named_*;
# ids from the top of the 16, Triton's own partition barriers count from 0)
_MAX0 = gl.constexpr(12)  # consumer 0's running max m0 -> consumer 1
_MAX1 = gl.constexpr(13)  # consumer 1's m1 -> consumer 0
_P0 = gl.constexpr(14)  # consumer 0's P0 (in slot 0's RoPE tile) -> consumer 1's WGMMA
_P1 = gl.constexpr(15)  # consumer 1's P1 (in slot 1's RoPE tile) -> consumer 0's WGMMA
_PAIR_THREADS = gl.constexpr(256)  # both consumer warpgroups take part in each


@gluon.jit
def _hand_over(BAR: gl.constexpr, FOR_WGMMA: gl.constexpr):
    """This consumer's shared-memory writes are done: release them to the other consumer (its
    WGMMA reads them through the async proxy when ``FOR_WGMMA``: fence first)."""
    if FOR_WGMMA:
        fence_async_shared()
    named_barrier_arrive(BAR, _PAIR_THREADS)


@gluon.jit
def _take_over(BAR: gl.constexpr):
    """Wait for the other consumer's :func:`_hand_over` of ``BAR`` (both meet every named barrier
    once per pair, in the same order: no phase to track)."""
    named_barrier_sync(BAR, _PAIR_THREADS)


@gluon.jit
def _qk_early(q_early, k_early, bars, slot: gl.constexpr, phase, zero, kslot, s_layout: gl.constexpr):
    """Issue the early half of S = Q K^T for the block in ring slot ``slot`` (one async WGMMA group)
    as soon as that half has landed.

    ``zero`` / ``kslot`` (= 0 / ``slot``) come from :func:`tle.gluon.loop_variant`, so the smem
    descriptors are computed here instead of being hoisted out of the loop."""
    acc = gl.zeros([64, 64], gl.float32, s_layout)
    wait_async_tile(bars.index(_READY_EARLY + slot), phase)
    return warpgroup_mma(q_early.index(zero), k_early.index(kslot).permute((1, 0)), acc, use_acc=False,
                         is_async=True)


@gluon.jit
def _qk_late(acc, q_late, k_late, q_rope, k_rope, bars, slot: gl.constexpr, phase, zero, kslot,
             D_ROPE: gl.constexpr):
    """Queue the late half and the RoPE tile of S = Q K^T (1 or 2 more async WGMMA groups)."""
    wait_async_tile(bars.index(_READY_LATE + slot), phase)
    acc = warpgroup_mma(q_late.index(zero), k_late.index(kslot).permute((1, 0)), acc, is_async=True)
    if D_ROPE > 0:
        acc = warpgroup_mma(q_rope.index(zero), k_rope.index(kslot).permute((1, 0)), acc, is_async=True)
    return acc


@gluon.jit
def _qk(q_early, k_early, q_late, k_late, q_rope, k_rope, bars, slot: gl.constexpr, phase, zero, kslot,
        s_layout: gl.constexpr, D_ROPE: gl.constexpr):
    """Issue the whole S = Q K^T for the block in ring slot ``slot`` (2 or 3 async WGMMA groups)."""
    acc = _qk_early(q_early, k_early, bars, slot, phase, zero, kslot, s_layout)
    return _qk_late(acc, q_late, k_late, q_rope, k_rope, bars, slot, phase, zero, kslot, D_ROPE)


@gluon.jit
def _masked_scores(s, bias_buf, qk_scale_log2, col_layout: gl.constexpr):
    # bias: 0 for a valid row of the block, -inf for an invalid one (written by the producer)
    bias = bias_buf.load(col_layout)
    return s * qk_scale_log2 + bias[None, :]


@gluon.jit
def _exp_base(m):
    # subtract 0 while nothing valid has been seen: never -inf - -inf
    return gl.where(m == float("-inf"), 0.0, m)


@gluon.jit
def _store_output(o, l_total, m, out_ptr, out_row, stride_oh, COL0: gl.constexpr, sink_ptr, h0, h_q,
                  HAS_SINK: gl.constexpr, EVEN_H: gl.constexpr, o_layout: gl.constexpr):
    row_l: gl.constexpr = gl.SliceLayout(1, o_layout)
    col_l: gl.constexpr = gl.SliceLayout(0, o_layout)
    l_o = gl.convert_layout(l_total, row_l)
    m_o = gl.convert_layout(m, row_l)
    has_any = m_o > float("-inf")
    l_safe = gl.where(has_any, l_o, 1.0)
    scale = 1.0 / l_safe
    heads = h0 + gl.arange(0, 64, layout=row_l)
    if HAS_SINK:
        lse2 = m_o + gl.log2(l_safe)
        if EVEN_H:
            sink = gl.load(sink_ptr + heads)
        else:
            sink = gl.load(sink_ptr + heads, mask=heads < h_q, other=0.0)
        z = gl.where(has_any, sink * 1.4426950408889634 - lse2, 0.0)
        scale = scale / (1.0 + gl.exp2(z))
    out = o * scale[:, None]
    cols = COL0 + gl.arange(0, 256, layout=col_l)
    ptrs = out_ptr + out_row + heads[:, None] * stride_oh + cols[None, :]
    if EVEN_H:
        gl.store(ptrs, out.to(out_ptr.dtype.element_ty))
    else:  # the block's heads past h_q were computed on zero-filled Q rows: not stored
        gl.store(ptrs, out.to(out_ptr.dtype.element_ty), mask=(heads < h_q)[:, None] & (cols >= 0)[None, :])


@gluon.jit
def _tile_coords(tile, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, HAS_TOPK_LENGTH: gl.constexpr):
    """(batch, token, first head, index count, pairs of 64-row blocks) of a work tile; heads vary
    fastest so the CTAs sharing a token's KV rows run at the same time."""
    hblock = tile % n_hblocks
    row = tile // n_hblocks
    tok = (row % s_q).to(gl.int64)
    b = (row // s_q).to(gl.int64)
    n_idx = topk
    if HAS_TOPK_LENGTH:
        n_idx = gl.load(topk_len_ptr + b * stride_tlb + tok)
        n_idx = gl.minimum(gl.maximum(n_idx, 0), topk)
    npairs = (n_idx + 127) // 128
    return b, tok, hblock * 64, n_idx, npairs


@gluon.jit
def _fresh_softmax_state():
    """Running max (base 2), row sum and output half of one consumer at the start of a tile."""
    return (gl.full([64], float("-inf"), gl.float32, S_ROWS), gl.zeros([64], gl.float32, S_ROWS),
            gl.zeros([64, 256], gl.float32, O_LAYOUT))


@gluon.jit
def _consumer0(q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, p_buf, bias, stats, bars,
               num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, qk_scale_log2,
               out_ptr, stride_ob, stride_os, stride_oh, lse_ptr, max_logits_ptr, stride_lb, stride_ls, sink_ptr,
               D_ROPE: gl.constexpr, HAS_SINK: gl.constexpr, HAS_TOPK_LENGTH: gl.constexpr, EVEN_H: gl.constexpr):
    dtype: gl.constexpr = q_lo.dtype

    g0 = 0  # pairs done by this CTA before the current tile: ring phases run across tiles
    k = 0  # tiles done by this CTA
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        b, tok, h0, n_idx, npairs = _tile_coords(tile, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
                                                 HAS_TOPK_LENGTH)
        m, l, o = _fresh_softmax_state()
        s = gl.zeros([64, 64], gl.float32, S_LAYOUT)
        wait_async_tile(bars.index(_Q_READY), k & 1)
        if npairs > 0:
            z0 = loop_variant(tile - tile)
            s = _qk(q_lo, kv_lo, q_hi, kv_hi, q_rope, kv_rope, bars, 0, g0 & 1, z0, z0, S_LAYOUT, D_ROPE)
            s = warpgroup_mma_wait(0, deps=[s])
        if npairs <= 1:
            signal(bars.index(_Q_FREE))  # this was the tile's last Q K^T here

        for t in range(npairs):
            ph = (g0 + t) & 1
            z = loop_variant(t - t)
            # ---- softmax of block 2t against the running max ----------------------------------
            sc = _masked_scores(s, bias.index(0), qk_scale_log2, S_COLS)
            m0 = gl.maximum(m, gl.max(sc, 1))
            stats.index(0).store(m0)
            _hand_over(_MAX0, False)
            alpha = gl.exp2(m - _exp_base(m0))
            p = gl.exp2(sc - _exp_base(m0)[:, None])
            l = l * alpha + gl.sum(p, 1)
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
            # ---- O[:, :256] += P0 V0 (P0 from registers) -----------------------------------------
            p_op = gl.convert_layout(p.to(dtype), P_OPERAND_LAYOUT)
            o = warpgroup_mma(p_op, kv_lo.index(z), o, is_async=True)
            o = warpgroup_mma_wait(0, deps=[o])
            signal(bars.index(_FREE_EARLY + 0))
            # ---- rebase P0 to consumer 1's max and share it --------------------------------------
            _take_over(_MAX1)
            m1 = stats.index(1).load(S_ROWS)
            beta = gl.exp2(m0 - _exp_base(m1))
            p_buf.index(z).store((p * beta[:, None]).to(dtype))
            _hand_over(_P0, True)
            # ---- O[:, :256] += P1 V1 (P1 from consumer 1, in shared memory) ----------------------
            o = o * gl.convert_layout(beta, O_ROWS)[:, None]  # while consumer 1 finishes P1
            l = l * beta
            m = m1
            _take_over(_P1)
            if t + 1 < npairs:
                # the next even block's Q K^T is queued behind P1 V1 (both async)
                o = warpgroup_mma(p_buf.index(z + 1), kv_lo.index(z + 1), o, is_async=True)
                s = _qk_early(q_lo, kv_lo, bars, 0, ph ^ 1, z, z, S_LAYOUT)
                # release slot 1's late half before waiting for slot 0's: the producer refills them
                # in this order, and consumer 1's next Q K^T needs the former
                o = warpgroup_mma_wait(1, deps=[o])
                signal(bars.index(_FREE_LATE + 1))
                s = _qk_late(s, q_hi, kv_hi, q_rope, kv_rope, bars, 0, ph ^ 1, z, z, D_ROPE)
                s = warpgroup_mma_wait(0, deps=[s])
                if t + 2 == npairs:
                    signal(bars.index(_Q_FREE))
            else:
                o = warpgroup_mma(p_buf.index(z + 1), kv_lo.index(z + 1), o, is_async=True)
                o = warpgroup_mma_wait(0, deps=[o])
                signal(bars.index(_FREE_LATE + 1))

        # ---- epilogue (overlaps the producer's next Q and first blocks) -----------------------
        publish_rows(stats.index(2), l, bars.index(_L0))
        l1 = receive_rows(stats.index(3), bars.index(_L1), k & 1, S_ROWS)
        l_total = l + l1
        out_row = b * stride_ob + tok * stride_os
        _store_output(o, l_total, m, out_ptr, out_row, stride_oh, 0, sink_ptr, h0, h_q, HAS_SINK, EVEN_H, O_LAYOUT)
        has_any = m > float("-inf")
        l_safe = gl.where(has_any, l_total, 1.0)
        lse2 = gl.where(has_any, m + gl.log2(l_safe), float("inf"))
        stat = b * stride_lb + tok * stride_ls + h0 + gl.arange(0, 64, layout=S_ROWS)
        if EVEN_H:
            gl.store(lse_ptr + stat, lse2 * 0.6931471805599453)
            gl.store(max_logits_ptr + stat, m * 0.6931471805599453)
        else:  # heads past h_q: not stored
            stat_heads = h0 + gl.arange(0, 64, layout=S_ROWS)
            gl.store(lse_ptr + stat, lse2 * 0.6931471805599453, mask=stat_heads < h_q)
            gl.store(max_logits_ptr + stat, m * 0.6931471805599453, mask=stat_heads < h_q)
        g0 += npairs
        k += 1


@gluon.jit
def _consumer1(q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, p_buf, bias, stats, bars,
               num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, qk_scale_log2,
               out_ptr, stride_ob, stride_os, stride_oh, sink_ptr,
               D_ROPE: gl.constexpr, HAS_SINK: gl.constexpr, HAS_TOPK_LENGTH: gl.constexpr, EVEN_H: gl.constexpr):
    dtype: gl.constexpr = q_lo.dtype

    g0 = 0
    k = 0
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        b, tok, h0, n_idx, npairs = _tile_coords(tile, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
                                                 HAS_TOPK_LENGTH)
        m, l, o = _fresh_softmax_state()
        wait_async_tile(bars.index(_Q_READY), k & 1)
        if npairs == 0:
            signal(bars.index(_Q_FREE))
        for t in range(npairs):
            ph = (g0 + t) & 1
            z = loop_variant(t - t)
            s = _qk(q_hi, kv_hi, q_lo, kv_lo, q_rope, kv_rope, bars, 1, ph, z, z + 1, S_LAYOUT, D_ROPE)
            s = warpgroup_mma_wait(0, deps=[s])
            if t + 1 == npairs:
                signal(bars.index(_Q_FREE))
            sc = _masked_scores(s, bias.index(1), qk_scale_log2, S_COLS)
            _take_over(_MAX0)
            m0 = stats.index(0).load(S_ROWS)
            m1 = gl.maximum(m0, gl.max(sc, 1))
            stats.index(1).store(m1)
            _hand_over(_MAX1, False)
            alpha = gl.exp2(m - _exp_base(m1))
            p = gl.exp2(sc - _exp_base(m1)[:, None])
            l = l * alpha + gl.sum(p, 1)
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
            m = m1
            # ---- O[:, 256:] += P1 V1 (registers), then += P0 V0 (consumer 0's P0, shared) --------
            p_lo = p.to(dtype)
            o = warpgroup_mma(gl.convert_layout(p_lo, P_OPERAND_LAYOUT), kv_hi.index(z + 1), o, is_async=True)
            p_buf.index(z + 1).store(p_lo)
            _take_over(_P0)
            o = warpgroup_mma(p_buf.index(z), kv_hi.index(z), o, is_async=True)
            _hand_over(_P1, True)
            o = warpgroup_mma_wait(1, deps=[o])
            signal(bars.index(_FREE_EARLY + 1))
            o = warpgroup_mma_wait(0, deps=[o])
            signal(bars.index(_FREE_LATE + 0))

        l0 = receive_rows(stats.index(2), bars.index(_L0), k & 1, S_ROWS)
        publish_rows(stats.index(3), l, bars.index(_L1))
        out_row = b * stride_ob + tok * stride_os
        _store_output(o, l + l0, m, out_ptr, out_row, stride_oh, 256, sink_ptr, h0, h_q, HAS_SINK, EVEN_H,
                      O_LAYOUT)
        g0 += npairs
        k += 1


@gluon.jit
def _producer(q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, bias, bars,
              num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
              q_ptr, stride_qb, stride_qs, stride_qh, kv_ptr, stride_kvb, stride_kvs, idx_ptr, stride_ib, stride_is,
              s_kv, D_ROPE: gl.constexpr, HAS_TOPK_LENGTH: gl.constexpr, INDEX_64: gl.constexpr,
              EVEN_H: gl.constexpr):
    # 4 warps x [4 rows, 8 threads x 8 elements]: every cp.async moves 16 bytes
    cp_layout: gl.constexpr = gl.BlockedLayout([1, 8], [4, 8], [4, 1], [1, 0])
    rows_l: gl.constexpr = gl.SliceLayout(1, cp_layout)
    heads = gl.arange(0, 64, layout=rows_l)

    g0 = 0
    k = 0
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        b, tok, h0, n_idx, npairs = _tile_coords(tile, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
                                                 HAS_TOPK_LENGTH)
        idx_row = idx_ptr + b * stride_ib + tok * stride_is
        kv_base = kv_ptr + b * stride_kvb
        # Q of this tile, once both consumers have run their last Q K^T of the previous one
        if k > 0:
            mbarrier.wait(bars.index(_Q_FREE), (k - 1) & 1)
        q_row_ptr = q_ptr + b * stride_qb + tok * stride_qs + h0 * stride_qh
        if EVEN_H:
            q_valid = heads >= 0
        else:  # a last block with fewer than 64 heads: its missing Q rows are zero-filled
            q_valid = heads < h_q - h0
        gather_rows_async(q_lo.index(0), q_hi.index(0), q_rope.index(0), q_row_ptr, heads * stride_qh,
                          q_valid, 256, D_ROPE, cp_layout)
        arrive_when_copies_land(bars.index(_Q_READY))

        for t in range(npairs):
            g = g0 + t
            ph_prev = (g - 1) & 1
            offs0 = 2 * t * 64 + gl.arange(0, 64, layout=rows_l)
            offs1 = offs0 + 64
            idx0 = gl.load(idx_row + offs0, mask=offs0 < n_idx, other=-1)
            idx1 = gl.load(idx_row + offs1, mask=offs1 < n_idx, other=-1)
            valid0 = (idx0 >= 0) & (idx0 < s_kv)
            valid1 = (idx1 >= 0) & (idx1 < s_kv)
            if INDEX_64:
                row0 = idx0.to(gl.int64) * stride_kvs
                row1 = idx1.to(gl.int64) * stride_kvs
            else:
                row0 = idx0 * stride_kvs
                row1 = idx1 * stride_kvs
            # in the order the consumers release them: both early halves, then both late halves
            if g > 0:
                mbarrier.wait(bars.index(_FREE_EARLY + 0), ph_prev)
            gather_tile_async(kv_lo.index(0), kv_base, row0, valid0, 0, 256, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY + 0))
            if g > 0:
                mbarrier.wait(bars.index(_FREE_EARLY + 1), ph_prev)
            gather_tile_async(kv_hi.index(1), kv_base, row1, valid1, 256, 256, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY + 1))
            if g > 0:
                mbarrier.wait(bars.index(_FREE_LATE + 0), ph_prev)
            gather_tile_async(kv_hi.index(0), kv_base, row0, valid0, 256, 256, cp_layout)
            if D_ROPE > 0:
                gather_tile_async(kv_rope.index(0), kv_base, row0, valid0, 512, D_ROPE, cp_layout)
            arrive_when_copies_land(bars.index(_READY_LATE + 0))
            bias.index(0).store(gl.where(valid0, 0.0, float("-inf")))
            signal(bars.index(_READY_LATE + 0))
            if g > 0:
                mbarrier.wait(bars.index(_FREE_LATE + 1), ph_prev)
            gather_tile_async(kv_lo.index(1), kv_base, row1, valid1, 0, 256, cp_layout)
            if D_ROPE > 0:
                gather_tile_async(kv_rope.index(1), kv_base, row1, valid1, 512, D_ROPE, cp_layout)
            arrive_when_copies_land(bars.index(_READY_LATE + 1))
            bias.index(1).store(gl.where(valid1, 0.0, float("-inf")))
            signal(bars.index(_READY_LATE + 1))
        g0 += npairs
        k += 1


@gluon.jit
def sparse_mla_ws_kernel(
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
    num_tiles,
    D_V: gl.constexpr, D_ROPE: gl.constexpr,
    BLOCK_H: gl.constexpr, BLOCK_K: gl.constexpr,
    EVEN_H: gl.constexpr, HAS_SINK: gl.constexpr, HAS_TOPK_LENGTH: gl.constexpr,
    INDEX_64: gl.constexpr,
):
    """Persistent: CTA ``i`` processes tiles ``i, i + grid, ...`` (grid = number of tiles gives
    one tile per CTA). A tile is (batch, token, 64-head block)."""
    gl.static_assert(D_V == 512, "the warp-specialized kernel splits d_v = 512 over two warpgroups")
    gl.static_assert(BLOCK_H == 64, "64 heads per CTA")
    gl.static_assert(BLOCK_K == 64, "64 KV rows per block")
    if EVEN_H:
        n_hblocks = h_q // 64
    else:
        n_hblocks = (h_q + 63) // 64

    dtype: gl.constexpr = q_ptr.dtype.element_ty
    smem: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)
    # Q as one-slot arrays: consumers index them with loop_variant(0) (see tle.gluon.loop_variant)
    q_lo = gl.allocate_shared_memory(dtype, [1, 64, 256], smem)
    q_hi = gl.allocate_shared_memory(dtype, [1, 64, 256], smem)
    kv_lo = gl.allocate_shared_memory(dtype, [2, 64, 256], smem)
    kv_hi = gl.allocate_shared_memory(dtype, [2, 64, 256], smem)
    if D_ROPE > 0:
        q_rope = gl.allocate_shared_memory(dtype, [1, 64, D_ROPE], smem)
        kv_rope = gl.allocate_shared_memory(dtype, [2, 64, D_ROPE], smem)
        p_buf = kv_rope  # P of block j is written over slot j's RoPE tile once Q K^T has read it
    else:
        q_rope = q_lo
        kv_rope = kv_lo
        p_buf = gl.allocate_shared_memory(dtype, [2, 64, 64], smem)
    stat_layout: gl.constexpr = gl.SwizzledSharedLayout(vec=1, per_phase=1, max_phase=1, order=[0])
    stats = gl.allocate_shared_memory(gl.float32, [4, 64], stat_layout)
    bias = gl.allocate_shared_memory(gl.float32, [2, 64], stat_layout)
    bars = gl.allocate_shared_memory(gl.int64, [_NUM_BARS, 1], mbarrier.MBarrierLayout())
    for i in gl.static_range(2):
        mbarrier.init(bars.index(_READY_EARLY + i), count=128)  # cp.async arrivals of the producer
        mbarrier.init(bars.index(_READY_LATE + i), count=128 + 1)  # ... + its store of the bias
    mbarrier.init(bars.index(_Q_READY), count=128)
    for i in gl.static_range(_FREE_EARLY, _Q_READY):
        mbarrier.init(bars.index(i), count=1)  # one consumer releases each half
    mbarrier.init(bars.index(_Q_FREE), count=2)
    for i in gl.static_range(_Q_FREE + 1, _NUM_BARS):
        mbarrier.init(bars.index(i), count=1)

    gl.warp_specialize([
        (_consumer0, (q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, p_buf, bias, stats, bars,
                      num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, qk_scale_log2,
                      out_ptr, stride_ob, stride_os, stride_oh, lse_ptr, max_logits_ptr, stride_lb, stride_ls,
                      sink_ptr, D_ROPE, HAS_SINK, HAS_TOPK_LENGTH, EVEN_H)),
        (_consumer1, (q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, p_buf, bias, stats, bars,
                      num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, qk_scale_log2,
                      out_ptr, stride_ob, stride_os, stride_oh, sink_ptr,
                      D_ROPE, HAS_SINK, HAS_TOPK_LENGTH, EVEN_H)),
        (_producer, (q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, bias, bars,
                     num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
                     q_ptr, stride_qb, stride_qs, stride_qh, kv_ptr, stride_kvb, stride_kvs, idx_ptr, stride_ib,
                     stride_is, s_kv, D_ROPE, HAS_TOPK_LENGTH, INDEX_64, EVEN_H)),
    ], [4, 4], [CONSUMER_REGS, PRODUCER_REGS])
