"""Variants of the warp-specialized sparse MLA kernel, as text patches of its source, for A/B runs.

The product kernel (`tle/ops/sparse_mla_ws.py`) carries no switches: a variant is a list of
exact replacements applied to a copy of its source, imported as its own module and launched
through `tle.ops.sparse_mla_launch.launch_sparse_mla` (persistent, like the op). Each patch
must match exactly once, so a variant that no longer applies fails loudly instead of measuring
the product kernel (the patches quote the kernel's lines for that reason: `duplicates` sees them). Measured variants and their outcome: docs/perf/LOG.md.

    python benchmarks/ab_sparse_mla.py --providers \\
        benchmarks.ws_variants:baseline,benchmarks.ws_variants:c1_own_max,flashmla
    python benchmarks/ws_variants.py            # CPU: compile every variant for sm_90, ptxas report
    python benchmarks/ws_variants.py --time 8192,65536   # GPU: all variants, probes included
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import sys
import tempfile
from pathlib import Path

import tle.ops.sparse_mla_ws as product
from tle.ops import sparse_mla_launch

# consumer 1 computes its block's max in its own frame (max(m, rowmax S1)) and publishes it before
# its exponentials, instead of waiting for consumer 0's max first; it rebases P1 to the pair's max
# once that max is known (32 multiplies). Consumer 0 takes the pair max as max(m0, m1).
C1_OWN_MAX = [
    ("""            _take_over(_MAX0)
            m0 = stats.index(0).load(S_ROWS)
            m1 = gl.maximum(m0, gl.max(sc, 1))
            stats.index(1).store(m1)
            _hand_over(_MAX1, False)
            alpha = gl.exp2(m - _exp_base(m1))
            p = gl.exp2(sc - _exp_base(m1)[:, None])
            l = l * alpha + gl.sum(p, 1)
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
            m = m1
""", """            m1 = gl.maximum(m, gl.max(sc, 1))
            stats.index(1).store(m1)
            _hand_over(_MAX1, False)
            p = gl.exp2(sc - _exp_base(m1)[:, None])
            _take_over(_MAX0)
            mn = gl.maximum(stats.index(0).load(S_ROWS), m1)
            alpha = gl.exp2(m - _exp_base(mn))
            p = p * gl.exp2(m1 - _exp_base(mn))[:, None]
            l = l * alpha + gl.sum(p, 1)
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
            m = mn
"""),
    ("""            m1 = stats.index(1).load(S_ROWS)
            beta = gl.exp2(m0 - _exp_base(m1))""", """            m1 = gl.maximum(m0, stats.index(1).load(S_ROWS))
            beta = gl.exp2(m0 - _exp_base(m1))"""),
]

# both consumers: exponentials in the own frame, then the pair max, then one rescale of O per pair
# (consumer 0 today rescales twice, by alpha before P0 V0 and by beta after it) and P0 V0 on P0
# already rebased to the pair max (the P0 it shares is the one it multiplies).
BOTH_OWN_MAX = C1_OWN_MAX[:1] + [
    ("""            alpha = gl.exp2(m - _exp_base(m0))
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
""", """            p = gl.exp2(sc - _exp_base(m0)[:, None])
            _take_over(_MAX1)
            m1 = gl.maximum(m0, stats.index(1).load(S_ROWS))
            alpha = gl.exp2(m - _exp_base(m1))
            p = p * gl.exp2(m0 - _exp_base(m1))[:, None]
            l = l * alpha + gl.sum(p, 1)
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
            p16 = p.to(dtype)
            o = warpgroup_mma(gl.convert_layout(p16, P_OPERAND_LAYOUT), kv_lo.index(z), o, is_async=True)
            p_buf.index(z).store(p16)
            _hand_over(_P0, True)
            o = warpgroup_mma_wait(0, deps=[o])
            signal(bars.index(_FREE_EARLY + 0))
            m = m1
