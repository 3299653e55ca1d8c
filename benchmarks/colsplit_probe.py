"""Probe (timing only, wrong results by construction): sparse MLA with the output columns split
between the two CTAs of a pair, without the cross-CTA exchange of the partial scores.

The designs (docs/perf/LOG.md, fourth and fifth sessions of 2026-12-01): CTA ``half`` holds
columns [256 half, 256 half + 256) of Q and of every gathered KV row plus RoPE columns (``ROPE``
64: the whole 128-byte line, 32: half of it), computes the partial S = Q K^T over them, would
exchange it with the other CTA (16 KB a block and warpgroup through distributed shared memory:
tle.gluon.cluster) and multiplies P by its 256 V columns. Two ways to give the CTA's two consumer
warpgroups independent work:

* ``HP`` 64 (``cs64_*``): the pair serves one 64-head block; the warpgroups own alternate 64-row
  blocks with their own output and softmax state (the design would merge them at the end).
* ``HP`` 128 (``hp128*``): the pair serves all 128 heads of a token; warpgroup ``C`` owns heads
  [64 C, 64 C + 64) and reads every ring slot, so each row is gathered once for both head blocks
  (half the bytes of ``HP`` 64). Consumer schedules: 0 plain, 1 ping-pong (the tensor-core turn
  passes between the warpgroups at every WGMMA issue), 2 intra-warpgroup overlap (block j's
  Q K^T and block j-1's P V issued together, the softmax under P V).

``GATHER`` 0 leaves the KV copies out (the consumers' ceiling), 2 keeps only the ring's first
fill (the same ceiling on real rows: tensor-core power, and so the clock, depends on the data).
Every warpgroup stores its output: a warpgroup whose output is never stored is dead code to
ptxas, which is how the first version of this probe timed a kernel without consumer 1's math
(``--compile`` prints the SASS WGMMA count of each variant as the guard). Against the product kernel in the same process,
interleaved rounds on fresh inputs, at the headline point with every index valid:

    python benchmarks/colsplit_probe.py --s-kv 8192,65536 [--variants a,b]   # GPU
    python benchmarks/colsplit_probe.py --compile                           # CPU: ptxas, WGMMAs
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import mbarrier, warpgroup_mma, warpgroup_mma_wait

from tle.gluon import (arrive_when_copies_land, gather_tile_async, named_barrier_arrive, named_barrier_sync, signal,
                       wait_async_tile)

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
# HP 128 with ping-pong: the tensor-core turn passes between the two consumer warpgroups at every
# WGMMA issue (named barriers, from the top of the 16 like the product's)
_TURN = gl.constexpr(14)  # + warpgroup: its turn to issue


@gluon.jit
def _tile(tile, HP: gl.constexpr):
    # HP 64: a tile is (token, 64-head block, column half); HP 128: (token, column half) and the
    # consumer warpgroup is the head block
    half = tile % 2
    if HP == 64:
        hb = (tile // 2) % 2
        tok = (tile // 4).to(gl.int64)
    else:
        hb = 0
        tok = (tile // 2).to(gl.int64)
    return half, hb, tok


@gluon.jit
def _qk(q_main, q_rope, kv_main, kv_rope, slot, QI: gl.constexpr):
    """Issue S = Q K^T of the block in ``slot`` for Q head block ``QI`` (async)."""
    s = warpgroup_mma(q_main.index(QI), kv_main.index(slot).permute((1, 0)),
                      gl.zeros([64, 64], gl.float32, S_LAYOUT), use_acc=False, is_async=True)
    return warpgroup_mma(q_rope.index(QI), kv_rope.index(slot).permute((1, 0)), s, is_async=True)


@gluon.jit
def _softmax(s, m, l, qk_scale_log2):
    """Online softmax of one block: P as the P V WGMMA's register operand, the new max and row
    sum, and the factor that rescales O."""
    sc = s * qk_scale_log2
    m_new = gl.maximum(m, gl.max(sc, 1))
    alpha = gl.exp2(m - m_new)
    p = gl.exp2(sc - m_new[:, None])
    l = l * alpha + gl.sum(p, 1)
    return gl.convert_layout(p.to(gl.bfloat16), P_OPERAND), m_new, l, alpha


@gluon.jit
def _store(o, l, out_ptr, tok, hb, half, stride_os, stride_oh):
    # Every warpgroup stores (HP 64: both to the same place, where the design would merge the two
    # partial outputs). A warpgroup whose output is never stored is dead code to the compiler:
    # the first version of this probe stored consumer 0's only and timed a kernel without
    # consumer 1's math (docs/perf/LOG.md, fifth session).
    row_l: gl.constexpr = gl.SliceLayout(1, O_LAYOUT)
    col_l: gl.constexpr = gl.SliceLayout(0, O_LAYOUT)
    heads = hb * 64 + gl.arange(0, 64, layout=row_l)
    cols = half * 256 + gl.arange(0, 256, layout=col_l)
    out = o * (1.0 / gl.convert_layout(l, row_l))[:, None]
    gl.store(out_ptr + tok * stride_os + heads[:, None] * stride_oh + cols[None, :], out.to(gl.bfloat16))


@gluon.jit
def _consumer(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh,
              C: gl.constexpr, NS: gl.constexpr, HP: gl.constexpr, PP: gl.constexpr):
    STEP: gl.constexpr = 128 // HP  # HP 64: the warpgroups own alternate blocks; 128: every block
    QI: gl.constexpr = C * (2 - STEP)  # the warpgroup's Q head block (HP 128) or the only one
    g0 = 0
    k = 0
    if PP == 1 and C == 1:
        named_barrier_arrive(_TURN, 256)  # consumer 0 issues first
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        half, hb, tok = _tile(tile, HP)
        if HP == 128:
            hb = C
        m = gl.full([64], float("-inf"), gl.float32, S_ROWS)
        l = gl.zeros([64], gl.float32, S_ROWS)
        o = gl.zeros([64, 256], gl.float32, O_LAYOUT)
        wait_async_tile(bars.index(_Q_READY), k & 1)
        for jj in range(BLOCKS // STEP):
            g = g0 + STEP * jj + C * (STEP - 1)
            slot = g % NS
            wait_async_tile(bars.index(_READY + slot), (g // NS) & 1)
            if PP == 1:
                named_barrier_sync(_TURN + C, 256)
            s = _qk(q_main, q_rope, kv_main, kv_rope, slot, QI)
            if PP == 1:
                named_barrier_arrive(_TURN + 1 - C, 256)
            s = warpgroup_mma_wait(0, deps=[s])
            if jj == BLOCKS // STEP - 1:
                signal(bars.index(_Q_FREE))
            p_op, m, l, alpha = _softmax(s, m, l, qk_scale_log2)
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
            if PP == 1:
                named_barrier_sync(_TURN + C, 256)
            o = warpgroup_mma(p_op, kv_main.index(slot), o, is_async=True)
            if PP == 1:
                named_barrier_arrive(_TURN + 1 - C, 256)
            o = warpgroup_mma_wait(0, deps=[o])
            signal(bars.index(_FREE + slot))
        _store(o, l, out_ptr, tok, hb, half, stride_os, stride_oh)
        g0 += BLOCKS
        k += 1
    if PP == 1 and C == 0:
        named_barrier_sync(_TURN, 256)  # consumer 1's last hand-over: no arrive left pending at exit


@gluon.jit
def _consumer_pipelined(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                        stride_oh, C: gl.constexpr, NS: gl.constexpr):
    """HP 128 with FA3's intra-warpgroup overlap: block j's Q K^T and block j-1's P V are issued
    together, and block j's softmax runs while P V is on the tensor core; O is rescaled only
    after every WGMMA has retired (ptxas serializes WGMMAs otherwise)."""
    g0 = 0
    k = 0
    for tile in range(gl.program_id(0), num_tiles, gl.num_programs(0)):
        half, hb, tok = _tile(tile, 128)
        m = gl.full([64], float("-inf"), gl.float32, S_ROWS)
        l = gl.zeros([64], gl.float32, S_ROWS)
        o = gl.zeros([64, 256], gl.float32, O_LAYOUT)
        wait_async_tile(bars.index(_Q_READY), k & 1)
        wait_async_tile(bars.index(_READY + g0 % NS), (g0 // NS) & 1)
        s = warpgroup_mma_wait(0, deps=[_qk(q_main, q_rope, kv_main, kv_rope, g0 % NS, C)])
        p, m, l, alpha = _softmax(s, m, l, qk_scale_log2)
        for jj in range(1, BLOCKS):
            g = g0 + jj
            wait_async_tile(bars.index(_READY + g % NS), (g // NS) & 1)
            s = _qk(q_main, q_rope, kv_main, kv_rope, g % NS, C)
            o = warpgroup_mma(p, kv_main.index((g - 1) % NS), o, is_async=True)
            s = warpgroup_mma_wait(1, deps=[s])  # Q K^T of block j retired; P V of block j-1 runs on
            if jj == BLOCKS - 1:
                signal(bars.index(_Q_FREE))
            p, m, l, alpha = _softmax(s, m, l, qk_scale_log2)
            o = warpgroup_mma_wait(0, deps=[o])
            signal(bars.index(_FREE + (g - 1) % NS))
            o = o * gl.convert_layout(alpha, O_ROWS)[:, None]
        g = g0 + BLOCKS - 1
        o = warpgroup_mma(p, kv_main.index(g % NS), o, is_async=True)
        o = warpgroup_mma_wait(0, deps=[o])
        signal(bars.index(_FREE + g % NS))
        _store(o, l, out_ptr, tok, C, half, stride_os, stride_oh)
        g0 += BLOCKS
        k += 1


@gluon.jit
def _consumer_schedule(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                       stride_oh, C: gl.constexpr, NS: gl.constexpr, HP: gl.constexpr, PP: gl.constexpr):
    if PP == 2:
        _consumer_pipelined(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                            stride_oh, C, NS)
    else:
        _consumer(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh, C,
                  NS, HP, PP)


@gluon.jit
def _consumer0(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh,
               NS: gl.constexpr, HP: gl.constexpr, PP: gl.constexpr):
    _consumer_schedule(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                       stride_oh, 0, NS, HP, PP)


@gluon.jit
def _consumer1(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os, stride_oh,
               NS: gl.constexpr, HP: gl.constexpr, PP: gl.constexpr):
    _consumer_schedule(q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                       stride_oh, 1, NS, HP, PP)


@gluon.jit
def _producer(q_main, q_rope, kv_main, kv_rope, bars, q_ptr, kv_ptr, idx_ptr, num_tiles,
              stride_qs, stride_qh, stride_kvs, stride_is, NS: gl.constexpr, ROPE: gl.constexpr, HP: gl.constexpr,
              GATHER: gl.constexpr):
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
        half, hb, tok = _tile(tile, HP)
        if k > 0:
            mbarrier.wait(bars.index(_Q_FREE), (k - 1) & 1)
        q_base = q_ptr + tok * stride_qs
        for qi in gl.static_range(HP // 64):
            h0 = (hb + qi) * 64
            gather_tile_async(q_main.index(qi), q_base, (h0 + gl.arange(0, 64, layout=main_rows)) * stride_qh,
                              all_main, half * 256, 256, main_l)
            gather_tile_async(q_rope.index(qi), q_base, (h0 + gl.arange(0, 64, layout=rope_rows)) * stride_qh,
                              all_rope, 512 + half * (64 - ROPE), ROPE, rope_l)
        arrive_when_copies_land(bars.index(_Q_READY))
        idx_row = idx_ptr + tok * stride_is
        for j in range(BLOCKS):
            slot = g % NS
            idx = gl.load(idx_row + j * 64 + gl.arange(0, 64, layout=main_rows))
            row = idx * stride_kvs
            if g >= NS:
                mbarrier.wait(bars.index(_FREE + slot), ((g // NS) & 1) ^ 1)
            # GATHER 0: no copies (the consumers' ceiling on whatever the slots held before); 2: only
            # the ring's first fill, so the WGMMAs run on real rows (tensor-core power depends on data)
            if GATHER == 1 or (GATHER == 2 and g < NS):
                gather_tile_async(kv_main.index(slot), kv_ptr, row, all_main, half * 256, 256, main_l)
                gather_tile_async(kv_rope.index(slot), kv_ptr, gl.convert_layout(row, rope_rows), all_rope,
                                  512 + half * (64 - ROPE), ROPE, rope_l)
            arrive_when_copies_land(bars.index(_READY + slot))
            g += 1
        k += 1


@gluon.jit
def colsplit_probe_kernel(q_ptr, kv_ptr, idx_ptr, out_ptr, num_tiles, qk_scale_log2,
                          stride_qs, stride_qh, stride_kvs, stride_is, stride_os, stride_oh, NS: gl.constexpr,
                          ROPE: gl.constexpr, HP: gl.constexpr, GATHER: gl.constexpr, PP: gl.constexpr):
    smem: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)
    smem_rope: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=2 * ROPE, element_bitwidth=16, rank=2)
    q_main = gl.allocate_shared_memory(gl.bfloat16, [HP // 64, 64, 256], smem)
    q_rope = gl.allocate_shared_memory(gl.bfloat16, [HP // 64, 64, ROPE], smem_rope)
    kv_main = gl.allocate_shared_memory(gl.bfloat16, [NS, 64, 256], smem)
    kv_rope = gl.allocate_shared_memory(gl.bfloat16, [NS, 64, ROPE], smem_rope)
    bars = gl.allocate_shared_memory(gl.int64, [18, 1], mbarrier.MBarrierLayout())
    # consumer 1 spills at 200 registers once its math is live; the default partition gets the rest
    CONSUMER1_REGS: gl.constexpr = 216
    PRODUCER_REGS: gl.constexpr = 80
    for i in gl.static_range(NS):
        mbarrier.init(bars.index(_READY + i), count=128)
        mbarrier.init(bars.index(_FREE + i), count=HP // 64)  # HP 128: both warpgroups read every slot
    mbarrier.init(bars.index(_Q_READY), count=128)
    mbarrier.init(bars.index(_Q_FREE), count=2)
    gl.warp_specialize([
        (_consumer0, (q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                      stride_oh, NS, HP, PP)),
        (_consumer1, (q_main, q_rope, kv_main, kv_rope, bars, out_ptr, num_tiles, qk_scale_log2, stride_os,
                      stride_oh, NS, HP, PP)),
        (_producer, (q_main, q_rope, kv_main, kv_rope, bars, q_ptr, kv_ptr, idx_ptr, num_tiles,
                     stride_qs, stride_qh, stride_kvs, stride_is, NS, ROPE, HP, GATHER)),
    ], [4, 4], [CONSUMER1_REGS, PRODUCER_REGS])


def _launch(q, kv, idx, out, ns, grid, rope=32, hp=64, gather=True, pp=0):
    s_q = q.shape[0]
    return colsplit_probe_kernel[(grid,)](
        q, kv, idx, out, s_q * 128 // hp * 2, (576 ** -0.5) * 1.4426950408889634,
        q.stride(0), q.stride(1), kv.stride(0), idx.stride(0), out.stride(0), out.stride(1), NS=ns, ROPE=rope,
        HP=hp, GATHER=gather, PP=pp, num_warps=4)


# name -> (slots, RoPE columns per CTA, heads per CTA, gather (0 / 1 / 2 = first fill), consumer schedule: 0 plain, 1 ping-pong
# between the warpgroups, 2 intra-warpgroup overlap (HP 128 only))
VARIANTS = {
    "cs64_ns3": (3, 32, 64, True, 0),
    "cs64_ns4": (4, 32, 64, True, 0),
    "cs64_ns3_rope64": (3, 64, 64, True, 0),
    "cs64_ns4_rope64": (4, 64, 64, True, 0),
    "cs64_ns3_rope64_nogather": (3, 64, 64, False, 0),
    "hp128_ns3_rope64": (3, 64, 128, True, 0),
    "hp128_ns3_rope64_nogather": (3, 64, 128, False, 0),
    "hp128pp_ns3_rope64": (3, 64, 128, True, 1),
    "hp128pp_ns3_rope64_nogather": (3, 64, 128, False, 1),
    "hp128pipe_ns3_rope64": (3, 64, 128, True, 2),
    "hp128pipe_ns3_rope64_nogather": (3, 64, 128, False, 2),
    "hp128pipe_ns3_rope64_gatheronce": (3, 64, 128, 2, 2),
    "hp128_ns3_rope64_gatheronce": (3, 64, 128, 2, 0),
}


def _compile_report(names):
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.experimental.gluon._runtime import GluonASTSource

    from benchmarks.ws_variants import ptxas_report

    args = colsplit_probe_kernel.arg_names
    sig = {n: "i32" for n in args}
    sig.update(q_ptr="*bf16", kv_ptr="*bf16", idx_ptr="*i32", out_ptr="*bf16", qk_scale_log2="fp32", NS="constexpr",
               ROPE="constexpr", HP="constexpr", GATHER="constexpr", PP="constexpr")
    attrs = {(args.index(n),): [["tt.divisibility", 16]] for n in args if n.endswith("ptr") or n.startswith("stride")}
    for name in names:
        ns, rope, hp, gather, pp = VARIANTS[name]
        consts = {(args.index("NS"),): ns, (args.index("ROPE"),): rope, (args.index("HP"),): hp,
                  (args.index("GATHER"),): gather, (args.index("PP"),): pp}
        c = triton.compile(GluonASTSource(colsplit_probe_kernel, sig, consts, attrs), target=GPUTarget("cuda", 90, 32),
                           options={"num_warps": 4})
        # the dead-code guard: every consumer's WGMMAs survive (2 x 20 for Q K^T, 2 x 4 for P V)
        with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
            f.write(c.asm["cubin"])
            f.flush()
            sass = subprocess.run([os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin",
                                                "nvdisasm"), "-c", f.name], capture_output=True, text=True).stdout
        wgmma = (sass.count("HGMMA.64x64x16.F32"), sass.count("HGMMA.64x256x16.F32"))
        print(f"{name}: shared {c.metadata.shared} B; SASS WGMMAs (Q K^T, P V) {wgmma}; "
              f"{ptxas_report(c.asm['ptx'], name)}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--s-kv", default="8192,65536")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--compile", action="store_true", help="CPU: compile for sm_90 and print ptxas' report")
    p.add_argument("--profile", action="store_true", help="GPU: one launch of each kernel per s_kv, for ncu")
    args = p.parse_args(argv)
    chosen = args.variants.split(",")
    if args.compile:
        _compile_report(chosen)
        return 0
    import random

    import torch
    import triton.testing

    from tle.bench import sparse_mla as bench
    from tle.bench.suites import Point
    from tle.ops import sparse_mla_launch

    grid = torch.cuda.get_device_properties(0).multi_processor_count

    def variant_fn(name, q3, kv2, idx2, out):
        ns, rope, hp, gather, pp = VARIANTS[name]
        return lambda: _launch(q3, kv2, idx2, out, ns, grid, rope=rope, hp=hp, gather=gather, pp=pp)

    if args.profile:  # compile first (a launch each), then the launches ncu is meant to see
        for s_kv in (int(x) for x in args.s_kv.split(",")):
            inp = bench.make_point_inputs(Point("probe", s_kv), torch.bfloat16, seed=0)
            q3, kv, idx = inp.args()[:3]
            out = torch.empty(q3.shape[0], q3.shape[1], 512, dtype=torch.bfloat16, device="cuda")
            for _ in range(2):
                sparse_mla_launch.launch_sparse_mla(*inp.args(), kernel="ws")
                for name in chosen:
                    variant_fn(name, q3, kv[:, 0], idx[:, 0], out)()
            torch.cuda.synchronize()
        return 0
    for s_kv in (int(x) for x in args.s_kv.split(",")):
        names = ["product"] + chosen
        times = {n: [] for n in names}
        for r in range(args.rounds):
            inp = bench.make_point_inputs(Point("probe", s_kv), torch.bfloat16, seed=r)
            q3, kv, idx = inp.args()[:3]  # [s_q, h_q, 576], [s_kv, 1, 576], [s_q, 1, topk]
            out = torch.empty(q3.shape[0], q3.shape[1], 512, dtype=torch.bfloat16, device="cuda")
            fns = {"product": lambda: sparse_mla_launch.launch_sparse_mla(*inp.args(), kernel="ws")}
            for name in chosen:
                fns[name] = variant_fn(name, q3, kv[:, 0], idx[:, 0], out)
            order = list(names)
            random.Random(r).shuffle(order)
            for n in order:
                times[n].append(triton.testing.do_bench(fns[n], warmup=10, rep=100, return_mode="median"))
        base = times["product"]
        print(f"s_kv {s_kv}: median ms over {args.rounds} rounds; per-round ratio product / probe")
        for n, t in times.items():
            ratios = [b / x for b, x in zip(base, t)]
            print(f"  {n:<26} {statistics.median(t):7.3f} ms   {statistics.median(ratios):6.3f} "
                  f"({min(ratios):.3f}-{max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
