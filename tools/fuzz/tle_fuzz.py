#!/usr/bin/env python3
"""Fuzz TLE's bridge and passes with mutations of real Triton IR.

Seeds are the captured TTGIR (test/lit/Inputs), every lit input (split at `// -----`) and the
regression inputs of tools/fuzz/regressions plus a few generated ones (the crash and hang inputs
of issue 11). Each case mutates a seed (byte and token edits, bracket deletion/duplication, deep
nesting, number and attribute edits such as a 0 in instrShape, op/operand/line shuffles, op name
swaps, splices from other seeds) and runs it through every TLE pass and tle-pipeline:

- in worker processes calling ``tle.run_pipeline`` (a worker that dies is a crash; one that
  does not answer within the timeout is a hang),
- for some cases also through ``tle-opt``, half of those with --tle-verify-upstream-ops=false so
  that malformed arith/scf ops reach the passes' own guards.

A run passes when every call either succeeds or fails cleanly: a TLEError with a diagnostic
(tle-opt: exit 1 with "error" on stderr), nothing written to the process's stdout/stderr by
native code, no pass output that fails verification. Everything is seeded: the same arguments
give the same cases.

  python tools/fuzz/tle_fuzz.py --cases 500 --seed 1          # what CI runs (smaller)
  python tools/fuzz/tle_fuzz.py --seconds 3600 --out fuzz-out  # a long run
  python tools/fuzz/tle_fuzz.py --regressions-only

Findings are written to --out as <kind>-<n>.mlir with the pipeline and the command that
reproduces them in the header; --reduce shrinks crash findings line by line first.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = Path(__file__).resolve().parent / "regressions"

# ------------------------------------------------------------------------------------------------
# Seeds


def _split_chunks(text: str) -> list[str]:
    return [c for c in re.split(r"^// -----.*$", text, flags=re.M) if c.strip()]


def generated_regressions() -> dict[str, str]:
    """Inputs of issue 11 that are too large or too regular to keep as files."""
    loops = 30
    body = []
    ind = "    "
    body.append(f'{ind}%c0 = "arith.constant"() <{{value = 0 : i32}}> : () -> i32')
    body.append(f'{ind}%c1 = "arith.constant"() <{{value = 1 : i32}}> : () -> i32')
    for i in range(loops):
        body.append(f'{ind}"scf.for"(%c0, %n, %c1) ({{')
        body.append(f"{ind}^bb0(%i{i}: i32):")
        ind += "  "
    body.append(f'{ind}%w = "ttg.local_alloc"(%r) : (!reg) -> !smem')
    body.append(f'{ind}%d = "ttng.warp_group_dot"(%w, %b, %acc) <{{inputPrecision = 0 : i32, isAsync = false, '
                f'maxNumImpreciseAcc = 0 : i32}}> : (!smem, !smem, !acc) -> !acc')
    for i in range(loops):
        body.append(f'{ind}"scf.yield"() : () -> ()')
        ind = ind[:-2]
        body.append(f"{ind}}}) : (i32, i32, i32) -> ()")
    nested_loops = f'''!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}}>, #ttg.shared_memory>
!reg = tensor<64x64xbf16, #ttg.blocked<{{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}}>>
module attributes {{"ttg.num-warps" = 4 : i32}} {{
  "tt.func"() <{{function_type = (!reg, !smem, !acc, i32) -> (), sym_name = "deep_loops"}}> ({{
  ^bb0(%r: !reg, %b: !smem, %acc: !acc, %n: i32):
{chr(10).join(body)}
    "tt.return"() : () -> ()
  }}) : () -> ()
}}
'''
    def fenced_func(i):
        return (f'  "tt.func"() <{{function_type = (!reg, !smem, !acc) -> (), sym_name = "f{i}"}}> ({{\n'
                f'  ^bb0(%r: !reg, %b: !smem, %acc: !acc):\n'
                f'    %w = "ttg.local_alloc"(%r) : (!reg) -> !smem\n'
                f'    %d = "ttng.warp_group_dot"(%w, %b, %acc) <{{inputPrecision = 0 : i32, isAsync = false, '
                f'maxNumImpreciseAcc = 0 : i32}}> : (!smem, !smem, !acc) -> !acc\n'
                f'    "tt.return"() : () -> ()\n  }}) : () -> ()\n')

    modules = 28
    nested_modules = nested_loops.split("module attributes")[0]
    nested_modules += "".join("module {\n" + fenced_func(i) for i in range(modules)) + "}\n" * modules
    return {
        # tle-insert-wgmma-fences was exponential in loop nesting (30 loops: > 60 s).
        "gen_fences_30_nested_loops": nested_loops,
        # ... and 28 nested modules took 13-30 s.
        "gen_28_nested_modules": nested_modules,
        # The nesting guard counted brackets in comments and not affine operators (SIGSEGV).
        "gen_comment_brackets": "// " + "(" * 2000 + "\n" + nested_loops,
        "gen_affine_60000_terms": 'module attributes {t.m = affine_map<(d0) -> (d0' + " floordiv 2" * 60000 + ")>} {}\n",
    }


# Pipelines that crashed run_pipeline by themselves (issue 11: 30,000 deep).
PIPELINE_REGRESSIONS = ["builtin.module(" * 30000 + ")" * 30000, "tle-pipeline{" * 3000, "(" * 100000]


@dataclasses.dataclass
class Seed:
    name: str
    text: str


def load_seeds(root: Path = ROOT) -> tuple[list[Seed], list[Seed]]:
    """(mutation seeds, regression inputs). Regression inputs are seeds too."""
    seeds = []
    for path in sorted((root / "test" / "lit" / "Inputs").glob("*.mlir")):
        seeds.append(Seed(f"inputs/{path.name}", path.read_text()))
    lit = root / "test" / "lit"
    for path in sorted(lit.rglob("*.mlir")):
        if "Inputs" in path.parts:
            continue
        for i, chunk in enumerate(_split_chunks(path.read_text())):
            seeds.append(Seed(f"lit/{path.relative_to(lit)}#{i}", chunk))
    regressions = [Seed(f"regressions/{p.name}", p.read_text()) for p in sorted(REGRESSIONS.glob("*.mlir"))]
    regressions += [Seed(f"regressions/{k}", v) for k, v in generated_regressions().items()]
    # Huge generated inputs are not mutated (a mutation of 600 KB of affine terms is still refused
    # by the same check); the others are.
    return seeds + [r for r in regressions if len(r.text) < 200_000], regressions


# ------------------------------------------------------------------------------------------------
# Mutations

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[%^#!@]?[A-Za-z_][\w$.]*(?:#\d+)?|0x[0-9a-fA-F]+|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|->|\S')
NUMBER = re.compile(r"(?<![\w.#%])-?\d+(?![\w.])")
SSA = re.compile(r"%[\w$.]+(?:#\d+)?")
OP_NAME = re.compile(r'"(?:tt|ttg|ttng|tle|arith|scf|math|cf|ub|gpu|test)\.[\w.]+"')
INTERESTING_INTS = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 1023, 1024,
                    65535, 65536, 2**31 - 1, 2**31, 2**32, 2**32 + 1, 2**63 - 1, 2**63, 2**64, 10**30,
                    -1, -2, -16, -2**31, -2**63, -2**63 - 1]
INTERESTING_FLOATS = ["0.0", "-0.0", "1.0e+308", "-1.0e+308", "1.0e-320", "0x7FC00000", "0x7F800000",
                      "0xFF800000", "1.5", "3.0e+38"]
ATTR_PATTERNS = [
    re.compile(r"instrShape = \[(\d+), (\d+), (\d+)\]"),
    re.compile(r"warpsPerCTA = \[(\d+)(?:, (\d+))?(?:, (\d+))?\]"),
    re.compile(r"(?:versionMajor|versionMinor|swizzlingByteWidth|elementBitWidth|perPhase|maxPhase|vec) = (\d+)"),
    re.compile(r'(?:"ttg\.num-warps"|"ttg\.threads-per-warp"|"ttg\.num-ctas"|num|pendings|tt\.num_stages|'
               r"tle\.materialized_stages|contiguity|inputPrecision|maxNumImpreciseAcc) = (-?\d+) : i\d+"),
    re.compile(r"value = (-?\d+) : i(?:32|64)"),
    re.compile(r"order = array<i32: (\d+)(?:, (\d+))?(?:, (\d+))?>"),
    re.compile(r"sizePerThread = \[(\d+)(?:, (\d+))?\]"),
    re.compile(r"threadsPerWarp = \[(\d+)(?:, (\d+))?\]"),
]
BOOL_ATTR = re.compile(r"\b(isAsync|transposed|isVolatile|bCluster|fp4Padded|isSigned)\s*=\s*(true|false)")
SHAPE = re.compile(r"(?<=[<x])(\d+)(?=x)")
ELEM_TYPES = ["i1", "i8", "i16", "i32", "i64", "f16", "bf16", "f32", "f64", "f8E4M3FN", "index"]
DICT_ENTRY = re.compile(r"(?:, )?\b[\w.\-]+ = [^,{}<>\[\]()\"]+(?=[,}])")
WRAPPERS = ["[", "(", "{", "<", "tensor<", "!ttg.memdesc<", "#ttg.blocked<{", "loc(", "affine_map<(d0) -> (",
            '"test.wrap"() ({\n']
CLOSERS = {"[": "]", "(": ")", "{": "}", "<": ">", "tensor<": "xf32>", "!ttg.memdesc<": ">", "#ttg.blocked<{": "}>",
           "loc(": ")", "affine_map<(d0) -> (": "d0)>", '"test.wrap"() ({\n': '\n}) : () -> ()'}


def _replace_span(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _pick_match(rng, pattern, text):
    found = list(pattern.finditer(text))
    return rng.choice(found) if found else None


def m_chars(rng, text, seeds):
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        a = rng.randrange(len(chars) or 1)
        kind = rng.randrange(3)
        c = rng.choice('{}()<>[]%"#!:=,x0123456789 \n-.^@')
        if kind == 0 and chars:
            chars[a] = c
        elif kind == 1:
            chars.insert(a, c)
        elif chars:
            del chars[a]
    return "".join(chars)


def m_tokens(rng, text, seeds):
    toks = list(TOKEN.finditer(text))
    if not toks:
        return text
    i = rng.randrange(len(toks))
    j = min(len(toks) - 1, i + rng.randint(0, 3))
    a, b = toks[i].start(), toks[j].end()
    kind = rng.randrange(3)
    if kind == 0:
        return _replace_span(text, a, b, "")
    if kind == 1:
        return _replace_span(text, a, b, text[a:b] + " " + text[a:b])
    k = rng.randrange(len(toks))  # swap with another token of the same first character class
    candidates = [t for t in toks if t.group()[:1] == toks[i].group()[:1]] or toks
    other = rng.choice(candidates)
    if other.start() == a:
        return text
    x, y = sorted([(a, toks[i].end()), (other.start(), other.end())])
    if x[1] > y[0]:
        return text
    return text[:x[0]] + text[y[0]:y[1]] + text[x[1]:y[0]] + text[x[0]:x[1]] + text[y[1]:]


def m_brackets(rng, text, seeds):
    spots = [m.start() for m in re.finditer(r"[\[\](){}<>]", text)]
    if not spots:
        return text
    p = rng.choice(spots)
    kind = rng.randrange(3)
    if kind == 0:
        return _replace_span(text, p, p + 1, "")
    if kind == 1:
        return _replace_span(text, p, p + 1, text[p] * rng.choice([2, 3, 50]))
    return _replace_span(text, p, p, rng.choice("[](){}<>"))


def m_deep_nesting(rng, text, seeds):
    depth = rng.choice([20, 100, 250, 255, 257, 300, 1000, 30000])
    wrapper = rng.choice(WRAPPERS)
    toks = list(TOKEN.finditer(text))
    if not toks:
        return text
    t = rng.choice(toks)
    inner = text[t.start():t.end()]
    if wrapper.startswith('"test.wrap"'):  # nested regions around whole lines
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        j = min(len(lines), i + rng.randint(1, 5))
        depth = min(depth, 300)
        return "".join(lines[:i]) + wrapper * depth + "".join(lines[i:j]) + CLOSERS[wrapper] * depth + "\n" + "".join(lines[j:])
    return _replace_span(text, t.start(), t.end(), wrapper * depth + inner + CLOSERS[wrapper] * depth)


def m_numbers(rng, text, seeds):
    if rng.random() < 0.2:
        m = _pick_match(rng, re.compile(r"-?\d+\.\d+e[+-]\d+"), text)
        if m:
            return _replace_span(text, m.start(), m.end(), rng.choice(INTERESTING_FLOATS))
    m = _pick_match(rng, NUMBER, text)
    if not m:
        return text
    return _replace_span(text, m.start(), m.end(), str(rng.choice(INTERESTING_INTS)))


def m_attributes(rng, text, seeds):
    kind = rng.randrange(5)
    if kind == 0:
        m = _pick_match(rng, BOOL_ATTR, text)
        if m:
            flipped = "false" if m.group(2) == "true" else "true"
            return _replace_span(text, m.start(2), m.end(2), flipped)
    if kind == 1:
        m = _pick_match(rng, DICT_ENTRY, text)
        if m:
            return _replace_span(text, m.start(), m.end(), "")
    if kind == 2:
        m = _pick_match(rng, SHAPE, text)
        if m:
            return _replace_span(text, m.start(), m.end(), str(rng.choice([0, 1, 2, 3, 16, 63, 65, 128, 4096, 2**31, 2**62])))
    if kind == 3:
        m = _pick_match(rng, re.compile(r"\b(?:" + "|".join(ELEM_TYPES) + r")\b"), text)
        if m:
            return _replace_span(text, m.start(), m.end(), rng.choice(ELEM_TYPES))
    pattern = rng.choice(ATTR_PATTERNS)
    m = _pick_match(rng, pattern, text)
    if not m:
        return text
    groups = [g for g in range(1, (m.lastindex or 0) + 1) if m.group(g) is not None]
    if not groups:
        return text
    g = rng.choice(groups)
    value = rng.choice([0, 0, 0, 1, 2, 3, 5, 7, 8, 16, 64, 255, 1024, 2**31, -1])
    if pattern.pattern.startswith("instrShape") and rng.random() < 0.5:
        # swap two instrShape numbers, or one with 0 (issue 11: SIGFPE)
        others = [x for x in groups if x != g]
        if others:
            h = rng.choice(others)
            vals = {g: m.group(h), h: m.group(g)}
            out = text
            for idx in sorted(vals, key=lambda x: -m.start(x)):
                out = _replace_span(out, m.start(idx), m.end(idx), vals[idx])
            return out
    return _replace_span(text, m.start(g), m.end(g), str(value))


def m_lines(rng, text, seeds):
    lines = text.splitlines(keepends=True)
    if len(lines) < 2:
        return text
    i = rng.randrange(len(lines))
    kind = rng.randrange(4)
    if kind == 0:
        del lines[i]
    elif kind == 1:
        lines.insert(i, lines[i])
    elif kind == 2:
        j = max(0, min(len(lines) - 1, i + rng.choice([-3, -2, -1, 1, 2, 3])))
        lines[i], lines[j] = lines[j], lines[i]
    else:  # move an op line to another line of the same indentation (reorders ops, even defs after uses)
        indent = len(lines[i]) - len(lines[i].lstrip())
        same = [k for k, l in enumerate(lines) if len(l) - len(l.lstrip()) == indent and k != i]
        if same:
            k = rng.choice(same)
            line = lines.pop(i)
            lines.insert(k if k < i else k - 1, line)
    return "".join(lines)


def m_operands(rng, text, seeds):
    uses = [m for m in SSA.finditer(text)]
    if len(uses) < 2:
        return text
    names = sorted({m.group() for m in uses})
    m = rng.choice(uses)
    if rng.random() < 0.5:  # permute the operand list this use sits in
        start = text.rfind("(", 0, m.start())
        end = text.find(")", m.end())
        if 0 <= start < m.start() and end > 0 and end - start < 400:
            parts = text[start + 1:end].split(", ")
            if len(parts) > 1 and all(p.startswith("%") for p in parts):
                rng.shuffle(parts)
                return _replace_span(text, start + 1, end, ", ".join(parts))
    return _replace_span(text, m.start(), m.end(), rng.choice(names))


def m_op_names(rng, text, seeds):
    found = list(OP_NAME.finditer(text))
    if not found:
        return text
    m = rng.choice(found)
    pool = sorted({x.group() for x in found} | {'"ttng.warp_group_dot_wait"', '"ttng.warp_group_dot"',
                                                 '"ttg.async_wait"', '"ttg.local_alloc"', '"ttg.memdesc_trans"',
                                                 '"ttg.memdesc_index"', '"ttg.async_copy_global_to_local"',
                                                 '"tle.wgmma_shared_operand_fence"', '"tle.memdesc_wgmma_view"',
                                                 '"scf.for"', '"scf.yield"', '"tt.trans"', '"ttg.local_load"',
                                                 # upstream ops whose verifiers meet the IR first
                                                 '"scf.while"', '"scf.if"', '"scf.condition"', '"scf.forall"',
                                                 '"scf.parallel"', '"scf.index_switch"', '"scf.execute_region"',
                                                 '"scf.reduce"', '"cf.br"', '"cf.cond_br"', '"cf.switch"',
                                                 '"ub.poison"', '"arith.select"', '"arith.constant"',
                                                 '"arith.extsi"', '"arith.cmpf"', '"math.fma"', '"arith.addi"'})
    return _replace_span(text, m.start(), m.end(), rng.choice(pool))


def m_splice(rng, text, seeds):
    donor = rng.choice(seeds).text.splitlines(keepends=True)
    if not donor:
        return text
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(donor))
    piece = donor[i:i + rng.randint(1, 6)]
    at = rng.randrange(len(lines) + 1)
    return "".join(lines[:at] + piece + lines[at:])


MUTATORS = [(m_chars, 2), (m_tokens, 3), (m_brackets, 2), (m_deep_nesting, 1), (m_numbers, 3),
            (m_attributes, 5), (m_lines, 3), (m_operands, 3), (m_op_names, 2), (m_splice, 1)]


def mutate(rng: random.Random, text: str, seeds: list[Seed]) -> tuple[str, list[str]]:
    funcs, weights = zip(*MUTATORS)
    applied = []
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        f = rng.choices(funcs, weights)[0]
        text = f(rng, text, seeds)
        applied.append(f.__name__[2:])
    return text, applied


# ------------------------------------------------------------------------------------------------
# Running


@dataclasses.dataclass
class Case:
    name: str
    text: str
    pipelines: list[str]   # through run_pipeline; the first is the parse check
    tle_opt: list[list[str]] = dataclasses.field(default_factory=list)  # tle-opt argument lists


@dataclasses.dataclass
class Finding:
    kind: str        # crash, hang, empty-diagnostics, exception, stray-output, invalid-output, tle-opt-*
    case: str
    pipeline: str
    detail: str
    text: str


def _import_tle():
    """The installed tle package, else the source tree's (its library found as tle._native does)."""
    try:
        import tle
    except ImportError:
        sys.path.insert(0, str(ROOT / "python"))
        import tle
    return tle


