"""Sparse MLA forward (DeepSeek-V3.2 prefill) with FlashMLA's semantics, as a registered torch op.

``torch.ops.tle.sparse_mla_fwd`` (schema :data:`SCHEMA`) has FlashMLA's arguments and returns::

    sparse_mla_fwd(q, kv, indices, sm_scale, d_v=512, attn_sink=None, topk_length=None,
                   *, kernel=None, backend=None, config=None) -> (out, max_logits, lse)

* CUDA: TLE's kernels, chosen per call by :func:`select_kernel`; the choice, the validation
  and the compiled launch are cached per call signature (shapes, strides, dtypes, devices,
  pointer alignment, options, TLE's state), so a repeated call costs one C call that reads its
  signature and allocates the outputs (:mod:`tle.ops.torch_ext`; without it, the same from
  Python), a dictionary lookup and a direct launch (:mod:`tle.integration.launch`). Nothing reads a device
  tensor on the host: the op can be captured in a CUDA graph. It launches on the inputs' device
  (whatever the current device is) and on that device's current stream.
* CPU: the fp32 reference (:mod:`tle.ops.reference`), ``out`` in q's dtype.
* Meta / fake tensors (torch.compile, torch.export): exact output shapes, dtypes and devices.
  torch.compile treats the op as opaque, so Inductor never looks inside the Gluon kernel.
* No backward: a call with an input that requires grad (grad mode on) raises.

:func:`sparse_mla_fwd` is the Python entry point (it adds Python-level argument checks with
precise messages, and accepts a :class:`SparseMLAConfig` for ``config``); ``tle.flash_mla`` is the
FlashMLA drop-in. Both call the op; in plain eager mode (plain CUDA tensors, and no tracing,
mode, transform or profiler that must see the op: :func:`_unobserved`) they call its CUDA
implementation directly, which is what the dispatcher would do (Autograd is a fallthrough; grad
is refused there), without its round trip into Python (~3-5 us a call on the H200's host). Semantics: ``P = q . k * sm_scale`` over the gathered rows of ``kv``;
``max_logits = max P``; ``lse = logsumexp P`` (natural log); ``out = softmax(P) @ V`` with V the
first ``d_v`` (= 512) columns of each kv row. An index < 0 or >= s_kv is skipped. A row without
any valid index gives ``out = 0``, ``lse = +inf``, ``max_logits = -inf``.

Why ``torch.library.Library`` + ``register_fake`` and not ``torch.library.custom_op``: custom_op
wraps every call in a Python autograd layer (about 17 us per call measured on the CPU here), more
than the whole host-overhead budget of the op; the op is not differentiable, so its Autograd key
is a fallthrough and the backends refuse inputs that require grad.
"""
from __future__ import annotations

import contextlib
import functools
import warnings
from dataclasses import dataclass, replace
from typing import Optional

import torch

from .. import config as _config
from ..errors import TLEWarning
from ..integration import cache_identity as _identity
from ..integration.launch import direct_launcher
from .reference import sparse_mla_fwd_reference
from .sparse_mla_launch import (
    KERNELS,
    SparseMLALaunch,
    allocate_outputs,
    device_facts,
    make_launch,
    ws_shape_reason,
)
from .sparse_mla_tl import SparseMLAConfig, default_config
from .sparse_mla_validation import (
    D_V,
    LOG2E,
    SCALE_LIMIT,
    SparseMLAProblem,
    check_scale,
    scale_value,
    validate_sparse_mla_inputs,
)

__all__ = [
    "KERNELS",
    "SCHEMA",
    "KernelChoice",
    "SparseMLAConfig",
    "SparseMLAProblem",
    "clear_caches",
    "compile_or_fallback",
    "default_config",
    "kernel_source",
    "select_kernel",
    "sparse_mla_fwd",
    "validate_sparse_mla_inputs",
]

