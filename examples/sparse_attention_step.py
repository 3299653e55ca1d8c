"""A DeepSeek-V3.2-style sparse attention step on TLE's op, compiled and replayed in a CUDA graph.

One prefill chunk of ``s_q`` query tokens at the end of an ``s_kv``-token context:

1. the indexer scores every (query, context token) pair, ``score = sum_j w_j * relu(q_j . k)`` over
   its ``index_heads`` small heads, with causal masking, and keeps each query's ``topk`` best
   tokens (``torch.topk`` order; tokens a query cannot see become index -1);
2. sparse MLA attends to exactly those rows of the latent KV cache: ``tle.ops.sparse_mla_fwd``
   (a registered torch op, so ``torch.compile(fullgraph=True)`` keeps the whole step in one graph).

The compiled step is captured once in a CUDA graph and replayed; its time is printed next to the
same step with FlashMLA's kernel (the indexer compiled, FlashMLA called eagerly: it is not a
torch op), when ``TLE_FLASHMLA_LIB`` names FlashMLA's SM90 library. Needs a Hopper GPU.

    python examples/sparse_attention_step.py [--s-q 1024 --s-kv 16384 --h-q 128 --topk 2048]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))  # run from a checkout

import tle  # noqa: E402,F401  (enables TLE's compiler passes)
from tle.ops import sparse_mla_fwd  # noqa: E402


def indexer_topk(q_index, k_index, weights, topk):
    """[s_q, 1, topk] int32 indices of each query's best context tokens (-1 where not visible)."""
    s_q, heads, d = q_index.shape
    s_kv = k_index.shape[0]
    logits = (q_index.reshape(s_q * heads, d) @ k_index.T).view(s_q, heads, s_kv)
    scores = (logits.float().relu() * weights[:, :, None]).sum(1)  # [s_q, s_kv]
    pos = torch.arange(s_kv - s_q, s_kv, device=q_index.device)[:, None]  # the chunk ends the context
    scores = scores.masked_fill(torch.arange(s_kv, device=q_index.device)[None, :] > pos, float("-inf"))
    values, indices = scores.topk(topk, dim=-1)
    return torch.where(values == float("-inf"), -1, indices).to(torch.int32)[:, None, :]


def make_step(attention):
    def step(q, kv, q_index, k_index, weights, topk: int, sm_scale: float):
        indices = indexer_topk(q_index, k_index, weights, topk)
        out, _, lse = attention(q, kv, indices, sm_scale)
        return out, lse
    return step


def tle_attention(q, kv, indices, sm_scale):
    return sparse_mla_fwd(q, kv, indices, sm_scale)


def graph_ms(fn, replays=20):
    """Capture ``fn`` in a CUDA graph (after warm-up on a side stream) and time its replays."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        result = fn()
    graph.replay()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(replays):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2], result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--s-q", type=int, default=1024)
    p.add_argument("--s-kv", type=int, default=16384)
    p.add_argument("--h-q", type=int, default=128)
    p.add_argument("--topk", type=int, default=2048)
    p.add_argument("--index-heads", type=int, default=16)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("needs a CUDA GPU", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    dev, bf16 = "cuda", torch.bfloat16
    q = (torch.randn(args.s_q, args.h_q, 576, device=dev) / 10).to(bf16)
    kv = (torch.randn(args.s_kv, 1, 576, device=dev) / 10).to(bf16)
    q_index = torch.randn(args.s_q, args.index_heads, 128, device=dev).to(bf16)
    k_index = torch.randn(args.s_kv, 128, device=dev).to(bf16)
    weights = torch.rand(args.s_q, args.index_heads, device=dev) / args.index_heads
    inputs = (q, kv, q_index, k_index, weights, args.topk, 576 ** -0.5)

    step = torch.compile(make_step(tle_attention), fullgraph=True)
    ms, (out, lse) = graph_ms(lambda: step(*inputs))
    eager_out, _ = make_step(tle_attention)(*inputs)
    # Inductor may sum the indexer's scores in another order than eager: a near-tie can then pick
    # another token, so the check is a tolerance, not bit equality
    drift = ((out.float() - eager_out.float()).norm() / eager_out.float().norm()).item()
    assert drift < 1e-2, f"compiled + graph-replayed step differs from eager by {drift:.2e}"
    print(f"s_q {args.s_q}, s_kv {args.s_kv}, h_q {args.h_q}, topk {args.topk} (indexer: {args.index_heads} heads)")
    print(f"TLE       compiled + CUDA graph: {ms:8.3f} ms per step")

    lib = os.environ.get("TLE_FLASHMLA_LIB")
    if lib:
        spec = importlib.util.spec_from_file_location("flash_mla_sm90_src", lib)
        fm = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fm)
        index = torch.compile(indexer_topk, fullgraph=True)

        def flashmla_step():
            indices = index(q_index, k_index, weights, args.topk)
            out, _, lse = fm.sparse_prefill_fwd(q, kv, indices, 576 ** -0.5, 512, None, None)
            return out, lse

        fms, (fout, _) = graph_ms(flashmla_step)
        rel = ((out.float() - fout.float()).norm() / fout.float().norm()).item()
        print(f"FlashMLA  indexer compiled, graph: {fms:8.3f} ms per step   (TLE / FlashMLA time {ms / fms:.3f}; "
              f"outputs differ by {rel:.1e} relative)")
    else:
        print("(set TLE_FLASHMLA_LIB to FlashMLA's flash_mla_sm90_src.so to time the same step with FlashMLA)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
