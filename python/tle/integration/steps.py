"""TLE steps and where they run in Triton's make_ttgir.

A :class:`TLEStep` is a TLE pass pipeline run through the text bridge. Two kinds exist:

* inserted steps, placed before or after a named pass of the installed make_ttgir (names come
  from :mod:`.discovery`: ``assign_latencies``, ``fence_insertion``, ``canonicalizer.2``, ...);
* the post-TTGIR step (``TLE_PIPELINE``, default ``tle-pipeline``), run on make_ttgir's result.

:func:`build_plan` merges a discovered stock sequence with the inserted steps. An inserted step
whose anchor this kernel's sequence lacks is skipped when the installed Triton has that pass for
other capabilities (e.g. ``tma_lowering`` on sm_80); when no capability has it, the anchor is
*missing*: the kernel then gets stock make_ttgir plus the post-TTGIR step only, and the caller
warns once naming what is missing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from .discovery import StockPass, StockSequence
from .state import STATE

POST_STEP_NAME = "tle-post"


@dataclass(frozen=True)
class TLEStep:
    """``rerun`` names stock passes to run again right after this step, e.g.
    ``("fence_insertion",)`` for a step that adds shared-memory writes feeding WGMMA."""

    name: str
    pipeline: str
    rerun: tuple = ()


@dataclass(frozen=True)
class Insertion:
    step: TLEStep
    before: Optional[str]
    after: Optional[str]

    @property
    def anchor(self) -> str:
        return self.before or self.after  # type: ignore[return-value]


@dataclass(frozen=True)
class Rerun:
    """A stock pass run again after a TLE step (skipped when that step changed nothing)."""

    stock: StockPass
    after_step: str

    @property
    def name(self) -> str:
        return f"{self.stock.name}@after:{self.after_step}"


@dataclass(frozen=True)
class Plan:
    items: tuple  # StockPass | TLEStep | Rerun, in execution order
    staged: bool  # False: stock make_ttgir as one opaque call, then the post step
    missing_anchors: tuple = ()

    @property
    def tle_steps(self) -> list:
        return [i for i in self.items if isinstance(i, TLEStep)]


# -- the registry ------------------------------------------------------------------------------


def insert_step(pipeline: str, *, before: Optional[str] = None, after: Optional[str] = None,
                name: Optional[str] = None, rerun: Sequence[str] = ()) -> TLEStep:
    """Run TLE ``pipeline`` before/after the named pass of the installed make_ttgir, e.g.
    ``insert_step("tle-materialize-pipeline", before="assign_latencies")``. Pass names are the
    bound function's name without ``add_`` (``tle.integration.stock_pass_names()`` lists them);
    a name that no capability's sequence has is reported at compile time (see module doc)."""
    if (before is None) == (after is None):
        raise ValueError("give exactly one of before= / after=")
    if not isinstance(pipeline, str) or not pipeline.strip():
        raise ValueError("pipeline must be a non-empty string")
    for what in [before or after, *rerun]:
        if not isinstance(what, str) or not what:
            raise ValueError(f"pass names must be non-empty strings, got {what!r}")
    step = TLEStep(name or f"tle:{pipeline}", pipeline, tuple(rerun))
    with STATE.lock:
        if any(i.step.name == step.name for i in STATE.insertions):
            raise ValueError(f"a TLE step named {step.name!r} is already inserted")
        STATE.insertions.append(Insertion(step, before, after))
        STATE.steps_generation += 1
    return step


def remove_step(name: str) -> None:
    with STATE.lock:
        STATE.insertions[:] = [i for i in STATE.insertions if i.step.name != name]
        STATE.steps_generation += 1


def clear_steps() -> None:
    with STATE.lock:
        STATE.insertions.clear()
        STATE.steps_generation += 1


def inserted_steps() -> list:
    """``[(step, before, after), ...]`` in insertion order."""
    with STATE.lock:
        return [(i.step, i.before, i.after) for i in STATE.insertions]


def registry_fingerprint() -> str:
    """Every inserted step with its anchor: part of TLE's cache identity."""
    with STATE.lock:
        return ";".join(f"{i.step.name}[{i.step.pipeline}]"
                        f"{'<' + i.before if i.before else '>' + str(i.after)}"
                        f"{'+' + ','.join(i.step.rerun) if i.step.rerun else ''}"
                        for i in STATE.insertions)


# -- plans -------------------------------------------------------------------------------------


def build_plan(sequence: Optional[StockSequence], post_pipeline: str,
               names_on_other_capabilities: Iterable[str] = ()) -> Plan:
    """The steps one kernel's ttgir stage runs. ``sequence=None`` (make_ttgir could not be
    recorded) gives the unstaged plan: stock make_ttgir, then the post step."""
    post = [TLEStep(POST_STEP_NAME, post_pipeline)] if post_pipeline else []
    with STATE.lock:
        insertions = list(STATE.insertions)
    if sequence is None:
        return Plan(tuple(post), staged=False)
    names = set(sequence.names)
    elsewhere = set(names_on_other_capabilities)
    missing = sorted({i.anchor for i in insertions if i.anchor not in names and i.anchor not in elsewhere})
    if missing:
        return Plan(tuple(post), staged=False, missing_anchors=tuple(missing))
    by_name = {p.name: p for p in sequence.passes}
    items: list = []
    for p in sequence.passes:
        for ins in insertions:
            if ins.before == p.name:
                items += _with_reruns(ins.step, by_name)
        items.append(p)
        for ins in insertions:
            if ins.after == p.name:
                items += _with_reruns(ins.step, by_name)
    return Plan(tuple(items + post), staged=True)


def _with_reruns(step: TLEStep, by_name: dict) -> list:
    # A rerun of a pass this capability lacks is dropped, like an anchor of another capability.
    return [step] + [Rerun(by_name[r], step.name) for r in step.rerun if r in by_name]
