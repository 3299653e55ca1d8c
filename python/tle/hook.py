"""Hooking TLE into stock Triton's compile pipeline (no Triton fork, no C++ linking).

Mechanism (see docs/triton-integration.md):

* ``triton.knobs.runtime.add_stages_inspection_hook`` gets ``_stages_hook``; stock
  ``CUDABackend.add_stages`` calls it as ``hook(backend, stages, options, language, capability)``.
  For ``@triton.jit`` kernels it replaces ``stages["ttgir"]`` with a wrapper that runs Triton's
  make_ttgir sequence as *named steps of bound passes* (our copy of the 3.6 sequence, verified
  against the installed source) with TLE steps spliced in, each TLE step being
  module -> generic text -> ``tle._native.run_pipeline`` -> re-parsed module.
  The default plan is the stock sequence followed by one post-ttgir TLE step (``TLE_PIPELINE``).
* Cache correctness: ``CUDABackend.hash`` (disk cache key) and ``triton.runtime.jit.
  compute_cache_key`` (JIT in-memory key) get TLE's identity appended while TLE is enabled; when
  disabled both are exactly stock.
* Failure policy: a failing TLE step warns (with diagnostics and a reproducer directory) and the
  kernel is compiled stock; ``TLE_STRICT=1`` raises instead.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import triton
from triton import knobs
from triton._C.libtriton import ir, nvidia, passes
from triton.backends.compiler import Language

from . import _native
from . import config as _config
from . import ttgir_text
from ._native import TLEError

#: Bump when the hook's behaviour changes in a way that changes compiled code.
HOOK_VERSION = "1"

#: Triton versions whose make_ttgir sequence was transcribed below (and the sha256 of the
#: installed ``CUDABackend.make_ttgir`` source it was checked against).
VERIFIED_MAKE_TTGIR = {
    "3.6.0": "806a6c72a470b1ffe3caebde353775863ca4a1f68ab8209b7b093507be3985b6",
}
#: Other 3.6.x patch releases are accepted when their make_ttgir source hash is one of these.
VERIFIED_SERIES = "3.6."

POST_STEP_NAME = "tle-post"


class TLEWarning(UserWarning):
    """TLE fell back to stock Triton (or could not use its detailed step sequence)."""


class TLEStepError(TLEError):
    """A TLE step failed (raised only with TLE_STRICT=1)."""

    def __init__(self, message: str, diagnostics: str = "", step: str = "", reproducer: Optional[str] = None):
        super().__init__(message, diagnostics)
        self.step = step
        self.reproducer = reproducer


# ---------------------------------------------------------------------------------------------
# The stock Triton 3.6 make_ttgir sequence as named steps of bound passes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepContext:
    opt: object  # CUDAOptions
    capability: int
    dump_enabled: bool = False


@dataclass(frozen=True)
class StockStep:
    """One bound Triton pass (or a short fixed group), added to a pass manager by ``add``."""

    name: str
    add: Callable[[object, StepContext], None] = field(compare=False, repr=False)

    kind = "stock"


@dataclass(frozen=True)
class TLEStep:
    """A TLE pipeline run through the text bridge. ``rerun`` names stock steps to run again right
    after it (e.g. ``("fence_insertion",)`` when the step writes shared memory feeding WGMMA)."""

    name: str
    pipeline: str
    rerun: tuple = ()

    kind = "tle"


def stock_ttgir_steps(capability: int) -> list:
    """Our copy of ``CUDABackend.make_ttgir`` (Triton 3.6) for ``capability`` as named steps.

    The ``ttg.maxnreg`` module attribute (set when ``opt.maxnreg`` is given) is applied by the
    runner before the first step, as stock does. Names are unique; a repeated pass gets ``.2``,
    ``.3``... in order of appearance.
    """
    T, G, C = passes.ttir, passes.ttgpuir, passes.common
    NV = nvidia.passes.ttnvgpuir
    major = capability // 10
    seq: list = [
        ("convert_to_ttgpuir",
         lambda pm, c: T.add_convert_to_ttgpuir(pm, f"cuda:{c.capability}", c.opt.num_warps, 32, c.opt.num_ctas)),
        ("coalesce", lambda pm, c: G.add_coalesce(pm)),
        ("f32_dot_tc", lambda pm, c: G.add_f32_dot_tc(pm, c.capability // 10 >= 8)),
        ("plan_cta", lambda pm, c: NV.add_plan_cta(pm)),
        ("remove_layout_conversions", lambda pm, c: G.add_remove_layout_conversions(pm)),
        ("optimize_thread_locality", lambda pm, c: G.add_optimize_thread_locality(pm)),
        ("accelerate_matmul", lambda pm, c: G.add_accelerate_matmul(pm)),
        ("remove_layout_conversions", lambda pm, c: G.add_remove_layout_conversions(pm)),
        ("optimize_dot_operands", lambda pm, c: G.add_optimize_dot_operands(pm, c.capability >= 80)),
        ("optimize_descriptor_encoding", lambda pm, c: NV.add_optimize_descriptor_encoding(pm)),
        ("loop_aware_cse", lambda pm, c: T.add_loop_aware_cse(pm)),
    ]
    if major in (8, 9):
        seq += [
            ("fuse_nested_loops", lambda pm, c: G.add_fuse_nested_loops(pm)),
            ("canonicalize", lambda pm, c: C.add_canonicalizer(pm)),
            ("licm", lambda pm, c: T.add_triton_licm(pm)),
            ("canonicalize", lambda pm, c: C.add_canonicalizer(pm)),
            ("combine_tensor_select_and_if", lambda pm, c: G.add_combine_tensor_select_and_if(pm)),
            ("hopper_warpspec",
             lambda pm, c: nvidia.passes.hopper.add_hopper_warpspec(pm, c.opt.num_stages, c.dump_enabled)),
            ("assign_latencies", lambda pm, c: G.add_assign_latencies(pm, c.opt.num_stages)),
            ("schedule_loops", lambda pm, c: G.add_schedule_loops(pm)),
            ("pipeline", lambda pm, c: G.add_pipeline(pm, c.opt.num_stages, c.dump_enabled)),
        ]
    elif major >= 10:
        seq += [
            ("fuse_nested_loops", lambda pm, c: G.add_fuse_nested_loops(pm)),
            ("canonicalize", lambda pm, c: C.add_canonicalizer(pm)),
            ("licm", lambda pm, c: T.add_triton_licm(pm)),
            ("optimize_accumulator_init", lambda pm, c: G.add_optimize_accumulator_init(pm)),
            ("hoist_tmem_alloc", lambda pm, c: G.add_hoist_tmem_alloc(pm, False)),
            ("promote_lhs_to_tmem", lambda pm, c: NV.add_promote_lhs_to_tmem(pm)),
            ("assign_latencies", lambda pm, c: G.add_assign_latencies(pm, c.opt.num_stages)),
            ("schedule_loops", lambda pm, c: G.add_schedule_loops(pm)),
            ("warp_specialize", lambda pm, c: G.add_warp_specialize(pm, c.opt.num_stages)),
            ("pipeline", lambda pm, c: G.add_pipeline(pm, c.opt.num_stages, c.dump_enabled)),
            ("optimize_partition_warps", lambda pm, c: G.add_optimize_partition_warps(pm)),
            ("combine_tensor_select_and_if", lambda pm, c: G.add_combine_tensor_select_and_if(pm)),
            ("hoist_tmem_alloc", lambda pm, c: G.add_hoist_tmem_alloc(pm, True)),
            ("remove_tmem_tokens", lambda pm, c: NV.add_remove_tmem_tokens(pm)),
        ]
    else:
        seq += [("licm", lambda pm, c: T.add_triton_licm(pm))]
    seq += [
        ("canonicalize", lambda pm, c: C.add_canonicalizer(pm)),
        ("loop_aware_cse", lambda pm, c: T.add_loop_aware_cse(pm)),
        ("prefetch", lambda pm, c: G.add_prefetch(pm)),
        ("optimize_dot_operands", lambda pm, c: G.add_optimize_dot_operands(pm, c.capability >= 80)),
        ("coalesce_async_copy", lambda pm, c: G.add_coalesce_async_copy(pm)),
        ("optimize_tmem_layouts", lambda pm, c: NV.add_optimize_tmem_layouts(pm)),
    ]
    if major >= 9:
        seq += [("tma_lowering", lambda pm, c: NV.add_tma_lowering(pm))]
    seq += [
        ("remove_layout_conversions", lambda pm, c: G.add_remove_layout_conversions(pm)),
        ("interleave_tmem", lambda pm, c: NV.add_interleave_tmem(pm)),
        ("reduce_data_duplication", lambda pm, c: G.add_reduce_data_duplication(pm)),
        ("reorder_instructions", lambda pm, c: G.add_reorder_instructions(pm)),
        ("loop_aware_cse", lambda pm, c: T.add_loop_aware_cse(pm)),
        ("symbol_dce", lambda pm, c: C.add_symbol_dce(pm)),
        ("fence_insertion", lambda pm, c: NV.add_fence_insertion(pm, c.capability)),
        ("lower_mma", lambda pm, c: NV.add_lower_mma(pm)),
        ("sccp", lambda pm, c: C.add_sccp(pm)),
        ("cse", lambda pm, c: C.add_cse(pm)),
        ("canonicalize", lambda pm, c: C.add_canonicalizer(pm)),
    ]
    counts: dict = {}
    steps = []
    for name, add in seq:
        counts[name] = counts.get(name, 0) + 1
        steps.append(StockStep(name if counts[name] == 1 else f"{name}.{counts[name]}", add))
    return steps


@functools.lru_cache(maxsize=None)
def staged_supported() -> bool:
    """True when the installed Triton's make_ttgir is the sequence transcribed above."""
    if not triton.__version__.startswith(VERIFIED_SERIES):
        return False
    try:
        from triton.backends.nvidia.compiler import CUDABackend

        src = inspect.getsource(CUDABackend.make_ttgir)
    except (OSError, TypeError, ImportError):
        return False
    return hashlib.sha256(src.encode()).hexdigest() in VERIFIED_MAKE_TTGIR.values()