SCHEMA = ("sparse_mla_fwd(Tensor q, Tensor kv, Tensor indices, float sm_scale, int d_v=512, "
          "Tensor? attn_sink=None, Tensor? topk_length=None, *, str? tle_kernel=None, str? backend=None, "
          "int[]? config=None) -> (Tensor, Tensor, Tensor)")
BACKENDS = ("triton", "tle")
# The schema calls the kernel option ``tle_kernel``: Inductor's fallback lowering takes a keyword
# argument ``kernel`` of its own, and an op argument of that name collides with it.

# Measured on the H200 (2026-12-01, s_q 4096, topk 2048, s_kv 64K): with h_q = 16 the plain kernel's
# 16-head blocks take 2.15 ms, one 64-head block of the warp-specialized kernel ~2.46 ms (its
# h_q = 64 time); from h_q = 32 on the 64-head block wins (h_q = 32: plain 4.57 ms).
PLAIN_MAX_H_Q = 16


# --------------------------------------------------------------------------------------------------
# Kernel choice
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelChoice:
    """What the op runs for a call.

    ``kernel``: "ws" (warp-specialized Gluon kernel) or "tl" (plain ``@triton.jit`` kernel).
    ``config``: the plain kernel's configuration (None for "ws").
    ``reason``: why the automatic choice is not the ws kernel (None when it is, or when the
    caller named the kernel). ``fallback``: True when the ws kernel would have been chosen but
    this GPU / Triton cannot run it (the op then warns once, or raises with TLE_STRICT=1).
    """

    kernel: str
    config: Optional[SparseMLAConfig] = None
    reason: Optional[str] = None
    fallback: bool = False


@functools.lru_cache(maxsize=None)
def ws_runtime_reason() -> Optional[str]:
    """Why this Triton cannot build the warp-specialized kernel, or None (the kernel module's
    verdict: ``sparse_mla_ws.ws_kernel_unsupported_reason``, from tle.gluon's view of this Gluon)."""
    try:
        from .sparse_mla_ws import ws_kernel_unsupported_reason
    except Exception as e:  # noqa: BLE001 - no usable Gluon is one more reason, never a crash
        return f"the kernel cannot be imported ({type(e).__name__}: {e})"
    return ws_kernel_unsupported_reason()


def _check_options(kernel, backend) -> None:
    if kernel is not None and kernel not in KERNELS:
        raise ValueError(f"kernel must be None, 'tl' or 'ws', got {kernel!r}")
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be None, 'triton' or 'tle', got {backend!r}")


def _parse_config(config) -> Optional[SparseMLAConfig]:
    return None if config is None else SparseMLAConfig.parse(config)


def _choose(prob: SparseMLAProblem, dtype, kernel: Optional[str], tle_on: bool, config: Optional[SparseMLAConfig],
            capability: tuple) -> KernelChoice:
    h_q = prob.h_q
    if kernel == "tl":
        return KernelChoice("tl", config or default_config(h_q))
    hw = None if tuple(capability) == (9, 0) else \
        f"sm_{capability[0]}{capability[1]} (the kernel uses Hopper WGMMA and setmaxnreg)"
    if kernel == "ws":  # exactly this problem on the ws kernel, or an error
        reason = ws_shape_reason(prob, dtype, config) or hw
        if reason:
            raise ValueError(f"the warp-specialized kernel does not support this call: {reason}")
        runtime = ws_runtime_reason()
        if runtime:
            raise RuntimeError(f"the warp-specialized kernel cannot be built here: {runtime}")
        return KernelChoice("ws")
    plain = KernelChoice("tl", config or default_config(h_q))
    if not tle_on:
        return replace(plain, reason="TLE is off (the plain kernel is what TLE's passes compile)")
    reason = ws_shape_reason(prob, dtype, config) or hw
    if reason:
        return replace(plain, reason=reason)
    if h_q <= PLAIN_MAX_H_Q:
        return replace(plain, reason=f"h_q = {h_q}: the plain kernel's {h_q}-head blocks beat a 64-head block")
    runtime = ws_runtime_reason()
    if runtime:
        return replace(plain, reason=runtime, fallback=True)
    return KernelChoice("ws")