def all_pipelines() -> list[str]:
    tle = _import_tle()

    names = [n for n in tle.list_passes()]
    return names + ["tle-materialize-pipeline{gather-only=false stages=3}", "tle-materialize-pipeline{stages=1}",
                    "builtin.module(tle-pipeline,tle-pipeline)"]


def make_cases(count: int, seed: int, seeds: list[Seed], pipelines: list[str], tle_opt_every: int = 8):
    """Case i depends only on (seed, i): runs with the same arguments see the same cases."""
    passes = [p for p in pipelines if "{" not in p and "(" not in p]
    for i in range(count):
        rng = random.Random(f"{seed}:{i}")
        base = rng.choice(seeds)
        text, applied = mutate(rng, base.text, seeds)
        opt = []
        if i % tle_opt_every == 0:
            args = ["--" + rng.choice(passes)]
            if rng.random() < 0.5:
                args.append("--tle-verify-upstream-ops=false")
            opt.append(args)
        yield Case(f"{seed}:{i} {base.name} [{'+'.join(applied)}]", text, ["builtin.module()"] + pipelines, opt)


def regression_cases(regressions: list[Seed], pipelines: list[str]):
    passes = [p for p in pipelines if "{" not in p and "(" not in p]
    for r in regressions:
        opt = [["--" + p, v] for p in passes for v in ("--tle-verify-upstream-ops=true", "--tle-verify-upstream-ops=false")]
        if len(r.text) > 200_000:
            opt = [["--tle-pipeline"]]
        yield Case(r.name, r.text, ["builtin.module()"] + pipelines, opt)
    for i, p in enumerate(PIPELINE_REGRESSIONS):
        yield Case(f"pipeline-regression-{i}", "module {}\n", [p], [])


