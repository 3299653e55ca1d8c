"""Where a kernel's warps wait: the stall samples of an ncu source page, summed per reason and per
instruction.

    ncu --set full -k regex:NAME -c 1 -o rep python benchmarks/profile_sparse_mla.py tle
    ncu -i rep.ncu-rep --page source --csv --print-source sass > sass.csv
    python benchmarks/ncu_stalls.py sass.csv [--top 30]

Prints the share of all samples per stall reason, then the instructions with the most samples
(address, SASS, samples, their top reasons): the per-instruction view that the ncu summary pages
leave out, in a form short enough to read back from the GPU machine.
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Address")
    header = rows[header_at]
    return header, [dict(zip(header, r)) for r in rows[header_at + 1:] if len(r) == len(header)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args(argv)
    header, rows = load(args.csv)
    reasons = [h for h in header if h.startswith("stall_") and not h.endswith("(Not Issued)")]
    num = lambda v: int(v.replace(",", "")) if v and v.replace(",", "").isdigit() else 0  # noqa: E731
    total = sum(num(r["Warp Stall Sampling (All Samples)"]) for r in rows) or 1
    by_reason = Counter({k: sum(num(r[k]) for r in rows) for k in reasons})
    print(f"# {args.csv}: {len(rows)} instructions, {total} samples")
    print("# samples per stall reason (% of all):")
    for k, v in by_reason.most_common():
        if v:
            print(f"  {k[6:]:<18} {100 * v / total:5.1f}%")
    print(f"# top {args.top} instructions by samples:")
    ranked = sorted(rows, key=lambda r: -num(r["Warp Stall Sampling (All Samples)"]))[:args.top]
    for r in ranked:
        s = num(r["Warp Stall Sampling (All Samples)"])
        top = sorted(((num(r[k]), k[6:]) for k in reasons), reverse=True)[:3]
        why = ", ".join(f"{n} {k}" for n, k in top if n)
        print(f"  {r['Address'][-5:]} {100 * s / total:5.1f}%  {r['Source'].strip()[:60]:<60}  {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