def _tle_on(backend: Optional[str]) -> bool:
    if backend is None:
        import tle

        return tle.is_enabled()
    return backend == "tle"


def select_kernel(q, kv, indices, d_v=D_V, attn_sink=None, topk_length=None, *, kernel=None, backend=None,
                  config=None, capability=None) -> KernelChoice:
    """The :class:`KernelChoice` the op makes for these inputs (tensors on any device: only
    metadata is read). ``capability``: the GPU's ``(major, minor)``; default: the inputs' CUDA
    device, or sm_90 (TLE's target) for CPU / meta tensors.

    Automatic choice (``kernel=None``): with TLE on (``backend="tle"``, or ``None`` with TLE
    enabled) the warp-specialized kernel on Hopper for bf16/fp16, d_v 512, h_q from 32 on (h_q not
    a multiple of 64: zero heads added up to the next multiple, outputs sliced); the plain kernel
    for h_q = 16 (faster than padding, measured), with TLE off, with an explicit plain-kernel
    ``config`` other than 64x64 blocks, elsewhere, and where this Triton cannot build the ws kernel.
    ``kernel="ws"`` runs it on exactly this problem (h_q a multiple of 64) or raises;
    ``kernel="tl"`` always the plain kernel.
    """
    _check_options(kernel, backend)
    prob = validate_sparse_mla_inputs(q, kv, indices, 1.0, d_v, attn_sink, topk_length)
    if capability is None:
        capability = device_facts(q.device)[0] if q.device.type == "cuda" else (9, 0)
    return _choose(prob, q.dtype, kernel, _tle_on(backend), _parse_config(config), capability)


# --------------------------------------------------------------------------------------------------
# Compile once; the ws kernel falls back to the plain one when it cannot be compiled
# --------------------------------------------------------------------------------------------------
_FAILED: dict = {}  # specialization -> why it could not be compiled (one warning, one attempt)
_WARNED: set = set()


def _strict() -> bool:
    return bool(_config.current().strict)


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, TLEWarning, stacklevel=5)


def compile_or_fallback(launch: SparseMLALaunch, *, explicit: bool, identity=None) -> tuple:
    """Compile ``launch``'s kernel and load it on the current device: ``(True, runner)``, or
    ``(False, None)`` when the warp-specialized kernel cannot run here and the call should run the
    plain kernel. ``runner(args, stream)`` is a :class:`tle.integration.launch.KernelLauncher`
    (the compiled kernel replayed without Triton's per-launch argument binding; the op's cache
    key holds everything the binder would look at), or None where this Triton offers no
    compiled-kernel launcher (the op then launches through the JIT). Load errors propagate.

    The ws kernel rests on Triton's experimental Gluon API. When it fails to compile or load (or
    its module rejects the binary, e.g. because it spills), TLE warns once (TLEWarning, with the
    reason) and the specialization is not tried again in this process; ``TLE_STRICT=1`` or an
    explicit ``kernel="ws"`` raise RuntimeError instead. Failures of the plain kernel propagate.
    """
    if launch.kernel != "ws":
        return True, direct_launcher(launch.compile(), launch.grid)
    key = (launch.specialization(), identity)
    cause = None
    if key not in _FAILED:
        try:
            compiled = launch.compile()
            runner = direct_launcher(compiled, launch.grid)
            reason = _built_reason(compiled)
            if reason is None:
                return True, runner
            _FAILED[key] = f"is not usable here ({reason})"
        except Exception as e:  # noqa: BLE001 - any compile failure falls back (or raises below)
            lines = str(e).strip().splitlines()
            _FAILED[key] = f"failed to compile ({type(e).__name__}: {lines[-1] if lines else ''})"
            cause = e
    message = f"TLE's warp-specialized sparse MLA kernel {_FAILED[key]}"
    if explicit or _strict():
        raise RuntimeError(message) from cause
    _warn_once(f"compile:{key}", f"{message}; running the plain kernel instead (TLE_STRICT=1 raises)")
    return False, None


