#!/usr/bin/env python3
"""Cost of TLE's text bridge per kernel, compared with stock compile time (CPU only, sm_90 target).

For each kernel:
  stock compile   triton.compile(...) end to end (TTIR -> cubin, ptxas included), TLE disabled
  make_ttgir      the stock ttgir stage alone
  round trip      module -> generic alias-free text -> re-parse into Triton's context
                  (what one TLE step costs besides the TLE passes themselves), plus the no-op check
  tle passes      libtle_capi's run_pipeline on that text alone (nan without the library)
  tle compile     triton.compile with TLE enabled: real libtle_capi.so if loadable, else a fake
                  identity pipeline (so only the bridge is measured)

  python benchmarks/roundtrip_cost.py                 # sparse MLA (the goal: round trip < 10%)
  python benchmarks/roundtrip_cost.py --all --reps 7
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples" / "kernels"))
sys.path.insert(0, str(ROOT / "tools"))

os.environ.setdefault("TRITON_CACHE_DIR", tempfile.mkdtemp(prefix="tle-bench-cache-"))

import triton  # noqa: E402
from triton import knobs  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402

import tle  # noqa: E402,F401  (installs the hook)
from tle import _native, ttgir_text  # noqa: E402
from tle import config as tle_config  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)


def _sources(all_kernels: bool):
    import capture_ttgir

    out = {"sparse_mla_plain": capture_ttgir.sparse_mla_source}
    if all_kernels:
        import flash_attention_fwd
        import matmul
        import softmax
        import tma_matmul
        import vector_add

        out.update(matmul=matmul.make_source, flash_attention_fwd=flash_attention_fwd.make_source,
                   tma_matmul=tma_matmul.make_source, softmax=softmax.make_source,
                   vector_add=vector_add.make_source)
    return out


def _median_ms(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


def _measure_stock(src, options, reps):
    """Compile once with stock Triton; inside the ttgir stage (before make_llir lowers the module in
    place) time the stage and the text round trip of its output."""
    res = {}
    prev = knobs.runtime.add_stages_inspection_hook

    def capture(backend, stages, opts, language, capability):
        if prev is not None:
            prev(backend, stages, opts, language, capability)
        inner = stages["ttgir"]

        def timed(mod, metadata):
            t = time.perf_counter()
            out = inner(mod, metadata)
            res["stage"] = (time.perf_counter() - t) * 1e3
            ctx = out.context
            text = ttgir_text.module_to_generic_text(out)
            res["to_text"] = _median_ms(lambda: ttgir_text.module_to_generic_text(out), reps)
            res["parse"] = _median_ms(lambda: ttgir_text.generic_text_to_module(text, ctx), reps)
            back = ttgir_text.generic_text_to_module(text, ctx)
            res["noop"] = _median_ms(lambda: back.str_nodebug() == out.str_nodebug(), reps)
            res["chars"] = len(text)
            try:
                pipeline = tle_config.current().pipeline or tle_config.DEFAULT_PIPELINE
                res["native"] = _median_ms(lambda: _native.run_pipeline(text, pipeline), reps)
            except ImportError:
                res["native"] = float("nan")
            return out

        stages["ttgir"] = timed

    knobs.runtime.add_stages_inspection_hook = capture
    try:
        triton.compile(src, target=TARGET, options=options)
    finally:
        knobs.runtime.add_stages_inspection_hook = prev
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="all example kernels, not only sparse MLA")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)

    knobs.compilation.always_compile = True
    try:
        _native.library()
        native = f"real libtle_capi ({_native.version()})"
        fake = None
    except ImportError:
        native = "fake identity pipeline (libtle_capi.so not found)"
        fake = lambda text, pipeline: text  # noqa: E731

    print(f"triton {triton.__version__}, target sm_90, TLE native: {native}, median of {args.reps}")
    hdr = f"{'kernel':22s} {'stock compile':>14s} {'make_ttgir':>11s} {'round trip':>11s} " \
          f"{'(to text':>9s} {'parse':>6s} {'noop?)':>7s} {'rt/compile':>11s} {'tle passes':>11s} " \
          f"{'tle compile':>12s}"
    print(hdr)
    print("-" * len(hdr))
    worst = 0.0
    for name, make in _sources(args.all).items():
        src, options = make()
        tle.disable()
        triton.compile(src, target=TARGET, options=options)  # warm-up (imports, libdevice, ...)
        stock_ms = _median_ms(lambda: triton.compile(src, target=TARGET, options=options), args.reps)
        m = _measure_stock(src, options, args.reps)
        stage_ms, to_text_ms, parse_ms, noop_ms = m["stage"], m["to_text"], m["parse"], m["noop"]
        rt_ms = to_text_ms + parse_ms + noop_ms

        tle.enable()
        saved = _native.run_pipeline
        if fake is not None:
            _native.run_pipeline = fake
        try:
            tle_ms = _median_ms(lambda: triton.compile(src, target=TARGET, options=options), args.reps)
        finally:
            _native.run_pipeline = saved
        ratio = rt_ms / stock_ms
        worst = max(worst, ratio) if name == "sparse_mla_plain" else worst
        print(f"{name:22s} {stock_ms:11.1f} ms {stage_ms:8.1f} ms {rt_ms:8.1f} ms {to_text_ms:8.1f} "
              f"{parse_ms:6.1f} {noop_ms:7.1f} {100 * ratio:10.1f}% {m['native']:8.1f} ms {tle_ms:9.1f} ms")
    print(f"\nsparse MLA round trip / stock compile = {100 * worst:.1f}% (goal < 10%)")
    tle_config.reset_options()
    return 0


if __name__ == "__main__":
    sys.exit(main())
