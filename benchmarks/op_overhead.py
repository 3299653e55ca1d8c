"""Per-call host (CPU) time of the sparse MLA op against FlashMLA's, eager, at small and large s_q.

    python benchmarks/op_overhead.py                       # TLE only
    TLE_FLASHMLA_LIB=/path/flash_mla_sm90_src.so python benchmarks/op_overhead.py [--json out.json]

What is measured: the wall time of ``--calls`` back-to-back calls issued from Python without
synchronizing, divided by the count: the time the host spends per call (argument handling, output
allocation, the launch) while the GPU works through the queue. ``--repeats`` interleaved rounds
after warm-up (every provider once per round, in a fresh random order); the table gives each
provider's median and minimum, and its difference to FlashMLA as the median over rounds of the
difference within a round (the host's speed drifts by tens of percent between stretches of a run:
paired differences cancel that). Every provider is checked against the fp32 reference first. The
target (issue 14): TLE's call path adds at most 10 us over FlashMLA's at small s_q.

Rows: ``tle.ops.sparse_mla_fwd`` (the Python entry point), ``torch.ops.tle.sparse_mla_fwd`` (the
registered op, as torch.compile / an engine calls it), ``tle.flash_mla`` (the drop-in), FlashMLA's
``sparse_prefill_fwd``; and, to show where TLE's time goes, the op's CUDA implementation called
directly (no dispatcher), the same without its C++ entry point (the Python
path it falls back to), the C++ entry point alone (the call's signature and the three outputs),
its launch alone (TLE's direct launch, and Triton's ``CompiledKernel[grid]`` runner it replaces),
the dispatcher's round trip into an empty Python op, and three output allocations from Python.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import torch

_REPO = Path(__file__).resolve().parents[1]
try:
    import tle.ops  # noqa: F401
except ImportError:
    sys.path.insert(0, str(_REPO / "python"))

import tle  # noqa: E402
from tle.flash_mla import flash_mla_sparse_fwd  # noqa: E402
from tle.ops import select_kernel, sparse_mla_fwd, sparse_mla_fwd_reference  # noqa: E402
from tle.ops import sparse_mla as sm  # noqa: E402


def load_flashmla(path):
    spec = importlib.util.spec_from_file_location("flash_mla_sm90_src", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sparse_prefill_fwd


def make_inputs(s_q, h_q, s_kv, topk, d_qk, extras, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    q = (torch.randn(s_q, h_q, d_qk, generator=g, device="cuda") / 10).to(torch.bfloat16)
    kv = (torch.randn(s_kv, 1, d_qk, generator=g, device="cuda") / 10).to(torch.bfloat16)
    idx = torch.rand(s_q, s_kv, generator=g, device="cuda").topk(topk, dim=-1).indices.to(torch.int32)[:, None, :]
    sink = (torch.randn(h_q, generator=g, device="cuda") + 3) if extras else None
    tlen = torch.randint(topk // 2, topk + 1, (s_q,), generator=g, device="cuda").to(torch.int32) if extras else None
    return q, kv, idx.contiguous(), d_qk ** -0.5, sink, tlen


_NOOP = None


def noop_op():
    """An op with the same schema shape whose CUDA kernel is an empty Python function: the cost of
    the dispatcher's round trip into Python."""
    global _NOOP
    if _NOOP is None:
        lib = torch.library.Library("tle_overhead", "FRAGMENT")
        lib.define("noop(Tensor q, Tensor kv, Tensor indices, float sm_scale, int d_v=512, Tensor? attn_sink=None, "
                   "Tensor? topk_length=None) -> ()")
        lib.impl("noop", lambda q, kv, indices, sm_scale, d_v=512, attn_sink=None, topk_length=None: None, "CUDA")
        lib.impl("noop", torch.library.fallthrough_kernel, "Autograd")  # as tle::sparse_mla_fwd
        _NOOP = (lib, torch.ops.tle_overhead.noop.default)
    return _NOOP[1]


def launch_only(plan, q, kv, idx, sink, tlen, scale):
    """The cached launch of ``plan`` on fixed outputs, ``(TLE's direct launch, Triton's
    CompiledKernel[grid] runner)``: the launch's share of the call, both ways (both with the data
    pointers the plan passes)."""
    out, ml, lse = plan.allocate()
    args = plan.template.copy()
    args[:8] = [None if t is None else t.data_ptr() for t in (q, kv, idx, sink, tlen, out, ml, lse)]
    args[plan.scale_pos] = scale * 1.4426950408889634
    launcher, stream = plan.runner, plan.stream
    return (lambda: launcher(args, stream(plan.index)),
            lambda: launcher.runner(*args, stream=stream(plan.index)))


def one_round_us(fn, calls):
    """Host microseconds per call over ``calls`` back-to-back calls (the GPU queue drained first)."""
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    return (t1 - t0) / calls * 1e6


def interleaved_us(providers: dict, calls: int, repeats: int, seed: int) -> dict:
    """``name -> per-round us/call`` over ``repeats`` rounds; each round times every provider once,
    in a fresh random order (METHOD: competitors interleaved, not one after the other)."""
    rng = random.Random(seed)
    for fn in providers.values():
        for _ in range(3):
            fn()
    per_round = {name: [] for name in providers}
    names = list(providers)
    for _ in range(repeats):
        rng.shuffle(names)
        for name in names:
            per_round[name].append(one_round_us(providers[name], calls))
    return per_round