def _built_reason(compiled) -> Optional[str]:
    """The kernel module's verdict on a built binary (e.g. it spills on this Triton)."""
    from .sparse_mla_ws import ws_kernel_unsupported_reason

    return ws_kernel_unsupported_reason(compiled)


@contextlib.contextmanager
def _tle_switch(backend: Optional[str]):
    """TLE on/off for ``backend`` "tle"/"triton" (nothing for None); "tle" raises when TLE cannot be on."""
    if backend is None:
        yield
        return
    import tle

    with tle.enabled(backend == "tle"):
        if backend == "tle" and not tle.is_enabled():
            raise RuntimeError("backend='tle' but TLE cannot be enabled (is TLE_DISABLE=1 set?)")
        yield


# --------------------------------------------------------------------------------------------------
# Cached launches (the CUDA implementation)
# --------------------------------------------------------------------------------------------------
class _Plan:
    """Everything about a call that its signature decides, computed once: output layouts, the
    compiled kernel and its argument list with the tensors and the scale left to fill in."""

    __slots__ = ("index", "device", "dtype", "backend", "out_layout", "stat_layout", "sink_copy", "tlen_copy",
                 "runner", "fn", "grid", "options", "template", "scale_pos", "stream")

    def allocate(self) -> tuple:
        """The outputs, from Python (the C++ entry point allocates its own)."""
        device = self.device
        # empty_strided: the cheapest allocation from Python (the strides are the contiguous ones)
        return (torch.empty_strided(*self.out_layout, dtype=self.dtype, device=device),
                torch.empty_strided(*self.stat_layout, dtype=torch.float32, device=device),
                torch.empty_strided(*self.stat_layout, dtype=torch.float32, device=device))

    def launch(self, q, kv, indices, sm_scale, attn_sink, topk_length, outputs, pointers):
        """Compute into ``outputs`` (out, max_logits, lse) and return them; ``pointers``: the data
        pointers of q, kv, indices, attn_sink, topk_length and the outputs (POINTER_ARGS order)."""
        if self.template is None:  # nothing to compute (an empty problem)
            return outputs
        if self.sink_copy or self.tlen_copy:
            pointers = list(pointers)
            if self.sink_copy:
                attn_sink = attn_sink.contiguous()
                pointers[3] = attn_sink.data_ptr()
            if self.tlen_copy:
                topk_length = topk_length.contiguous()
                pointers[4] = topk_length.data_ptr()
        args = self.template.copy()
        args[self.scale_pos] = sm_scale * LOG2E
        runner, index = self.runner, self.index
        if runner is not None:
            # raw pointers: the C launcher takes them as they are, where a tensor costs it a
            # data_ptr() call and a driver query each (the key already pins device and layout)
            args[:8] = pointers  # POINTER_ARGS
            if _current_device() == index:  # the common case
                runner(args, self.stream(index))
            else:
                with torch.cuda.device(index):  # the launch belongs to the inputs' device, not the current one
                    runner(args, self.stream(index))
            return outputs
        args[:8] = (q, kv, indices, attn_sink, topk_length, *outputs)
        with torch.cuda.device(index), _tle_switch(self.backend):
            # through the JIT, which binds the arguments again and compiles with TLE's state
            self.fn[self.grid](*args, **self.options)
        return outputs


_PLANS: dict = {}
_MAX_PLANS = 4096  # distinct call signatures kept (a bound against unbounded shape churn)


def clear_caches() -> None:
    """Forget every cached launch, remembered ws compile failure and issued warning: the next
    call of each signature chooses, compiles (Triton's own caches still apply) and warns afresh."""
    _PLANS.clear()
    _FAILED.clear()
    _WARNED.clear()


