"""Discovering the installed Triton's make_ttgir pass sequence at run time.

TLE runs Triton's own bound passes with TLE steps between them, so it needs the exact sequence the
installed ``CUDABackend.make_ttgir`` builds for one compilation (its options and capability). That
sequence changes between Triton releases, so it is not transcribed: make_ttgir itself is executed
against recording stand-ins for the three names it builds passes with (``ir``, ``passes``,
``nvidia``). Every ``passes.*.add_*(pm, ...)`` call becomes a :class:`StockPass` holding the real
bound function and its arguments; module edits (``mod.set_attr``) and pass-manager settings are
recorded too and replayed on the real objects. Nothing runs on the real module during discovery.

A make_ttgir that does something the stand-ins cannot record raises :class:`DiscoveryError`;
callers then compile stock and run only the post-TTGIR TLE step.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Callable, Optional


class DiscoveryError(RuntimeError):
    """The installed make_ttgir could not be recorded (an API the stand-ins do not model)."""


@dataclass(frozen=True)
class StockPass:
    """One bound Triton pass as make_ttgir adds it: ``fn(pm, *args)``."""

    name: str  # unique within a sequence: ``coalesce``, ``canonicalizer.2``, ...
    qualname: str  # where make_ttgir found it, e.g. ``passes.ttgpuir.add_coalesce``
    fn: Callable = field(compare=False, repr=False)
    args: tuple = field(compare=False, repr=False)

    def add_to(self, pm) -> None:
        self.fn(pm, *self.args)


@dataclass(frozen=True)
class ModuleEdit:
    """A method call make_ttgir makes on the module before running passes (``set_attr``)."""

    method: str
    args: tuple = field(repr=False)


@dataclass(frozen=True)
class StockSequence:
    """What one make_ttgir call does, in order."""

    passes: tuple
    edits: tuple
    pm_settings: tuple  # (method, args) replayed on every pass manager TLE creates
    run_names: tuple  # the names make_ttgir passes to ``pm.run``

    @property
    def names(self) -> list:
        return [p.name for p in self.passes]


def step_name(qualname: str) -> str:
    """``passes.ttgpuir.add_coalesce`` -> ``coalesce``; ``nvidia.passes.hopper.add_hopper_warpspec``
    -> ``hopper_warpspec``."""
    last = qualname.rsplit(".", 1)[-1]
    return last[4:] if last.startswith("add_") else last


class _Recorder:
    def __init__(self, real_ir):
        self.real_ir = real_ir
        self.passes: list = []
        self.edits: list = []
        self.pm_settings: list = []
        self.run_names: list = []
        self.pm_count = 0
        self._counts: dict = {}

    def add_pass(self, qualname: str, fn: Callable, pm: "_RecordingPassManager", args: tuple) -> None:
        if not isinstance(pm, _RecordingPassManager):
            raise DiscoveryError(f"{qualname} was called without make_ttgir's pass manager")
        if any(isinstance(a, (_RecordingPassManager, _RecordingModule)) for a in args):
            raise DiscoveryError(f"{qualname} takes a pass manager or module as a later argument")
        base = step_name(qualname)
        n = self._counts[base] = self._counts.get(base, 0) + 1
        self.passes.append(StockPass(base if n == 1 else f"{base}.{n}", qualname, fn, args))


class _RecordingNamespace:
    """Stands in for ``passes`` / ``nvidia`` and their sub-modules: ``add_*`` functions record."""

    def __init__(self, recorder: _Recorder, real, path: str):
        self._recorder, self._real, self._path = recorder, real, path

    def __getattr__(self, name):
        real = getattr(self._real, name)  # AttributeError: make_ttgir would fail the same way
        path = f"{self._path}.{name}"
        if isinstance(real, types.ModuleType) or type(real).__name__ == "module":
            return _RecordingNamespace(self._recorder, real, path)
        if callable(real) and name.startswith("add_"):
            rec = self._recorder

            def record(pm, *args, **kwargs):
                if kwargs:
                    raise DiscoveryError(f"{path} called with keyword arguments")
                rec.add_pass(path, real, pm, args)

            return record
        if callable(real):
            raise DiscoveryError(f"make_ttgir calls {path}, which is not a pass constructor")
        return real


class _RecordingPassManager:
    def __init__(self, recorder: _Recorder, context):
        self._recorder = recorder
        self.index = recorder.pm_count
        recorder.pm_count += 1
        self._real = recorder.real_ir.pass_manager(context)  # settings are answered by a real one

    def run(self, mod, name="make_ttgir", *rest):
        self._recorder.run_names.append(name)

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if not callable(attr):
            return attr
        rec = self._recorder

        def setting(*args):
            value = attr(*args)
            if self.index == 0 and not rec.passes:
                rec.pm_settings.append((name, args))
            elif (name, args) not in rec.pm_settings:
                raise DiscoveryError(f"make_ttgir calls pm.{name} after adding passes")
            return value

        return setting


class _RecordingIR:
    def __init__(self, recorder: _Recorder):
        self._recorder = recorder

    def pass_manager(self, context):
        return _RecordingPassManager(self._recorder, context)

    def __getattr__(self, name):
        return getattr(self._recorder.real_ir, name)


class _RecordingModule:
    """Stands in for the module: records edits, answers ``context``."""

    def __init__(self, recorder: _Recorder, context):
        self._recorder, self.context = recorder, context

    def set_attr(self, *args):
        if self._recorder.passes:  # TLE replays edits before the first pass only
            raise DiscoveryError("make_ttgir edits the module after adding passes")
        self._recorder.edits.append(ModuleEdit("set_attr", args))

    def get_tensordesc_metadata(self):
        return []

    def __getattr__(self, name):
        raise DiscoveryError(f"make_ttgir uses module.{name}, which TLE does not replay")


def _plain_function(make_ttgir: Callable) -> types.FunctionType:
    fn = getattr(make_ttgir, "__func__", make_ttgir)
    if not isinstance(fn, types.FunctionType):
        raise DiscoveryError(f"make_ttgir is not a Python function ({type(fn).__name__})")
    return fn


def discover(make_ttgir: Callable, context, metadata: Optional[dict], options, capability: int) -> StockSequence:
    """Record what ``make_ttgir(mod, metadata, options, capability)`` would do."""
    fn = _plain_function(make_ttgir)
    g = fn.__globals__
    missing = [n for n in ("ir", "passes", "nvidia") if n not in g]
    if missing:
        raise DiscoveryError(f"make_ttgir's module has no {', '.join(missing)}")
    rec = _Recorder(g["ir"])
    scope = dict(g)
    scope["ir"] = _RecordingIR(rec)
    scope["passes"] = _RecordingNamespace(rec, g["passes"], "passes")
    scope["nvidia"] = _RecordingNamespace(rec, g["nvidia"], "nvidia")
    # A copy of the function over a copy of its globals: Triton's module is not touched, so other
    # threads keep compiling with the real bindings.
    shadow = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    shadow.__kwdefaults__ = fn.__kwdefaults__
    mod = _RecordingModule(rec, context)
    try:
        shadow(mod, {} if metadata is None else dict(metadata), options, capability)
    except DiscoveryError:
        raise
    except Exception as e:  # the stand-ins met something they do not model
        raise DiscoveryError(f"recording make_ttgir failed: {type(e).__name__}: {e}") from e
    if not rec.passes:
        raise DiscoveryError("make_ttgir added no passes")
    if not rec.run_names:
        raise DiscoveryError("make_ttgir never ran its pass manager")
    if rec.pm_count != 1 or len(rec.run_names) != 1:
        raise DiscoveryError(f"make_ttgir uses {rec.pm_count} pass managers / {len(rec.run_names)} runs; "
                             "TLE replays exactly one")
    return StockSequence(tuple(rec.passes), tuple(rec.edits), tuple(rec.pm_settings), tuple(rec.run_names))