# ---------------------------------------------------------------------------------------------
# TLE steps placed between Triton's passes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Insertion:
    step: TLEStep
    before: Optional[str]
    after: Optional[str]


_insertions: list = []
_insertions_lock = threading.Lock()
_steps_generation = 0


def insert_step(pipeline: str, *, before: Optional[str] = None, after: Optional[str] = None,
                name: Optional[str] = None, rerun: Sequence[str] = ()) -> TLEStep:
    """Run TLE ``pipeline`` before/after the named stock make_ttgir step (see
    ``stock_ttgir_steps``), e.g. ``insert_step("tle-materialize-pipeline", before="assign_latencies")``
    or ``insert_step("tle-x", after="accelerate_matmul", rerun=("fence_insertion",))``.

    Only used where the detailed sequence is verified (Triton 3.6.x); elsewhere inserted steps are
    ignored (one warning) and only the post-ttgir pipeline runs. An anchor that does not exist for
    a kernel's capability skips the step for that kernel.
    """
    global _steps_generation
    if (before is None) == (after is None):
        raise ValueError("give exactly one of before= / after=")
    if not pipeline:
        raise ValueError("empty pipeline")
    known = _known_step_names()
    for what in [before or after, *rerun]:
        if what not in known:
            raise ValueError(f"unknown stock make_ttgir step {what!r}; known: {sorted(known)}")
    step = TLEStep(name or f"tle:{pipeline}", pipeline, tuple(rerun))
    with _insertions_lock:
        if any(i.step.name == step.name for i in _insertions):
            raise ValueError(f"a TLE step named {step.name!r} is already inserted")
        _insertions.append(_Insertion(step, before, after))
        _steps_generation += 1
    return step