WORKER_SELFTESTS = {"!selftest-abort", "!selftest-hang", "!selftest-stderr", "!selftest-empty-diagnostics"}


def worker_main(job_fd: int, result_fd: int) -> None:
    """Runs jobs read from job_fd (a JSON object per line), answers on result_fd."""
    os.environ.setdefault("TLE_DISABLE", "1")
    tle = _import_tle()

    jobs = os.fdopen(job_fd, "r", encoding="utf-8")
    results = os.fdopen(result_fd, "w", encoding="utf-8")
    for line in jobs:
        job = json.loads(line)
        text, pipeline = job["text"], job["pipeline"]
        status, detail = "ok", ""
        try:
            if pipeline in WORKER_SELFTESTS:  # proves the supervisor notices each kind of failure
                if pipeline == "!selftest-abort":
                    os.abort()
                if pipeline == "!selftest-hang":
                    time.sleep(3600)
                if pipeline == "!selftest-stderr":
                    os.write(2, b"native noise\n")
                if pipeline == "!selftest-empty-diagnostics":
                    raise tle.TLEError("selftest", "")
            else:
                tle.run_pipeline(text, pipeline)
        except tle.TLEError as e:
            if not e.diagnostics.strip():
                status, detail = "empty-diagnostics", str(e)
            elif "produced IR that fails the verifiers" in e.diagnostics:
                status, detail = "invalid-output", e.diagnostics[:4000]
            else:
                status, detail = "error", e.diagnostics[:300]
        except Exception as e:  # anything but TLEError is a bug of the binding
            status, detail = "exception", f"{type(e).__name__}: {e}"[:4000]
        results.write(json.dumps({"status": status, "detail": detail}) + "\n")
        results.flush()


