"""Probe (timing only, wrong results by construction): the column-split sparse MLA design without
its cross-CTA exchange.

The design (docs/perf/LOG.md, 2026-12-01 fourth session): the two CTAs of a cluster share one
(token, 64-head block); CTA ``half`` holds columns [256 half, 256 half + 256) of Q and of every
gathered KV row plus 32 of the 64 RoPE columns, computes the partial S = Q K^T over those 288
columns, exchanges it with the other CTA (16 KB a block through distributed shared memory:
tle.gluon.cluster) and multiplies P by its 256 V columns. With the column split at the CTA level,
each CTA's two consumer warpgroups own alternate 64-row blocks with their own 64 x 256 output and
softmax state (no per-block coupling between them), and a ring slot is half a row wide, so 3-4
slots fit where the product kernel has 2.

This probe is that kernel *without* the exchange (each CTA's softmax runs on its partial S) and
without the final merge of the two warpgroups' outputs (only consumer 0 stores), at the headline
point with every index valid. Its time is what the design could reach if the exchange were
free: the go / no-go number before building it. Against the product kernel in the same process,
interleaved rounds on fresh inputs:

    python benchmarks/colsplit_probe.py --s-kv 8192,65536      # GPU
    python benchmarks/colsplit_probe.py --compile              # CPU: ptxas report
"""
from __future__ import annotations

import argparse
import statistics
import sys

from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import mbarrier, warpgroup_mma, warpgroup_mma_wait

from tle.gluon import arrive_when_copies_land, gather_tile_async, signal, wait_async_tile

S_LAYOUT = gl.constexpr(gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1], instr_shape=[16, 64, 16]))
O_LAYOUT = gl.constexpr(gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1], instr_shape=[16, 256, 16]))
P_OPERAND = gl.constexpr(gl.DotOperandLayout(operand_index=0, parent=O_LAYOUT.value, k_width=2))
S_ROWS = gl.constexpr(gl.SliceLayout(1, S_LAYOUT.value))
O_ROWS = gl.constexpr(gl.SliceLayout(1, O_LAYOUT.value))
BLOCKS = gl.constexpr(32)  # topk 2048 / 64
_READY = gl.constexpr(0)  # + slot
_FREE = gl.constexpr(8)  # + slot
_Q_READY = gl.constexpr(16)
_Q_FREE = gl.constexpr(17)


