"""torch.ops.tle.sparse_mla_fwd on a GPU: torch.compile (fullgraph, default / max-autotune /
reduce-overhead, static and dynamic shapes), CUDA-graph capture and replay, side streams, no host
synchronization on the call path, padded heads, the no-backward rule, the ws-kernel fallback.

"Same bits" means torch.equal against the eager op on the same inputs: the op is opaque to
Inductor, so compiled, captured and eager calls run the same kernel on the same data.

Run on a CUDA machine: python -m pytest -q -rs test/gpu/test_torch_op_gpu.py
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

from test_sparse_mla_gpu import BF16, DEV, FP16, check_against_reference, make_problem  # noqa: E402

import tle  # noqa: E402
from tle import TLEWarning  # noqa: E402
from tle.flash_mla import flash_mla_sparse_fwd  # noqa: E402
from tle.ops import select_kernel, sparse_mla_fwd, sparse_mla_fwd_reference  # noqa: E402
from tle.ops import sparse_mla as sm  # noqa: E402

HOPPER = torch.cuda.is_available() and torch.cuda.get_device_capability() == (9, 0)
needs_ws = pytest.mark.skipif(not HOPPER or not tle.is_enabled(),
                              reason="the warp-specialized kernel needs sm_90 and TLE enabled")

# (id, s_q, h_q, d_qk, s_kv, topk, dtype, features, expected kernel with TLE on, on Hopper)
CASES = [
    ("ws-h128", 64, 128, 576, 4096, 512, BF16, {}, "ws"),
    ("ws-padded-h32-sink-topk_length", 48, 32, 576, 3000, 320, BF16, {"sink": True, "topk_length": True}, "ws"),
    ("ws-padded-h80-d512-fp16", 16, 80, 512, 2000, 256, FP16, {"invalid": 0.1}, "ws"),
    ("tl-h16", 40, 16, 576, 2000, 300, BF16, {"sink": True, "mask_rows": (3,)}, "tl"),
]
_IDS = [c[0] for c in CASES]


def _problem(case, seed=0):
    _, s_q, h_q, d_qk, s_kv, topk, dtype, feats, _ = case
    return make_problem(s_q, h_q, d_qk, s_kv, topk, dtype, seed=seed, **feats)


def _assert_same_bits(got, want):
    assert len(got) == len(want) == 3
    for a, b in zip(got, want):
        assert a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
        assert torch.equal(a, b)


def _step(q, kv, idx, scale, attn_sink=None, topk_length=None):
    out, max_logits, lse = sparse_mla_fwd(q, kv, idx, scale, attn_sink=attn_sink, topk_length=topk_length)
    return out, max_logits, lse


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_eager_matches_reference_and_expected_kernel(case):
    q, kv, idx, scale, extra = _problem(case, seed=1)
    if HOPPER and tle.is_enabled():
        choice = select_kernel(q, kv, idx, **extra)
        assert choice.kernel == case[-1], choice
    got = sparse_mla_fwd(q, kv, idx, scale, **extra)
    check_against_reference(got, sparse_mla_fwd_reference(q, kv, idx, scale, **extra), case[6])
    assert all(t.is_contiguous() for t in got)
    _assert_same_bits(sparse_mla_fwd(q, kv, idx, scale, **extra), got)  # deterministic, cached launch


@pytest.mark.parametrize("mode", ["default", "max-autotune", "reduce-overhead"])
@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_compile_fullgraph_same_bits(case, mode):
    q, kv, idx, scale, extra = _problem(case, seed=2)
    eager = _step(q, kv, idx, scale, **extra)
    compiled = torch.compile(_step, fullgraph=True, mode=None if mode == "default" else mode)
    for _ in range(3):  # warm-up / recording / replay runs of the cudagraph modes
        got = [t.clone() for t in compiled(q, kv, idx, scale, **extra)]
        _assert_same_bits(got, eager)


def test_compile_with_surrounding_ops_and_dynamic_shapes():
    """The op between ordinary ops, s_q changing between calls (dynamic=True): still one graph."""

    def attention(q, kv, idx, sink):
        q = q * 1  # exact in bf16: a fused Inductor kernel before the op
        out, _, lse = sparse_mla_fwd(q, kv, idx, 576 ** -0.5, attn_sink=sink)
        return out.flatten(-2), lse

    compiled = torch.compile(attention, fullgraph=True, dynamic=True)
    for s_q in (24, 40):
        q, kv, idx, _, extra = make_problem(s_q, 64, 576, 2000, 256, BF16, seed=3, sink=True)
        want = attention(q, kv, idx, extra["attn_sink"])
        got = compiled(q, kv, idx, extra["attn_sink"])
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_compile_flash_mla_drop_in_and_explicit_kernels():
    q, kv, idx, scale, extra = make_problem(32, 128, 576, 3000, 256, BF16, seed=4, topk_length=True)
    for fn in (lambda: flash_mla_sparse_fwd(q, kv, idx, scale, 512, None, extra["topk_length"]),
               lambda: sparse_mla_fwd(q, kv, idx, scale, topk_length=extra["topk_length"], kernel="tl",
                                      config="64,32,8,2")):
        eager = fn()
        _assert_same_bits(torch.compile(fn, fullgraph=True)(), eager)
    _assert_same_bits(flash_mla_sparse_fwd(q, kv, idx, scale, 512, None, extra["topk_length"]),
                      sparse_mla_fwd(q, kv, idx, scale, topk_length=extra["topk_length"]))


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_cuda_graph_capture_and_replay(case):
    """Captured once, replayed on new input data written into the captured buffers: each replay
    equals the eager op on that data (the kernel runs on the capturing stream, reading its inputs)."""
    q, kv, idx, scale, extra = _problem(case, seed=5)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the default stream, as torch.cuda.graph wants
        for _ in range(2):
            _step(q, kv, idx, scale, **extra)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = _step(q, kv, idx, scale, **extra)
    for seed in (6, 7):
        q2, kv2, idx2, _, extra2 = _problem(case, seed=seed)
        q.copy_(q2)
        kv.copy_(kv2)
        idx.copy_(idx2)
        for name, t in extra2.items():
            extra[name].copy_(t)
        graph.replay()
        torch.cuda.synchronize()
        _assert_same_bits([t.clone() for t in captured], _step(q, kv, idx, scale, **extra))


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_side_stream_same_bits(case):
    """On a busy side stream the op runs after the side stream's earlier work: q is rewritten there
    (after a sleep) just before the call, so a kernel launched on any other stream would read
    the old q and give other bits."""
    q, kv, idx, scale, extra = _problem(case, seed=8)
    q_new = _problem(case, seed=13)[0]
    want = _step(q_new, kv, idx, scale, **extra)
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)  # tens of ms: the default stream is idle meanwhile
        q.copy_(q_new)
        got = _step(q, kv, idx, scale, **extra)
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    _assert_same_bits(got, want)


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_no_host_synchronization_on_the_call_path(case):
    """With the call's launch cached, a call does nothing that synchronizes with the GPU
    (torch raises on any synchronizing CUDA call in sync-debug mode "error")."""
    q, kv, idx, scale, extra = _problem(case, seed=9)
    want = _step(q, kv, idx, scale, **extra)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        got = [_step(q, kv, idx, scale, **extra) for _ in range(3)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for g in got:
        _assert_same_bits(g, want)


@pytest.mark.parametrize("case", [CASES[0], CASES[3]], ids=[_IDS[0], _IDS[3]])
def test_cached_launch_is_direct_and_launch_hooks_still_see_it(case):
    """The op's cached launch reaches Triton's C launcher directly on this Triton (3.6-3.9), gives
    the bits of Triton's own launch path, and a launch hook installed later (a profiler) sees every
    launch, through Triton's path."""
    from triton import knobs

    q, kv, idx, scale, extra = _problem(case, seed=4)
    sm.clear_caches()
    want = _step(q, kv, idx, scale, **extra)
    (plan,) = sm._PLANS.values()
    assert plan.runner is not None and plan.runner.layout is not None, "no direct launch on this Triton"
    seen = []
    hook = lambda metadata: seen.append(metadata.get()["name"])  # noqa: E731
    knobs.runtime.launch_enter_hook.add(hook)
    try:
        hooked = _step(q, kv, idx, scale, **extra)
    finally:
        knobs.runtime.launch_enter_hook.remove(hook)
    torch.cuda.synchronize()
    assert len(seen) == 1 and "sparse_mla" in seen[0]
    _assert_same_bits(hooked, want)
    _assert_same_bits(_step(q, kv, idx, scale, **extra), want)