def _check_grad(q, kv, attn_sink) -> None:
    if torch.is_grad_enabled() and (q.requires_grad or kv.requires_grad
                                    or (attn_sink is not None and attn_sink.requires_grad)):
        raise RuntimeError("tle.ops.sparse_mla_fwd has no backward (forward / inference only): an input "
                           "requires grad; call it under torch.no_grad() or pass detached tensors")


def _misalignment(*tensors) -> int:
    """Which pointers are not 16-byte aligned (bit i: tensor i): Triton specializes on it."""
    code = 0
    for i, t in enumerate(tensors):
        if t is not None and t.data_ptr() & 15:
            code |= 1 << i
    return code


def _cuda_impl(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *, tle_kernel=None, backend=None,
               config=None):
    # the per-call path: everything here runs on every call (the rest is cached in the plan)
    prepared = _prepare(q, kv, indices, attn_sink, topk_length, d_v)
    if prepared is None:
        return _python_call(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel, backend, config)
    return _prepared_call(prepared, q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel, backend, config)


def _eager_call(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel=None, backend=None, config=None):
    """The eager shortcut: what the dispatcher would do with this call, without its round trip.
    Where the C++ entry point declines (or is not available) the call dispatches: the dispatcher
    materializes or unwraps what the kernel cannot read (negative views, zero and functional
    tensors) and the CUDA implementation raises the precise errors."""
    prepared = _prepare(q, kv, indices, attn_sink, topk_length, d_v)
    if prepared is None:
        return _OP(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel=tle_kernel, backend=backend,
                   config=config)
    return _prepared_call(prepared, q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel, backend, config)


def _prepared_call(prepared, q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel, backend, config):
    """The cached launch after the C++ entry point read the call's signature and allocated."""
    if not -SCALE_LIMIT <= sm_scale <= SCALE_LIMIT:  # per call: the scale is not part of the key
        check_scale(sm_scale)
    signature, out, max_logits, lse, pointers = prepared
    key = (signature, d_v, tle_kernel, backend, None if config is None else tuple(config), _identity())
    plan = _PLANS.get(key)
    if plan is None:
        plan = _new_plan(key, q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel, backend, config)
    return plan.launch(q, kv, indices, sm_scale, attn_sink, topk_length, (out, max_logits, lse), pointers)


def _python_call(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel, backend, config):
    """The cached launch without the C++ entry point: where it declines (it leaves the checks
    with messages to this path) or could not be built."""
    if _grad_enabled() and (q.requires_grad or kv.requires_grad
                            or (attn_sink is not None and attn_sink.requires_grad)):
        _check_grad(q, kv, attn_sink)
    if not -SCALE_LIMIT <= sm_scale <= SCALE_LIMIT:
        check_scale(sm_scale)
    qp, kvp, ip = q.data_ptr(), kv.data_ptr(), indices.data_ptr()
    key = (q.shape, q.stride(), q.dtype, q.get_device(), kv.shape, kv.stride(), kv.dtype, kv.get_device(),
           indices.shape, indices.stride(), indices.dtype, indices.get_device(),
           (qp | kvp | ip) & 15 and _misalignment(q, kv, indices),
           None if attn_sink is None else (attn_sink.shape, attn_sink.stride(), attn_sink.dtype,
                                           attn_sink.get_device(), attn_sink.data_ptr() & 15),
           None if topk_length is None else (topk_length.shape, topk_length.stride(), topk_length.dtype,
                                             topk_length.get_device(), topk_length.data_ptr() & 15),
           d_v, tle_kernel, backend, None if config is None else tuple(config), _identity())
    plan = _PLANS.get(key)
    if plan is None:
        plan = _new_plan(key, q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel, backend, config)
    outputs = plan.allocate()
    pointers = (qp, kvp, ip, None if attn_sink is None else attn_sink.data_ptr(),
                None if topk_length is None else topk_length.data_ptr(), *(t.data_ptr() for t in outputs))
    return plan.launch(q, kv, indices, sm_scale, attn_sink, topk_length, outputs, pointers)