@functools.lru_cache(maxsize=None)
def _known_step_names() -> frozenset:
    names = set()
    for cap in (75, 80, 90, 100):
        names.update(s.name for s in stock_ttgir_steps(cap))
    return frozenset(names)


def remove_step(name: str) -> None:
    global _steps_generation
    with _insertions_lock:
        _insertions[:] = [i for i in _insertions if i.step.name != name]
        _steps_generation += 1


def clear_steps() -> None:
    global _steps_generation
    with _insertions_lock:
        _insertions.clear()
        _steps_generation += 1


def inserted_steps() -> list:
    return [(i.step, i.before, i.after) for i in _insertions]


def build_plan(capability: int, cfg: _config.Options, staged: bool = True) -> list:
    """The ordered list of steps the wrapper runs (stock + TLE). With ``staged=False`` the stock
    part is a single opaque step ``("stock", None)`` and only the post-ttgir step is added."""
    if staged:
        stock = stock_ttgir_steps(capability)
        by_name = {s.name: s for s in stock}
        plan: list = []
        insertions = list(_insertions)
        for s in stock:
            for ins in insertions:
                if ins.before == s.name:
                    plan += _with_reruns(ins.step, by_name)
            plan.append(s)
            for ins in insertions:
                if ins.after == s.name:
                    plan += _with_reruns(ins.step, by_name)
    else:
        plan = [StockStep("stock", None)]
    if cfg.pipeline:
        plan.append(TLEStep(POST_STEP_NAME, cfg.pipeline))
    return plan