"""),
]

# Sensitivity probes (timing only: their results are wrong by construction). Where does the time
# go if a part of the work costs nothing?
NO_KV_GATHER = [  # the producer issues no KV copies: the ring's barriers complete at once, tiles stale
    (f"            gather_tile_async({call})\n", "            pass\n") for call in (
        "kv_lo.index(0), kv_base, row0, valid0, 0, 256, cp_layout",
        "kv_hi.index(1), kv_base, row1, valid1, 256, 256, cp_layout",
        "kv_hi.index(0), kv_base, row0, valid0, 256, 256, cp_layout",
        "kv_lo.index(1), kv_base, row1, valid1, 0, 256, cp_layout")
] + [(f"                gather_tile_async({call})\n", "                pass\n") for call in (
    "kv_rope.index(0), kv_base, row0, valid0, 512, D_ROPE, cp_layout",
    "kv_rope.index(1), kv_base, row1, valid1, 512, D_ROPE, cp_layout")]


# the same, but the ring's first fill is gathered: the consumers' WGMMAs run on real rows instead
# of whatever the slots held (tensor-core power, and so the clock, depends on the operands)
def _only_first_fill(copy_line: str) -> tuple:
    indent = copy_line[:len(copy_line) - len(copy_line.lstrip())]
    return copy_line, f"{indent}if g == 0:\n    {copy_line}"


KV_GATHER_ONCE = [_only_first_fill(copy_line) for copy_line, _ in NO_KV_GATHER]

# the same bytes left out of either half of each slot's refill (256 columns of 64 rows): if one
# helps much more than the other, that half's refill is on the critical path (measured
# 2026-12-01: each recovers about half; docs/perf/LOG.md)
_GATHERS = {
    "early": ("kv_lo.index(0), kv_base, row0, valid0, 0, 256, cp_layout",
              "kv_hi.index(1), kv_base, row1, valid1, 256, 256, cp_layout"),
    "late": ("kv_hi.index(0), kv_base, row0, valid0, 256, 256, cp_layout",
             "kv_lo.index(1), kv_base, row1, valid1, 0, 256, cp_layout"),
}
NO_EARLY_GATHER = [(f"            gather_tile_async({call})\n", "            pass\n") for call in _GATHERS["early"]]
NO_LATE_GATHER = [(f"            gather_tile_async({call})\n", "            pass\n") for call in _GATHERS["late"]]
# the producer loads the next pair's indices while this pair's copies wait for their slots, instead
# of loading them right before the waits (ncu: 4.4% of TLE's stall samples are on global loads,
# FlashMLA 1.4%)
INDEX_PREFETCH = [
    ("""        for t in range(npairs):
            g = g0 + t
            ph_prev = (g - 1) & 1
            offs0 = 2 * t * 64 + gl.arange(0, 64, layout=rows_l)
            offs1 = offs0 + 64
            idx0 = gl.load(idx_row + offs0, mask=offs0 < n_idx, other=-1)
            idx1 = gl.load(idx_row + offs1, mask=offs1 < n_idx, other=-1)
""", """        offs0 = gl.arange(0, 64, layout=rows_l)
        next0 = gl.load(idx_row + offs0, mask=offs0 < n_idx, other=-1)
        next1 = gl.load(idx_row + offs0 + 64, mask=offs0 + 64 < n_idx, other=-1)
        for t in range(npairs):
            g = g0 + t
            ph_prev = (g - 1) & 1
            idx0 = next0
            idx1 = next1
            offs0 = 2 * (t + 1) * 64 + gl.arange(0, 64, layout=rows_l)
            offs1 = offs0 + 64
            next0 = gl.load(idx_row + offs0, mask=offs0 < n_idx, other=-1)
            next1 = gl.load(idx_row + offs1, mask=offs1 < n_idx, other=-1)
"""),
]
# the output tile is written with streaming stores (st.global.cs: evict-first in L1 and L2), so
# the 0.5 GB of outputs of a 4096-token prefill do not displace KV rows other tokens gather again
STREAMING_OUT = [
    ("""        gl.store(ptrs, out.to(out_ptr.dtype.element_ty))
""", """        gl.store(ptrs, out.to(out_ptr.dtype.element_ty), cache_modifier=".cs")
"""),
    ("""        gl.store(ptrs, out.to(out_ptr.dtype.element_ty), mask=(heads < h_q)[:, None] & (cols >= 0)[None, :])
""", """        gl.store(ptrs, out.to(out_ptr.dtype.element_ty), mask=(heads < h_q)[:, None] & (cols >= 0)[None, :],
                 cache_modifier=".cs")
