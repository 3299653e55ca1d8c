"""Launch one sparse MLA provider a few times on one point, for a profiler (ncu) to capture:

    python benchmarks/profile_sparse_mla.py tle [--s-kv 8192] [--h-q 128] [--attn-sink] [--ragged 512,2048]
    python benchmarks/profile_sparse_mla.py flashmla --flashmla-src .flashmla/flash_mla_sm90_src.so

Providers and inputs are the benchmark's (tle.bench.sparse_mla): indices in indexer order, the
provider checked against the reference once before the profiled launches.
"""
from __future__ import annotations

import argparse

import torch

from tle.bench import sparse_mla as bench
from tle.bench.suites import Point


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("provider")
    p.add_argument("--s-kv", type=int, default=8192)
    p.add_argument("--s-q", type=int, default=4096)
    p.add_argument("--h-q", type=int, default=128)
    p.add_argument("--d-qk", type=int, default=576)
    p.add_argument("--attn-sink", action="store_true")
    p.add_argument("--ragged", type=bench._range, default=None, metavar="LO,HI")
    p.add_argument("--launches", type=int, default=3)
    p.add_argument("--flashmla-src", default=None)
    p.add_argument("--flashmla-lib", default=None)
    args = p.parse_args(argv)
    point = Point("profile", args.s_kv, s_q=args.s_q, h_q=args.h_q, d_qk=args.d_qk, attn_sink=args.attn_sink,
                  ragged=args.ragged)
    prov = bench.make_provider(args.provider, None, args.flashmla_lib, args.flashmla_src)
    why = prov.supports(point)
    if why:
        raise SystemExit(f"{prov.name} cannot run {point.label}: {why}")
    inp = bench.make_point_inputs(point, torch.bfloat16, seed=0)
    with prov.context():
        bench.check(prov, prov.fn(*inp.args()), bench.reference(inp))
        for _ in range(args.launches):
            prov.fn(*inp.args())
        torch.cuda.synchronize()
    print("done", prov.name, point.label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