def _with_reruns(step: TLEStep, by_name: dict) -> list:
    out = [step]
    for r in step.rerun:
        s = by_name.get(r)
        if s is None:
            continue  # not part of this capability's sequence
        out.append(StockStep(f"{s.name}@after:{step.name}", s.add))
    return out


def _plan_fingerprint(plan: list) -> str:
    return ",".join(f"{s.kind}:{s.name}" + (f"[{s.pipeline}]" if s.kind == "tle" else "") for s in plan)


# ---------------------------------------------------------------------------------------------
# Identity folded into Triton's cache keys
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _python_digest() -> str:
    h = hashlib.sha256(HOOK_VERSION.encode())
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("hook.py", "ttgir_text.py", "config.py"):
        try:
            with open(os.path.join(here, name), "rb") as f:
                h.update(f.read())
        except OSError:
            pass
    return h.hexdigest()[:16]


def tle_version() -> str:
    import tle

    v = getattr(tle, "__version__", None)
    if v:
        return str(v)
    try:
        from importlib.metadata import version

        return version("tle")
    except Exception:
        return "dev"


@functools.lru_cache(maxsize=8)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def native_build_id() -> str:
    """``<library's tle_version()>:<sha256 of the .so>`` of the loadable native library, or ``none``."""
    try:
        lib = _native.library()
    except (ImportError, OSError):
        return "none"
    path = getattr(lib, "_name", None)
    try:
        ver = lib.tle_version().decode()
    except Exception:
        ver = "?"
    digest = "?"
    if path and os.path.isfile(path):
        st = os.stat(path)
        digest = _file_digest(path, st.st_mtime_ns, st.st_size)
    return f"{ver}:{digest}"


_identity_cache: dict = {}


def cache_identity() -> Optional[str]:
    """TLE's contribution to Triton's cache keys, or ``None`` when TLE is off (stock keys).
    Called on every JIT launch: a dict lookup on the raw environment state when nothing changed."""
    if not _installed:
        return None
    key = (_config.state_key(), _steps_generation)
    ident = _identity_cache.get(key, _MISSING)
    if ident is _MISSING:
        ident = _compute_identity(_config.current())
        if len(_identity_cache) > 64:
            _identity_cache.clear()
        _identity_cache[key] = ident
    return ident


_MISSING = object()


def _compute_identity(cfg: _config.Options) -> Optional[str]:
    if not cfg.enabled:
        return None
    staged = staged_supported()
    steps = _plan_fingerprint(build_plan(90, cfg, True)) if staged else f"post:{cfg.pipeline}"
    material = ";".join([
        f"tle={tle_version()}", f"py={_python_digest()}", cfg.output_identity(),
        f"staged={int(staged)}", f"steps={steps}", f"native={native_build_id()}",
    ])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------
# Running steps
# ---------------------------------------------------------------------------------------------


