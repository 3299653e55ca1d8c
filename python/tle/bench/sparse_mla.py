"""``tle-bench sparse-mla``: sparse MLA forward, plain Triton vs TLE vs FlashMLA (vs your own).

Workload (FlashMLA's prefill benchmark): s_q = 4096 query tokens, h_q = 128 heads, topk = 2048,
d_qk = 576, d_v = 512, s_kv in 8192 .. 131072; q, kv = randn / 10 in bf16; each token's indices
are `topk` distinct random rows of [0, s_kv), sorted, drawn afresh for every s_kv.

Providers:
  triton            tle.ops.sparse_mla_fwd's plain @triton.jit kernel, TLE's hooks off (Triton 3.6)
  tle_tl            the same plain kernel compiled with TLE's hooks on (TLE's passes)
  tle               TLE's warp-specialized kernel (tle.ops.sparse_mla_ws, built from tle.gluon),
                    compiled with TLE's hooks on; the plain kernel where it does not apply
  flashmla          `flash_mla.flash_mla_sparse_fwd` when importable, or the op library given by
                    --flashmla-lib (registers torch.ops._flashmla_C.sparse_prefill_fwd)
  module:function   fn(q, kv, indices, sm_scale, d_v) -> (out, max_logits, lse) or out

Every provider's output is checked against the fp32 reference before it is timed
(||out - ref|| / ||ref|| < 1e-2, |lse - ref| < 1e-3 where finite); a provider that fails the
check is reported and not timed. Timing: triton.testing.do_bench (L2 flushed between calls),
median. TFLOPs = 2 * s_q * h_q * topk * (d_qk + d_v) / time. "vs X" = X's time / this time
(> 1: faster than X).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import importlib
import json
import math
import os
import platform
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

DEFAULT_S_KV = (8192, 32768, 65536, 98304, 131072)
QUICK_S_KV = (8192, 65536)
BUILTIN_PROVIDERS = ("triton", "tle_tl", "tle", "flashmla")
OUT_REL_TOL = 1e-2
LSE_ABS_TOL = 1e-3
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


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--s-kv", type=_int_list, default=None,
                   help=f"comma-separated kv lengths (default {','.join(map(str, DEFAULT_S_KV))})")
    p.add_argument("--s-q", type=int, default=4096, help="query tokens (default 4096)")
    p.add_argument("--h-q", type=int, default=128, help="query heads (default 128)")
    p.add_argument("--topk", type=int, default=2048, help="indices per query token (default 2048)")
    p.add_argument("--d-qk", type=int, default=576, choices=(512, 576), help="q/k head dim (default 576)")
    p.add_argument("--d-v", type=int, default=512, help="v head dim (must be 512)")
    p.add_argument("--dtype", default="bf16", choices=("bf16", "fp16"), help="input dtype (default bf16)")
    p.add_argument("--providers", default=None,
                   help="comma-separated providers: triton (plain kernel, TLE off), tle_tl (plain kernel "
                        "through TLE's passes), tle (TLE's warp-specialized kernel), flashmla, "
                        "module:function (default: all four built-ins; unavailable ones are skipped)")
    p.add_argument("--provider", action="append", default=[], metavar="MODULE:FUNCTION",
                   help="add a user provider fn(q, kv, indices, sm_scale, d_v) (repeatable)")
    p.add_argument("--flashmla-lib", default=None, metavar="PATH",
                   help="prebuilt FlashMLA op library (e.g. vllm/_flashmla_C.abi3.so) for the flashmla provider")
    p.add_argument("--config", default=None, metavar="BH,BK,WARPS,STAGES",
                   help="launch config of the triton/tle kernel (default: tle.ops.default_config)")
    p.add_argument("--tune", action="store_true",
                   help="search BK x stages x warps for the plain-Triton kernel on the first s_kv; the "
                        "winner is used for both triton and tle")
    p.add_argument("--warmup", type=float, default=None, help="do_bench warmup in ms (default 25; quick 10)")
    p.add_argument("--rep", type=float, default=None, help="do_bench measuring time in ms (default 200; quick 50)")
    p.add_argument("--quick", action="store_true",
                   help=f"s_kv {','.join(map(str, QUICK_S_KV))} and shorter timing (unless given explicitly)")
    p.add_argument("--seed", type=int, default=0, help="base seed; s_kv is added per config (default 0)")
    p.add_argument("--out", default="bench-results", help="output directory (default bench-results/)")


# --------------------------------------------------------------------------------------------------
# Providers
# --------------------------------------------------------------------------------------------------
@dataclass
class Provider:
    name: str
    fn: Callable  # (q, kv, indices, sm_scale, d_v) -> (out, max_logits, lse) | out
    context: Callable = contextlib.nullcontext  # entered around checking and timing
    config: Optional[str] = None
    notes: list = field(default_factory=list)
    lse_base2: bool = False  # set when the provider turns out to return a base-2 lse


def _ops():
    from tle import ops

    return ops


def make_triton_provider(config) -> Provider:
    ops = _ops()

    def fn(q, kv, idx, sm_scale, d_v):
        return ops.sparse_mla_fwd(q, kv, idx, sm_scale, d_v, config=config)

    return Provider("triton", fn, context=lambda: ops.tle_hooks(False), config=str(config))


def make_tle_provider(config, kernel=None, name="tle") -> Provider:
    ops = _ops()
    if os.environ.get("TLE_DISABLE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise RuntimeError("TLE_DISABLE is set")
    if not ops.tle_hooks_available():
        raise RuntimeError("the tle package has no enable()/disable()/is_enabled()")

    def fn(q, kv, idx, sm_scale, d_v):
        return ops.sparse_mla_fwd(q, kv, idx, sm_scale, d_v, config=config, kernel=kernel)

    label = str(config) if kernel == "tl" else f"{config} (ws where supported)"
    p = Provider(name, fn, context=lambda: ops.tle_hooks(True), config=label)
    try:
        import tle
        from tle import _native

        p.notes.append(f"tle {getattr(tle, '__version__', '?')}")
        try:
            _native.library()
            p.notes.append(f"native rewrites: {_native.has_native_rewrites()}")
        except Exception as e:  # the hook then compiles stock Triton (with a TLEWarning)
            p.notes.append(f"TLE native library unavailable ({type(e).__name__}): tle == stock Triton")
    except Exception:
        pass
    return p


def _flashmla_supports(s_q, h_q, topk, d_qk, dtype) -> Optional[str]:
    import torch

    if dtype != torch.bfloat16:
        return "FlashMLA's sparse prefill is bf16 only"
    if h_q not in (64, 128):
        return f"FlashMLA needs h_q in (64, 128), got {h_q}"
    if topk % 128 != 0:
        return f"FlashMLA needs topk % 128 == 0, got {topk}"
    return None


def _call_op_by_schema(op, schema, values: dict, out_factory: Callable):
    """Call a torch op, matching its schema's arguments by name (position as a fallback)."""
    order = ["q", "kv", "indices", "sm_scale", "d_v", "attn_sink", "topk_length", "out"]
    aliases = {"softmax_scale": "sm_scale", "scale": "sm_scale", "k": "kv", "idx": "indices",
               "topk_indices": "indices", "head_dim_v": "d_v", "dv": "d_v", "topk_len": "topk_length",
               "output": "out"}
    pos, kw = [], {}
    out_buf = None
    for i, arg in enumerate(schema.arguments):
        name = aliases.get(arg.name, arg.name)
        if name not in order and i < len(order) and not arg.has_default_value():
            name = order[i]
        if name == "out":
            out_buf = value = out_factory()
        elif name in values:
            value = values[name]
        elif arg.has_default_value():
            continue
        else:
            raise RuntimeError(f"cannot map argument {arg.name!r} of {schema}")
        if arg.kwarg_only:
            kw[arg.name] = value
        else:
            pos.append(value)
    return op(*pos, **kw), out_buf


