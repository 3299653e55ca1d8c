"""Providers of ``tle-bench sparse-mla``: one callable per implementation, with what it cannot run.

A provider's ``fn(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None)`` returns
``(out, max_logits, lse)`` (or ``out``); ``context()`` is entered around its checking and timing
(TLE on or off); ``supports(point)`` says why it cannot run a point ("n/a: ...", or None).
TLE's providers call the op through its public API, ``tle.ops.sparse_mla_fwd(..., kernel=...)``.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import flashmla as fm

BUILTIN_PROVIDERS = ("triton", "tle_tl", "tle", "tle_pad64", "flashmla", "flashmla_vllm")


def _always(point) -> Optional[str]:
    return None


@dataclass
class Provider:
    name: str
    #: fn(q, kv, indices, sm_scale, d_v, attn_sink=None, topk_length=None) -> (out, max_logits, lse) | out
    fn: Callable
    context: Callable = contextlib.nullcontext  # entered around checking and timing
    config: Optional[str] = None
    notes: list = field(default_factory=list)
    lse_base2: bool = False  # set when the provider turns out to return a base-2 lse
    #: point -> why this provider cannot run it (None: it can)
    supports: Callable = _always
    #: (q, kv, indices, sm_scale, d_v, attn_sink, topk_length) -> what runs for them (None: not said)
    describe: Callable = lambda *args: None

    def note(self, msg: str) -> None:
        if msg not in self.notes:
            self.notes.append(msg)


def _ops():
    from tle import ops

    return ops


@contextlib.contextmanager
def tle_state(enabled: bool):
    """TLE's compile hooks on or off for the block (through the package's public enable/disable),
    restored afterwards. Raises RuntimeError when TLE cannot be turned on (e.g. TLE_DISABLE=1)."""
    import tle

    if getattr(tle, "_triton", None) is None:  # tle.enabled() needs Triton
        if enabled:
            raise RuntimeError("TLE's compile hooks need triton, which is not importable")
        yield
        return
    with tle.enabled(enabled):
        if bool(tle.is_enabled()) != enabled:
            raise RuntimeError(f"tle.enabled({enabled}) did not take effect (is TLE_DISABLE=1 set?)")
        yield


def _check_tle_available() -> list:
    """Notes on TLE's state; raises when TLE cannot compile anything."""
    import tle

    if tle.config.current().env_disabled:
        raise RuntimeError("TLE_DISABLE is set")
    with tle_state(True):
        pass
    notes = [f"tle {getattr(tle, '__version__', '?')}"]
    try:
        notes.append(f"native rewrites: {tle.has_native_rewrites()}")
    except Exception as e:  # the hook then compiles stock Triton (with a TLEWarning)
        notes.append(f"TLE native library unavailable ({type(e).__name__}): TLE == stock Triton")
    return notes


def _plain_config(config, h_q: int):
    return config if config is not None else _ops().default_config(h_q)


