"""Source locations and value names survive TLE's text bridge, and TLE's binaries are reproducible.

Compiled on the CPU for sm_90, each in a fresh Python process with a fresh, empty Triton cache:
the plain sparse MLA kernel (tle.ops), the example matmul and flash-attention forward, which TLE's
passes change (so their TTGIR goes Triton -> text -> TLE -> text -> Triton). The PTX of the TLE
build must point at the kernel's .py file like stock's, no file of the bridge (temporary .mlir,
the clone, the native parser's buffer) may appear in it, Triton's value names must be kept, and
two compiles must give the same cubin bytes.

Run as a script (``python test_bridge_locations.py <kernel>``) it is the child process: it compiles
the kernel stock and through TLE (strict) and prints one JSON line of what the tests check.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

KERNELS = ("sparse_mla", "matmul", "flash_attention_fwd")


def tle_changes(kernel: str, triton_version: str) -> bool:
    """Whether TLE's passes change ``kernel``'s stock TTGIR. Stock Triton 3.9 already fences the
    matmul's cp.async ring before its WGMMA (3.6-3.8 do not), and nothing else applies to it."""
    major_minor = tuple(int(x) for x in triton_version.split(".")[:2])
    return not (kernel == "matmul" and major_minor >= (3, 9))
# Names of files the bridge writes or makes up: none may reach the IR or the binary.
_BRIDGE_FILE_RE = re.compile(r'(/tle-[A-Za-z0-9_]{8}\.mlir|"tle-clone"|<tle-input>|"tle-input\.mlir"|"output\.mlir")')


def _kernel_source(kernel: str):
    if kernel == "sparse_mla":
        import torch
        from tle.ops import kernel_source

        q = torch.empty(4096, 128, 576, dtype=torch.bfloat16, device="meta")
        kv = torch.empty(65536, 1, 576, dtype=torch.bfloat16, device="meta")
        idx = torch.empty(4096, 1, 2048, dtype=torch.int32, device="meta")
        return kernel_source(q, kv, idx, 576 ** -0.5)
    import importlib

    kw = dict(BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, num_warps=8, num_stages=3) if kernel == "matmul" else {}
    return importlib.import_module(kernel).make_source(**kw)


def _value_names(ttgir: str) -> set:
    """Triton's value names: the names of its NameLocs (``loc("acc"(...))``) that are also printed
    as SSA names (``%acc``, ``%acc_12``)."""
    name_locs = set(re.findall(r'loc\("([A-Za-z_][A-Za-z_0-9]*)"\(', ttgir))
    ssa = set(re.findall(r"%([A-Za-z_][A-Za-z_0-9]*)", ttgir))
    return {n for n in name_locs if n in ssa or any(re.fullmatch(re.escape(n) + r"_\d+", v) for v in ssa)}


def _facts(kernel_file: str, k) -> dict:
    ptx = k.asm["ptx"]
    files = dict(re.findall(r'^\s*\.file\s+(\d+)\s+"([^"]*)"', ptx, re.M))
    kernel_ids = {i for i, f in files.items() if os.path.basename(f) == kernel_file}
    locs = re.findall(r"^\s*\.loc\s+(\d+)\s+(\d+)\s+\d+", ptx, re.M)
    ttgir = k.asm["ttgir"]
    return {
        "files": sorted(files.values()),
        "kernel_locs": sum(1 for f, _ in locs if f in kernel_ids),
        "kernel_lines": sorted({int(line) for f, line in locs if f in kernel_ids}),
        "bridge_files": sorted(set(_BRIDGE_FILE_RE.findall(ttgir + ptx))),
        "names": sorted(_value_names(ttgir)),
        "ttgir_nodebug": re.sub(r"\s*loc\((?:[^()]|\([^()]*\))*\)", "", ttgir),
        "cubin_sha256": hashlib.sha256(k.asm["cubin"]).hexdigest(),
    }