def _new_plan(key, *call) -> _Plan:
    plan = _build_plan(*call)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def _first_prepare(*args):
    """Builds or loads the C++ entry point on the first call, then stands aside for it."""
    global _prepare
    from .torch_ext import sparse_mla_prepare

    _prepare = sparse_mla_prepare() or _declined
    return _prepare(*args)


def _declined(*args):
    return None


# the C++ entry point's prepare(q, kv, indices, attn_sink, topk_length, d_v) (torch_ext)
_prepare = _first_prepare


_grad_enabled = torch.is_grad_enabled


# the current CUDA device without torch.cuda.current_device()'s lazy-init layer (a plan exists only
# once a kernel was compiled and loaded in this process, so CUDA is initialized)
_current_device = getattr(torch._C, "_cuda_getDevice", None) or torch.cuda.current_device




def _build_plan(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, kernel, backend, config) -> _Plan:
    prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)  # one device
    _check_options(kernel, backend)
    index = q.get_device()  # the dispatcher sends CUDA tensors here, always with an index
    capability, num_sms = device_facts(index)
    choice = _choose(prob, q.dtype, kernel, _tle_on(backend), _parse_config(config), capability)
    if choice.fallback:
        message = f"TLE's warp-specialized sparse MLA kernel is not available ({choice.reason})"
        if _strict():
            raise RuntimeError(message)
        _warn_once(f"runtime:{choice.reason}", f"{message}; running the plain kernel instead (TLE_STRICT=1 raises)")

    plan = _Plan()
    plan.index, plan.device, plan.dtype, plan.backend = index, q.device, q.dtype, backend
    plan.out_layout = _shape_and_strides((*q.shape[:-1], prob.d_v))
    plan.stat_layout = _shape_and_strides(tuple(q.shape[:-1]))
    plan.sink_copy = attn_sink is not None and attn_sink.stride(-1) != 1
    plan.tlen_copy = topk_length is not None and topk_length.stride(-1) != 1
    plan.template = plan.runner = None
    if q.numel() == 0 or prob.s_q == 0:
        return plan

    # exactly the tensors each call will pass (copied only where the call copies them): the
    # launch's strides come from these
    sink = attn_sink.contiguous() if plan.sink_copy else attn_sink
    tlen = topk_length.contiguous() if plan.tlen_copy else topk_length
    with torch.cuda.device(index), _tle_switch(backend):
        (usable, runner), launch = _compile(prob, q, kv, indices, sink, tlen, choice, num_sms, kernel)
        if not usable:  # the ws kernel cannot run here: the plain kernel instead
            choice = KernelChoice("tl", _parse_config(config) or default_config(prob.h_q))
            (usable, runner), launch = _compile(prob, q, kv, indices, sink, tlen, choice, num_sms, kernel)
    plan.runner, plan.stream = runner, (None if runner is None else _stream_of())
    plan.fn, plan.grid, plan.options = launch.fn, launch.grid, launch.options
    plan.template = launch.positional()
    plan.template[:8] = [None] * 8  # POINTER_ARGS: every launch fills them; holding this call's tensors would leak them
    plan.scale_pos = launch.fn.arg_names.index("qk_scale_log2")
    return plan


def _shape_and_strides(shape: tuple) -> tuple:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(shape), tuple(reversed(strides))


def _compile(prob, q, kv, indices, sink, tlen, choice: KernelChoice, num_sms, kernel):
    """``(compile_or_fallback's verdict, the launch)`` for ``choice`` on this call's tensors."""
    out = torch.empty((*q.shape[:-1], prob.d_v), dtype=q.dtype, device=q.device)
    stats = torch.empty(tuple(q.shape[:-1]), dtype=torch.float32, device=q.device)
    launch = make_launch(prob, q, kv, indices, sink, tlen, out, stats, torch.empty_like(stats),
                         kernel=choice.kernel, config=choice.config, num_sms=num_sms)
    return compile_or_fallback(launch, explicit=kernel == "ws", identity=_identity()), launch