"""),
]
# consumer 0 waits for consumer 1's max, rebases and shares P0 while its P0 V0 WGMMA runs,
# instead of after it (the exchange off consumer 0's critical path; slot 0's early half released
# a little later). Measured twice: no significant difference (docs/perf/LOG.md)
C0_EXCHANGE_UNDER_PV = [
    ("""            o = warpgroup_mma(p_op, kv_lo.index(z), o, is_async=True)
            o = warpgroup_mma_wait(0, deps=[o])
            signal(bars.index(_FREE_EARLY + 0))
            # ---- rebase P0 to consumer 1's max and share it --------------------------------------
            _take_over(_MAX1)
            m1 = stats.index(1).load(S_ROWS)
            beta = gl.exp2(m0 - _exp_base(m1))
            p_buf.index(z).store((p * beta[:, None]).to(dtype))
            _hand_over(_P0, True)
""", """            o = warpgroup_mma(p_op, kv_lo.index(z), o, is_async=True)
            _take_over(_MAX1)
            m1 = stats.index(1).load(S_ROWS)
            beta = gl.exp2(m0 - _exp_base(m1))
            p_buf.index(z).store((p * beta[:, None]).to(dtype))
            _hand_over(_P0, True)
            o, p_op = warpgroup_mma_wait(0, deps=[o, p_op])
            signal(bars.index(_FREE_EARLY + 0))