class _StepFailed(Exception):
    def __init__(self, step: TLEStep, cause: BaseException, input_text: Optional[str],
                 output_text: Optional[str] = None, note: str = ""):
        super().__init__(str(cause))
        self.step = step
        self.cause = cause
        self.input_text = input_text
        self.output_text = output_text
        self.note = note


_counter = itertools.count()
_warned_once: set = set()
_warn_lock = threading.Lock()


def _warn_once(key: str, message: str) -> None:
    with _warn_lock:
        if key in _warned_once:
            return
        _warned_once.add(key)
    warnings.warn(message, TLEWarning, stacklevel=3)


def _kernel_name(mod) -> str:
    try:
        name = mod.get_entry_func_name()
    except Exception:
        name = None
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name or "kernel")


class _Compilation:
    """State of one ttgir-stage run for one kernel."""

    def __init__(self, cfg: _config.Options, opt, capability: int, metadata: dict, kernel: str):
        self.cfg = cfg
        self.opt = opt
        self.capability = capability
        self.metadata = metadata
        self.kernel = kernel
        h = metadata.get("hash") if isinstance(metadata, dict) else None
        self.tag = f"{kernel}-{h[:12]}" if h else f"{kernel}-{os.getpid()}-{next(_counter)}"
        self.tle_index = 0
        self.changed = False  # a TLE step changed the module
        self.last_output: Optional[str] = None  # text of the last module a TLE step changed
        self.changed_by: list = []  # names of the TLE steps that changed the module

    # -- dumps -----------------------------------------------------------------------------
    def _dump(self, step: TLEStep, which: str, text: str) -> None:
        if not self.cfg.dump_dir:
            return
        d = os.path.join(self.cfg.dump_dir, self.tag)
        os.makedirs(d, exist_ok=True)
        fname = f"{self.tle_index:02d}-{_safe(step.name)}.{which}.mlir"
        with open(os.path.join(d, fname), "w") as f:
            f.write(f"// TLE step {step.name!r}, pipeline {step.pipeline!r}, {which}\n")
            f.write(text)

    # -- one TLE step ------------------------------------------------------------------------
    def run_tle_step(self, step: TLEStep, mod):
        self.tle_index += 1
        try:
            text = ttgir_text.module_to_generic_text(mod)
        except Exception as e:  # conversion failure: still a TLE failure
            raise _StepFailed(step, e, None) from e
        self._dump(step, "before", text)
        try:
            out = _native.run_pipeline(text, step.pipeline)
        except Exception as e:
            raise _StepFailed(step, e, text) from e
        self._dump(step, "after", out)
        try:
            new = ttgir_text.generic_text_to_module(out, mod.context, source_name="output.mlir")
            ok, diag = ttgir_text.verify_module(new)
            if not ok:
                raise TLEError(f"TLE step {step.name!r} produced IR that fails Triton's verifier", diag)
        except Exception as e:
            raise _StepFailed(step, e, text, out) from e
        if new.str_nodebug() == mod.str_nodebug():
            return mod, False  # no-op: keep the original module (exact stock text and locations)
        self.changed = True
        self.last_output = out
        self.changed_by.append(step.name)
        return new, True

    def downstream_failure(self, what: str, cause: BaseException) -> "_StepFailed":
        """A Triton step failed on IR that TLE had changed: blame the TLE steps that changed it."""
        step = TLEStep(f"{what}-after-{'+'.join(self.changed_by)}",
                       ",".join(self.changed_by) or "?")
        return _StepFailed(step, cause, self.last_output,
                           note=f"Triton's {what} failed on the IR produced by TLE step(s) "
                                f"{self.changed_by} (input.mlir = that IR).")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _run_stock_segment(mod, steps: list, c: _Compilation) -> None:
    if not steps:
        return
    pm = ir.pass_manager(mod.context)
    dump_enabled = pm.enable_debug()
    ctx = StepContext(c.opt, c.capability, bool(dump_enabled))
    for s in steps:
        s.add(pm, ctx)
    pm.run(mod, "make_ttgir")


class _RestartFromPristine(Exception):
    pass