def _stream_of():
    """Triton's ``device index -> current raw stream`` (the stream its own launches use)."""
    from triton.runtime import driver

    return driver.active.get_current_stream


# --------------------------------------------------------------------------------------------------
# CPU and fake implementations
# --------------------------------------------------------------------------------------------------
def _cpu_impl(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *, tle_kernel=None, backend=None,
              config=None):
    """The fp32 reference (out in q's dtype). ``kernel``/``backend``/``config`` choose among CUDA
    kernels: checked, without effect here."""
    _check_grad(q, kv, attn_sink)
    _check_options(tle_kernel, backend)
    _parse_config(config)
    validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    return sparse_mla_fwd_reference(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, out_dtype=q.dtype)


def _fake_impl(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *, tle_kernel=None, backend=None,
               config=None):
    _check_grad(q, kv, attn_sink)
    _check_options(tle_kernel, backend)
    _parse_config(config)
    prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    return allocate_outputs(prob, q)


_LIB = torch.library.Library("tle", "FRAGMENT")
_LIB.define(SCHEMA)
_LIB.impl("sparse_mla_fwd", _cuda_impl, "CUDA")
_LIB.impl("sparse_mla_fwd", _cpu_impl, "CPU")
_LIB.impl("sparse_mla_fwd", torch.library.fallthrough_kernel, "Autograd")
torch.library.register_fake("tle::sparse_mla_fwd", _fake_impl, lib=_LIB)
_OP = torch.ops.tle.sparse_mla_fwd.default