def _pick_outputs(result, out_buf, s_q, h_q, d_v):
    """(out, max_logits, lse) from whatever the op returned; missing stats are None."""
    import torch

    if isinstance(result, torch.Tensor):
        tensors = [result]
    else:
        tensors = [t for t in (result or ()) if isinstance(t, torch.Tensor)]
    out = next((t for t in tensors if tuple(t.shape) == (s_q, h_q, d_v)), out_buf)
    stats = [t for t in tensors if tuple(t.shape) == (s_q, h_q) and t.dtype == torch.float32]
    ml = stats[0] if len(stats) >= 2 else None
    lse = stats[1] if len(stats) >= 2 else (stats[0] if len(stats) == 1 else None)
    return out, ml, lse


def schema_provider(name: str, overload, notes=()) -> Provider:
    """A provider around a torch op with FlashMLA's sparse_prefill_fwd interface (matched by schema)."""
    import torch

    schema = overload._schema

    def fn(q, kv, idx, sm_scale, d_v):
        values = dict(q=q, kv=kv, indices=idx, sm_scale=float(sm_scale), d_v=int(d_v), attn_sink=None,
                      topk_length=None)
        s_q, h_q = q.shape[0], q.shape[1]
        result, out_buf = _call_op_by_schema(
            overload, schema, values, lambda: torch.empty(s_q, h_q, d_v, dtype=q.dtype, device=q.device))
        return _pick_outputs(result, out_buf, s_q, h_q, d_v)

    return Provider(name, fn, notes=[*notes, f"schema {schema}"])


