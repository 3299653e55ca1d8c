"""``tle-bench sparse-mla``: sparse MLA forward, plain Triton vs TLE vs FlashMLA (vs your own).

Suites (tle.bench.suites): ``sweep`` (default) times one shape (--s-q/--h-q/--topk/--d-qk) over
--s-kv; ``serving`` times 20 points of what a DeepSeek-V3.2 server runs (indexer-order indices,
attn_sink on/off, h_q 16/32/64/128, d_qk 512/576, a 512-token prefill chunk, ragged topk_length,
s_kv 8K-128K). ``--list`` prints the points; ``--show FILE.json`` re-renders a run's tables.

Providers:
  triton         tle.ops.sparse_mla_fwd's plain @triton.jit kernel, TLE's hooks off
  tle_tl         the same plain kernel compiled with TLE's hooks on (TLE's passes)
  tle            the op as a user calls it with TLE on (its warp-specialized kernel where it applies)
  tle_pad64      TLE's warp-specialized kernel on the problem padded to a multiple of 64 heads
                 (points with h_q % 64 != 0 only: the bar for small head counts)
  flashmla       FlashMLA built from source (--flashmla-src PATH, the strongest anchor), or the
                 flash_mla package when importable
  flashmla_vllm  the FlashMLA op library of the vllm 0.24.0 wheel (--flashmla-lib PATH)
  module:function  fn(q, kv, indices, sm_scale, d_v[, attn_sink=, topk_length=]) -> (out, max_logits, lse) or out
FlashMLA takes h_q in {64, 128} and topk % 128 == 0: its heads are padded with zeros and its index
lists with -1 inside the timed call (the copies a FlashMLA user makes).

Method: every point runs --rounds interleaved rounds; each round draws fresh random inputs (q, kv =
randn / 10; indices = torch.topk of random scores), checks every provider against the fp32
reference (||out - ref|| / ||ref|| < 1e-2, |lse - ref| < 1e-3; a provider that fails is not timed
at that point), then times all providers in a shuffled order with triton.testing.do_bench (L2
flushed per call, median). Reported: the median over rounds, min / max over rounds, TFLOPs by
FlashMLA's count (2 * h_q * (d_qk + d_v) per counted index entry: the useful work, padding
excluded), vs_X = time(X) / time(provider) (> 1: faster than X), and the first call's time (with a
cold Triton cache: the compile time of that specialization).
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import random
import sys
import time
import traceback
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import report
from . import suites
from .providers import BUILTIN_PROVIDERS, Provider, _ops, make_provider, make_triton_provider
from .suites import DEFAULT_S_KV, QUICK_S_KV, Point

OUT_REL_TOL = 1e-2
LSE_ABS_TOL = 1e-3
REFERENCE_CHUNK_BYTES = 1 << 30
# --tune search space for the plain-Triton kernel (block_h follows tle.ops.default_config)
TUNE_BLOCK_K = (32, 64)
TUNE_STAGES = (1, 2, 3)
TUNE_WARPS = (4, 8)


def log(msg: str) -> None:
    print(f"[tle-bench sparse-mla {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _int_list(text: str) -> list:
    try:
        return [int(x) for x in text.replace(" ", ",").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def _range(text: str) -> tuple:
    lo, sep, hi = text.partition(",")
    try:
        if not sep:
            raise ValueError
        return int(lo), int(hi)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI, got {text!r}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what to run")
    g.add_argument("--suite", choices=suites.SUITES, default="sweep",
                   help="sweep: one shape over --s-kv (default); serving: the serving classes (shape flags ignored)")
    g.add_argument("--only", default=None, metavar="REGEX", help="run the points whose label matches REGEX")
    g.add_argument("--list", action="store_true", help="print the suite's points and exit")
    g.add_argument("--show", default=None, metavar="JSON", help="print the tables of a results JSON and exit")
    g = p.add_argument_group("shape (sweep suite)")
    g.add_argument("--s-kv", type=_int_list, default=None,
                   help=f"comma-separated kv lengths (default {','.join(map(str, DEFAULT_S_KV))})")
    g.add_argument("--s-q", type=int, default=4096, help="query tokens (default 4096)")
    g.add_argument("--h-q", type=int, default=128, help="query heads (default 128)")
    g.add_argument("--topk", type=int, default=2048, help="indices per query token (default 2048)")
    g.add_argument("--d-qk", type=int, default=576, choices=(512, 576), help="q/k head dim (default 576)")
    g.add_argument("--d-v", type=int, default=512, help="v head dim (must be 512)")
    g.add_argument("--attn-sink", action="store_true", help="pass an attn_sink [h_q]")
    g.add_argument("--ragged", type=_range, default=None, metavar="LO,HI",
                   help="pass a topk_length drawn uniformly from [LO, HI] per token")
    g.add_argument("--index-order", choices=suites.INDEX_ORDERS, default=None,
                   help="topk: as torch.topk of scores returns them (default); sorted: ascending rows")
    g.add_argument("--dtype", default="bf16", choices=("bf16", "fp16"), help="input dtype (default bf16)")
    g = p.add_argument_group("providers")
    g.add_argument("--providers", default=None,
                   help=f"comma-separated providers: {', '.join(BUILTIN_PROVIDERS)}, MODULE:FUNCTION (default: "
                        "the built-ins; unavailable ones are skipped with a note)")
    g.add_argument("--provider", action="append", default=[], metavar="MODULE:FUNCTION",
                   help="add a user provider (repeatable)")
    g.add_argument("--flashmla-src", default=None, metavar="PATH",
                   help="FlashMLA built from source (flash_mla_sm90_src.so): the flashmla provider")
    g.add_argument("--flashmla-lib", default=None, metavar="PATH",
                   help="FlashMLA op library of the vllm wheel (_flashmla_C.abi3.so): the flashmla_vllm provider")
    g.add_argument("--baseline", default=None, metavar="PROVIDER",
                   help="the detail table's 'vs' column (default flashmla, else flashmla_vllm, else the first)")
    g.add_argument("--config", default=None, metavar="BH,BK,WARPS,STAGES",
                   help="launch config of the plain kernel (triton / tle_tl; default: tle.ops.default_config)")
    g.add_argument("--tune", action="store_true",
                   help="sweep suite: search BK x stages x warps for the plain kernel first (TLE off); the "
                        "winner is used for triton and tle_tl")
    g = p.add_argument_group("timing")
    g.add_argument("--rounds", type=int, default=None, help="interleaved rounds per point (default 5; quick 3)")
    g.add_argument("--check-rounds", type=int, default=None,
                   help="rounds whose inputs every provider is checked on (default: all)")
    g.add_argument("--warmup", type=float, default=None, help="do_bench warmup per round, ms (default 10)")
    g.add_argument("--rep", type=float, default=None, help="do_bench measuring time per round, ms (default 60; quick 30)")
    g.add_argument("--quick", action="store_true",
                   help=f"sweep s_kv {','.join(map(str, QUICK_S_KV))}, 3 rounds, shorter timing (unless given)")
    g.add_argument("--no-ceilings", action="store_true",
                   help="skip measuring the device's bf16 GEMM rate and copy bandwidth before the points")
    g.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="start no point that would end past S seconds of the run (estimated from the "
                        "points so far); the outputs then say which points were not run")
    g.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    g.add_argument("--out", default="bench-results", help="output directory (default bench-results/)")


# --------------------------------------------------------------------------------------------------
# Inputs, checking, timing
# --------------------------------------------------------------------------------------------------
def make_inputs(s_q, h_q, topk, d_qk, s_kv, dtype, seed, device="cuda", order="topk"):
    """q, kv = randn / 10; indices [s_q, 1, topk] int32 = the top-k rows of random scores per token
    (distinct), in the order torch.topk returns them ("topk": by score) or ascending ("sorted")."""
    import torch

    if topk > s_kv:
        raise ValueError(f"topk ({topk}) > s_kv ({s_kv}): cannot draw distinct indices")
    if order not in suites.INDEX_ORDERS:
        raise ValueError(f"order must be one of {suites.INDEX_ORDERS}, got {order!r}")
    gen = torch.Generator(device=device).manual_seed(seed)
    q = (torch.randn(s_q, h_q, d_qk, generator=gen, device=device) / 10).to(dtype)
    kv = (torch.randn(s_kv, 1, d_qk, generator=gen, device=device) / 10).to(dtype)
    idx = torch.empty(s_q, 1, topk, dtype=torch.int32, device=device)
    rows = max(1, (1 << 30) // (4 * s_kv))  # bound the score matrix to ~1 GB
    for r0 in range(0, s_q, rows):
        r1 = min(s_q, r0 + rows)
        top = torch.rand(r1 - r0, s_kv, generator=gen, device=device).topk(topk, dim=-1).indices
        if order == "sorted":
            top = top.sort(dim=-1).values
        idx[r0:r1, 0] = top.to(torch.int32)
    return q, kv, idx


@dataclass
class Inputs:
    q: object
    kv: object
    indices: object
    attn_sink: object
    topk_length: object
    sm_scale: float
    d_v: int
    flops: int

    def args(self):
        return self.q, self.kv, self.indices, self.sm_scale, self.d_v, self.attn_sink, self.topk_length


def point_seed(base: int, point: Point, round_index: int) -> int:
    return (base * 1_000_003 + zlib.crc32(point.key.encode()) + 7919 * round_index) % (2**63)


def make_point_inputs(point: Point, dtype, seed: int, device="cuda") -> Inputs:
    """A point's inputs: q, kv, indices (make_inputs), an attn_sink near the rows' lse (log topk,
    so the sink factor spans (0, 1) and the check sees it), a ragged topk_length."""
    import torch

    q, kv, idx = make_inputs(point.s_q, point.h_q, point.topk, point.d_qk, point.s_kv, dtype, seed,
                             device=device, order=point.order)
    gen = torch.Generator(device=q.device).manual_seed(seed + 1)
    sink = tlen = None
    if point.attn_sink:
        sink = torch.randn(point.h_q, generator=gen, device=q.device) + math.log(point.topk)
    if point.ragged:
        lo, hi = point.ragged
        tlen = torch.randint(lo, hi + 1, (point.s_q,), generator=gen, device=q.device, dtype=torch.int32)
    entries = int(tlen.sum().item()) if tlen is not None else None
    return Inputs(q, kv, idx, sink, tlen, point.d_qk ** -0.5, point.d_v, point.flops(entries))


def reference(inp: Inputs):
    return _ops().sparse_mla_fwd_reference(*inp.args(), chunk_budget_bytes=REFERENCE_CHUNK_BYTES)


def _normalize_result(res):
    import torch

    if isinstance(res, torch.Tensor):
        return res, None, None
    res = tuple(res)
    if len(res) >= 3:
        return res[0], res[1], res[2]
    if len(res) == 1:
        return res[0], None, None
    raise RuntimeError(f"provider returned {len(res)} values; expected out or (out, max_logits, lse)")


def check(provider: Provider, res, ref) -> dict:
    """Compare a provider's result with the reference; raises AssertionError on a mismatch."""
    import torch

    out, ml, lse = _normalize_result(res)
    rout, rml, rlse = ref
    if out is None or tuple(out.shape) != tuple(rout.shape):
        raise AssertionError(f"out has shape {None if out is None else tuple(out.shape)}, "
                             f"expected {tuple(rout.shape)}")
    o = out.float()
    rel = ((o - rout).norm() / rout.norm().clamp_min(1e-30)).item()
    info = {"out_rel_err": rel}
    if not math.isfinite(rel) or rel >= OUT_REL_TOL:
        raise AssertionError(f"out relative error {rel:.3e} >= {OUT_REL_TOL}")
    if lse is None:
        provider.note("no lse returned: only out checked")
        return info
    fin = torch.isfinite(rlse)
    lse = lse.float().reshape(rlse.shape)
    if not torch.equal(torch.isfinite(lse), fin):
        raise AssertionError("lse is finite where the reference is not (or the other way round)")
    err = (lse[fin] - rlse[fin]).abs().max().item() if fin.any() else 0.0
    if not err < LSE_ABS_TOL:
        err2 = (lse[fin] / math.log2(math.e) - rlse[fin]).abs().max().item() if fin.any() else 0.0
        if err2 < LSE_ABS_TOL:
            if not provider.lse_base2:
                provider.note("returns a base-2 lse (converted for the check)")
            provider.lse_base2 = True
            err = err2
        else:
            raise AssertionError(f"lse max abs error {err:.3e} >= {LSE_ABS_TOL} (natural log expected)")
    info["lse_max_abs_err"] = err
    if ml is not None:
        mlv = ml.float().reshape(rml.shape)
        if provider.lse_base2:
            mlv = mlv / math.log2(math.e)
        info["max_logits_max_abs_err"] = (mlv[fin] - rml[fin]).abs().max().item() if fin.any() else 0.0
    return info