"""),
]
NO_EXP = [  # the softmax without its exponentials (MUFU)
    (f"            p = gl.exp2(sc - _exp_base({m})[:, None])\n", f"            p = sc - _exp_base({m})[:, None]\n")
    for m in ("m0", "m1")]

# Two ways to give the gather 8 issuing warps within the register file (2 x 128 x 200 + 256 x 56 =
# 65536), tried when a micro-benchmark (benchmarks/gather_ceiling) showed cp.async rates growing
# with the issuing threads. Neither compiles on Triton 3.6: at 512 threads ptxas gets 128 registers
# a thread and the consumers' m64n256 WGMMA needs 158 (C7602). Moot as well: producer_only below
# shows the 4-warp producer gathering at 11 TB/s. Kept as the reproducer of that dead end.
# producer8: one producer partition of 8 warps (each thread issues half of today's copies).
PRODUCER8 = [
    ("""    cp_layout: gl.constexpr = gl.BlockedLayout([1, 8], [4, 8], [4, 1], [1, 0])""",
     """    cp_layout: gl.constexpr = gl.BlockedLayout([1, 8], [4, 8], [8, 1], [1, 0])"""),
    ("""        mbarrier.init(bars.index(_READY_EARLY + i), count=128)  # cp.async arrivals of the producer
        mbarrier.init(bars.index(_READY_LATE + i), count=128 + 1)  # ... + its store of the bias
    mbarrier.init(bars.index(_Q_READY), count=128)""",
     """        mbarrier.init(bars.index(_READY_EARLY + i), count=256)  # cp.async arrivals of the producer
        mbarrier.init(bars.index(_READY_LATE + i), count=256 + 1)  # ... + its store of the bias
    mbarrier.init(bars.index(_Q_READY), count=256)"""),
    ("""    ], [4, 4], [CONSUMER_REGS, PRODUCER_REGS])""", """    ], [4, 8], [CONSUMER_REGS, 56])"""),
]

# two_producers: a producer partition per ring slot (4 warps each; slot 0's also loads Q), each
# refilling its slot's halves in the order the consumers release them, independently of the other.
_TWO_PRODUCERS_FN = '''@gluon.jit
def _producer(q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, bias, bars,
              num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
              q_ptr, stride_qb, stride_qs, stride_qh, kv_ptr, stride_kvb, stride_kvs, idx_ptr, stride_ib, stride_is,
              s_kv, D_ROPE: gl.constexpr, HAS_TOPK_LENGTH: gl.constexpr, INDEX_64: gl.constexpr,
              EVEN_H: gl.constexpr, SLOT: gl.constexpr):
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
        if SLOT == 0:
            if k > 0:
                mbarrier.wait(bars.index(_Q_FREE), (k - 1) & 1)
            q_row_ptr = q_ptr + b * stride_qb + tok * stride_qs + h0 * stride_qh
            if EVEN_H:
                q_valid = heads >= 0
            else:
                q_valid = heads < h_q - h0
            gather_rows_async(q_lo.index(0), q_hi.index(0), q_rope.index(0), q_row_ptr, heads * stride_qh,
                              q_valid, 256, D_ROPE, cp_layout)
            arrive_when_copies_land(bars.index(_Q_READY))

        for t in range(npairs):
            g = g0 + t
            ph_prev = (g - 1) & 1
            offs = (2 * t + SLOT) * 64 + gl.arange(0, 64, layout=rows_l)
            idx = gl.load(idx_row + offs, mask=offs < n_idx, other=-1)
            valid = (idx >= 0) & (idx < s_kv)
            if INDEX_64:
                row = idx.to(gl.int64) * stride_kvs
            else:
                row = idx * stride_kvs
            if g > 0:
                mbarrier.wait(bars.index(_FREE_EARLY + SLOT), ph_prev)
            if SLOT == 0:
                gather_tile_async(kv_lo.index(0), kv_base, row, valid, 0, 256, cp_layout)
            else:
                gather_tile_async(kv_hi.index(1), kv_base, row, valid, 256, 256, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY + SLOT))
            if g > 0:
                mbarrier.wait(bars.index(_FREE_LATE + SLOT), ph_prev)
            if SLOT == 0:
                gather_tile_async(kv_hi.index(0), kv_base, row, valid, 256, 256, cp_layout)
            else:
                gather_tile_async(kv_lo.index(1), kv_base, row, valid, 0, 256, cp_layout)
            if D_ROPE > 0:
                gather_tile_async(kv_rope.index(SLOT), kv_base, row, valid, 512, D_ROPE, cp_layout)
            arrive_when_copies_land(bars.index(_READY_LATE + SLOT))
            bias.index(SLOT).store(gl.where(valid, 0.0, float("-inf")))
            signal(bars.index(_READY_LATE + SLOT))
        g0 += npairs
        k += 1


'''
_PRODUCER_CALL = """                     stride_is, s_kv, D_ROPE, HAS_TOPK_LENGTH, INDEX_64, EVEN_H)),
    ], [4, 4], [CONSUMER_REGS, PRODUCER_REGS])"""
_TWO_PRODUCER_CALLS = """                     stride_is, s_kv, D_ROPE, HAS_TOPK_LENGTH, INDEX_64, EVEN_H, 0)),
        (_producer, (q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, bias, bars,
                     num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
                     q_ptr, stride_qb, stride_qs, stride_qh, kv_ptr, stride_kvb, stride_kvs, idx_ptr, stride_ib,
                     stride_is, s_kv, D_ROPE, HAS_TOPK_LENGTH, INDEX_64, EVEN_H, 1)),
    ], [4, 4, 4], [CONSUMER_REGS, 56, 56])"""


def _product_functions(first: str, next_one: str) -> str:
    """The product kernel's source from ``def first`` up to ``def next_one`` (replaced as one
    piece by a variant that rewrites whole functions)."""
    text = Path(product.__file__).read_text()
    return text[text.index(f"@gluon.jit\ndef {first}("):text.index(f"@gluon.jit\ndef {next_one}(")]


TWO_PRODUCERS = [(_product_functions("_producer", "sparse_mla_ws_kernel"), _TWO_PRODUCERS_FN),
                 (_PRODUCER_CALL, _TWO_PRODUCER_CALLS)]

# producer_only (timing only): the consumers keep the ring protocol (wait for each half, release
# it at once) but do no math and write nothing; the kernel's time is the producer's gather alone.
_PRODUCER_ONLY_CONSUMERS = '''@gluon.jit
def _consumer0(q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, p_buf, bias, stats, bars,
               num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, qk_scale_log2,
               out_ptr, stride_ob, stride_os, stride_oh, lse_ptr, max_logits_ptr, stride_lb, stride_ls, sink_ptr,
               D_ROPE: gl.constexpr, HAS_SINK: gl.constexpr, HAS_TOPK_LENGTH: gl.constexpr, EVEN_H: gl.constexpr):
    _drain_slot(bars, num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, HAS_TOPK_LENGTH, 0)


@gluon.jit
def _consumer1(q_lo, q_hi, q_rope, kv_lo, kv_hi, kv_rope, p_buf, bias, stats, bars,
               num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, qk_scale_log2,
               out_ptr, stride_ob, stride_os, stride_oh, sink_ptr,
               D_ROPE: gl.constexpr, HAS_SINK: gl.constexpr, HAS_TOPK_LENGTH: gl.constexpr, EVEN_H: gl.constexpr):
    _drain_slot(bars, num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb, HAS_TOPK_LENGTH, 1)


@gluon.jit
def _drain_slot(bars, num_tiles, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
                HAS_TOPK_LENGTH: gl.constexpr, SLOT: gl.constexpr):
    g0 = 0
    k = 0
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        b, tok, h0, n_idx, npairs = _tile_coords(tile, n_hblocks, s_q, h_q, topk, topk_len_ptr, stride_tlb,
                                                 HAS_TOPK_LENGTH)
        wait_async_tile(bars.index(_Q_READY), k & 1)
        signal(bars.index(_Q_FREE))
        for t in range(npairs):
            ph = (g0 + t) & 1
            wait_async_tile(bars.index(_READY_EARLY + SLOT), ph)
            signal(bars.index(_FREE_EARLY + SLOT))
            wait_async_tile(bars.index(_READY_LATE + SLOT), ph)
            signal(bars.index(_FREE_LATE + SLOT))
        g0 += npairs
        k += 1


'''


PRODUCER_ONLY = [(_product_functions("_consumer0", "_producer"), _PRODUCER_ONLY_CONSUMERS)]

# chunked_ready: every half-slot refill lands in two 128-column chunks, each with its own ready
# barrier (the unused barriers 10-13 carry the first chunks), and Q K^T starts on a half's first
# chunk while its second is still in flight. The producer alone gathers at 11 TB/s
# (producer_only), so what the consumers wait for is a half's transfer after its release.
CHUNKED_READY = [
    ("""_NUM_BARS = gl.constexpr(16)