def make_flashmla_provider(lib_path: Optional[str]) -> Provider:
    import torch

    if lib_path:
        if not Path(lib_path).is_file():
            raise FileNotFoundError(f"--flashmla-lib {lib_path}: no such file")
        torch.ops.load_library(lib_path)
        try:
            overload = torch.ops._flashmla_C.sparse_prefill_fwd.default
        except (AttributeError, RuntimeError) as e:
            raise RuntimeError(f"{lib_path} does not register torch.ops._flashmla_C.sparse_prefill_fwd ({e})")
        return schema_provider("flashmla", overload, [f"op library {lib_path}"])

    import flash_mla  # raises ImportError when absent

    api = getattr(flash_mla, "flash_mla_sparse_fwd", None)
    if api is None:
        raise RuntimeError("flash_mla has no flash_mla_sparse_fwd")

    def fn(q, kv, idx, sm_scale, d_v):
        result = api(q, kv, idx, sm_scale, d_v)
        return _pick_outputs(result, None, q.shape[0], q.shape[1], d_v)

    return Provider("flashmla", fn, notes=[f"flash_mla {getattr(flash_mla, '__version__', '')}".strip()])


def make_provider(name: str, config=None, flashmla_lib: Optional[str] = None) -> Provider:
    """A built-in provider by name (see BUILTIN_PROVIDERS) or a user one given as MODULE:FUNCTION."""
    if name == "triton":
        return make_triton_provider(config)
    if name == "tle":
        return make_tle_provider(config)
    if name == "tle_tl":
        return make_tle_provider(config, kernel="tl", name="tle_tl")
    if name == "flashmla":
        return make_flashmla_provider(flashmla_lib)
    return make_user_provider(name)


def make_user_provider(spec: str) -> Provider:
    module, _, func = spec.partition(":")
    if not module or not func:
        raise ValueError(f"user provider must be MODULE:FUNCTION, got {spec!r}")
    fn = getattr(importlib.import_module(module), func)
    return Provider(spec, lambda q, kv, idx, sm_scale, d_v: fn(q, kv, idx, sm_scale, d_v))


