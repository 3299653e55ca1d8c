"""Interleaved A/B timing of sparse MLA providers (for deciding between kernel variants).

    python benchmarks/ab_sparse_mla.py --s-kv 8192,65536 --rounds 7 \
        --providers tle,flashmla,benchmarks.sparse_mla_ws_variants:no_l2_prefetch

`python -m tle.bench sparse-mla` times each provider once, one after the other; on the H200 the
same kernel then moves by up to ~5% between runs (clocks, L2 state). Here every round times all
providers in a fresh random order on the same inputs, and the table reports the median over
rounds of each provider's do_bench median, with the spread (min-max over rounds) and the ratio
to the first provider. Outputs are checked once against each other before timing.
"""
from __future__ import annotations

import argparse
import random
import statistics

import torch
import triton

from tle.bench import sparse_mla as bench


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--s-kv", default="8192,65536,131072")
    p.add_argument("--providers", required=True)
    p.add_argument("--flashmla-lib", default=".flashmla/_flashmla_C.abi3.so")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--rep", type=float, default=100.0, help="do_bench measuring time per sample (ms)")
    p.add_argument("--s-q", type=int, default=4096)
    args = p.parse_args(argv)
    provs = [bench.make_provider(n.strip(), None, args.flashmla_lib) for n in args.providers.split(",") if n.strip()]
    sm_scale = 576 ** -0.5
    print(f"{'s_kv':>7} {'provider':<60} {'median ms':>9} {'min':>7} {'max':>7} {'TFLOPs':>7} {'vs first':>8}")
    for s_kv in [int(x) for x in args.s_kv.split(",")]:
        q, kv, idx = bench.make_inputs(args.s_q, 128, 2048, 576, s_kv, torch.bfloat16, seed=s_kv)
        first = None
        for prov in provs:
            with prov.context():
                res = bench._normalize_result(prov.fn(q, kv, idx, sm_scale, 512))
            if first is None:
                first = res
            else:
                rel = ((res[0].float() - first[0].float()).norm() / first[0].float().norm()).item()
                assert rel < 1e-2, f"{prov.name} disagrees with {provs[0].name}: {rel:.2e}"
        times = {prov.name: [] for prov in provs}
        rng = random.Random(s_kv)
        for _ in range(args.rounds):
            order = list(provs)
            rng.shuffle(order)
            for prov in order:
                with prov.context():
                    fn = lambda: prov.fn(q, kv, idx, sm_scale, 512)  # noqa: E731
                    times[prov.name].append(triton.testing.do_bench(fn, warmup=10, rep=args.rep,
                                                                    return_mode="median"))
        base = statistics.median(times[provs[0].name])
        for prov in provs:
            ts = times[prov.name]
            med = statistics.median(ts)
            tf = bench.tflops(args.s_q, 128, 2048, 576, 512, med)
            print(f"{s_kv:>7} {prov.name:<60} {med:>9.3f} {min(ts):>7.3f} {max(ts):>7.3f} {tf:>7.1f} "
                  f"{base / med:>8.3f}", flush=True)
        del q, kv, idx
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