def run_staged_ttgir(mod, metadata: dict, c: _Compilation, plan: list):
    """Run ``plan`` (stock steps + TLE steps) on the TTIR module ``mod``; returns the TTGIR module.

    Stock steps between two TLE steps share one pass manager, exactly like stock make_ttgir. When
    a TLE step fails (and the policy is not strict), the remaining TLE steps are skipped; if no
    TLE step had changed the module yet, the remaining stock steps continue on it (the result is
    stock), otherwise ``_RestartFromPristine`` asks the caller to compile a pristine copy stock.
    """
    opt = c.opt
    if getattr(opt, "maxnreg", None) is not None:
        mod.set_attr("ttg.maxnreg", ir.builder(mod.context).get_int32_attr(opt.maxnreg))
    pending: list = []
    skip_reruns_of = None
    failed = False
    for s in plan:
        if s.kind == "stock":
            if "@after:" in s.name and (failed or s.name.endswith(f"@after:{skip_reruns_of}")):
                continue  # re-run belonging to a skipped / no-op TLE step
            pending.append(s)
            continue
        if failed:
            continue
        _run_stock_segment_checked(mod, pending, c)
        pending = []
        try:
            mod, changed = c.run_tle_step(s, mod)
        except _StepFailed as f:
            _handle_failure(c, f)  # raises in strict mode
            if c.changed:
                raise _RestartFromPristine() from f
            failed = True
            changed = False
        skip_reruns_of = None if changed else s.name
    _run_stock_segment_checked(mod, pending, c)
    metadata["tensordesc_meta"] = mod.get_tensordesc_metadata()
    return mod


def _run_stock_segment_checked(mod, steps: list, c: _Compilation) -> None:
    """Stock passes; if they fail on IR a TLE step changed, that is a TLE failure (fall back)."""
    try:
        _run_stock_segment(mod, steps, c)
    except Exception as e:
        if not c.changed:
            raise  # a genuine stock failure: not TLE's to hide
        _handle_failure(c, c.downstream_failure("make_ttgir", e))  # raises in strict mode
        raise _RestartFromPristine() from e


def _write_reproducer(c: _Compilation, f: _StepFailed, diagnostics: str) -> Optional[str]:
    try:
        root = c.cfg.repro_root
        d = os.path.join(root, f"{c.tag}-{_safe(f.step.name)}-{os.getpid()}-{next(_counter)}")
        os.makedirs(d, exist_ok=True)
        if f.input_text is not None:
            with open(os.path.join(d, "input.mlir"), "w") as fh:
                fh.write(f.input_text)
        if f.output_text is not None:
            with open(os.path.join(d, "output.mlir"), "w") as fh:
                fh.write(f.output_text)
        with open(os.path.join(d, "pipeline.txt"), "w") as fh:
            fh.write(f.step.pipeline + "\n")
        with open(os.path.join(d, "diagnostics.txt"), "w") as fh:
            fh.write(diagnostics + "\n")
        with open(os.path.join(d, "README"), "w") as fh:
            fh.write(
                f"TLE step {f.step.name!r} failed on kernel {c.kernel} (sm_{c.capability}, "
                f"triton {triton.__version__}, tle {tle_version()}).\n"
                f"Reproduce: tle-opt --allow-unregistered-dialect "
                f"--pass-pipeline='builtin.module({f.step.pipeline})' input.mlir\n"
                f"Or: python -c \"import tle._native as n; "
                f"print(n.run_pipeline(open('input.mlir').read(), '{f.step.pipeline}'))\"\n"
                + ("output.mlir: the pipeline's output, which Triton failed to re-parse/verify.\n"
                   if f.output_text is not None else "")
                + (f.note + "\n" if f.note else ""))
        return d
    except OSError:
        return None


def _handle_failure(c: _Compilation, f: _StepFailed) -> None:
    """Warn (default) or raise (strict) for a failed TLE step."""
    cause = f.cause
    if isinstance(cause, ImportError):
        msg = f"TLE native library unavailable ({cause}); compiling with stock Triton"
        if c.cfg.strict:
            raise TLEStepError(msg, str(cause), f.step.name) from cause
        _warn_once("native-missing", msg)
        return
    diagnostics = getattr(cause, "diagnostics", "") or str(cause)
    repro = _write_reproducer(c, f, diagnostics)
    msg = (f"TLE step {f.step.name!r} (pipeline {f.step.pipeline!r}) failed for kernel {c.kernel}; "
           f"reproducer: {repro}")
    if c.cfg.strict:
        raise TLEStepError(msg, diagnostics, f.step.name, repro) from cause
    warnings.warn(f"{msg}; compiling with stock Triton.\n{diagnostics}", TLEWarning, stacklevel=2)