def make_triton_provider(config=None) -> Provider:
    ops = _ops()

    def fn(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        return ops.sparse_mla_fwd(q, kv, idx, sm_scale, d_v, attn_sink, topk_length,
                                  config=_plain_config(config, q.shape[-2]), kernel="tl")

    return Provider("triton", fn, context=lambda: tle_state(False),
                    config=str(config) if config is not None else "default_config(h_q)")


def make_tle_provider(config=None, kernel=None, name="tle") -> Provider:
    """kernel None: the op's own choice (the warp-specialized kernel where it applies);
    "tl": the plain kernel through TLE's passes."""
    ops = _ops()
    notes = _check_tle_available()

    def fn(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        cfg = _plain_config(config, q.shape[-2]) if kernel == "tl" else config
        return ops.sparse_mla_fwd(q, kv, idx, sm_scale, d_v, attn_sink, topk_length, config=cfg, kernel=kernel)

    def describe(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        select = getattr(ops, "select_kernel", None)  # the op's own account of its choice
        if select is None:
            return None
        c = select(q, kv, idx, d_v, attn_sink, topk_length, kernel=kernel, backend="tle", config=config)
        text = c.kernel
        return text + (" (fallback)" if c.fallback else "")

    if kernel == "tl":
        label = str(config) if config is not None else "default_config(h_q)"
    else:
        label = "op default (warp-specialized where it applies)"
    return Provider(name, fn, context=lambda: tle_state(True), config=label, notes=notes, describe=describe)


def pad_heads_call(fn: Callable, multiple: int, q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
    """fn on q (and attn_sink) padded with zero heads to a multiple of ``multiple``; results of the
    real heads back (views)."""
    import torch.nn.functional as F

    h_q = q.shape[1]
    heads = -(-h_q // multiple) * multiple
    if heads != h_q:
        q = F.pad(q, (0, 0, 0, heads - h_q))
        if attn_sink is not None:
            attn_sink = F.pad(attn_sink, (0, heads - h_q), value=-math.inf)
    out, ml, lse = fn(q, kv, idx, sm_scale, d_v, attn_sink, topk_length)[:3]
    return (out[:, :h_q], ml[:, :h_q], lse[:, :h_q]) if heads != h_q else (out, ml, lse)


def make_tle_pad64_provider() -> Provider:
    ops = _ops()
    notes = _check_tle_available()

    def ws(q, kv, idx, sm_scale, d_v, attn_sink, topk_length):
        return ops.sparse_mla_fwd(q, kv, idx, sm_scale, d_v, attn_sink, topk_length, kernel="ws")

    def fn(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        return pad_heads_call(ws, 64, q, kv, idx, sm_scale, d_v, attn_sink, topk_length)

    def supports(point):
        return "n/a: h_q is a multiple of 64 (same as tle)" if point.h_q % 64 == 0 else None

    return Provider("tle_pad64", fn, context=lambda: tle_state(True),
                    config="warp-specialized kernel, heads padded to a multiple of 64 (in the timed call)",
                    notes=notes, supports=supports)


def _flashmla_supports(dtype_name: str):
    def supports(point):
        why = fm.unsupported_reason(point.h_q, point.topk, point.d_qk, dtype_name)
        return f"n/a: {why}" if why else None

    return supports


def _padding_note(provider: Provider) -> None:
    provider.note("heads padded to 64/128 with zeros and topk to a multiple of 128 with -1 where needed, "
                  "inside the timed call; results are views of the real heads")


def make_flashmla_src_provider(path: str, dtype_name: str = "bf16") -> Provider:
    src_fn = fm.load_source_build(path)

    def fn(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        return fm.padded_call(src_fn, q, kv, idx, sm_scale, d_v, attn_sink, topk_length)

    p = Provider("flashmla", fn, config="source build", notes=[f"source build {path}"],
                 supports=_flashmla_supports(dtype_name))
    _padding_note(p)
    return p


def make_flashmla_package_provider(dtype_name: str = "bf16") -> Provider:
    import flash_mla  # raises ImportError when absent

    api = getattr(flash_mla, "flash_mla_sparse_fwd", None)
    if api is None:
        raise RuntimeError("flash_mla has no flash_mla_sparse_fwd")

    def call(q, kv, idx, sm_scale, d_v, attn_sink, topk_length):
        extra = {k: v for k, v in (("attn_sink", attn_sink), ("topk_length", topk_length)) if v is not None}
        return _pick_outputs(api(q, kv, idx, sm_scale, d_v, **extra), None, q.shape[0], q.shape[1], d_v)

    def fn(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        return fm.padded_call(call, q, kv, idx, sm_scale, d_v, attn_sink, topk_length)

    p = Provider("flashmla", fn, config="flash_mla package",
                 notes=[f"flash_mla {getattr(flash_mla, '__version__', '')}".strip()],
                 supports=_flashmla_supports(dtype_name))
    _padding_note(p)
    return p


def _call_op_by_schema(op, schema, values: dict, out_factory: Callable):
    """Call a torch op, matching its schema's arguments by name (position as a fallback)."""
    order = ["q", "kv", "indices", "sm_scale", "d_v", "attn_sink", "topk_length", "out"]
    aliases = {"softmax_scale": "sm_scale", "scale": "sm_scale", "k": "kv", "idx": "indices",
               "topk_indices": "indices", "head_dim_v": "d_v", "dv": "d_v", "topk_len": "topk_length",
               "output": "out"}
    pos, kw = [], {}
    out_buf = None
    for i, arg in enumerate(schema.arguments):
        name = aliases.get(arg.name, arg.name)
        if name not in order and i < len(order) and not arg.has_default_value():
            name = order[i]
        if name == "out":
            out_buf = value = out_factory()
        elif name in values:
            value = values[name]
        elif arg.has_default_value():
            continue
        else:
            raise RuntimeError(f"cannot map argument {arg.name!r} of {schema}")
        if arg.kwarg_only:
            kw[arg.name] = value
        else:
            pos.append(value)
    return op(*pos, **kw), out_buf


def _pick_outputs(result, out_buf, s_q, h_q, d_v):
    """(out, max_logits, lse) from whatever the op returned; missing stats are None."""
    import torch

    if isinstance(result, torch.Tensor):
        tensors = [result]
    else:
        tensors = [t for t in (result or ()) if isinstance(t, torch.Tensor)]
    out = next((t for t in tensors if tuple(t.shape) == (s_q, h_q, d_v)), out_buf)
    stats = [t for t in tensors if tuple(t.shape) == (s_q, h_q) and t.dtype == torch.float32]
    ml = stats[0] if len(stats) >= 2 else None
    lse = stats[1] if len(stats) >= 2 else (stats[0] if len(stats) == 1 else None)
    return out, ml, lse


def schema_call(overload) -> Callable:
    """call(q, kv, indices, sm_scale, d_v, attn_sink, topk_length) for a torch op with FlashMLA's
    sparse_prefill_fwd interface (arguments matched by its schema)."""
    import torch

    schema = overload._schema

    def call(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        values = dict(q=q, kv=kv, indices=idx, sm_scale=float(sm_scale), d_v=int(d_v), attn_sink=attn_sink,
                      topk_length=topk_length)
        s_q, h_q = q.shape[0], q.shape[1]
        result, out_buf = _call_op_by_schema(
            overload, schema, values, lambda: torch.empty(s_q, h_q, d_v, dtype=q.dtype, device=q.device))
        return _pick_outputs(result, out_buf, s_q, h_q, d_v)

    return call


def schema_provider(name: str, overload, notes=(), pad: bool = False, dtype_name: str = "bf16") -> Provider:
    """A provider around a torch op with FlashMLA's sparse_prefill_fwd interface; ``pad``: apply
    FlashMLA's padding (heads, topk) around it."""
    call = schema_call(overload)
    fn = (lambda *a, **k: fm.padded_call(call, *a, **k)) if pad else call
    p = Provider(name, fn, notes=[*notes, f"schema {overload._schema}"],
                 supports=_flashmla_supports(dtype_name) if pad else _always)
    if pad:
        _padding_note(p)
    return p


def make_flashmla_vllm_provider(path: str, dtype_name: str = "bf16") -> Provider:
    p = schema_provider("flashmla_vllm", fm.load_op_library(path), [f"op library {path}"], pad=True,
                        dtype_name=dtype_name)
    p.config = "vllm 0.24.0 op library"
    return p


def make_user_provider(spec: str) -> Provider:
    module, _, func = spec.partition(":")
    if not module or not func:
        raise ValueError(f"user provider must be MODULE:FUNCTION, got {spec!r}")
    user = getattr(importlib.import_module(module), func)
    try:
        params = inspect.signature(user).parameters
        extras = {"attn_sink", "topk_length"} <= set(params) or any(
            p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
    except (TypeError, ValueError):  # builtins without a signature: assume the 5-argument form
        extras = False

    def fn(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        if attn_sink is None and topk_length is None:
            return user(q, kv, idx, sm_scale, d_v)
        return user(q, kv, idx, sm_scale, d_v, attn_sink=attn_sink, topk_length=topk_length)

    def supports(point):
        if (point.attn_sink or point.ragged) and not extras:
            return "n/a: takes no attn_sink / topk_length"
        return None

    return Provider(spec, fn, config="user function", supports=supports)


def make_provider(name: str, config=None, flashmla_lib: Optional[str] = None, flashmla_src: Optional[str] = None,
                  dtype_name: str = "bf16") -> Provider:
    """A built-in provider by name (see BUILTIN_PROVIDERS) or a user one given as MODULE:FUNCTION."""
    if name == "triton":
        return make_triton_provider(config)
    if name == "tle":
        return make_tle_provider(None)
    if name == "tle_tl":
        return make_tle_provider(config, kernel="tl", name="tle_tl")
    if name == "tle_pad64":
        return make_tle_pad64_provider()
    if name == "flashmla":
        if flashmla_src:
            return make_flashmla_src_provider(flashmla_src, dtype_name)
        try:
            return make_flashmla_package_provider(dtype_name)
        except ImportError:
            raise RuntimeError("no --flashmla-src given and the flash_mla package is not importable")
    if name == "flashmla_vllm":
        if not flashmla_lib:
            raise RuntimeError("no --flashmla-lib given")
        return make_flashmla_vllm_provider(flashmla_lib, dtype_name)
    return make_user_provider(name)