def bench_ms(fn, warmup, rep) -> float:
    from triton.testing import do_bench

    return float(do_bench(fn, warmup=warmup, rep=rep, return_mode="median"))


def flops(s_q, h_q, topk, d_qk, d_v) -> float:
    """Multiply-adds of the two GEMMs (Q K^T over d_qk, P V over d_v), counted as 2 FLOPs."""
    return 2.0 * s_q * h_q * topk * (d_qk + d_v)


def tflops(s_q, h_q, topk, d_qk, d_v, ms) -> float:
    return flops(s_q, h_q, topk, d_qk, d_v) / (ms * 1e-3) / 1e12


def tune(point: Point, dtype, seed, warmup, rep) -> tuple:
    """Time every plain-kernel config of the search space on one point (TLE off); (best, records)."""
    ops = _ops()
    base = ops.default_config(point.h_q)
    inp = make_point_inputs(point, dtype, seed)
    ref = reference(inp)
    records = []
    space = [ops.SparseMLAConfig(base.block_h, bk, w, st) for bk in TUNE_BLOCK_K for st in TUNE_STAGES
             for w in TUNE_WARPS]
    for i, cfg in enumerate(space):
        rec = {"config": str(cfg), **cfg.as_dict()}
        log(f"tune {i + 1}/{len(space)} {cfg}")
        try:
            p = make_triton_provider(cfg)
            with p.context():
                fn = lambda: p.fn(*inp.args())  # noqa: E731
                rec.update(check(p, fn(), ref))
                rec["ms"] = bench_ms(fn, warmup, rep)
            rec["tflops"] = inp.flops / (rec["ms"] * 1e-3) / 1e12
            rec["status"] = "ok"
            log(f"    {rec['ms']:.3f} ms  {rec['tflops']:.1f} TFLOPs")
        except Exception as e:  # out of shared memory, failed check, ...
            rec["status"] = _error_status(e)
            log(f"    skipped: {rec['status']}")
        records.append(rec)
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        raise RuntimeError("no tuning config ran successfully")
    best = min(ok, key=lambda r: r["ms"])
    return ops.SparseMLAConfig(best["block_h"], best["block_k"], best["num_warps"], best["num_stages"]), records