def _make_triton_wrapper(stock_fn, opt, capability: int, cfg: _config.Options, state: dict):
    staged = staged_supported()
    if not staged:
        _warn_once("unverified", f"TLE: make_ttgir of triton {triton.__version__} is not a verified sequence; "
                   "only the post-ttgir TLE pipeline runs (inserted steps are ignored).")
    plan = build_plan(capability, cfg, staged)
    n_tle = sum(1 for s in plan if s.kind == "tle")

    def tle_make_ttgir(src, metadata):
        if n_tle == 0:
            return stock_fn(src, metadata)
        c = _Compilation(cfg, opt, capability, metadata, _kernel_name(src))
        # The stock path never depends on a module TLE touched: keep a pristine TTIR copy
        # (~1-2 ms) for the fallbacks here and in make_llir.
        pristine = ttgir_text.clone_module(src)
        state.update(compilation=c, pristine=pristine)
        if not staged:
            mod = stock_fn(src, metadata)
            for s in plan[1:]:
                try:
                    mod, _ = c.run_tle_step(s, mod)
                except _StepFailed as f:
                    _handle_failure(c, f)
                    break  # `mod` is still stock: the failing step printed a clone of it
            metadata["tensordesc_meta"] = mod.get_tensordesc_metadata()
            return mod
        try:
            return run_staged_ttgir(src, metadata, c, plan)
        except _RestartFromPristine:
            c.changed = False  # the result is stock again
            state["pristine"] = None
            return stock_fn(pristine, metadata)

    tle_make_ttgir.__tle__ = True
    return tle_make_ttgir


def _make_gluon_wrapper(stock_fn, opt, capability: int, cfg: _config.Options, state: dict):
    step = TLEStep(POST_STEP_NAME, cfg.pipeline)

    def tle_gluon_to_ttgir(src, metadata):
        c = _Compilation(cfg, opt, capability, metadata, _kernel_name(src))
        state.update(compilation=c, pristine=ttgir_text.clone_module(src))
        mod = stock_fn(src, metadata)
        try:
            new, _ = c.run_tle_step(step, mod)
        except _StepFailed as f:
            _handle_failure(c, f)
            return mod
        metadata["tensordesc_meta"] = new.get_tensordesc_metadata()
        return new

    tle_gluon_to_ttgir.__tle__ = True
    return tle_gluon_to_ttgir


def _make_llir_wrapper(stock_llir, stock_ttgir, state: dict):
    """make_llir on TLE-changed TTGIR; if Triton fails to lower it (a Python-level error), warn
    (or raise when strict) and lower the stock TTGIR compiled from the pristine TTIR copy."""

    def tle_make_llir(src, metadata):
        c = state.get("compilation")
        if c is None or not c.changed or state.get("pristine") is None:
            return stock_llir(src, metadata)
        try:
            return stock_llir(src, metadata)
        except Exception as e:
            _handle_failure(c, c.downstream_failure("make_llir", e))  # raises in strict mode
            pristine, state["pristine"] = state["pristine"], None
            return stock_llir(stock_ttgir(pristine, metadata), metadata)

    tle_make_llir.__tle__ = True
    return tle_make_llir