class Worker:
    """A child process running jobs; restarted after it crashes or hangs."""

    def __init__(self, timeout: float, env: dict):
        self.timeout = timeout
        self.env = env
        self.proc = None

    def _start(self):
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        self.output = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", str(job_r), str(res_w)],
                                     pass_fds=(job_r, res_w), stdin=subprocess.DEVNULL, stdout=self.output,
                                     stderr=self.output, env=self.env)
        os.close(job_r)
        os.close(res_w)
        self.jobs = os.fdopen(job_w, "w", encoding="utf-8")
        self.results = res_r
        self.buffer = b""

    def _output_since(self, offset: int) -> str:
        # pread: the child shares the file's offset, which must keep pointing at the end
        size = os.fstat(self.output.fileno()).st_size
        return os.pread(self.output.fileno(), size - offset, offset).decode("utf-8", "replace")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.jobs.close()
            os.close(self.results)
            self.output.close()
            self.proc = None

    def run(self, text: str, pipeline: str) -> tuple[str, str]:
        """(status, detail); status is ok/error or the kind of a finding."""
        if self.proc is None:
            self._start()
        before = os.fstat(self.output.fileno()).st_size
        try:
            self.jobs.write(json.dumps({"text": text, "pipeline": pipeline}) + "\n")
            self.jobs.flush()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                return "hang", f"no answer within {self.timeout:.0f} s"
            ready, _, _ = select.select([self.results], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.results, 1 << 20)
            if not chunk:  # the worker died
                code = self.proc.wait()
                tail = self._output_since(before)[-3000:]
                self.stop()
                import signal
                name = signal.Signals(-code).name if code < 0 else f"exit {code}"
                return "crash", f"{name}\n{tail}"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        result = json.loads(line)
        if os.fstat(self.output.fileno()).st_size != before and result["status"] in ("ok", "error"):
            return "stray-output", self._output_since(before)[:2000]
        return result["status"], result["detail"]


