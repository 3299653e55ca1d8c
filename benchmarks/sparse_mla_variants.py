"""TLE pipeline variants of the sparse MLA kernel, as user providers for `python -m tle.bench`.

Each provider runs the plain Triton kernel (kernel="tl") compiled through TLE with one variant of
TLE's post-TTGIR pipeline, so one interleaved benchmark run measures what each step contributes:

    python -m tle.bench sparse-mla --providers tle_tl,benchmarks.sparse_mla_variants:no_early_copies,...

The variants are derived from the pipeline the registration builds (`tle-pipeline`, read back
from `tle-opt --dump-pass-pipeline`): "without X" is that pipeline minus exactly X, so a pass added
to the pipeline later is in every variant that does not name it. `without_<pass>` (dashes as
underscores, e.g. `without_tle_hoist_wgmma_accumulators`) exists for every pass of the pipeline.
"""
from __future__ import annotations

import contextlib
import functools
import os
import subprocess

import tle
from tle import config
from tle import pipeline as tle_pipeline
from tle.ops import sparse_mla_fwd

PIPELINE = "tle-pipeline"
#: Steps every variant keeps: the type check guards the others, and lowering TLE's ops back to
#: stock Triton is required for the kernel to compile at all.
REQUIRED = ("tle-check-triton-types", "tle-lower-to-triton")


def parse_dumped_pipeline(text: str) -> list:
    """The pass elements of MLIR's `--dump-pass-pipeline` output (`builtin.module(a, b{opt=1}, c)`),
    in order; each element keeps its options."""
    start = text.find("builtin.module(")
    if start < 0:
        raise ValueError(f"no builtin.module(...) in the dumped pipeline:\n{text}")
    body, depth, items, cur = text[start + len("builtin.module("):], 0, [], ""
    for ch in body:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    else:
        raise ValueError(f"unterminated builtin.module(...) in the dumped pipeline:\n{text}")
    items.append(cur.strip())
    return [i for i in items if i]


def step_name(element: str) -> str:
    return element.split("{", 1)[0].strip()


@functools.lru_cache(maxsize=None)
def registered_pipeline() -> tuple:
    """The steps of `tle-pipeline` as this build registers it (without __TLE__ that is only the
    type check and the lowering)."""
    opt = str(tle.tool_path("tle-opt"))
    r = subprocess.run([opt, f"--pass-pipeline=builtin.module({PIPELINE})", "--dump-pass-pipeline", "-o", os.devnull],
                       input="module {}\n", capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{opt} could not dump {PIPELINE} (rc {r.returncode}):\n{r.stderr}")
    steps = parse_dumped_pipeline(r.stderr + r.stdout)
    known = tle.list_passes()
    unknown = [s for s in steps if step_name(s) not in known]
    if unknown:
        raise RuntimeError(f"{PIPELINE} has steps tle.list_passes() does not know: {unknown}")
    return tuple(steps)


def without(*names: str) -> str:
    """The registered pipeline minus the named steps (each must be in it)."""
    steps = registered_pipeline()
    present = {step_name(s) for s in steps}
    missing = [n for n in names if n not in present]
    if missing:
        raise ValueError(f"{missing} not in {PIPELINE} ({', '.join(sorted(present))})")
    if set(names) & set(REQUIRED):
        raise ValueError(f"{sorted(set(names) & set(REQUIRED))} cannot be left out (required)")
    return ",".join(s for s in steps if step_name(s) not in names)


def only(*names: str) -> str:
    """The registered pipeline reduced to the named steps plus the required ones, in its order."""
    keep = set(names) | set(REQUIRED)
    steps = registered_pipeline()
    missing = keep - {step_name(s) for s in steps}
    if missing:
        raise ValueError(f"{sorted(missing)} not in {PIPELINE}")
    return ",".join(s for s in steps if step_name(s) in keep)


def _insertion_api():
    """insert_step / remove_step of TLE's integration layer (tle.integration, or tle.hook before it)."""
    import importlib

    for name in ("tle.integration", "tle.hook"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        if callable(getattr(mod, "insert_step", None)) and callable(getattr(mod, "remove_step", None)):
            return mod
    raise RuntimeError("TLE exposes no insert_step/remove_step")


@contextlib.contextmanager
def _tle(pipeline=None, split_after_accelerate_matmul=False):
    step, api = None, None
    if pipeline is not None:
        config.set_options(pipeline=pipeline)
    if split_after_accelerate_matmul:
        api = _insertion_api()
        step = api.insert_step("tle-split-dot-warps", after="accelerate_matmul", name="variant:early-split")
    try:
        yield
    finally:
        if step is not None:
            api.remove_step(step.name)
        if pipeline is not None:
            config.set_options(pipeline=None)


def _plain_tle(q, kv, indices, sm_scale, d_v, attn_sink, topk_length):
    return sparse_mla_fwd(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, backend="tle", kernel="tl")


def run_with_pipeline(pipeline, q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
    with _tle(pipeline):
        return _plain_tle(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)


def no_materialize(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
    """TLE without tle-materialize-pipeline: Triton's own pipeliner schedules the gather loop."""
    saved = tle_pipeline.pipelines()
    tle_pipeline.disable_auto()
    try:
        return _plain_tle(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    finally:
        if saved:
            tle_pipeline.auto(stages=2)


def no_early_copies(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
    """tle-pipeline without tle-issue-copies-early (every other step, the hoist pass included)."""
    return run_with_pipeline(without("tle-issue-copies-early"), q, kv, indices, sm_scale, d_v, attn_sink,
                             topk_length)


def no_chain_waits(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
    """tle-pipeline without tle-chain-wgmma-waits."""
    return run_with_pipeline(without("tle-chain-wgmma-waits"), q, kv, indices, sm_scale, d_v, attn_sink,
                             topk_length)


def split_only(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
    """Only the duplicated-MMA fix (with the required check and lowering)."""
    return run_with_pipeline(only("tle-split-dot-warps"), q, kv, indices, sm_scale, d_v, attn_sink, topk_length)


def split_at_accelerate_matmul(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
    """tle-split-dot-warps placed right after Triton's accelerate_matmul (before its layout
    optimizations and pipeliner) in addition to the default post-TTGIR pipeline."""
    with _tle(split_after_accelerate_matmul=True):
        return _plain_tle(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)


def __getattr__(name: str):
    """without_<pass>: the registered pipeline minus that pass (dashes spelled as underscores)."""
    if name.startswith("without_"):
        step = name[len("without_"):].replace("_", "-")
        try:
            pipeline_spec = without(step)
        except ValueError as e:  # getattr/hasattr expect AttributeError for a name that is not there
            raise AttributeError(f"{name}: {e}") from None

        def provider(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None):
            return run_with_pipeline(pipeline_spec, q, kv, indices, sm_scale, d_v, attn_sink, topk_length)

        provider.__name__ = name
        provider.__doc__ = f"{PIPELINE} without {step}"
        return provider
    raise AttributeError(name)
