"""Running one kernel's ttgir stage through TLE, and what happens when a TLE step fails.

Failure policy (one place): a failing TLE step, a Triton pass failing on IR a TLE step changed, or
make_llir failing on such IR gives one short TLEWarning naming the kernel, the step and a
reproducer directory (full diagnostics there), and the kernel is compiled stock from a pristine
copy of its input. ``TLE_STRICT=1`` raises :class:`~tle.errors.TLEStepError` instead. Problems of
TLE's own diagnostics (an unwritable dump or reproducer directory) never fail a compilation.
"""
from __future__ import annotations

import itertools
import os
import re
import shlex
import warnings
from typing import Optional

import triton
from triton._C.libtriton import ir

from .. import _native, ttgir_text
from .. import config as _config
from ..errors import TLEError, TLEStepError, TLEWarning
from .discovery import StockPass, StockSequence
from .identity import tle_version
from .state import STATE
from .steps import Plan, Rerun, TLEStep

_counter = itertools.count()

#: Longest diagnostic excerpt a warning carries; the whole text goes to the reproducer.
WARNING_EXCERPT = 240


def warn_once(key: str, message: str, stacklevel: int = 3) -> None:
    with STATE.lock:
        if key in STATE.warned:
            return
        STATE.warned.add(key)
    warnings.warn(message, TLEWarning, stacklevel=stacklevel)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]


def kernel_name(mod) -> str:
    try:
        name = mod.get_entry_func_name()
    except Exception:
        name = None
    return _safe(name or "kernel")


class StepFailed(Exception):
    def __init__(self, step: TLEStep, cause: BaseException, input_text: Optional[str],
                 output_text: Optional[str] = None, note: str = ""):
        super().__init__(str(cause))
        self.step, self.cause = step, cause
        self.input_text, self.output_text, self.note = input_text, output_text, note


class RestartFromPristine(Exception):
    """A TLE failure after a TLE step had changed the module: compile a pristine copy stock."""


class Compilation:
    """One kernel's ttgir stage."""

    def __init__(self, cfg: _config.Options, opt, capability: int, metadata: dict, kernel: str):
        self.cfg, self.opt, self.capability, self.metadata, self.kernel = cfg, opt, capability, metadata, kernel
        h = metadata.get("hash") if isinstance(metadata, dict) else None
        self.tag = f"{kernel}-{h[:12]}" if isinstance(h, str) else f"{kernel}-{os.getpid()}-{next(_counter)}"
        self.tle_index = 0
        self.changed = False  # a TLE step changed the module
        self.last_output: Optional[str] = None  # text of the last module a TLE step changed
        self.changed_by: list = []

    def _dump(self, step: TLEStep, which: str, text: str) -> None:
        if not self.cfg.dump_dir:
            return
        try:
            d = os.path.join(self.cfg.dump_dir, self.tag)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"{self.tle_index:02d}-{_safe(step.name)}.{which}.mlir"), "w") as f:
                f.write(f"// TLE step {step.name!r}, pipeline {step.pipeline!r}, {which}\n{text}")
        except OSError as e:  # dumps are diagnostics: never a reason to fail a kernel
            warn_once(f"dump:{self.cfg.dump_dir}", f"TLE: cannot write TLE_DUMP_DIR={self.cfg.dump_dir!r} ({e}); "
                      "compiling without dumps")

    def run_tle_step(self, step: TLEStep, mod):
        """``(module, changed)``; raises StepFailed."""
        self.tle_index += 1
        try:
            text = ttgir_text.module_to_generic_text(mod)
        except Exception as e:
            raise StepFailed(step, e, None) from e
        self._dump(step, "before", text)
        try:
            out = _native.run_pipeline(text, step.pipeline)
        except Exception as e:
            raise StepFailed(step, e, text) from e
        self._dump(step, "after", out)
        try:
            new = ttgir_text.generic_text_to_module(out, mod.context, source_name="output.mlir")
            ok, diag = ttgir_text.verify_module(new)
            if not ok:
                raise TLEError(f"TLE step {step.name!r} produced IR that fails Triton's verifier", diag)
        except Exception as e:
            raise StepFailed(step, e, text, out) from e
        if new.str_nodebug() == mod.str_nodebug():
            return mod, False  # a no-op keeps the original module (exact stock text and locations)
        self.changed = True
        self.last_output = out
        self.changed_by.append(step.name)
        return new, True

    def downstream_failure(self, what: str, cause: BaseException) -> StepFailed:
        """Triton's ``what`` failed on IR TLE changed: blame the steps that changed it."""
        step = TLEStep(f"{what}-after-{'+'.join(self.changed_by)}", ",".join(self.changed_by) or "?")
        return StepFailed(step, cause, self.last_output,
                          note=f"Triton's {what} failed on the IR produced by TLE step(s) {self.changed_by} "
                               "(input.mlir is that IR; the command below runs TLE on it again).")


# -- failure policy ------------------------------------------------------------------------------


def reproduce_command(pipeline: str) -> str:
    nested = pipeline if pipeline.startswith("builtin.module(") else f"builtin.module({pipeline})"
    return f"tle-opt --pass-pipeline={shlex.quote(nested)} input.mlir -o /dev/null"


