"""Small launches for compute-sanitizer (driven by scripts/sanitize_gpu.sh; not a pytest module).

    python test/gpu/sanitize_cases.py op [CASE ...]          the warp-specialized sparse MLA kernel
    python test/gpu/sanitize_cases.py handoff MODE           examples/kernels/gluon_row_handoff.py
                                                             (MODE: mbarrier | named | racy)
    python test/gpu/sanitize_cases.py summarize LOG [RACES]  one line for the summary table; with
                                                             RACES, the reported races by location

Every launch is checked (the op against the fp32 reference with test_sparse_mla_gpu.py's
tolerances, the hand-off against its exact expected values; ``racy`` is not checked), so a run
under a sanitizer also shows the results stayed right. Prints one ``ok``/``FAIL`` line per case;
exits 1 if any case failed.
"""
from __future__ import annotations

import re
import sys
import traceback
from collections import defaultdict
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def _import_paths():
    sys.path.insert(0, str(_REPO / "test" / "gpu"))
    sys.path.insert(0, str(_REPO / "examples" / "kernels"))
    try:
        import tle.ops  # noqa: F401  (PYTHONPATH from the caller: an installed or staged TLE)
    except ImportError:
        sys.path.insert(0, str(_REPO / "python"))

# (name, s_q, h_q, d_qk, s_kv, topk, dtype, features for test_sparse_mla_gpu.make_problem)
OP_CASES = {
    # s_kv < topk: each row's indices end in -1 padding; topk a multiple of neither 64 nor 128
    "padding": (4, 64, 576, 150, 200, "bf16", {}),
    # h_q = 48: one 64-head block whose last 16 Q rows are zero-filled and outputs masked
    "head-padding": (4, 48, 576, 300, 128, "bf16", {}),
    # invalid indices (-1, negative, >= s_kv, INT32_MAX), a row alternating -1 / s_kv, a fully masked row
    "invalid-indices": (4, 128, 576, 500, 192, "bf16", {"invalid": 0.3, "oob": True, "mask_rows": (2,)}),
    # topk_length cutting inside a block, at 0 and at topk
    "topk_length": (6, 64, 576, 600, 320, "bf16", {"topk_length": True}),
    # attn_sink (with -inf / +inf entries) on the d_qk = 512 variant, fp16
    "attn_sink": (4, 128, 512, 400, 192, "fp16", {"sink": True, "invalid": 0.1}),
    # more tiles than SMs: CTAs walk 2-3 tiles, so ring phases and the row hand-off buffers are
    # reused across tiles (the write-after-read direction); some tiles have no index at all
    "persistent": (140, 128, 576, 300, 128, "bf16", {"topk_length": True}),
}


def run_op(names) -> bool:
    import torch
    from test_sparse_mla_gpu import check_against_reference, make_problem

    from tle.ops import select_kernel, sparse_mla_fwd, sparse_mla_fwd_reference

    unknown = [n for n in names if n not in OP_CASES]
    if unknown:
        print(f"FAIL unknown case(s) {unknown}; cases: {', '.join(OP_CASES)}", flush=True)
        return False
    good = True
    for name in names or OP_CASES:
        s_q, h_q, d_qk, s_kv, topk, dtype, feats = OP_CASES[name]
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
        try:
            q, kv, idx, scale, extra = make_problem(s_q, h_q, d_qk, s_kv, topk, dtype, seed=3, **feats)
            kernel = "ws"
            choice = select_kernel(q, kv, idx, **extra, kernel=kernel, backend="tle")
            assert choice.kernel == "ws", f"the op would run {choice.kernel}: {choice.reason}"
            got = sparse_mla_fwd(q, kv, idx, scale, **extra, backend="tle", kernel=kernel)
            torch.cuda.synchronize()
            rel = check_against_reference(got, sparse_mla_fwd_reference(q, kv, idx, scale, **extra), dtype)
            print(f"ok   op/{name}: relative error {rel:.2e}", flush=True)
        except Exception:  # noqa: BLE001 - report every case, then fail the run
            good = False
            print(f"FAIL op/{name}:\n{traceback.format_exc()}", flush=True)
    return good


def run_handoff(mode_name: str) -> bool:
    import gluon_row_handoff as rh

    mode = {"mbarrier": rh.MBARRIER, "named": rh.NAMED, "racy": rh.RACY}[mode_name]
    try:
        out, want = rh.run(mode)
    except Exception:  # noqa: BLE001
        print(f"FAIL handoff/{mode_name}:\n{traceback.format_exc()}", flush=True)
        return False
    if mode == rh.RACY:
        print(f"ok   handoff/{mode_name}: ran (values not checked: no synchronization by design)", flush=True)
        return True
    wrong = int((out != want).sum())
    print(f"{'ok  ' if wrong == 0 else 'FAIL'} handoff/{mode_name}: {wrong} of {out.numel()} values wrong",
          flush=True)
    return wrong == 0


_LOC = re.compile(r"([\w.-]+\.(?:py|cu|cuh|ptx)):(\d+)")


def summarize(log_path, races_path=None) -> int:
    """The tool's closing summary of a compute-sanitizer log; with ``races_path``, every racecheck
    report ("Race reported between A and B [N hazards]", over two lines) grouped by the two
    source locations, with the hazards summed (source file basenames; the code offset when a
    report has no line)."""
    lines = Path(log_path).read_text(errors="replace").splitlines()
    summary = [m.group(2) for m in (re.search(r"(ERROR|RACECHECK) SUMMARY: (.*)", x) for x in lines) if m]
    print(summary[-1] if summary else f"no summary in {log_path}")
    if races_path is None:
        return 0
    races = defaultdict(lambda: [0, 0])
    for i, line in enumerate(lines):
        if "Race reported between" not in line:
            continue
        text = line + " " + (lines[i + 1] if i + 1 < len(lines) else "")
        kinds = re.findall(r"(Read|Write) access", text)
        where = [f"{f}:{n}" for f, n in _LOC.findall(text)] or re.findall(r"access at (\S+)", text)
        severity = "error" if re.search(r"\bError\b", line) else "warning"
        key = f"{severity:7s} " + " <-> ".join(f"{k}@{w}" for k, w in zip(kinds, where))
        count = re.search(r"\[(\d+) hazards?\]", text)
        races[key][0] += 1
        races[key][1] += int(count.group(1)) if count else 1
    with open(races_path, "w") as f:
        for key, (reports, hazards) in sorted(races.items(), key=lambda kv: -kv[1][1]):
            f.write(f"    {key}  ({reports} reports, {hazards} hazards)\n")
    return 0


def main(argv) -> int:
    if argv and argv[0] == "summarize" and len(argv) in (2, 3):
        return summarize(*argv[1:])
    if not argv or argv[0] not in ("op", "handoff") or (argv[0] == "handoff" and len(argv) != 2):
        print(__doc__, file=sys.stderr)
        return 2
    _import_paths()
    good = run_op(argv[1:]) if argv[0] == "op" else run_handoff(argv[1])
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