""", """_NUM_BARS = gl.constexpr(16)
_READY_EARLY_FIRST = gl.constexpr(10)  # + slot: the first 128 columns of the early half
_READY_LATE_FIRST = gl.constexpr(12)  # + slot: the first 128 columns of the late half
"""),
    ("""    wait_async_tile(bars.index(_READY_EARLY + slot), phase)
    return warpgroup_mma(q_early.index(zero), k_early.index(kslot).permute((1, 0)), acc, use_acc=False,
                         is_async=True)""",
     """    wait_async_tile(bars.index(_READY_EARLY_FIRST + slot), phase)
    acc = warpgroup_mma(q_early.index(zero).slice(0, 128, 1), k_early.index(kslot).slice(0, 128, 1).permute((1, 0)),
                        acc, use_acc=False, is_async=True)
    wait_async_tile(bars.index(_READY_EARLY + slot), phase)
    return warpgroup_mma(q_early.index(zero).slice(128, 128, 1),
                         k_early.index(kslot).slice(128, 128, 1).permute((1, 0)), acc, is_async=True)"""),
    ("""    wait_async_tile(bars.index(_READY_LATE + slot), phase)
    acc = warpgroup_mma(q_late.index(zero), k_late.index(kslot).permute((1, 0)), acc, is_async=True)""",
     """    wait_async_tile(bars.index(_READY_LATE_FIRST + slot), phase)
    acc = warpgroup_mma(q_late.index(zero).slice(0, 128, 1), k_late.index(kslot).slice(0, 128, 1).permute((1, 0)),
                        acc, is_async=True)
    wait_async_tile(bars.index(_READY_LATE + slot), phase)
    acc = warpgroup_mma(q_late.index(zero).slice(128, 128, 1), k_late.index(kslot).slice(128, 128, 1).permute((1, 0)),
                        acc, is_async=True)"""),
    # consumer 0: P1 V1 plus the two early Q K^T groups in flight; retire P1 V1 only
    ("""                s = _qk_early(q_lo, kv_lo, bars, 0, ph ^ 1, z, z, S_LAYOUT)
                # release slot 1's late half before waiting for slot 0's: the producer refills them
                # in this order, and consumer 1's next Q K^T needs the former
                o = warpgroup_mma_wait(1, deps=[o])""",
     """                s = _qk_early(q_lo, kv_lo, bars, 0, ph ^ 1, z, z, S_LAYOUT)
                # release slot 1's late half before waiting for slot 0's: the producer refills them
                # in this order, and consumer 1's next Q K^T needs the former
                o = warpgroup_mma_wait(2, deps=[o])"""),
    ("""    for i in gl.static_range(_Q_FREE + 1, _NUM_BARS):
        mbarrier.init(bars.index(i), count=1)""",
     """    for i in gl.static_range(_Q_FREE + 1, _READY_EARLY_FIRST):
        mbarrier.init(bars.index(i), count=1)
    for i in gl.static_range(_READY_EARLY_FIRST, _READY_LATE_FIRST + 2):
        mbarrier.init(bars.index(i), count=128)
    for i in gl.static_range(_READY_LATE_FIRST + 2, _NUM_BARS):
        mbarrier.init(bars.index(i), count=1)"""),
    ("""            gather_tile_async(kv_lo.index(0), kv_base, row0, valid0, 0, 256, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY + 0))""",
     """            gather_tile_async(kv_lo.index(0).slice(0, 128, 1), kv_base, row0, valid0, 0, 128, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY_FIRST + 0))
            gather_tile_async(kv_lo.index(0).slice(128, 128, 1), kv_base, row0, valid0, 128, 128, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY + 0))"""),
    ("""            gather_tile_async(kv_hi.index(1), kv_base, row1, valid1, 256, 256, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY + 1))""",
     """            gather_tile_async(kv_hi.index(1).slice(0, 128, 1), kv_base, row1, valid1, 256, 128, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY_FIRST + 1))
            gather_tile_async(kv_hi.index(1).slice(128, 128, 1), kv_base, row1, valid1, 384, 128, cp_layout)
            arrive_when_copies_land(bars.index(_READY_EARLY + 1))"""),
    ("""            gather_tile_async(kv_hi.index(0), kv_base, row0, valid0, 256, 256, cp_layout)""",
     """            gather_tile_async(kv_hi.index(0).slice(0, 128, 1), kv_base, row0, valid0, 256, 128, cp_layout)
            arrive_when_copies_land(bars.index(_READY_LATE_FIRST + 0))
            gather_tile_async(kv_hi.index(0).slice(128, 128, 1), kv_base, row0, valid0, 384, 128, cp_layout)"""),
    ("""            gather_tile_async(kv_lo.index(1), kv_base, row1, valid1, 0, 256, cp_layout)""",
     """            gather_tile_async(kv_lo.index(1).slice(0, 128, 1), kv_base, row1, valid1, 0, 128, cp_layout)
            arrive_when_copies_land(bars.index(_READY_LATE_FIRST + 1))
            gather_tile_async(kv_lo.index(1).slice(128, 128, 1), kv_base, row1, valid1, 128, 128, cp_layout)"""),
]

VARIANTS = {"baseline": [], "c1_own_max": C1_OWN_MAX, "both_own_max": BOTH_OWN_MAX,
            "no_kv_gather": NO_KV_GATHER, "kv_gather_once": KV_GATHER_ONCE, "no_exp": NO_EXP,
            "no_early_gather": NO_EARLY_GATHER, "no_late_gather": NO_LATE_GATHER, "index_prefetch": INDEX_PREFETCH,
            "streaming_out": STREAMING_OUT, "c0_exchange_under_pv": C0_EXCHANGE_UNDER_PV,
            "producer8": PRODUCER8, "two_producers": TWO_PRODUCERS, "producer_only": PRODUCER_ONLY,
            "chunked_ready": CHUNKED_READY}
TIMING_ONLY = {"no_kv_gather", "kv_gather_once", "no_exp", "no_early_gather", "no_late_gather", "producer_only"}


def patched_source(name: str) -> str:
    text = Path(product.__file__).read_text()
    for old, new in VARIANTS[name]:
        if text.count(old) != 1:
            raise RuntimeError(f"variant {name}: a patch matches {text.count(old)} times (needs exactly 1):\n{old}")
        text = text.replace(old, new)
    return text


@functools.lru_cache(maxsize=None)
def load(name: str):
    """The variant's module (a file under the temp dir, so Gluon can read its source)."""
    text = patched_source(name)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"tle_ws_variant_{name}_{digest}.py"
    path.write_text(text)
    modname = f"tle.ops._ws_variant_{name}"  # inside tle.ops: its imports resolve as the product's do
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def variant_kernel(name: str):
    """Within: the launcher's warp-specialized kernel is the variant's."""
    kernel = load(name).sparse_mla_ws_kernel
    saved = sparse_mla_launch._ws_kernel
    sparse_mla_launch._ws_kernel = lambda: kernel
    try:
        yield kernel
    finally:
        sparse_mla_launch._ws_kernel = saved


