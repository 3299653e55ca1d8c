"""TLE pipeline variants of the sparse MLA kernel, as user providers for `python -m tle.bench`.

Each provider runs the plain Triton kernel (kernel="tl") compiled through TLE with one pipeline variant, so a
single benchmark run measures what each TLE step contributes (METHOD: one run, ratios):

    python -m tle.bench sparse-mla --provider benchmarks.sparse_mla_variants:no_early_copies ...
"""
import contextlib

from tle import config, hook
from tle import pipeline as tle_pipeline
from tle.ops import sparse_mla_fwd

#: tle-pipeline without tle-issue-copies-early.
PIPELINE_NO_EARLY_COPIES = ",".join([
    "tle-check-triton-types", "tle-split-dot-warps", "tle-wgmma-operand-reuse",
    "tle-chain-wgmma-waits", "tle-insert-wgmma-fences", "tle-lower-to-triton",
])
#: tle-pipeline without tle-chain-wgmma-waits.
PIPELINE_NO_CHAIN = ",".join([
    "tle-check-triton-types", "tle-split-dot-warps", "tle-wgmma-operand-reuse",
    "tle-insert-wgmma-fences", "tle-issue-copies-early", "tle-lower-to-triton",
])
#: only the duplicated-MMA fix.
PIPELINE_SPLIT_ONLY = "tle-check-triton-types,tle-split-dot-warps,tle-lower-to-triton"


@contextlib.contextmanager
def _tle(pipeline=None, split_after_accelerate_matmul=False):
    step = None
    if pipeline is not None:
        config.set_options(pipeline=pipeline)
    if split_after_accelerate_matmul:
        step = hook.insert_step("tle-split-dot-warps", after="accelerate_matmul",
                                name="variant:early-split")
    try:
        yield
    finally:
        if step is not None:
            hook.remove_step(step.name)
        if pipeline is not None:
            config.set_options(pipeline=None)


def no_materialize(q, kv, indices, sm_scale, d_v):
    """TLE without tle-materialize-pipeline: Triton's own pipeliner schedules the gather loop."""
    saved = tle_pipeline.pipelines()
    tle_pipeline.disable_auto()
    try:
        return sparse_mla_fwd(q, kv, indices, sm_scale, d_v, backend="tle", kernel="tl")
    finally:
        if saved:
            tle_pipeline.auto(stages=2)


def no_early_copies(q, kv, indices, sm_scale, d_v):
    with _tle(PIPELINE_NO_EARLY_COPIES):
        return sparse_mla_fwd(q, kv, indices, sm_scale, d_v, backend="tle", kernel="tl")


def no_chain_waits(q, kv, indices, sm_scale, d_v):
    with _tle(PIPELINE_NO_CHAIN):
        return sparse_mla_fwd(q, kv, indices, sm_scale, d_v, backend="tle", kernel="tl")


def split_only(q, kv, indices, sm_scale, d_v):
    with _tle(PIPELINE_SPLIT_ONLY):
        return sparse_mla_fwd(q, kv, indices, sm_scale, d_v, backend="tle", kernel="tl")


def split_at_accelerate_matmul(q, kv, indices, sm_scale, d_v):
    """tle-split-dot-warps placed right after Triton's accelerate_matmul (before its layout
    optimizations and pipeliner) in addition to the default post-TTGIR pipeline."""
    with _tle(split_after_accelerate_matmul=True):
        return sparse_mla_fwd(q, kv, indices, sm_scale, d_v, backend="tle", kernel="tl")
