"""Results of ``tle-bench sparse-mla``: per-(point, provider) statistics, tables, CSV, JSON, a plot.

No torch here: a results JSON can be re-rendered (``--show``) on any machine.

A row is one (point, provider): the medians over rounds of ``do_bench`` medians (``ms``), the
extremes over rounds (``ms_min`` / ``ms_max``), the per-round times (``rounds_ms``, aligned across
providers: round r of every provider ran on the same inputs), and ``vs_X = time(X) / time(this)``
(> 1: this provider is faster than X) from the medians, with the extremes of the per-round ratio.
"""
from __future__ import annotations

import csv
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Iterable, Optional, Sequence

#: Providers the ratio columns compare against (when they ran).
RATIO_BASES = ("flashmla", "flashmla_vllm", "triton", "tle_pad64")
#: The provider the summary table is about, and the anchor it is held against.
FOCUS, ANCHOR = "tle", "flashmla"
GOAL = 1.15  # issue 12: TLE >= 1.15x the source-built FlashMLA at every point

CSV_COLUMNS = ["s_kv", "provider", "config", "ms", "tflops", "kernel", "ms_min", "ms_max", "rounds", "first_call_ms",
               "vs_flashmla", "vs_flashmla_vllm", "vs_triton", "vs_tle_pad64", "out_rel_err", "lse_max_abs_err",
               "max_logits_max_abs_err", "point", "group", "s_q", "h_q", "topk", "d_qk", "attn_sink", "ragged",
               "order", "status"]


def median(xs: Sequence[float]) -> Optional[float]:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.median(xs) if xs else None


def add_ratios(rows: list, bases: Iterable[str] = RATIO_BASES) -> None:
    """Fill vs_X (ratio of medians) and vs_X_min / vs_X_max (extremes of the per-round ratio) for
    every row of the same point as an ``ok`` row of provider X."""
    by_point: dict = {}
    for r in rows:
        by_point.setdefault(r["point"], {})[r["provider"]] = r
    for group in by_point.values():
        for base in bases:
            b = group.get(base)
            if not b or b.get("status") != "ok" or not b.get("ms"):
                continue
            for r in group.values():
                if r.get("status") != "ok" or not r.get("ms"):
                    continue
                r[f"vs_{base}"] = b["ms"] / r["ms"]
                per_round = [tb / t for tb, t in zip(b.get("rounds_ms") or [], r.get("rounds_ms") or [])
                             if tb and t]
                if per_round:
                    r[f"vs_{base}_min"], r[f"vs_{base}_max"] = min(per_round), max(per_round)


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def format_table(header: list, body: list, right: Iterable[int]) -> str:
    right = set(right)
    table = [header] + body
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for j, row in enumerate(table):
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def detail_table(rows: list, baseline: Optional[str] = None) -> str:
    """One line per (point, provider)."""
    col = f"vs {baseline}" if baseline else "vs -"
    header = ["point", "provider", "median ms", "min", "max", "TFLOPs", "first call ms", "out rel err", col,
              "status"]
    body = []
    for r in rows:
        body.append([r["point"], r["provider"], _fmt(r.get("ms"), ".3f"), _fmt(r.get("ms_min"), ".3f"),
                     _fmt(r.get("ms_max"), ".3f"), _fmt(r.get("tflops"), ".1f"), _fmt(r.get("first_call_ms"), ".0f"),
                     _fmt(r.get("out_rel_err"), ".2e"),
                     _fmt(r.get(f"vs_{baseline}") if baseline else None, ".3f"), r["status"]])
    return format_table(header, body, right=range(2, 9))


def _points_in_order(rows: list) -> list:
    seen = []
    for r in rows:
        if r["point"] not in seen:
            seen.append(r["point"])
    return seen


def summary_table(rows: list) -> str:
    """One line per point: TLE's time against the source-built FlashMLA, the vllm copy, the plain
    kernel (TLE's passes on and off) and, for head counts FlashMLA pads, TLE's own kernel on the
    padded problem."""
    by = {}
    for r in rows:
        by.setdefault(r["point"], {})[r["provider"]] = r
    header = ["#", "point", "tle kernel", "tle ms", "spread", "TFLOPs", "flashmla ms", "vs flashmla", "(rounds)", "vs vllm",
              "tle_tl ms", "triton ms", "vs triton", "vs pad64", "check"]
    body = []
    for i, point in enumerate(_points_in_order(rows)):
        g = by[point]
        t = g.get(FOCUS, {})
        fm = g.get(ANCHOR, {})
        ok = t.get("status") == "ok"
        spread = None
        if ok and t.get("ms_min") is not None:
            spread = 100.0 * (t["ms_max"] - t["ms_min"]) / t["ms"]
        rnd = "-"
        if t.get("vs_flashmla_min") is not None:
            rnd = f"{t['vs_flashmla_min']:.3f}-{t['vs_flashmla_max']:.3f}"
        bad = [f"{name}: {r['status']}" for name, r in g.items()
               if r["status"] != "ok" and not r["status"].startswith("n/a")]
        body.append([str(i + 1), point, t.get("kernel") or "-", _fmt(t.get("ms") if ok else None, ".3f"),
                     "-" if spread is None else f"{spread:.1f}%", _fmt(t.get("tflops") if ok else None, ".1f"),
                     _fmt(fm.get("ms") if fm.get("status") == "ok" else None, ".3f"),
                     _fmt(t.get("vs_flashmla"), ".3f"), rnd, _fmt(t.get("vs_flashmla_vllm"), ".3f"),
                     _fmt(g.get("tle_tl", {}).get("ms") if g.get("tle_tl", {}).get("status") == "ok" else None, ".3f"),
                     _fmt(g.get("triton", {}).get("ms") if g.get("triton", {}).get("status") == "ok" else None, ".3f"),
                     _fmt(t.get("vs_triton"), ".2f"), _fmt(t.get("vs_tle_pad64"), ".3f"),
                     "ok" if not bad else "; ".join(bad)[:120]])
    return format_table(header, body, right=(0, *range(3, 14)))