def write_reproducer(c: Compilation, f: StepFailed, diagnostics: str) -> Optional[str]:
    try:
        d = os.path.join(c.cfg.repro_root, f"{c.tag}-{_safe(f.step.name)}-{os.getpid()}-{next(_counter)}")
        os.makedirs(d, exist_ok=True)
        files = {"pipeline.txt": f.step.pipeline + "\n", "diagnostics.txt": diagnostics + "\n"}
        if f.input_text is not None:
            files["input.mlir"] = f.input_text
        if f.output_text is not None:
            files["output.mlir"] = f.output_text
        cmd = reproduce_command(f.step.pipeline)
        files["reproduce.sh"] = f"#!/bin/sh\ncd \"$(dirname \"$0\")\" && exec {cmd}\n"
        files["README"] = (
            f"TLE step {f.step.name!r} failed on kernel {c.kernel} (sm_{c.capability}, triton "
            f"{triton.__version__}, tle {tle_version()}).\n"
            f"Reproduce (in this directory): {cmd}\n  or: sh reproduce.sh\n"
            + ("output.mlir: the pipeline's output, which Triton failed to re-parse or verify "
               "(the command above succeeds; the failure is in output.mlir).\n" if f.output_text is not None else "")
            + (f.note + "\n" if f.note else "")
            + "diagnostics.txt: the full diagnostics.\n")
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as fh:
                fh.write(text)
        return d
    except OSError:
        return None


def _excerpt(diagnostics: str) -> str:
    """The first MLIR error line (``file:line:col: error: ...``), else the first line."""
    lines = [ln.strip() for ln in diagnostics.splitlines() if ln.strip()]
    first = next((ln for ln in lines if "error:" in ln), lines[0] if lines else "")
    return first if len(first) <= WARNING_EXCERPT else first[:WARNING_EXCERPT - 3] + "..."


def handle_failure(c: Compilation, f: StepFailed) -> None:
    """Warn (default) or raise (strict) for a failed TLE step; the caller then compiles stock."""
    cause = f.cause
    if isinstance(cause, ImportError):
        msg = f"TLE native library unavailable ({cause}); compiling with stock Triton"
        if c.cfg.strict:
            raise TLEStepError(msg, str(cause), f.step.name) from cause
        warn_once("native-missing", msg, stacklevel=4)
        return
    diagnostics = getattr(cause, "diagnostics", "") or f"{type(cause).__name__}: {cause}"
    repro = write_reproducer(c, f, diagnostics)
    msg = (f"TLE step {f.step.name!r} failed for kernel {c.kernel}: {_excerpt(diagnostics)} "
           f"[reproducer: {repro or 'not written'}]")
    if c.cfg.strict:
        raise TLEStepError(msg, diagnostics, f.step.name, repro) from cause
    warnings.warn(f"{msg}; compiled with stock Triton", TLEWarning, stacklevel=4)


# -- the staged make_ttgir -----------------------------------------------------------------------


def _new_pass_manager(mod, sequence: StockSequence):
    pm = ir.pass_manager(mod.context)
    for method, args in sequence.pm_settings:
        getattr(pm, method)(*args)
    return pm


def _run_passes(mod, passes: list, sequence: StockSequence) -> None:
    pm = _new_pass_manager(mod, sequence)
    for p in passes:
        p.add_to(pm)
    pm.run(mod, sequence.run_names[0])


def _run_stock(mod, passes: list, sequence: StockSequence, c: Compilation) -> None:
    """Stock passes; their failure on IR a TLE step changed is TLE's failure (fall back)."""
    if not passes:
        return
    try:
        _run_passes(mod, passes, sequence)
    except Exception as e:
        if not c.changed:
            raise  # a genuine stock failure: not TLE's to hide
        handle_failure(c, c.downstream_failure("make_ttgir", e))
        raise RestartFromPristine() from e


def run_staged(mod, metadata: dict, c: Compilation, plan: Plan, sequence: StockSequence):
    """Run ``plan`` on the TTIR module ``mod``; returns the TTGIR module.

    Consecutive stock passes share one pass manager, as in stock make_ttgir. After a failed TLE
    step the remaining TLE steps are skipped; if no step had changed the module the stock passes
    simply continue (the result is stock), otherwise RestartFromPristine is raised.
    """
    for edit in sequence.edits:  # discovery guarantees they all come before the first pass
        getattr(mod, edit.method)(*edit.args)
    pending: list = []
    failed = False
    unchanged_steps: set = set()
    for item in plan.items:
        if isinstance(item, StockPass):
            pending.append(item)
            continue
        if isinstance(item, Rerun):
            if not failed and item.after_step not in unchanged_steps:
                pending.append(item.stock)
            continue
        if failed:
            continue
        _run_stock(mod, pending, sequence, c)
        pending = []
        try:
            mod, changed = c.run_tle_step(item, mod)
        except StepFailed as f:
            handle_failure(c, f)
            if c.changed:
                raise RestartFromPristine() from f
            failed, changed = True, False
        if not changed:
            unchanged_steps.add(item.name)
    _run_stock(mod, pending, sequence, c)
    metadata["tensordesc_meta"] = mod.get_tensordesc_metadata()
    return mod


def run_post_only(stock_fn, src, metadata: dict, c: Compilation, plan: Plan):
    """Stock make_ttgir, then the plan's TLE steps on its result (the unstaged mode)."""
    mod = stock_fn(src, metadata)
    for step in plan.tle_steps:
        try:
            mod, _ = c.run_tle_step(step, mod)
        except StepFailed as f:
            handle_failure(c, f)
            break  # `mod` is still what the last successful step returned
    metadata["tensordesc_meta"] = mod.get_tensordesc_metadata()
    return mod