def check(name, got, ref):
    out, ml, lse = got
    rel = ((out.float() - ref[0]).norm() / ref[0].norm().clamp_min(1e-30)).item()
    fin = torch.isfinite(ref[2])
    lse_err = (lse[fin] - ref[2][fin]).abs().max().item() if fin.any() else 0.0
    if not (rel < 1e-2 and lse_err < 1e-3):
        raise SystemExit(f"{name}: check against the fp32 reference failed (out rel {rel:.3e}, lse {lse_err:.3e})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--s-q", default="1,16,64,4096")
    p.add_argument("--h-q", type=int, default=128)
    p.add_argument("--s-kv", type=int, default=8192)
    p.add_argument("--topk", type=int, default=2048)
    p.add_argument("--d-qk", type=int, default=576)
    p.add_argument("--extras", action="store_true", help="also pass attn_sink and topk_length")
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("needs a CUDA GPU", file=sys.stderr)
        return 2
    lib = os.environ.get("TLE_FLASHMLA_LIB")
    flashmla = load_flashmla(lib) if lib else None

    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {__import__('triton').__version__}, "
          f"TLE enabled: {tle.is_enabled()}; h_q {args.h_q}, s_kv {args.s_kv}, topk {args.topk}, d_qk {args.d_qk}, "
          f"extras: {args.extras}; {args.calls} calls x {args.repeats} interleaved rounds, median (min) us per call; "
          f"vs FlashMLA: median over rounds of the difference within a round")
    from tle.ops import torch_ext

    t0 = time.perf_counter()
    try:
        entry = f"C++ ({torch_ext.load().__file__}, ready in {time.perf_counter() - t0:.1f} s)"
    except torch_ext.BuildError as e:
        entry = f"Python only: the C++ entry point is not available ({e})"
    print(f"# op entry point: {entry}")
    rows = []
    header = f"{'s_q':>6} {'kernel':>10} {'provider':<36} {'us/call':>9} {'min':>8} {'vs FlashMLA':>12}"
    print(header)
    print("-" * len(header))
    for s_q in (int(x) for x in args.s_q.split(",")):
        q, kv, idx, scale, sink, tlen = make_inputs(s_q, args.h_q, args.s_kv, args.topk, args.d_qk, args.extras)
        choice = select_kernel(q, kv, idx, 512, sink, tlen)
        kernel = choice.kernel
        ref = sparse_mla_fwd_reference(q, kv, idx, scale, 512, sink, tlen)
        op = torch.ops.tle.sparse_mla_fwd.default
        noop = noop_op()
        providers = {
            "tle.ops.sparse_mla_fwd": lambda: sparse_mla_fwd(q, kv, idx, scale, 512, sink, tlen),
            "torch.ops.tle.sparse_mla_fwd": lambda: op(q, kv, idx, scale, 512, sink, tlen),
            "tle.flash_mla.flash_mla_sparse_fwd": lambda: flash_mla_sparse_fwd(q, kv, idx, scale, 512, sink, tlen),
            "  (op's CUDA impl, no dispatcher)": lambda: sm._cuda_impl(q, kv, idx, scale, 512, sink, tlen),
            "  (op's CUDA impl, Python entry)": lambda: sm._python_call(q, kv, idx, scale, 512, sink, tlen, None,
                                                                        None, None),
            "  (C++ entry: signature + outputs)": lambda: sm._prepare(q, kv, idx, sink, tlen, 512),
            "  (dispatcher into an empty op)": lambda: noop(q, kv, idx, scale, 512, sink, tlen),
            "  (3 output allocations from Python)": lambda: (
                torch.empty_strided((s_q, args.h_q, 512), (args.h_q * 512, 512, 1), dtype=q.dtype, device=q.device),
                torch.empty_strided((s_q, args.h_q), (args.h_q, 1), dtype=torch.float32, device=q.device),
                torch.empty_strided((s_q, args.h_q), (args.h_q, 1), dtype=torch.float32, device=q.device)),
        }
        if flashmla is not None:
            providers["FlashMLA sparse_prefill_fwd"] = lambda: flashmla(q, kv, idx, scale, 512, sink, tlen)
        for name in ("tle.ops.sparse_mla_fwd", "torch.ops.tle.sparse_mla_fwd", "tle.flash_mla.flash_mla_sparse_fwd",
                     "FlashMLA sparse_prefill_fwd"):
            if name in providers:
                check(name, tuple(providers[name]()), ref)
        del ref
        sm.clear_caches()
        sm._cuda_impl(q, kv, idx, scale, 512, sink, tlen)
        (plan,) = sm._PLANS.values()
        if plan.runner is not None and plan.runner.layout is not None:
            direct, via_triton = launch_only(plan, q, kv, idx, sink, tlen, scale)
            providers["  (launch only: TLE's direct launch)"] = direct
            providers["  (launch only: CompiledKernel[grid])"] = via_triton
        else:
            print(f"# s_q {s_q}: no direct launch on this Triton (the op takes Triton's own path)")
        timed = interleaved_us(providers, args.calls, args.repeats, seed=s_q)
        base = timed.get("FlashMLA sparse_prefill_fwd")
        for name, rounds in timed.items():
            med, lo = statistics.median(rounds), min(rounds)
            # the difference to FlashMLA within each round (both ran in it, a few ms apart), then
            # the median: a slow stretch of the host at the scale of a round moves both sides
            paired = statistics.median(a - b for a, b in zip(rounds, base)) if base else None
            show = paired is not None and not name.startswith(("FlashMLA", "  ("))
            print(f"{s_q:>6} {kernel:>10} {name:<36} {med:>9.1f} {lo:>8.1f} "
                  f"{f'{paired:+.1f} us' if show else '':>12}")
            rows.append(dict(s_q=s_q, kernel=kernel, provider=name.strip(), us_per_call=med, us_min=lo,
                             rounds_us=rounds, vs_flashmla_us=paired if show else None))
        print()
    if args.json:
        Path(args.json).write_text(json.dumps(dict(args=vars(args), device=torch.cuda.get_device_name(),
                                                   torch=torch.__version__, rows=rows), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