def measure_ceilings(warmup: float, rep: float, *, device="cuda", n: int = 8192, copy_elems: int = 1 << 29) -> dict:
    """The two ceilings of the device, measured rather than taken from a datasheet: a bf16 n^3 matrix product through
    torch on random data, and a device-to-device copy of copy_elems bf16 (bytes read + written)."""
    import torch

    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, generator=gen, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, generator=gen, device=device, dtype=torch.bfloat16)
    gemm_ms = bench_ms(lambda a=a, b=b: a @ b, warmup, rep)
    x = torch.randn(copy_elems, generator=gen, device=device, dtype=torch.bfloat16)
    y = torch.empty_like(x)
    copy_ms = bench_ms(lambda x=x, y=y: y.copy_(x), warmup, rep)
    nbytes = 2 * x.numel() * x.element_size()
    return {"bf16_gemm_tflops": 2 * n ** 3 / (gemm_ms * 1e-3) / 1e12, "copy_tb_s": nbytes / (copy_ms * 1e-3) / 1e12,
            "gemm": f"{n}x{n}x{n} bf16 torch matmul, random data",
            "copy": f"{nbytes // 2 / 2**20:.0f} MiB bf16 copy_, read + write"}


def _error_status(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"error: {type(e).__name__}: {lines[0][:200] if lines else ''}"


# --------------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------------
def _record_warnings(provider: Provider, caught) -> None:
    for w in caught:
        provider.note(f"{w.category.__name__}: {str(w.message).splitlines()[0][:300]}")


def _describe(p: Provider, row: dict, inp) -> None:
    """Record what the provider runs for these inputs (a failure here is a note, not an error)."""
    try:
        kernel = p.describe(*inp.args())
    except Exception as e:  # noqa: BLE001
        p.note(f"could not say which kernel runs: {_error_status(e)}")
        return
    if kernel:
        row["kernel"] = kernel


def measure_point(point: Point, providers: list, *, dtype, rounds: int, check_rounds: int, warmup: float,
                  rep: float, seed: int) -> list:
    """Rows (one per provider) for one point, from ``rounds`` interleaved rounds."""
    import torch

    rows = {}
    for p in providers:
        rows[p.name] = {"point": point.label, **{k: v for k, v in point.as_dict().items() if k != "label"},
                        "provider": p.name, "config": p.config, "status": "ok", "rounds_ms": [],
                        "rounds_tflops": []}
        why = p.supports(point)
        if why:
            rows[p.name]["status"] = why if why.startswith("n/a") else f"n/a: {why}"
    rng = random.Random(point_seed(seed, point, -1))
    for r in range(rounds):
        inp = make_point_inputs(point, dtype, point_seed(seed, point, r))
        live = [p for p in providers if rows[p.name]["status"] == "ok"]
        if r < check_rounds:
            ref = reference(inp)
            # Every result of the round stays alive until the round's checks are done, so no
            # provider's output can be allocated over another's correct output for the same
            # inputs (an unwritten element would then pass the check).
            results = []
            for p in live:
                row = rows[p.name]
                try:
                    with p.context(), warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        torch.cuda.synchronize()
                        t0 = time.perf_counter()
                        res = p.fn(*inp.args())
                        torch.cuda.synchronize()
                        if r == 0:
                            row["first_call_ms"] = (time.perf_counter() - t0) * 1e3
                        results.append(res)
                        info = check(p, res, ref)
                    _record_warnings(p, caught)
                    if r == 0:
                        _describe(p, row, inp)
                    for k, v in info.items():  # the worst over the checked rounds
                        row[k] = max(v, row.get(k, v))
                except AssertionError as e:
                    row["status"] = f"check failed (round {r + 1}): {e}"
                    log(f"{point.label}: {p.name} FAILED the reference check: {e}")
                except Exception as e:
                    row["status"] = _error_status(e)
                    log(f"{point.label}: {p.name} error:\n{traceback.format_exc()}")
            del ref, results
        live = [p for p in providers if rows[p.name]["status"] == "ok"]
        rng.shuffle(live)
        for p in live:
            row = rows[p.name]
            try:
                with p.context(), warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    ms = bench_ms(lambda p=p, inp=inp: p.fn(*inp.args()), warmup, rep)
                _record_warnings(p, caught)
                row["rounds_ms"].append(ms)
                row["rounds_tflops"].append(inp.flops / (ms * 1e-3) / 1e12)
            except Exception as e:
                row["status"] = _error_status(e)
                log(f"{point.label}: {p.name} error while timing:\n{traceback.format_exc()}")
        del inp
        torch.cuda.empty_cache()
    out = []
    for p in providers:
        row = rows[p.name]
        if row["status"] == "ok" and row["rounds_ms"]:
            ts = row["rounds_ms"]
            row.update(ms=report.median(ts), ms_min=min(ts), ms_max=max(ts), rounds=len(ts),
                       tflops=report.median(row["rounds_tflops"]))
        elif row["status"] == "ok":
            row["status"] = "error: not timed"
        out.append(row)
    return out


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------
def build_points(args) -> list:
    if args.suite == "serving":
        points = suites.serving_suite()
    else:
        s_kvs = args.s_kv or (list(QUICK_S_KV) if args.quick else list(DEFAULT_S_KV))
        points = suites.sweep_suite(s_kvs, s_q=args.s_q, h_q=args.h_q, topk=args.topk, d_qk=args.d_qk,
                                    attn_sink=args.attn_sink, ragged=args.ragged)
    points = suites.with_order(points, args.index_order)
    return suites.select(points, args.only)


def provider_names(args, points=()) -> tuple:
    explicit = args.providers is not None
    if explicit:
        names = [n.strip() for n in args.providers.split(",") if n.strip()]
    else:
        names = [n for n in BUILTIN_PROVIDERS if n != "tle_pad64" or any(p.h_q % 64 for p in points)]
    names += [n for n in args.provider if n not in names]
    for n in names:
        if n not in BUILTIN_PROVIDERS and ":" not in n:
            raise SystemExit(f"unknown provider {n!r}: use {', '.join(BUILTIN_PROVIDERS)} or MODULE:FUNCTION")
    return names, explicit


def timing_settings(args) -> dict:
    return dict(rounds=args.rounds or (3 if args.quick else 5),
                warmup=args.warmup if args.warmup is not None else 10.0,
                rep=args.rep if args.rep is not None else (30.0 if args.quick else 60.0))


def output_stem(suite: str, triton_version: str) -> str:
    return f"sparse_mla-{suite}-triton{triton_version}"


def _validate(args, points) -> Optional[str]:
    if args.d_v != 512:
        return f"--d-v must be 512 (V is the first 512 columns of each kv row), got {args.d_v}"
    for p in points:
        if p.h_q < 16 or p.h_q % 16 or p.topk < 1 or p.s_q < 1:
            return f"{p.label}: need h_q a positive multiple of 16, topk >= 1, s_q >= 1"
    if args.rounds is not None and args.rounds < 1:
        return "--rounds must be >= 1"
    if args.tune and args.suite != "sweep":
        return "--tune works with the sweep suite only (one head count)"
    return None


def _cache_note() -> str:
    d = os.environ.get("TRITON_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".triton", "cache")
    try:
        n = sum(1 for _ in Path(d).iterdir()) if Path(d).is_dir() else 0
    except OSError:
        n = -1
    return f"Triton cache {d}: {n} entries at the start" + (" (cold: first calls include compiles)" if n == 0 else "")


def header_lines(meta: dict) -> list:
    v = meta["versions"]
    lines = [f"tle-bench sparse-mla, suite {meta['suite']} ({len(meta['points'])} points), {meta['date']}",
             f"GPU {meta['gpu']}; triton {v['triton']}, torch {v['torch']}, CUDA {v['cuda']}, Python {v['python']}; "
             f"tle commit {meta.get('commit') or '?'}",
             f"timing: {meta['timing']['rounds']} interleaved rounds per point, fresh inputs per round, checked on "
             f"{meta['timing']['check_rounds']}; do_bench warmup {meta['timing']['warmup_ms']} ms, rep "
             f"{meta['timing']['rep_ms']} ms (median); {meta['cache']}"]
    c = meta.get("ceilings")
    if c:
        lines.append(f"measured ceilings: bf16 GEMM {c['bf16_gemm_tflops']:.0f} TFLOP/s ({c['gemm']}), "
                     f"copy {c['copy_tb_s']:.2f} TB/s ({c['copy']})")
    for name, info in meta["providers"].items():
        lines.append(f"provider {name}: {info['config'] or ''}")
    for name, why in meta["skipped_providers"].items():
        lines.append(f"provider {name}: skipped ({why})")
    return lines


def _commit() -> Optional[str]:
    if os.environ.get("TLE_COMMIT"):
        return os.environ["TLE_COMMIT"]
    try:
        import subprocess

        root = Path(__file__).resolve().parents[3]
        r = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, timeout=10)
        return (r.stdout.strip() or None) if r.returncode == 0 else None
    except Exception:
        return None


def show(path: str) -> int:
    """The header, compile times, summary table and verdict of a results JSON."""
    rows, meta = report.load_json(path)
    if not meta.get("complete", True):
        print(f"(incomplete run: {len({r['point'] for r in rows})} of {len(meta.get('points', []))} points)")
    for line in meta.get("header", []):
        print(line)
    for line in meta.get("compile", []):
        print(line)
    for line in meta.get("notes", []):
        print(f"note: {line}")
    print(report.summary_table(rows))
    print(report.verdict(rows))
    return 0


def run(args) -> int:
    if args.show:
        return show(args.show)
    try:
        points = build_points(args)
    except ValueError as e:
        log(str(e))
        return 2
    if args.list:
        for i, p in enumerate(points):
            print(f"{i + 1:3d}  {p.label:<32} {p.key}")
        return 0
    if not points:
        log(f"no point of suite {args.suite} matches --only {args.only!r}")
        return 2
    why = _validate(args, points)
    if why:
        log(why)
        return 2

    import torch
    import triton

    if not torch.cuda.is_available():
        log("no CUDA device: the benchmark needs a GPU (--list and --show work without one)")
        return 2
    t_start = time.perf_counter()
    timing = timing_settings(args)
    check_rounds = timing["rounds"] if args.check_rounds is None else max(1, min(args.check_rounds,
                                                                                 timing["rounds"]))
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    names, explicit = provider_names(args, points)
    notes, skipped = [], {}
    cache = _cache_note()

    ops = _ops()
    config = ops.SparseMLAConfig.parse(args.config) if args.config else None
    tuning = None
    if args.tune:
        log(f"tuning the plain kernel on {points[0].label} ...")
        config, tuning = tune(points[0], dtype, point_seed(args.seed, points[0], 99), timing["warmup"], timing["rep"])
        log(f"chosen config: {config}")
        torch.cuda.empty_cache()

    providers = []
    for n in names:
        try:
            providers.append(make_provider(n, config, args.flashmla_lib, args.flashmla_src, args.dtype))
        except Exception as e:
            why = f"{type(e).__name__}: {e}"
            skipped[n] = why
            log(f"provider {n} unavailable, skipped ({why})")
            if explicit or n in args.provider or (n == "flashmla" and args.flashmla_src) or (
                    n == "flashmla_vllm" and args.flashmla_lib):
                notes.append(f"requested provider {n} skipped: {why}")
    if not providers:
        log("no provider available")
        return 2
    names_ok = [p.name for p in providers]
    baseline = args.baseline or next((b for b in ("flashmla", "flashmla_vllm") if b in names_ok), names_ok[0])

    meta = {
        "benchmark": "sparse_mla_fwd",
        "suite": args.suite,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": _commit(),
        "gpu": torch.cuda.get_device_name(),
        "versions": {"torch": torch.__version__, "triton": triton.__version__, "cuda": torch.version.cuda,
                     "python": platform.python_version()},
        "points": [p.as_dict() for p in points],
        "inputs": "per round: q, kv = randn/10; indices = torch.topk of random scores per token (order: "
                  "'topk' = as returned, by score; 'sorted' = ascending); attn_sink = randn + log(topk); "
                  "topk_length uniform in the point's range; seed from --seed, the point and the round",
        "timing": {"method": "interleaved rounds (shuffled provider order) of triton.testing.do_bench median "
                             "(L2 flushed per call); ms = median over rounds", **{
                       "rounds": timing["rounds"], "check_rounds": check_rounds, "warmup_ms": timing["warmup"],
                       "rep_ms": timing["rep"]}},
        "cache": cache,
        "flops_formula": "2 * h_q * (d_qk + d_v) * (s_q * topk, or sum(topk_length))",
        "ratios": "vs_X = time(X) / time(provider) (> 1: faster than X); vs_X_min/max over rounds",
        "tolerances": {"out_rel": OUT_REL_TOL, "lse_abs": LSE_ABS_TOL},
        "kernel_config": None if config is None else config.as_dict(),
        "tuning": tuning,
        "baseline": baseline,
        "skipped_providers": skipped,
        "notes": notes,
        "args": {k: v for k, v in vars(args).items() if not k.startswith("_")},
    }
    meta["providers"] = {p.name: {"config": p.config, "notes": p.notes} for p in providers}
    meta["ceilings"] = None
    if not args.no_ceilings:
        try:
            meta["ceilings"] = measure_ceilings(timing["warmup"], timing["rep"])
            torch.cuda.empty_cache()
        except Exception as e:  # the points still run; the header says why there are no ceilings
            notes.append(f"ceilings not measured: {_error_status(e)}")
    meta["header"] = header_lines(meta)
    for line in meta["header"]:
        print(line, flush=True)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = output_stem(args.suite, triton.__version__)
    ratio_bases = tuple(dict.fromkeys((*report.RATIO_BASES, baseline)))

    def save(rows, final: bool) -> list:
        """CSV and JSON after every point (a run cut short keeps what it measured), the plot at the end."""
        report.add_ratios(rows, ratio_bases)
        meta["providers"] = {p.name: {"config": p.config, "notes": p.notes} for p in providers}
        meta["compile"] = report.compile_summary(rows)
        meta["wall_s"] = time.perf_counter() - t_start
        meta["complete"] = final and len({r["point"] for r in rows}) == len(points)
        written = [report.write_csv(out_dir / f"{stem}.csv", rows)]
        png = report.plot(out_dir / f"{stem}.png", rows, meta, log) if final else None  # may add a note
        written.append(report.write_json(out_dir / f"{stem}.json", rows, meta))
        return written + ([png] if png is not None else [])

    rows, point_s = [], []
    for i, point in enumerate(points):
        elapsed = time.perf_counter() - t_start
        if args.time_limit is not None and point_s and elapsed + max(point_s) > args.time_limit:
            left = [p.label for p in points[i:]]
            notes.append(f"time limit {args.time_limit:.0f} s: {len(left)} points not run ({', '.join(left)})")
            log(notes[-1])
            break
        t0 = time.perf_counter()
        rows += measure_point(point, providers, dtype=dtype, rounds=timing["rounds"], check_rounds=check_rounds,
                              warmup=timing["warmup"], rep=timing["rep"], seed=args.seed)
        done = {r["provider"]: r for r in rows if r["point"] == point.label}
        brief = ", ".join(f"{n} {d['ms']:.3f}" if d.get("ms") else f"{n} {d['status'][:40]}" for n, d in done.items())
        point_s.append(time.perf_counter() - t0)
        log(f"[{i + 1}/{len(points)}] {point.label} ({point_s[-1]:.1f} s): {brief}")
        if i + 1 < len(points):
            save(rows, final=False)
    meta["points_run"] = len(point_s)
    written = save(rows, final=True)
    failed = [r for r in rows if r["status"].startswith(("check failed", "error"))]
    log("wrote " + ", ".join(str(w) for w in written))

    print(report.detail_table(rows, baseline))
    for p in providers:
        for n in p.notes:
            print(f"note [{p.name}]: {n}")
    for n, why in skipped.items():
        print(f"note [{n}]: skipped ({why})")
    for n in notes:
        print(f"note: {n}")
    if tuning:
        print(f"note: --tune chose {config} for triton and tle_tl")
    print()
    for line in meta["header"]:
        print(line)
    for line in meta["compile"]:
        print(line)
    print(f"wall time {meta['wall_s']:.0f} s; {len(failed)} failed (point, provider) pairs")
    print(report.summary_table(rows))
    print(report.verdict(rows))
    return 1 if failed else 0