# --------------------------------------------------------------------------------------------------
# Inputs, checking, timing
# --------------------------------------------------------------------------------------------------
def make_inputs(s_q, h_q, topk, d_qk, s_kv, dtype, seed, device="cuda"):
    """q, kv = randn / 10; indices = `topk` distinct sorted random rows of [0, s_kv) per token."""
    import torch

    if topk > s_kv:
        raise ValueError(f"topk ({topk}) > s_kv ({s_kv}): cannot draw distinct indices")
    gen = torch.Generator(device=device).manual_seed(seed)
    q = (torch.randn(s_q, h_q, d_qk, generator=gen, device=device) / 10).to(dtype)
    kv = (torch.randn(s_kv, 1, d_qk, generator=gen, device=device) / 10).to(dtype)
    idx = torch.empty(s_q, 1, topk, dtype=torch.int32, device=device)
    rows = max(1, (256 << 20) // (4 * s_kv))  # bound the random-key matrix to ~256 MB
    for r0 in range(0, s_q, rows):
        r1 = min(s_q, r0 + rows)
        keys = torch.rand(r1 - r0, s_kv, generator=gen, device=device)
        idx[r0:r1, 0] = keys.topk(topk, dim=-1).indices.sort(dim=-1).values.to(torch.int32)
    return q, kv, idx


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
        if "no lse returned: only out checked" not in provider.notes:
            provider.notes.append("no lse returned: only out checked")
        return info
    fin = torch.isfinite(rlse)
    lse = lse.float().reshape(rlse.shape)
    err = (lse[fin] - rlse[fin]).abs().max().item() if fin.any() else 0.0
    if err >= LSE_ABS_TOL:
        err2 = (lse[fin] / math.log2(math.e) - rlse[fin]).abs().max().item() if fin.any() else 0.0
        if err2 < LSE_ABS_TOL:
            if not provider.lse_base2:
                provider.notes.append("returns a base-2 lse (converted for the check)")
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


def tflops(s_q, h_q, topk, d_qk, d_v, ms) -> float:
    return 2.0 * s_q * h_q * topk * (d_qk + d_v) / (ms * 1e-3) / 1e12


def tune(args, q, kv, idx, sm_scale, ref, warmup, rep) -> tuple:
    """Time every config of the search space (plain Triton, TLE off); returns (best, records)."""
    from tle import ops

    base = ops.default_config(args.h_q)
    records = []
    space = [ops.SparseMLAConfig(base.block_h, bk, w, st) for bk in TUNE_BLOCK_K for st in TUNE_STAGES
             for w in TUNE_WARPS]
    for i, cfg in enumerate(space):
        rec = {"config": str(cfg), **cfg.as_dict()}
        log(f"tune {i + 1}/{len(space)} {cfg}")
        try:
            with ops.tle_hooks(False):
                fn = lambda: ops.sparse_mla_fwd(q, kv, idx, sm_scale, args.d_v, config=cfg)  # noqa: E731
                rec.update(check(Provider("triton", fn), fn(), ref))
                rec["ms"] = bench_ms(fn, warmup, rep)
            rec["tflops"] = tflops(args.s_q, args.h_q, args.topk, args.d_qk, args.d_v, rec["ms"])
            rec["status"] = "ok"
            log(f"    {rec['ms']:.3f} ms  {rec['tflops']:.1f} TFLOPs")
        except Exception as e:  # out of shared memory, failed check, ...
            rec["status"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
            log(f"    skipped: {rec['status']}")
        records.append(rec)
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        raise RuntimeError("no tuning config ran successfully")
    best = min(ok, key=lambda r: r["ms"])
    return ops.SparseMLAConfig(best["block_h"], best["block_k"], best["num_warps"], best["num_stages"]), records


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------
def _fmt(x, spec):
    return "-" if x is None else format(x, spec)


def print_table(rows: list, stream=None) -> None:
    stream = stream or sys.stdout
    header = ["s_kv", "provider", "config", "median ms", "TFLOPs", "vs triton", "vs flashmla", "status"]
    table = [header]
    for r in rows:
        table.append([str(r["s_kv"]), r["provider"], r.get("config") or "-", _fmt(r.get("ms"), ".3f"),
                      _fmt(r.get("tflops"), ".1f"), _fmt(r.get("vs_triton"), ".3f"),
                      _fmt(r.get("vs_flashmla"), ".3f"), r["status"]])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for j, row in enumerate(table):
        print("  ".join(c.rjust(w) if i in (0, 3, 4, 5, 6) else c.ljust(w) for i, (c, w) in
                        enumerate(zip(row, widths))).rstrip(), file=stream)
        if j == 0:
            print("  ".join("-" * w for w in widths), file=stream)


def write_outputs(out_dir: Path, rows: list, meta: dict) -> list:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    csv_path = out_dir / "sparse_mla.csv"
    cols = ["s_kv", "provider", "config", "ms", "tflops", "vs_triton", "vs_flashmla", "out_rel_err",
            "lse_max_abs_err", "max_logits_max_abs_err", "status"]
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    written.append(csv_path)
    png = plot(out_dir / "sparse_mla.png", rows, meta)  # before the JSON: it may add a note
    json_path = out_dir / "sparse_mla.json"
    with open(json_path, "w") as f:
        json.dump({**meta, "results": rows}, f, indent=2, default=str)
    written.append(json_path)
    if png is not None:
        written.append(png)
    return written


def plot(path: Path, rows: list, meta: dict) -> Optional[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not importable: no PNG plot written (pip install matplotlib)")
        meta.setdefault("notes", []).append("no plot: matplotlib not importable")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    providers = []
    for r in rows:
        if r["provider"] not in providers:
            providers.append(r["provider"])
    for name in providers:
        pts = [(r["s_kv"], r["tflops"]) for r in rows if r["provider"] == name and r.get("tflops")]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
    shape = meta["shape"]
    ax.set_xscale("log", base=2)
    ax.set_xlabel("s_kv")
    ax.set_ylabel("TFLOPs")
    ax.set_title(f"sparse MLA fwd: s_q={shape['s_q']} h_q={shape['h_q']} topk={shape['topk']} "
                 f"d_qk={shape['d_qk']} ({meta.get('gpu', '')})", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------
def _provider_names(args) -> tuple:
    explicit = args.providers is not None
    names = [n.strip() for n in (args.providers or ",".join(BUILTIN_PROVIDERS)).split(",") if n.strip()]
    names += [n for n in args.provider if n not in names]
    if args.flashmla_lib and "flashmla" not in names:
        names.append("flashmla")
    for n in names:
        if n not in BUILTIN_PROVIDERS and ":" not in n:
            raise SystemExit(f"unknown provider {n!r}: use {', '.join(BUILTIN_PROVIDERS)} or MODULE:FUNCTION")
    return names, explicit


def run(args) -> int:
    import torch
    import triton

    from tle import ops

    if not torch.cuda.is_available():
        log("no CUDA device: the benchmark needs a GPU")
        return 2
    s_kvs = args.s_kv or (list(QUICK_S_KV) if args.quick else list(DEFAULT_S_KV))
    warmup = args.warmup if args.warmup is not None else (10 if args.quick else 25)
    rep = args.rep if args.rep is not None else (50 if args.quick else 200)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    sm_scale = args.d_qk ** -0.5
    names, explicit = _provider_names(args)
    notes, skipped = [], {}
    if args.d_v != 512:
        log(f"--d-v must be 512 (V is the first 512 columns of each kv row), got {args.d_v}")
        return 2
    if args.h_q < 16 or args.h_q % 16 or args.topk < 1 or args.s_q < 1:
        log(f"need h_q a positive multiple of 16, topk >= 1, s_q >= 1 (got {args.h_q}, {args.topk}, {args.s_q})")
        return 2
    if min(s_kvs) < args.topk:
        log(f"every s_kv must be >= topk ({args.topk}) to draw distinct indices; got {min(s_kvs)}")
        return 2

    config = ops.SparseMLAConfig.parse(args.config) if args.config else ops.default_config(args.h_q)
    tuning = None
    if args.tune:
        s0 = s_kvs[0]
        log(f"tuning the plain-Triton kernel on s_kv={s0} ...")
        q, kv, idx = make_inputs(args.s_q, args.h_q, args.topk, args.d_qk, s0, dtype, args.seed + s0)
        ref = ops.sparse_mla_fwd_reference(q, kv, idx, sm_scale, args.d_v)
        config, tuning = tune(args, q, kv, idx, sm_scale, ref, warmup, rep)
        log(f"chosen config: {config}")
        del q, kv, idx, ref
        torch.cuda.empty_cache()

    providers = []
    for n in names:
        try:
            if n == "flashmla":
                reason = _flashmla_supports(args.s_q, args.h_q, args.topk, args.d_qk, dtype)
                if reason:
                    raise RuntimeError(reason)
            providers.append(make_provider(n, config, args.flashmla_lib))
        except Exception as e:
            why = f"{type(e).__name__}: {e}"
            skipped[n] = why
            log(f"provider {n} unavailable, skipped ({why})")
            if explicit or n in args.provider:
                notes.append(f"requested provider {n} skipped: {why}")
    if not providers:
        log("no provider available")
        return 2

    meta = {
        "benchmark": "sparse_mla_fwd",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "gpu": torch.cuda.get_device_name(),
        "versions": {"torch": torch.__version__, "triton": triton.__version__, "cuda": torch.version.cuda,
                     "python": platform.python_version()},
        "shape": {"s_q": args.s_q, "h_q": args.h_q, "topk": args.topk, "d_qk": args.d_qk, "d_v": args.d_v,
                  "dtype": args.dtype, "sm_scale": sm_scale, "s_kv": s_kvs},
        "inputs": "q, kv = randn/10; indices = topk distinct sorted random rows of [0, s_kv) per token; "
                  "seed = base seed + s_kv",
        "timing": {"method": "triton.testing.do_bench median (L2 flushed per call)", "warmup_ms": warmup,
                   "rep_ms": rep},
        "flops_formula": "2 * s_q * h_q * topk * (d_qk + d_v)",
        "ratios": "vs_X = time(X) / time(provider) (> 1: faster than X)",
        "tolerances": {"out_rel": OUT_REL_TOL, "lse_abs": LSE_ABS_TOL},
        "kernel_config": config.as_dict(),
        "tuning": tuning,
        "providers": {p.name: {"config": p.config, "notes": p.notes} for p in providers},
        "skipped_providers": skipped,
        "notes": notes,
        "args": {k: v for k, v in vars(args).items() if not k.startswith("_")},
    }

    rows = []
    failed = False
    for s_kv in s_kvs:
        log(f"s_kv={s_kv}: inputs (s_q={args.s_q}, h_q={args.h_q}, topk={args.topk}, d_qk={args.d_qk})")
        q, kv, idx = make_inputs(args.s_q, args.h_q, args.topk, args.d_qk, s_kv, dtype, args.seed + s_kv)
        log(f"s_kv={s_kv}: fp32 reference")
        ref = ops.sparse_mla_fwd_reference(q, kv, idx, sm_scale, args.d_v)
        for p in providers:
            row = {"s_kv": s_kv, "provider": p.name, "config": p.config}
            fn = lambda p=p: p.fn(q, kv, idx, sm_scale, args.d_v)  # noqa: E731
            try:
                with p.context(), warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    res = fn()
                    torch.cuda.synchronize()
                    row.update(check(p, res, ref))
                    del res
                    log(f"s_kv={s_kv}: {p.name} matches the reference (out rel {row['out_rel_err']:.2e}); timing")
                    row["ms"] = bench_ms(fn, warmup, rep)
                for w in caught:
                    msg = f"{w.category.__name__}: {str(w.message).splitlines()[0][:300]}"
                    if msg not in p.notes:
                        p.notes.append(msg)
                row["tflops"] = tflops(args.s_q, args.h_q, args.topk, args.d_qk, args.d_v, row["ms"])
                row["status"] = "ok"
                log(f"s_kv={s_kv}: {p.name} {row['ms']:.3f} ms, {row['tflops']:.1f} TFLOPs")
            except AssertionError as e:
                failed = True
                row["status"] = f"check failed: {e}"
                log(f"s_kv={s_kv}: {p.name} FAILED the reference check: {e}")
            except Exception as e:
                failed = True
                row["status"] = f"error: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
                log(f"s_kv={s_kv}: {p.name} error:\n{traceback.format_exc()}")
            rows.append(row)
        by = {r["provider"]: r.get("ms") for r in rows if r["s_kv"] == s_kv}
        for r in rows:
            if r["s_kv"] == s_kv and r.get("ms"):
                for base in ("triton", "flashmla"):
                    if by.get(base):
                        r[f"vs_{base}"] = by[base] / r["ms"]
        del q, kv, idx, ref
        torch.cuda.empty_cache()

    meta["providers"] = {p.name: {"config": p.config, "notes": p.notes} for p in providers}
    print_table(rows)
    for p in providers:
        for n in p.notes:
            print(f"note [{p.name}]: {n}")
    for n, why in skipped.items():
        print(f"note [{n}]: skipped ({why})")
    if tuning:
        print(f"note: --tune chose {config} for triton and tle")
    written = write_outputs(Path(args.out), rows, meta)
    log("wrote " + ", ".join(str(w) for w in written))
    return 1 if failed else 0