# --------------------------------------------------------------------------------------------------
# Python entry point
# --------------------------------------------------------------------------------------------------
def sparse_mla_fwd(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *, config=None,
                   backend: Optional[str] = None, kernel: Optional[str] = None):
    """Sparse MLA forward with FlashMLA's semantics; returns ``(out, max_logits, lse)``.

    Unbatched: q [s_q, h_q, d_qk], kv [s_kv, 1, d_qk], indices [s_q, 1, topk] (int32), optional
    topk_length [s_q] (int32) -> out [s_q, h_q, d_v] (q's dtype), max_logits / lse [s_q, h_q] fp32.
    Batched (rank 4): a leading batch dimension on q, kv, indices, topk_length and all outputs;
    the indices of batch element b address rows of kv[b]. attn_sink is [h_q] fp32 in both forms.
    Needs CUDA tensors (``torch.ops.tle.sparse_mla_fwd`` runs the fp32 reference on CPU ones).

    ``lse`` is the natural-log logsumexp of ``P = q . k * sm_scale`` over the valid indices;
    ``max_logits`` is max P. Rows without a valid index: out 0, lse +inf, max_logits -inf.
    ``sm_scale``: a Python float (or a one-element CPU tensor).

    config: the plain kernel's :class:`SparseMLAConfig` (or its dict / ``"BH,BK,WARPS,STAGES"``);
        default :func:`default_config`.
    backend: ``"triton"`` compiles the kernel with TLE off, ``"tle"`` with TLE on; ``None`` uses
        TLE's current state (``import tle`` enables TLE; ``with tle.enabled(False):`` disables).
    kernel: ``"ws"`` TLE's warp-specialized Gluon kernel on exactly this problem (Hopper, h_q a
        multiple of 64), ``"tl"`` the plain kernel, ``None`` the automatic choice
        (:func:`select_kernel`).
    """
    plain = (type(q) is _Tensor and type(kv) is _Tensor and type(indices) is _Tensor
             and (attn_sink is None or type(attn_sink) is _Tensor)
             and (topk_length is None or type(topk_length) is _Tensor))
    if not (plain or (isinstance(q, _Tensor) and isinstance(kv, _Tensor) and isinstance(indices, _Tensor)
                      and (attn_sink is None or isinstance(attn_sink, _Tensor))
                      and (topk_length is None or isinstance(topk_length, _Tensor)))) \
            or type(d_v) is not int or not q.is_cuda:
        # every input rule first, with its own message; then the device
        prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
        if q.device.type != "cuda":
            raise ValueError(f"sparse_mla_fwd runs a CUDA kernel but the inputs are on {q.device}; use "
                             "tle.ops.reference.sparse_mla_fwd_reference (or torch.ops.tle.sparse_mla_fwd, which "
                             "runs it for CPU tensors)")
        d_v = int(prob.d_v)
    if type(sm_scale) is not float:
        sm_scale = scale_value(sm_scale)
    if kernel is None and backend is None and config is None:
        if plain and _unobserved():
            # what the dispatcher would call, without its round trip (see the module docstring)
            return _eager_call(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
        return _OP(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    _check_options(kernel, backend)
    if config is not None:
        c = SparseMLAConfig.parse(config)
        config = [c.block_h, c.block_k, c.num_warps, c.num_stages]
    if plain and _unobserved():
        return _eager_call(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, kernel, backend, config)
    return _OP(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, tle_kernel=kernel, backend=backend,
               config=config)


def _eager_guards():
    """The checks under which the dispatcher would do nothing but call :func:`_cuda_impl`, or None
    when this torch lacks one of them (then every call dispatches)."""
    try:
        C = torch._C
        return (torch.compiler.is_compiling, C._is_torch_function_mode_enabled, C._len_torch_dispatch_stack,
                C._get_tracing_state, C._functorch.maybe_current_level, C._autograd._profiler_enabled)
    except AttributeError:
        return None


_GUARDS = _eager_guards()


_Tensor = torch.Tensor


def _unobserved() -> bool:
    """Nothing that must see the op is active: torch.compile / export tracing, a torch-function or
    dispatch mode (FakeTensor, FlopCounter, schema checks), jit tracing, a functorch transform, a
    profiler (Kineto or legacy, started from Python or C++). False where this torch lacks one of
    the checks."""
    if _GUARDS is None:
        return False
    compiling, function_mode, dispatch_modes, tracing, functorch_level, profiling = _GUARDS
    return not (compiling() or function_mode() or dispatch_modes() or tracing() is not None
                or functorch_level() is not None or profiling())


# --------------------------------------------------------------------------------------------------
# Ahead-of-time source (CPU-only compile checks, IR capture)
# --------------------------------------------------------------------------------------------------
def kernel_source(q, kv, indices, sm_scale, d_v=D_V, attn_sink=None, topk_length=None, *, config=None,
                  target=None, kernel: str = "tl"):
    """The ``(ASTSource, options)`` the JIT would compile for this call, without a GPU.

    Tensors may live on any device; ``device="meta"`` tensors describe large problems for free.
    The specialization is produced by Triton's own argument binder (:mod:`tle.ops.aot`), so it
    matches a real launch exactly. Compile with ``triton.compile(src, target=GPUTarget("cuda",
    90, 32), options=options)``, inside ``tle.enabled(False)`` for the plain-Triton binary.
    ``kernel``: ``"tl"`` (the plain kernel) or ``"ws"`` (exactly this problem, h_q a multiple of 64).
    """
    prob = validate_sparse_mla_inputs(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
    meta = dict(device="meta")
    lead = tuple(q.shape[:-1])
    out = torch.empty((*lead, prob.d_v), dtype=q.dtype, **meta)
    stats = torch.empty(lead, dtype=torch.float32, **meta)
    sink = None if attn_sink is None else attn_sink.contiguous()
    tlen = None if topk_length is None else topk_length.contiguous()
    launch = make_launch(prob, q, kv, indices, sink, tlen, out, stats, torch.empty_like(stats), kernel=kernel,
                         config=_parse_config(config))
    return launch.source(target)