@gluon.jit
def _tile(tile):
    half = tile % 2
    hb = (tile // 2) % 2
    tok = (tile // 4).to(gl.int64)
    return half, hb, tok


@gluon.jit
def _consumer(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh,
              C: gl.constexpr, NS: gl.constexpr):
    g0 = 0
    k = 0
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        half, hb, tok = _tile(tile)
        m = gl.full([64], float("-inf"), gl.float32, S_ROWS)
        l = gl.zeros([64], gl.float32, S_ROWS)
        o = gl.zeros([64, 256], gl.float32, O_LAYOUT)
        wait_async_tile(bars.index(_Q_READY), k & 1)
        for jj in range(BLOCKS // 2):
            g = g0 + 2 * jj + C
            slot = g % NS
            wait_async_tile(bars.index(_READY + slot), (g // NS) & 1)
            s = warpgroup_mma(q_main, kv_main.index(slot).permute((1, 0)), gl.zeros([64, 64], gl.float32, S_LAYOUT),
                              use_acc=False, is_async=True)
            s = warpgroup_mma(q_rope, kv_rope.index(slot).permute((1, 0)), s, is_async=True)
            s = warpgroup_mma_wait(0, deps=[s])
            if jj == BLOCKS // 2 - 1:
                signal(bars.index(_Q_FREE))
            sc = s * qk_scale_log2
            m_new = gl.maximum(m, gl.max(sc, 1))
            alpha = gl.exp2(m - m_new)
            p = gl.exp2(sc - m_new[:, None])
            l = l * alpha + gl.sum(p, 1)
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
            o = warpgroup_mma(gl.convert_layout(p.to(gl.bfloat16), P_OPERAND), kv_main.index(slot), o, is_async=True)
            o = warpgroup_mma_wait(0, deps=[o])
            signal(bars.index(_FREE + slot))
            m = m_new
        if C == 0:  # the design merges both warpgroups' outputs here; the probe stores one
            row_l: gl.constexpr = gl.SliceLayout(1, O_LAYOUT)
            col_l: gl.constexpr = gl.SliceLayout(0, O_LAYOUT)
            heads = hb * 64 + gl.arange(0, 64, layout=row_l)
            cols = half * 256 + gl.arange(0, 256, layout=col_l)
            out = o * (1.0 / gl.convert_layout(l, row_l))[:, None]
            gl.store(out_ptr + tok * stride_os + heads[:, None] * stride_oh + cols[None, :], out.to(gl.bfloat16))
        g0 += BLOCKS
        k += 1


@gluon.jit
def _consumer0(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh,
               NS: gl.constexpr):
    _consumer(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh, 0, NS)


@gluon.jit
def _consumer1(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh,
               NS: gl.constexpr):
    _consumer(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh, 1, NS)


@gluon.jit
def _producer(q_main, q_rope, kv_main, kv_rope, bars, q_ptr, kv_ptr, idx_ptr, num_tiles,
              stride_qs, stride_qh, stride_kvs, stride_is, NS: gl.constexpr, ROPE: gl.constexpr):
    main_l: gl.constexpr = gl.BlockedLayout([1, 8], [4, 8], [4, 1], [1, 0])  # 16 rows x 64 columns a pass
    # 32 rows x 32 columns a pass, or 16 x 64
    rope_l: gl.constexpr = gl.BlockedLayout([1, 8], [32 * 8 // ROPE, ROPE // 8], [4, 1], [1, 0])
    main_rows: gl.constexpr = gl.SliceLayout(1, main_l)
    rope_rows: gl.constexpr = gl.SliceLayout(1, rope_l)
    all_main = gl.arange(0, 64, layout=main_rows) >= 0
    all_rope = gl.arange(0, 64, layout=rope_rows) >= 0
    g = 0
    k = 0
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        half, hb, tok = _tile(tile)
        if k > 0:
            mbarrier.wait(bars.index(_Q_FREE), (k - 1) & 1)
        q_base = q_ptr + tok * stride_qs
        gather_tile_async(q_main, q_base, (hb * 64 + gl.arange(0, 64, layout=main_rows)) * stride_qh, all_main,
                          half * 256, 256, main_l)
        gather_tile_async(q_rope, q_base, (hb * 64 + gl.arange(0, 64, layout=rope_rows)) * stride_qh, all_rope,
                          512 + half * (64 - ROPE), ROPE, rope_l)
        arrive_when_copies_land(bars.index(_Q_READY))
        idx_row = idx_ptr + tok * stride_is
        for j in range(BLOCKS):
            slot = g % NS
            idx = gl.load(idx_row + j * 64 + gl.arange(0, 64, layout=main_rows))
            row = idx * stride_kvs
            if g >= NS:
                mbarrier.wait(bars.index(_FREE + slot), ((g // NS) & 1) ^ 1)
            gather_tile_async(kv_main.index(slot), kv_ptr, row, all_main, half * 256, 256, main_l)
            gather_tile_async(kv_rope.index(slot), kv_ptr, gl.convert_layout(row, rope_rows), all_rope,
                              512 + half * (64 - ROPE), ROPE, rope_l)
            arrive_when_copies_land(bars.index(_READY + slot))
            g += 1
        k += 1


@gluon.jit
def colsplit_probe_kernel(q_ptr, kv_ptr, idx_ptr, out_ptr, num_tiles, qk_scale_log2,
                          stride_qs, stride_qh, stride_kvs, stride_is, stride_os, stride_oh, NS: gl.constexpr,
                          ROPE: gl.constexpr):
    smem: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)
    smem_rope: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=2 * ROPE, element_bitwidth=16, rank=2)
    q_main = gl.allocate_shared_memory(gl.bfloat16, [64, 256], smem)
    q_rope = gl.allocate_shared_memory(gl.bfloat16, [64, ROPE], smem_rope)
    kv_main = gl.allocate_shared_memory(gl.bfloat16, [NS, 64, 256], smem)
    kv_rope = gl.allocate_shared_memory(gl.bfloat16, [NS, 64, ROPE], smem_rope)
    bars = gl.allocate_shared_memory(gl.int64, [18, 1], mbarrier.MBarrierLayout())
    for i in gl.static_range(NS):
        mbarrier.init(bars.index(_READY + i), count=128)
        mbarrier.init(bars.index(_FREE + i), count=1)
    mbarrier.init(bars.index(_Q_READY), count=128)
    mbarrier.init(bars.index(_Q_FREE), count=2)
    gl.warp_specialize([
        (_consumer0, (q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                      stride_oh, NS)),
        (_consumer1, (q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                      stride_oh, NS)),
        (_producer, (q_main, q_rope, kv_main, kv_rope, bars, q_ptr, kv_ptr, idx_ptr, num_tiles,
                     stride_qs, stride_qh, stride_kvs, stride_is, NS, ROPE)),
    ], [4, 4], [200, 72])


def _launch(q, kv, idx, out, ns, grid, rope=32):
    s_q = q.shape[0]
    return colsplit_probe_kernel[(grid,)](
        q, kv, idx, out, s_q * 4, (576 ** -0.5) * 1.4426950408889634,
        q.stride(0), q.stride(1), kv.stride(0), idx.stride(0), out.stride(0), out.stride(1), NS=ns, ROPE=rope,
        num_warps=4)


def _compile_report(ns_list):
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.experimental.gluon._runtime import GluonASTSource

    from benchmarks.ws_variants import ptxas_report

    names = colsplit_probe_kernel.arg_names
    sig = {n: "i32" for n in names}
    sig.update(q_ptr="*bf16", kv_ptr="*bf16", idx_ptr="*i32", out_ptr="*bf16", qk_scale_log2="fp32", NS="constexpr",
               ROPE="constexpr")
    attrs = {(names.index(n),): [["tt.divisibility", 16]] for n in names if n.endswith("ptr") or n.startswith("stride")}
    for ns, rope in [(ns, 32) for ns in ns_list] + [(ns_list[0], 64)]:
        src = GluonASTSource(colsplit_probe_kernel, sig, {(names.index("NS"),): ns, (names.index("ROPE"),): rope},
                             attrs)
        c = triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": 4})
        report = ptxas_report(c.asm["ptx"], f"colsplit_probe_{ns}_{rope}")
        print(f"NS={ns} ROPE={rope}: shared {c.metadata.shared} B; {report}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--s-kv", default="8192,65536")
    p.add_argument("--slots", default="3,4")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--compile", action="store_true", help="CPU: compile for sm_90 and print ptxas' report")
    p.add_argument("--profile", action="store_true", help="GPU: one launch of each kernel per s_kv, for ncu")
    args = p.parse_args(argv)
    ns_list = [int(x) for x in args.slots.split(",")]
    if args.compile:
        _compile_report(ns_list)
        return 0
    import random

    import torch
    import triton.testing

    from tle.bench import sparse_mla as bench
    from tle.bench.suites import Point
    from tle.ops import sparse_mla_launch

    grid = torch.cuda.get_device_properties(0).multi_processor_count
    if args.profile:  # compile first (a launch each), then the launches ncu is meant to see
        for s_kv in (int(x) for x in args.s_kv.split(",")):
            inp = bench.make_point_inputs(Point("probe", s_kv), torch.bfloat16, seed=0)
            q3, kv, idx = inp.args()[:3]
            out = torch.empty(q3.shape[0], q3.shape[1], 512, dtype=torch.bfloat16, device="cuda")
            for _ in range(2):
                sparse_mla_launch.launch_sparse_mla(*inp.args(), kernel="ws")
                for ns in ns_list:
                    _launch(q3, kv[:, 0], idx[:, 0], out, ns, grid)
                _launch(q3, kv[:, 0], idx[:, 0], out, ns_list[0], grid, rope=64)
            torch.cuda.synchronize()
        return 0
    for s_kv in (int(x) for x in args.s_kv.split(",")):
        names = ["product"] + [f"colsplit_ns{ns}" for ns in ns_list] + [f"colsplit_ns{ns_list[0]}_rope64"]
        times = {n: [] for n in names}
        for r in range(args.rounds):
            inp = bench.make_point_inputs(Point("probe", s_kv), torch.bfloat16, seed=r)
            q3, kv, idx = inp.args()[:3]  # [s_q, h_q, 576], [s_kv, 1, 576], [s_q, 1, topk]
            kv2, idx2 = kv[:, 0], idx[:, 0]
            out = torch.empty(q3.shape[0], q3.shape[1], 512, dtype=torch.bfloat16, device="cuda")
            fns = {"product": lambda: sparse_mla_launch.launch_sparse_mla(*inp.args(), kernel="ws")}
            for ns in ns_list:
                fns[f"colsplit_ns{ns}"] = lambda ns=ns: _launch(q3, kv2, idx2, out, ns, grid)
            # both CTAs gather the whole 128-byte RoPE line (no half lines): the 64K question
            fns[f"colsplit_ns{ns_list[0]}_rope64"] = lambda: _launch(q3, kv2, idx2, out, ns_list[0], grid, rope=64)
            order = list(names)
            random.Random(r).shuffle(order)
            for n in order:
                times[n].append(triton.testing.do_bench(fns[n], warmup=10, rep=100, return_mode="median"))
        base = times["product"]
        print(f"s_kv {s_kv}: median ms over {args.rounds} rounds; per-round ratio product / probe")
        for n, t in times.items():
            ratios = [b / x for b, x in zip(base, t)]
            print(f"  {n:<14} {statistics.median(t):7.3f} ms   {statistics.median(ratios):6.3f} "
                  f"({min(ratios):.3f}-{max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