def verdict(rows: list, goal: float = GOAL) -> str:
    """One line: TLE against the anchor over the points where both ran."""
    pairs = [(r["point"], r["vs_flashmla"]) for r in rows if r["provider"] == FOCUS and r.get("vs_flashmla")]
    if not pairs:
        return f"{FOCUS} vs {ANCHOR}: no point where both ran"
    worst = min(pairs, key=lambda p: p[1])
    met = sum(1 for _, v in pairs if v >= goal)
    return (f"{FOCUS} vs {ANCHOR} (source build): min {worst[1]:.3f} ({worst[0]}), median "
            f"{statistics.median(v for _, v in pairs):.3f}, max {max(v for _, v in pairs):.3f}; "
            f">= {goal:.2f}x at {met}/{len(pairs)} points")


def compile_summary(rows: list, providers: Iterable[str] = ("triton", "tle_tl", "tle", "tle_pad64")) -> list:
    """Lines on first-call times: a first call that takes far longer than a timed call compiled a
    kernel (with a cold Triton cache, its time is the compile time of that specialization)."""
    lines = []
    for name in providers:
        firsts = [(r["point"], r["first_call_ms"]) for r in rows if r["provider"] == name
                  and r.get("first_call_ms") is not None and r.get("ms") and r["first_call_ms"] > 20 * r["ms"]]
        if firsts:
            ms = [m for _, m in firsts]
            worst = max(firsts, key=lambda p: p[1])
            lines.append(f"first calls that compiled [{name}]: {len(firsts)}, median {statistics.median(ms) / 1e3:.2f} s, "
                         f"max {worst[1] / 1e3:.2f} s ({worst[0]}), total {sum(ms) / 1e3:.1f} s")
    return lines


def write_csv(path: Path, rows: list) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, (list, tuple)) else v) for k, v in r.items()})
    return path


def write_json(path: Path, rows: list, meta: dict) -> Path:
    with open(path, "w") as f:
        json.dump({**meta, "results": rows}, f, indent=2, default=str)
    return path


def load_json(path: str) -> tuple:
    data = json.loads(Path(path).read_text())
    rows = data.pop("results")
    return rows, data


def plot(path: Path, rows: list, meta: dict, log=None) -> Optional[Path]:
    """TFLOPs per point and provider (bars, top) and TLE's speedup over each FlashMLA build with
    the per-round extremes (bottom). Returns None (and says so) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        msg = "no plot: matplotlib not importable"
        (log or (lambda m: print(m, file=sys.stderr)))(msg)
        meta.setdefault("notes", []).append(msg)
        return None
    points = _points_in_order(rows)
    providers = []
    for r in rows:
        if r["provider"] not in providers and r.get("tflops"):
            providers.append(r["provider"])
    by = {(r["point"], r["provider"]): r for r in rows}
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8.0, 0.55 * len(points) + 3), 8.5), sharex=True)
    width = 0.8 / max(1, len(providers))
    xs = range(len(points))
    for j, name in enumerate(providers):
        vals = [(by.get((p, name)) or {}).get("tflops") or 0.0 for p in points]
        ax1.bar([x - 0.4 + (j + 0.5) * width for x in xs], vals, width, label=name)
    ax1.set_ylabel("TFLOPs (useful work)")
    ax1.legend(fontsize=8, ncol=min(6, len(providers)))
    ax1.grid(True, axis="y", alpha=0.3)
    for base, marker in (("flashmla", "o"), ("flashmla_vllm", "s")):
        pts = [(x, by.get((p, FOCUS), {})) for x, p in zip(xs, points)]
        pts = [(x, r) for x, r in pts if r.get(f"vs_{base}")]
        if not pts:
            continue
        ys = [r[f"vs_{base}"] for _, r in pts]
        lo = [y - r.get(f"vs_{base}_min", y) for (_, r), y in zip(pts, ys)]
        hi = [r.get(f"vs_{base}_max", y) - y for (_, r), y in zip(pts, ys)]
        ax2.errorbar([x for x, _ in pts], ys, yerr=[lo, hi], fmt=marker, capsize=3, label=f"{FOCUS} vs {base}")
    ax2.axhline(1.0, color="gray", lw=1)
    ax2.axhline(GOAL, color="green", lw=1, ls="--", label=f"goal {GOAL}x")
    ax2.set_ylabel("speedup (time ratio)")
    ax2.grid(True, axis="y", alpha=0.3)
    ax2.legend(fontsize=8)
    ax2.set_xticks(list(xs))
    ax2.set_xticklabels(points, rotation=60, ha="right", fontsize=7)
    v = meta.get("versions", {})
    fig.suptitle(f"sparse MLA fwd, suite {meta.get('suite', '?')}: {meta.get('gpu', '')}, triton "
                 f"{v.get('triton', '?')}, torch {v.get('torch', '?')}, {meta.get('date', '')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
