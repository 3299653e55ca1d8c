"""The SM clock and board power while one kernel runs back to back (GPU; NVML through ctypes).

Why: tensor-core power depends on the operands, so a timing probe whose WGMMAs read stale or zero
shared memory (``no_kv_gather``) may run at a higher clock than the real kernel and overstate what
the consumers could reach. This prints, per kernel, the median SM clock and power over a window
of back-to-back launches, and the time per launch in that window:

    python benchmarks/clock_under_load.py --s-kv 8192 \\
        --product baseline,no_kv_gather,kv_gather_once --probe hp128pipe_ns3_rope64 \\
        --flashmla-src .flashmla/flash_mla_sm90_src.so --gemm

``--gemm``: a bf16 matmul with the same FLOPs as the sparse MLA point (8192 x 8192 x K), the
reference for what the tensor cores alone draw at that work.
"""
from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import threading
import time


class _Nvml:
    def __init__(self):
        self.lib = ctypes.CDLL("libnvidia-ml.so.1")
        if self.lib.nvmlInit_v2() != 0:
            raise RuntimeError("nvmlInit failed")
        self.handle = ctypes.c_void_p()
        if self.lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(self.handle)) != 0:
            raise RuntimeError("nvmlDeviceGetHandleByIndex failed")

    def sample(self):
        clock, power = ctypes.c_uint(), ctypes.c_uint()
        self.lib.nvmlDeviceGetClockInfo(self.handle, 1, ctypes.byref(clock))  # NVML_CLOCK_SM
        self.lib.nvmlDeviceGetPowerUsage(self.handle, ctypes.byref(power))  # milliwatts
        return clock.value, power.value / 1000.0


def measure(fn, seconds: float, nvml: _Nvml):
    import torch

    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    samples, stop = [], threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append(nvml.sample())
            time.sleep(0.02)

    thread = threading.Thread(target=sampler)
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    launches = 0
    t_end = time.time() + seconds
    thread.start()
    start.record()
    while time.time() < t_end:
        for _ in range(10):
            fn()
        launches += 10
        torch.cuda.synchronize()
    end.record()
    torch.cuda.synchronize()
    stop.set()
    thread.join()
    steady = samples[len(samples) // 4:] or samples  # past the ramp of the first quarter
    return (start.elapsed_time(end) / launches, statistics.median(c for c, _ in steady),
            statistics.median(p for _, p in steady))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--s-kv", type=int, default=8192)
    p.add_argument("--product", default="baseline", help="benchmarks/ws_variants.py variants")
    p.add_argument("--probe", default="", help="benchmarks/colsplit_probe.py variants")
    p.add_argument("--flashmla-src", default=None, help="FlashMLA source build (flash_mla_sm90_src.so)")
    p.add_argument("--gemm", action="store_true", help="also a bf16 matmul of the same FLOPs")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=0,
                   help="also this many interleaved rounds of do_bench medians (the README's timing)")
    args = p.parse_args(argv)
    import torch

    from benchmarks import colsplit_probe, ws_variants
    from tle.bench import sparse_mla as bench
    from tle.bench.suites import Point

    nvml = _Nvml()
    inp = bench.make_point_inputs(Point("probe", args.s_kv), torch.bfloat16, seed=0)
    q3, kv, idx = inp.args()[:3]
    out = torch.empty(q3.shape[0], q3.shape[1], 512, dtype=torch.bfloat16, device="cuda")
    grid = torch.cuda.get_device_properties(0).multi_processor_count
    kernels = {f"product:{n}": (lambda n=n: ws_variants._launch(n, *inp.args())) for n in args.product.split(",") if n}
    for n in filter(None, args.probe.split(",")):
        ns, rope, hp, gather, pp = colsplit_probe.VARIANTS[n]
        kernels[f"probe:{n}"] = (lambda ns=ns, rope=rope, hp=hp, gather=gather, pp=pp: colsplit_probe._launch(
            q3, kv[:, 0], idx[:, 0], out, ns, grid, rope=rope, hp=hp, gather=gather, pp=pp))
    if args.flashmla_src:
        from tle.bench.providers import make_flashmla_src_provider

        flashmla = make_flashmla_src_provider(args.flashmla_src).fn
        kernels["flashmla (source build)"] = lambda: flashmla(*inp.args())
    if args.gemm:
        k_dim = int(bench.flops(q3.shape[0], q3.shape[1], idx.shape[-1], q3.shape[2], 512)) // (2 * 8192 * 8192)
        a = torch.randn(8192, k_dim, dtype=torch.bfloat16, device="cuda")
        b = torch.randn(k_dim, 8192, dtype=torch.bfloat16, device="cuda")
        kernels[f"gemm 8192x8192x{k_dim} (same FLOPs)"] = lambda: torch.matmul(a, b)
    print(f"s_kv {args.s_kv}: {args.seconds:.0f} s of back-to-back launches each; median SM clock and board power "
          f"over the last three quarters of the window")
    for name, fn in kernels.items():
        ms, clock, power = measure(fn, args.seconds, nvml)
        print(f"  {name:<40} {ms:7.3f} ms/launch   {clock:5.0f} MHz   {power:6.1f} W")
    if args.rounds:
        import random

        import triton.testing

        times = {name: [] for name in kernels}
        for r in range(args.rounds):
            order = list(kernels)
            random.Random(r).shuffle(order)
            for name in order:
                times[name].append(triton.testing.do_bench(kernels[name], warmup=10, rep=100, return_mode="median"))
        print(f"do_bench medians over {args.rounds} interleaved rounds (same inputs)")
        for name, t in times.items():
            print(f"  {name:<40} {statistics.median(t):7.3f} ms ({min(t):.3f}-{max(t):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