def run_tle_opt(tle_opt: str, text: str, args: list[str], timeout: float) -> tuple[str, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        proc = subprocess.run([tle_opt, *args, path, "-o", os.devnull], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "tle-opt-hang", f"no exit within {timeout:.0f} s"
    finally:
        os.unlink(path)
    if proc.returncode < 0:
        import signal
        return "tle-opt-crash", f"{signal.Signals(-proc.returncode).name}\n" + proc.stderr[-3000:].decode("utf-8", "replace")
    if proc.returncode == 0:
        return "ok", ""
    if proc.returncode == 1 and b"error" in proc.stderr:
        return "error", ""
    return "tle-opt-bad-exit", f"exit {proc.returncode}\n" + proc.stderr[-3000:].decode("utf-8", "replace")


@dataclasses.dataclass
class Stats:
    cases: int = 0
    runs: int = 0
    accepted: int = 0       # cases whose input parsed and verified
    tle_opt_runs: int = 0


def fuzz(cases, *, jobs: int = 2, timeout: float = 20.0, tle_opt: str | None = None,
         deadline: float | None = None, env: dict | None = None, log=None) -> tuple[list[Finding], Stats]:
    """Runs `cases` on `jobs` workers. A case whose input is refused by the parse check
    (its first pipeline) skips its other pipelines: they would refuse it the same way."""
    env = dict(os.environ if env is None else env)
    env.setdefault("TLE_DISABLE", "1")
    findings: list[Finding] = []
    stats = Stats()
    lock = threading.Lock()
    it = iter(cases)

    def next_case():
        with lock:
            if deadline is not None and time.monotonic() > deadline:
                return None
            return next(it, None)

    def work():
        worker = Worker(timeout, env)
        try:
            while (case := next_case()) is not None:
                local = []
                accepted = False
                for k, pipeline in enumerate(case.pipelines):
                    status, detail = worker.run(case.text, pipeline)
                    if status not in ("ok", "error"):
                        local.append(Finding(status, case.name, pipeline, detail, case.text))
                    if k == 0 and pipeline == "builtin.module()":
                        accepted = status == "ok"
                        if not accepted:
                            break
                for args in case.tle_opt if tle_opt else []:
                    status, detail = run_tle_opt(tle_opt, case.text, args, timeout)
                    if status not in ("ok", "error"):
                        local.append(Finding(status, case.name, "tle-opt " + " ".join(args), detail, case.text))
                with lock:
                    stats.cases += 1
                    stats.runs += len(case.pipelines) if accepted else 1
                    stats.accepted += accepted
                    stats.tle_opt_runs += len(case.tle_opt) if tle_opt else 0
                    findings.extend(local)
                    if log and local:
                        for f in local:
                            log(f"FINDING {f.kind}: {f.case} / {f.pipeline[:80]}: {f.detail.splitlines()[0] if f.detail else ''}")
        finally:
            worker.stop()

    threads = [threading.Thread(target=work) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return findings, stats


def reduce_crash(finding: Finding, timeout: float, env: dict | None = None) -> str:
    """Drops chunks of lines while the same kind of failure persists (crashes and tle-opt
    crashes only: each attempt of a hang costs the timeout)."""
    lines = finding.text.splitlines(keepends=True)
    worker = Worker(timeout, dict(os.environ if env is None else env))

    def still_fails(candidate):
        status, _ = worker.run("".join(candidate), finding.pipeline)
        return status == finding.kind

    chunk = max(1, len(lines) // 2)
    try:
        while chunk >= 1:
            i, changed = 0, False
            while i < len(lines):
                candidate = lines[:i] + lines[i + chunk:]
                if candidate and still_fails(candidate):
                    lines, changed = candidate, True
                else:
                    i += chunk
            if not changed:
                chunk //= 2
    finally:
        worker.stop()
    return "".join(lines)


def write_findings(findings: list[Finding], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, f in enumerate(findings):
        path = out / f"{f.kind}-{n}.mlir"
        if f.pipeline.startswith("tle-opt "):
            repro = f"{f.pipeline} {path.name}"
        else:
            repro = f"python -c \"import tle; tle.run_pipeline(open('{path.name}').read(), {f.pipeline!r})\""
        header = [f"// tle-fuzz finding: {f.kind}", f"// case: {f.case}", f"// pipeline: {f.pipeline[:500]}",
                  f"// reproduce: {repro[:700]}"] + [f"// | {l}" for l in f.detail.splitlines()[:40]]
        path.write_text("\n".join(header) + "\n" + f.text)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--worker"]:
        worker_main(int(argv[1]), int(argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=500, help="mutated cases (with --seconds: at most)")
    ap.add_argument("--seconds", type=float, help="stop generating cases after this long")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds one call may take before it is a hang")
    ap.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    ap.add_argument("--no-tle-opt", action="store_true", help="only run_pipeline, no tle-opt runs")
    ap.add_argument("--regressions-only", action="store_true")
    ap.add_argument("--no-regressions", action="store_true")
    ap.add_argument("--reduce", action="store_true", help="shrink crash findings before writing them")
    args = ap.parse_args(argv)

    seeds, regressions = load_seeds()
    pipelines = all_pipelines()
    tle_opt = None
    if not args.no_tle_opt:
        tle_opt = str(_import_tle()._native.tool_path("tle-opt"))
    cases = []
    if not args.no_regressions:
        cases.append(regression_cases(regressions, pipelines))
    if not args.regressions_only:
        count = args.cases if args.seconds is None else 10**9
        cases.append(make_cases(count, args.seed, seeds, pipelines))
    import itertools

    start = time.monotonic()
    deadline = start + args.seconds if args.seconds else None
    findings, stats = fuzz(itertools.chain(*cases), jobs=args.jobs, timeout=args.timeout, tle_opt=tle_opt,
                           deadline=deadline, log=lambda s: print(s, flush=True))
    if args.reduce:
        for f in findings:
            if f.kind == "crash":
                f.text = reduce_crash(f, args.timeout)
    print(f"{stats.cases} cases ({stats.accepted} parsed and verified), {stats.runs} run_pipeline calls, "
          f"{stats.tle_opt_runs} tle-opt runs in {time.monotonic() - start:.0f} s: {len(findings)} finding(s)")
    if findings:
        for path in write_findings(findings, args.out):
            print(f"  {path}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