def _launch(name, q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
    with variant_kernel(name):
        return sparse_mla_launch.launch_sparse_mla(q, kv, idx, sm_scale, d_v, attn_sink, topk_length, kernel="ws")


def baseline(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
    """The product kernel through the same launcher as the variants."""
    return _launch("baseline", q, kv, idx, sm_scale, d_v, attn_sink, topk_length)


def c1_own_max(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
    return _launch("c1_own_max", q, kv, idx, sm_scale, d_v, attn_sink, topk_length)


def both_own_max(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
    return _launch("both_own_max", q, kv, idx, sm_scale, d_v, attn_sink, topk_length)


def time_variants(s_kv: int, rounds: int, names=None) -> None:
    """GPU: every variant on one headline point (s_q 4096, h_q 128, topk 2048, d_qk 576), in
    interleaved rounds on fresh inputs; variants that compute the function are checked first."""
    import random
    import statistics

    import torch
    import triton.testing

    from tle.bench.suites import Point
    from tle.bench import sparse_mla as bench

    point = Point("probe", s_kv)
    chosen = ["baseline"] + [n for n in (names or VARIANTS) if n != "baseline"]
    times = {name: [] for name in chosen}
    for r in range(rounds):
        inp = bench.make_point_inputs(point, torch.bfloat16, seed=r)
        ref = bench.reference(inp) if r == 0 else None
        order = list(chosen)
        random.Random(r).shuffle(order)
        for name in order:
            def fn(name=name):
                return _launch(name, *inp.args())
            if ref is not None and name not in TIMING_ONLY:
                out = fn()[0].float()
                err = ((out - ref[0]).norm() / ref[0].norm()).item()
                assert err < 1e-2, f"{name}: rel error {err:.2e}"
            times[name].append(triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median"))
    base = times["baseline"]
    print(f"s_kv {s_kv}: median ms over {rounds} rounds, per-round ratio baseline / variant")
    for name, t in times.items():
        ratios = [b / x for b, x in zip(base, t)]
        print(f"  {name:<14} {statistics.median(t):7.3f} ms   {statistics.median(ratios):6.3f} "
              f"({min(ratios):.3f}-{max(ratios):.3f}){'   timing only' if name in TIMING_ONLY else ''}")


def ptxas_report(ptx_text: str, name: str) -> str:
    """ptxas -v for sm_90a on a kernel's PTX: exit code, registers, spills, WGMMA serialization."""
    import subprocess

    from tle.gluon import compat

    ptx = Path(tempfile.gettempdir()) / f"{name}.ptx"
    ptx.write_text(ptx_text)
    r = subprocess.run([compat.ptxas_path(90), "-v", "-arch=sm_90a", str(ptx), "-o", str(ptx.with_suffix(".o"))],
                       capture_output=True, text=True)
    report = [line.strip() for line in r.stderr.splitlines() if "spill" in line or "registers" in line
              or "serializ" in line]
    return f"rc {r.returncode}; " + " | ".join(report)


def main(argv=None) -> int:
    """CPU (default): compile every variant for sm_90 at the headline size; print ptxas' report.
    ``--time S_KV[,S_KV]`` (GPU): time them (:func:`time_variants`)."""
    import argparse

    import torch
    import triton
    from triton.backends.compiler import GPUTarget

    from tle.ops import kernel_source

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time", default=None, metavar="S_KV[,S_KV]")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--variants", default=None, metavar="NAME[,NAME]", help="default: all (baseline always)")
    args = p.parse_args(argv)
    names = args.variants.split(",") if args.variants else None
    unknown = set(names or ()) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    if args.time:
        for s_kv in args.time.split(","):
            time_variants(int(s_kv), args.rounds, names)
        return 0
    q = torch.empty(4096, 128, 576, dtype=torch.bfloat16, device="meta")
    kv = torch.empty(65536, 1, 576, dtype=torch.bfloat16, device="meta")
    idx = torch.empty(4096, 1, 2048, dtype=torch.int32, device="meta")
    for name in names or VARIANTS:
        with variant_kernel(name):
            src, options = kernel_source(q, kv, idx, 576 ** -0.5, kernel="ws")
        try:
            compiled = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=options)
        except Exception as e:  # a measured dead end (e.g. producer8) reports why instead of stopping the run
            fatal = [line.strip() for line in str(e).splitlines() if "fatal" in line or "error" in line.lower()]
            print(f"{name}: does not compile: {' | '.join(fatal[:2]) or type(e).__name__}")
            continue
        print(f"{name}: {ptxas_report(compiled.asm['ptx'], f'tle_ws_variant_{name}')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