def test_eager_shortcut_same_bits_and_observers_still_see_the_op(monkeypatch):
    """Plain eager calls skip the dispatcher (the op object is not called) and give the op's bits;
    a dispatch mode and the profiler see ``tle::sparse_mla_fwd`` as if it had always dispatched."""
    from torch.utils._python_dispatch import TorchDispatchMode

    case = CASES[0]
    q, kv, idx, scale, extra = _problem(case, seed=5)
    want = torch.ops.tle.sparse_mla_fwd(q, kv, idx, scale, **extra)
    calls = []
    real_op = sm._OP
    monkeypatch.setattr(sm, "_OP", lambda *a, **k: calls.append(1) or real_op(*a, **k))
    _assert_same_bits(_step(q, kv, idx, scale, **extra), want)
    _assert_same_bits(flash_mla_sparse_fwd(q, kv, idx, scale), want)
    assert calls == []

    class Log(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    with Log() as log:
        _assert_same_bits(_step(q, kv, idx, scale, **extra), want)
    assert "tle.sparse_mla_fwd.default" in log.ops and calls == [1]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        _step(q, kv, idx, scale, **extra)
    assert any(e.name == "tle::sparse_mla_fwd" for e in prof.events()) and calls == [1, 1]


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_cxx_entry_point_is_used_and_gives_the_python_paths_bits(case, monkeypatch):
    """The op's calls go through its C++ entry point (built for this torch on first use) and give
    exactly what its Python path gives; its outputs live on the inputs' device."""
    from tle.ops import torch_ext

    q, kv, idx, scale, extra = _problem(case, seed=6)
    prepare = torch_ext.load().prepare
    entered = []
    monkeypatch.setattr(sm, "_prepare", lambda *a: entered.append(1) or prepare(*a))
    got = _step(q, kv, idx, scale, **extra)
    via_op = torch.ops.tle.sparse_mla_fwd(q, kv, idx, scale, **extra)
    assert entered == [1, 1]
    monkeypatch.setattr(sm, "_prepare", sm._declined)
    want = _step(q, kv, idx, scale, **extra)
    _assert_same_bits(got, want)
    _assert_same_bits(via_op, want)
    assert all(t.device == q.device for t in got)


@needs_ws
@pytest.mark.parametrize("h_q", [32, 48, 80, 112])
def test_padded_heads_equal_the_caller_padded_problem(h_q):
    """A head count that is not a multiple of 64 (the ws kernel's last block masked) gives exactly
    what a caller who pads q (and sink) with zero heads to a multiple of 64 and slices the outputs
    gets from it, and writes nothing past the real heads."""
    q, kv, idx, scale, extra = make_problem(24, h_q, 576, 3000, 384, BF16, seed=10, sink=True, topk_length=True)
    hp = -(-h_q // 64) * 64
    q_pad = torch.zeros(24, hp, 576, dtype=BF16, device=DEV)
    q_pad[:, :h_q] = q
    sink_pad = torch.zeros(hp, device=DEV)
    sink_pad[:h_q] = extra["attn_sink"]
    padded = sparse_mla_fwd(q_pad, kv, idx, scale, attn_sink=sink_pad, topk_length=extra["topk_length"], kernel="ws")
    got = sparse_mla_fwd(q, kv, idx, scale, **extra)
    _assert_same_bits(got, (padded[0][:, :h_q].contiguous(), padded[1][:, :h_q].contiguous(),
                            padded[2][:, :h_q].contiguous()))


def test_requires_grad_is_refused():
    q, kv, idx, scale, _ = make_problem(8, 64, 576, 500, 128, BF16, seed=11)
    with pytest.raises(RuntimeError, match="has no backward"):
        sparse_mla_fwd(q.requires_grad_(), kv, idx, scale)
    with torch.no_grad():
        out = sparse_mla_fwd(q, kv, idx, scale)
    assert not out[0].requires_grad


@needs_ws
def test_ws_compile_failure_runs_the_plain_kernel(monkeypatch):
    """A Triton whose Gluon cannot compile the ws kernel: one TLEWarning naming the error, the
    plain kernel's (correct) result; TLE_STRICT=1 raises instead."""
    from tle.ops import sparse_mla_ws

    real = sparse_mla_ws.sparse_mla_ws_kernel

    class Broken:
        arg_names, params = real.arg_names, real.params

        def warmup(self, *args, **kwargs):
            raise AttributeError("module 'triton.experimental.gluon' has no attribute 'warp_specialize'")

    monkeypatch.setattr(sparse_mla_ws, "sparse_mla_ws_kernel", Broken())
    monkeypatch.delenv("TLE_STRICT", raising=False)
    sm.clear_caches()
    try:
        q, kv, idx, scale, extra = make_problem(8, 128, 576, 1000, 192, BF16, seed=12)
        with pytest.warns(TLEWarning, match="failed to compile .*AttributeError.*plain kernel"):
            got = sparse_mla_fwd(q, kv, idx, scale, backend="tle")
        check_against_reference(got, sparse_mla_fwd_reference(q, kv, idx, scale), BF16)
        sm.clear_caches()
        monkeypatch.setenv("TLE_STRICT", "1")
        with pytest.raises(RuntimeError, match="failed to compile"):
            sparse_mla_fwd(q, kv, idx, scale, backend="tle")
    finally:
        sm.clear_caches()