def _child(kernel: str) -> dict:
    root = Path(__file__).resolve().parents[2]
    sys.path[:0] = [str(root / "examples" / "kernels"), str(Path(__file__).parent)]
    from tle_test_support import compile_stock_and_tle

    import triton

    src, options = _kernel_source(kernel)
    fn = getattr(src.fn, "fn", src.fn)  # the @triton.jit function's Python function
    kernel_file = os.path.basename(fn.__code__.co_filename)
    stock, with_tle = compile_stock_and_tle(src, options)
    return {"kernel_file": kernel_file, "triton": triton.__version__,
            "stock": _facts(kernel_file, stock), "tle": _facts(kernel_file, with_tle)}


if __name__ == "__main__":
    print("TLE-FACTS " + json.dumps(_child(sys.argv[1])))
    sys.exit(0)


import pytest  # noqa: E402

triton = pytest.importorskip("triton")
import tle  # noqa: E402

BIN = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
pytestmark = [pytest.mark.skipif(not (BIN / "ptxas").is_file(), reason="triton wheel without ptxas"),
              pytest.mark.skipif(not tle.has_native_rewrites(), reason="built without __TLE__")]


def _compile_in_fresh_process(kernel: str, cache_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(TRITON_CACHE_DIR=str(cache_dir), TRITON_ALWAYS_COMPILE="1")
    for var in ("TLE_DISABLE", "TLE_PIPELINE", "TLE_STRICT", "TLE_DUMP_DIR"):
        env.pop(var, None)
    # The child imports the same tle package as this process.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(tle.__file__).resolve().parents[1])] +
                                        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    r = subprocess.run([sys.executable, __file__, kernel], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("TLE-FACTS ")]
    assert line, r.stdout[-2000:] + r.stderr[-2000:]
    return json.loads(line[-1][len("TLE-FACTS "):])


@pytest.fixture(scope="module", params=sorted(KERNELS))
def runs(request, tmp_path_factory):
    """Two independent compiles (fresh processes, fresh caches) of one kernel."""
    kernel = request.param
    return kernel, [_compile_in_fresh_process(kernel, tmp_path_factory.mktemp(f"cache-{kernel}-{i}"))
                    for i in range(2)]


def test_tle_changes_the_kernel(runs):
    """Where TLE does not change a kernel nothing goes through the bridge (the module Triton built
    is kept): the tests below then only check the stock baseline."""
    kernel, (run, _) = runs
    changed = run["tle"]["ttgir_nodebug"] != run["stock"]["ttgir_nodebug"]
    assert changed == tle_changes(kernel, run["triton"])


def test_ptx_points_at_the_kernel_source_like_stock(runs):
    _, (run, _) = runs
    stock, with_tle = run["stock"], run["tle"]
    assert any(os.path.basename(f) == run["kernel_file"] for f in with_tle["files"]), with_tle["files"]
    assert all(f.endswith(".py") for f in with_tle["files"]), with_tle["files"]
    assert stock["kernel_locs"] > 0
    assert with_tle["kernel_locs"] >= 0.8 * stock["kernel_locs"], (with_tle["kernel_locs"], stock["kernel_locs"])
    # The same source lines are referenced (TLE moves and splits ops, it does not invent source).
    s, t = set(stock["kernel_lines"]), set(with_tle["kernel_lines"])
    assert len(s & t) >= 0.9 * len(s), sorted(s - t)
    assert t <= s, sorted(t - s)  # and no line stock does not have


def test_no_bridge_file_in_ir_or_binary(runs):
    _, (run, _) = runs
    assert run["tle"]["bridge_files"] == []
    assert run["stock"]["bridge_files"] == []


def test_value_names_kept(runs):
    _, (run, _) = runs
    stock, with_tle = set(run["stock"]["names"]), set(run["tle"]["names"])
    assert len(stock) > 10
    assert stock <= with_tle, sorted(stock - with_tle)


def test_two_compiles_give_identical_cubins(runs):
    _, (a, b) = runs
    assert a["stock"]["cubin_sha256"] == b["stock"]["cubin_sha256"]  # the baseline is deterministic
    assert a["tle"]["ttgir_nodebug"] == b["tle"]["ttgir_nodebug"]
    assert a["tle"]["cubin_sha256"] == b["tle"]["cubin_sha256"]