def _stages_hook(backend, stages, options, language, capability=None, *args, **kwargs):
    """The function installed in ``knobs.runtime.add_stages_inspection_hook``."""
    try:
        cfg = _config.current()
        if cfg.enabled and getattr(backend, "target", None) is not None and backend.target.backend == "cuda":
            if capability is None:
                capability = backend._parse_arch(options.arch)
            stock_fn = stages.get("ttgir")
            stock_llir = stages.get("llir")
            state: dict = {}  # shared by this compilation's wrappers
            wrapped = None
            if stock_fn is not None and not getattr(stock_fn, "__tle__", False):
                if language == Language.TRITON:
                    wrapped = _make_triton_wrapper(stock_fn, options, capability, cfg, state)
                elif language == Language.GLUON and cfg.gluon and cfg.pipeline:
                    wrapped = _make_gluon_wrapper(stock_fn, options, capability, cfg, state)
            if wrapped is not None:
                stages["ttgir"] = wrapped
                if stock_llir is not None:
                    stages["llir"] = _make_llir_wrapper(stock_llir, stock_fn, state)
    finally:
        prev = _previous_hook
        if prev is not None and prev is not _stages_hook:
            if capability is None:
                prev(backend, stages, options, language, *args, **kwargs)
            else:
                prev(backend, stages, options, language, capability, *args, **kwargs)


# ---------------------------------------------------------------------------------------------
# install / enable / disable
# ---------------------------------------------------------------------------------------------

_installed = False
_previous_hook = None
_orig_backend_hash = None
_orig_compute_cache_key = None
_install_lock = threading.RLock()


def _patched_backend_hash(self):
    base = _orig_backend_hash(self)
    ident = cache_identity()
    return base if ident is None else f"{base}-tle-{ident}"


def _patched_compute_cache_key(kernel_key_cache, specialization, options):
    key = _orig_compute_cache_key(kernel_key_cache, specialization, options)
    ident = cache_identity()
    return key if ident is None else f"{key}-tle-{ident}"


def install() -> None:
    """Install TLE into Triton (idempotent). Chains with a previously installed stages hook."""
    global _installed, _previous_hook, _orig_backend_hash, _orig_compute_cache_key
    with _install_lock:
        current = knobs.runtime.add_stages_inspection_hook
        if _installed:
            if current is None:  # somebody cleared the knob: put ours back
                knobs.runtime.add_stages_inspection_hook = _stages_hook
            return
        _previous_hook = current if current is not _stages_hook else None
        knobs.runtime.add_stages_inspection_hook = _stages_hook

        from triton.backends.nvidia.compiler import CUDABackend
        import triton.runtime.jit as jit_mod

        if not getattr(CUDABackend.hash, "__tle__", False):
            _orig_backend_hash = CUDABackend.hash
            _patched_backend_hash.__tle__ = True
            CUDABackend.hash = _patched_backend_hash
        if not getattr(jit_mod.compute_cache_key, "__tle__", False):
            _orig_compute_cache_key = jit_mod.compute_cache_key
            _patched_compute_cache_key.__tle__ = True
            jit_mod.compute_cache_key = _patched_compute_cache_key
        _installed = True


def uninstall() -> None:
    """Undo ``install()`` (restores the previous stages hook and Triton's cache-key functions)."""
    global _installed, _previous_hook
    with _install_lock:
        if not _installed:
            return
        from triton.backends.nvidia.compiler import CUDABackend
        import triton.runtime.jit as jit_mod

        if knobs.runtime.add_stages_inspection_hook is _stages_hook:
            knobs.runtime.add_stages_inspection_hook = _previous_hook
        if _orig_backend_hash is not None and getattr(CUDABackend.hash, "__tle__", False):
            CUDABackend.hash = _orig_backend_hash
        if _orig_compute_cache_key is not None and getattr(jit_mod.compute_cache_key, "__tle__", False):
            jit_mod.compute_cache_key = _orig_compute_cache_key
        _previous_hook = None
        _installed = False


def is_installed() -> bool:
    return _installed


def enable() -> None:
    """Turn TLE on for subsequent compilations (``TLE_DISABLE=1`` still wins)."""
    install()
    _config.set_options(enabled=True)
    if _config.current().env_disabled:
        _warn_once("env-disable", "tle.enable(): TLE_DISABLE=1 is set; TLE stays disabled")


def disable() -> None:
    """Turn TLE off: later compilations are stock (stock cache keys, so cached TLE kernels are
    not served, and stock kernels compiled earlier are)."""
    _config.set_options(enabled=False)


def is_enabled() -> bool:
    return _installed and _config.current().enabled
