"""The registered op torch.ops.tle.sparse_mla_fwd on the CPU: schema, opcheck (schema, fake,
autograd registration, AOT dispatch with dynamic shapes), the fake implementation under
torch.export (fake CUDA tensors, dynamic s_q), the no-backward rule, the kernel choice
(select_kernel), the ws-kernel fallback policy, the fast launch path's argument order against
Triton's own binder, the generic ahead-of-time helper, and tle.flash_mla's signature.

GPU behaviour (torch.compile, CUDA graphs, streams, devices): test/gpu/test_torch_op_gpu.py.
"""
from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton")
import triton.language as tl  # noqa: E402

_REPO = Path(__file__).resolve().parents[2]
try:
    import tle.ops  # noqa: F401
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(_REPO / "python"))

import tle  # noqa: E402
from tle import TLEWarning  # noqa: E402
from tle.ops import sparse_mla as sm  # noqa: E402
from tle.ops import KernelChoice, SparseMLAConfig, select_kernel, sparse_mla_fwd_reference  # noqa: E402
from tle.ops.sparse_mla_launch import make_launch, allocate_outputs  # noqa: E402

OP = torch.ops.tle.sparse_mla_fwd.default


def make_inputs(s_q=4, h_q=16, d_qk=576, s_kv=40, topk=8, dtype=torch.bfloat16, batch=None, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    pre = () if batch is None else (batch,)
    q = torch.randn(*pre, s_q, h_q, d_qk, generator=g).to(dtype)
    kv = torch.randn(*pre, s_kv, 1, d_qk, generator=g).to(dtype)
    idx = torch.randint(-3, s_kv + 3, (*pre, s_q, 1, topk), generator=g, dtype=torch.int64).to(torch.int32)
    return q.to(device), kv.to(device), idx.to(device)


@pytest.fixture
def fresh_op_state():
    sm.clear_caches()
    yield
    sm.clear_caches()


# --------------------------------------------------------------------------------------------------
# schema: FlashMLA's arguments and returns
# --------------------------------------------------------------------------------------------------
def test_schema_has_flashmla_arguments_and_returns():
    schema = OP._schema
    positional = [(a.name, a.default_value) for a in schema.arguments if not a.kwarg_only]
    assert positional == [("q", None), ("kv", None), ("indices", None), ("sm_scale", None), ("d_v", 512),
                          ("attn_sink", None), ("topk_length", None)]
    assert [str(a.type) for a in schema.arguments[:7]] == ["Tensor", "Tensor", "Tensor", "float", "int",
                                                           "Optional[Tensor]", "Optional[Tensor]"]
    # ``tle_kernel``, not ``kernel``: Inductor's fallback lowering has a keyword of that name
    assert [a.name for a in schema.arguments if a.kwarg_only] == ["tle_kernel", "backend", "config"]
    assert len(schema.returns) == 3 and all(str(r.type) == "Tensor" for r in schema.returns)
    assert not any(a.alias_info for a in schema.arguments)  # functional: no input is mutated


def test_flash_mla_drop_in_signature():
    from tle.flash_mla import flash_mla_sparse_fwd

    params = inspect.signature(flash_mla_sparse_fwd).parameters
    assert [(n, p.default) for n, p in params.items()] == [
        ("q", inspect.Parameter.empty), ("kv", inspect.Parameter.empty), ("indices", inspect.Parameter.empty),
        ("sm_scale", inspect.Parameter.empty), ("d_v", 512), ("attn_sink", None), ("topk_length", None)]
    q, kv, idx = make_inputs()
    with pytest.raises(ValueError, match="runs a CUDA kernel but the inputs are on cpu"):
        flash_mla_sparse_fwd(q, kv, idx, 0.1)


# --------------------------------------------------------------------------------------------------
# opcheck (the CPU implementation is the fp32 reference)
# --------------------------------------------------------------------------------------------------
def _opcheck_cases():
    q, kv, idx = make_inputs()
    yield "plain", (q, kv, idx, 0.1), {}
    q, kv, idx = make_inputs(h_q=32, d_qk=512, s_kv=30, topk=12, dtype=torch.float16, seed=1)
    sink = torch.linspace(-2, 2, 32)
    sink[0] = float("inf")
    tlen = torch.tensor([12, 5, 0, 30], dtype=torch.int32)
    yield "fp16-d512-sink-topk_length", (q, kv, idx, 0.05, 512, sink, tlen), {}
    q, kv, idx = make_inputs(batch=2, s_q=3, s_kv=20, topk=5, seed=2)
    yield "batched-options", (q, kv, idx, 0.1, 512, None, torch.tensor([[5, 1, 0], [2, 5, 4]], dtype=torch.int32)), \
        dict(tle_kernel="tl", backend="triton", config=[16, 64, 4, 2])
    q, kv, idx = make_inputs(s_kv=0, seed=3)
    yield "empty-kv", (q, kv, idx, 0.1), {}


@pytest.mark.parametrize("args,kwargs", [c[1:] for c in _opcheck_cases()], ids=[c[0] for c in _opcheck_cases()])
def test_opcheck(args, kwargs):
    result = torch.library.opcheck(OP, args, kwargs)
    assert set(result) == {"test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic"}
    assert all(v == "SUCCESS" for v in result.values()), result


def test_cpu_implementation_is_the_reference_in_q_dtype():
    q, kv, idx = make_inputs(h_q=16, s_kv=50, topk=16, seed=4)
    sink = torch.randn(16)
    out, ml, lse = OP(q, kv, idx, 0.07, 512, sink)
    ref = sparse_mla_fwd_reference(q, kv, idx, 0.07, attn_sink=sink, out_dtype=torch.bfloat16)
    assert out.dtype == torch.bfloat16 and ml.dtype == lse.dtype == torch.float32
    for a, b in zip((out, ml, lse), ref):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="kernel must be"):
        OP(q, kv, idx, 0.07, tle_kernel="fast")
    with pytest.raises(TypeError, match="q must have dtype in"):
        OP(q.float(), kv.float(), idx, 0.07)  # the op's rules, not the (fp32-accepting) reference's


@pytest.mark.parametrize("device", ["meta", "fake-cuda"])
def test_fake_outputs_have_exact_metadata(device):
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode() if device == "fake-cuda" else None
    dev = "cuda" if mode else "meta"
    with mode or torch.device("meta"):
        for batch in (None, 3):
            pre = () if batch is None else (batch,)
            q = torch.empty(*pre, 4096, 48, 576, dtype=torch.float16, device=dev)
            kv = torch.empty(*pre, 65536, 1, 576, dtype=torch.float16, device=dev)
            idx = torch.empty(*pre, 4096, 1, 2048, dtype=torch.int32, device=dev)
            out, ml, lse = OP(q, kv, idx, 0.1)
            assert out.shape == (*pre, 4096, 48, 512) and ml.shape == lse.shape == (*pre, 4096, 48)
            assert out.dtype == torch.float16 and ml.dtype == lse.dtype == torch.float32
            assert out.device == q.device and ml.device == q.device and lse.device == q.device
            assert out.is_contiguous() and ml.is_contiguous() and lse.is_contiguous()
            with pytest.raises(ValueError, match="h_q must be a positive multiple of 16"):
                OP(torch.empty(*pre, 4096, 24, 576, dtype=torch.float16, device=dev), kv, idx, 0.1)


@pytest.mark.parametrize("strict", [False, True], ids=["non-strict", "strict"])
def test_export_traces_the_python_entry_point(strict):
    """torch.export of a module calling tle.ops.sparse_mla_fwd (fake CUDA inputs, dynamic s_q): one
    opaque op node with exact output metadata."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    class Attention(torch.nn.Module):
        def forward(self, q, kv, idx, sink):
            out, _, lse = tle.ops.sparse_mla_fwd(q, kv, idx, 576 ** -0.5, attn_sink=sink)
            return out.flatten(-2), lse

    with FakeTensorMode():
        q = torch.empty(8, 64, 576, dtype=torch.bfloat16, device="cuda")
        kv = torch.empty(1000, 1, 576, dtype=torch.bfloat16, device="cuda")
        idx = torch.empty(8, 1, 256, dtype=torch.int32, device="cuda")
        sink = torch.empty(64, device="cuda")
        s = torch.export.Dim("s_q")
        ep = torch.export.export(Attention(), (q, kv, idx, sink), dynamic_shapes=({0: s}, None, {0: s}, None),
                                 strict=strict)
    calls = [n for n in ep.graph.nodes if n.op == "call_function" and n.target is OP]
    assert len(calls) == 1
    out_meta = ep.graph_signature.output_specs
    assert len(out_meta) == 2
    flat = [n for n in ep.graph.nodes if n.op == "output"][0].args[0]
    assert tuple(flat[0].meta["val"].shape[1:]) == (64 * 512,) and flat[0].meta["val"].dtype == torch.bfloat16
    assert flat[1].meta["val"].dtype == torch.float32


def test_export_keeps_options_and_the_drop_in():
    """Dynamo traces the option handling (kernel, backend, a SparseMLAConfig or its string) and
    tle.flash_mla down to the op, options as keyword arguments of the node."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from tle.flash_mla import flash_mla_sparse_fwd

    class Calls(torch.nn.Module):
        def forward(self, q, kv, idx, tlen):
            a = tle.ops.sparse_mla_fwd(q, kv, idx, 0.04, topk_length=tlen, kernel="tl", config="64,32,8,2")
            b = tle.ops.sparse_mla_fwd(q, kv, idx, 0.04, config=SparseMLAConfig(64, 32, 8, 2), backend="tle")
            c = flash_mla_sparse_fwd(q, kv, idx, 0.04, 512, None, tlen)
            return a[0], b[1], c[2]

    with FakeTensorMode():
        args = (torch.empty(4, 64, 576, dtype=torch.bfloat16, device="cuda"),
                torch.empty(100, 1, 576, dtype=torch.bfloat16, device="cuda"),
                torch.empty(4, 1, 64, dtype=torch.int32, device="cuda"), torch.empty(4, dtype=torch.int32, device="cuda"))
        ep = torch.export.export(Calls(), args, strict=True)
    calls = [n for n in ep.graph.nodes if n.op == "call_function" and n.target is OP]
    assert [n.kwargs for n in calls] == [{"tle_kernel": "tl", "config": [64, 32, 8, 2]},
                                         {"backend": "tle", "config": [64, 32, 8, 2]}, {}]
    assert calls[2].args[4:] == (512, None, calls[0].args[6])


def test_compile_fullgraph_on_cpu_matches_eager():
    """The op inside torch.compile(fullgraph=True) (CPU implementation, AOT autograd tracing
    through the fake implementation, static and dynamic shapes)."""
    q, kv, idx = make_inputs(s_q=6, h_q=32, s_kv=60, topk=16, seed=5)

    def step(q, kv, idx):
        out, ml, lse = torch.ops.tle.sparse_mla_fwd(q, kv, idx, 0.05)
        return out.float().sum(-1), ml, lse

    eager = step(q, kv, idx)
    for dynamic in (False, True):
        torch._dynamo.reset()
        got = torch.compile(step, fullgraph=True, backend="aot_eager", dynamic=dynamic)(q, kv, idx)
        for a, b in zip(got, eager):
            assert torch.equal(a, b)


def test_inductor_lowers_the_op_with_its_options():
    """Inductor (not only AOT tracing) lowers the op as an opaque fallback node, options included:
    an op argument named like one of Inductor's own lowering keywords (``kernel``) broke this."""
    q, kv, idx = make_inputs(s_q=4, h_q=16, s_kv=40, topk=8, seed=7)

    def step(q, kv, idx):
        a = OP(q, kv, idx, 0.05, tle_kernel="tl", backend="triton")
        return a[0].float() * 2, a[2]

    eager = step(q, kv, idx)
    torch._dynamo.reset()
    got = torch.compile(step, fullgraph=True, backend="inductor")(q, kv, idx)
    for a, b in zip(got, eager):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# --------------------------------------------------------------------------------------------------
# no backward
# --------------------------------------------------------------------------------------------------
def test_inputs_that_require_grad_are_refused():
    q, kv, idx = make_inputs(seed=6)
    sink = torch.zeros(16)
    for args in ((q.requires_grad_(), kv, idx, 0.1), (q.detach(), kv.requires_grad_(), idx, 0.1),
                 (q.detach(), kv.detach(), idx, 0.1, 512, sink.requires_grad_())):
        with pytest.raises(RuntimeError, match="has no backward"):
            OP(*args)
        with torch.no_grad():
            out = OP(*args)  # fine without grad mode
        assert not any(t.requires_grad for t in out)
    qg = q.detach().requires_grad_()

    def step(q):
        return OP(q, kv.detach(), idx, 0.1)[0]

    with pytest.raises(Exception, match="has no backward"):  # at trace time, through the fake
        torch.compile(step, backend="aot_eager", fullgraph=True)(qg)


# --------------------------------------------------------------------------------------------------
# kernel choice
# --------------------------------------------------------------------------------------------------
def _meta(h_q, d_qk=576, dtype=torch.bfloat16, topk=2048):
    q = torch.empty(4096, h_q, d_qk, dtype=dtype, device="meta")
    kv = torch.empty(65536, 1, d_qk, dtype=dtype, device="meta")
    idx = torch.empty(4096, 1, topk, dtype=torch.int32, device="meta")
    return q, kv, idx


@pytest.mark.parametrize("h_q, kw, expected", [
    (128, dict(backend="tle"), ("ws", 128)),
    (64, dict(backend="tle"), ("ws", 64)),
    (192, dict(backend="tle"), ("ws", 192)),
    (128, dict(backend="triton"), ("tl", 128)),  # TLE off: the plain kernel
    (48, dict(backend="tle"), ("ws", 48)),  # a 64-head block, Q rows past h_q zero-filled
    (32, dict(backend="tle"), ("ws", 32)),
    (80, dict(backend="tle"), ("ws", 80)),
    (16, dict(backend="tle"), ("tl", 16)),  # 16-head plain blocks beat a 64-head block (measured)
    (128, dict(backend="tle", kernel="tl"), ("tl", 128)),
    (128, dict(backend="triton", kernel="ws"), ("ws", 128)),  # explicit: Gluon kernel, stock Triton
    (128, dict(backend="tle", config="64,32,8,2"), ("tl", 128)),  # a plain-kernel config
    (32, dict(backend="tle", config="64,64,8,2"), ("ws", 32)),
    (128, dict(backend="tle", capability=(10, 0)), ("tl", 128)),
    (128, dict(backend="tle", capability=(8, 0)), ("tl", 128)),
    (128, dict(backend="tle", d_qk=512), ("ws", 128)),
    (128, dict(backend="tle", dtype=torch.float16), ("ws", 128)),
])
def test_kernel_choice(h_q, kw, expected):
    kw = dict(kw)
    q, kv, idx = _meta(h_q, kw.pop("d_qk", 576), kw.pop("dtype", torch.bfloat16))
    choice = select_kernel(q, kv, idx, **kw)
    assert choice.kernel == expected[0], choice
    assert expected[1] == h_q  # every kernel computes exactly the call's heads (no padding)
    assert choice.fallback is False
    if choice.kernel == "tl":
        assert isinstance(choice.config, SparseMLAConfig)
        if kw.get("kernel") is None:
            assert choice.reason  # the automatic choice says why it is not the ws kernel
    else:
        assert choice.config is None and choice.reason is None


def test_kernel_choice_follows_tle_state():
    q, kv, idx = _meta(128)
    with tle.enabled(False):
        assert select_kernel(q, kv, idx).kernel == "tl"
    if tle.is_enabled():
        assert select_kernel(q, kv, idx).kernel == "ws"


def test_explicit_ws_refuses_what_it_cannot_compute():
    assert select_kernel(*_meta(48), kernel="ws").kernel == "ws"  # any h_q (masked last block)
    with pytest.raises(ValueError, match="64 heads x 64 rows"):
        select_kernel(*_meta(128), kernel="ws", config=SparseMLAConfig(64, 32, 8, 2))
    with pytest.raises(ValueError, match="sm_100"):
        select_kernel(*_meta(128), kernel="ws", capability=(10, 0))
    with pytest.raises(ValueError, match="kernel must be"):
        select_kernel(*_meta(128), kernel="fast")
    with pytest.raises(ValueError, match="backend must be"):
        select_kernel(*_meta(128), backend="cuda")
    assert select_kernel(*_meta(128), backend="tle", config=SparseMLAConfig(64, 32, 8, 2)).kernel == "tl"


def test_triton_without_the_ws_kernel_falls_back(monkeypatch):
    """When the kernel module says this Triton cannot build it, the automatic choice is the plain
    kernel, marked as a fallback (the op warns once, or raises with TLE_STRICT=1); explicit ws raises."""
    monkeypatch.setattr(sm, "ws_runtime_reason", lambda: "triton 9.9's Gluon lacks language.async_load")
    choice = select_kernel(*_meta(128), backend="tle")
    assert choice == KernelChoice("tl", SparseMLAConfig(64, 64, 8, 2),
                                  "triton 9.9's Gluon lacks language.async_load", True)
    assert select_kernel(*_meta(16), backend="tle").fallback is False  # plain by rule, not by fallback
    with pytest.raises(RuntimeError, match="cannot be built here: triton 9.9"):
        select_kernel(*_meta(128), kernel="ws")


def test_installed_triton_builds_the_ws_kernel():
    assert sm.ws_runtime_reason() is None


# --------------------------------------------------------------------------------------------------
# the ws kernel failing to compile: one warning, the plain kernel (strict / explicit: raise)
# --------------------------------------------------------------------------------------------------
class _BrokenLaunch:
    kernel, grid = "ws", (132,)

    def __init__(self, dtype=torch.bfloat16, error=True):
        self.dtype, self.error, self.compiles = dtype, error, 0

    def specialization(self):
        return ("ws", torch.device("cuda", 0), self.dtype, 64, False, False, False)

    def compile(self):
        self.compiles += 1
        if self.error:
            raise AttributeError("module 'triton.experimental.gluon' has no attribute 'warp_specialize'")

        class Built:  # what a warmup returns, as far as the kernel module's verdict looks
            n_spills = 24

        return Built()


def test_ws_compile_failure_falls_back_with_one_warning(fresh_op_state, monkeypatch):
    monkeypatch.delenv("TLE_STRICT", raising=False)
    launch = _BrokenLaunch()
    with pytest.warns(TLEWarning, match="failed to compile .*AttributeError.*plain kernel"):
        assert sm.compile_or_fallback(launch, explicit=False) == (False, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning, no second compile attempt
        assert sm.compile_or_fallback(launch, explicit=False) == (False, None)
    assert launch.compiles == 1


def test_ws_compile_failure_raises_when_strict_or_explicit(fresh_op_state, monkeypatch):
    monkeypatch.delenv("TLE_STRICT", raising=False)
    with pytest.raises(RuntimeError, match="failed to compile"):
        sm.compile_or_fallback(_BrokenLaunch(), explicit=True)
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(RuntimeError, match="failed to compile"):
        sm.compile_or_fallback(_BrokenLaunch(torch.float16), explicit=False)


def test_ws_binary_that_spills_falls_back(fresh_op_state, monkeypatch):
    monkeypatch.delenv("TLE_STRICT", raising=False)
    with pytest.warns(TLEWarning, match=r"is not usable here \(.*spills \(24 bytes"):
        assert sm.compile_or_fallback(_BrokenLaunch(error=False), explicit=False) == (False, None)


# --------------------------------------------------------------------------------------------------
# the op's cached launch replays what Triton's binder would pass
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel,h_q,extras", [("tl", 48, False), ("tl", 16, True), ("ws", 128, False),
                                               ("ws", 64, True)])
def test_positional_arguments_match_tritons_binder(kernel, h_q, extras):
    from triton.backends.compiler import GPUTarget
    from triton.compiler.compiler import make_backend
    from triton.runtime.jit import create_function_from_signature

    q, kv, idx = _meta(h_q)
    sink = torch.empty(h_q, device="meta") if extras else None
    tlen = torch.empty(4096, dtype=torch.int32, device="meta") if extras else None
    prob = sm.validate_sparse_mla_inputs(q, kv, idx, 0.1, 512, sink, tlen)
    out, ml, lse = allocate_outputs(prob, q)
    launch = make_launch(prob, q, kv, idx, sink, tlen, out, ml, lse, kernel=kernel, num_sms=132)
    fn = launch.fn
    binder = create_function_from_signature(fn.signature, fn.params, make_backend(GPUTarget("cuda", 90, 32)))
    bound, _, _ = binder(**launch.kwargs, **launch.options)
    positional = launch.positional()
    assert len(positional) == len(bound) == len(fn.params)
    assert all(a is b or a == b for a, b in zip(positional, bound.values()))
    assert positional[:8] == [q, kv, idx, sink, tlen, out, ml, lse]
    assert fn.arg_names.index("qk_scale_log2") < len(positional)
    if kernel == "ws":
        assert launch.grid == (132,) and launch.kwargs["num_tiles"] == 4096 * h_q // 64


# --------------------------------------------------------------------------------------------------
# tle.ops.aot: any kernel, ahead of time
# --------------------------------------------------------------------------------------------------
@triton.jit
def _scale_kernel(x_ptr, y_ptr, n, alpha, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * alpha, mask=offs < n)


def test_aot_helper_specializes_like_the_jit():
    from tle.ops import aot

    x = torch.empty(4096, device="meta")
    src, options = aot.kernel_source(_scale_kernel, dict(x_ptr=x, y_ptr=x, n=4096, alpha=2.0, BLOCK=128),
                                     options=dict(num_warps=2))
    assert src.signature["x_ptr"] == "*fp32" and src.signature["n"] == "i32" and src.signature["alpha"] == "fp32"
    assert src.signature["BLOCK"] == "constexpr" and options["num_warps"] == 2
    divisible = {path for path, attrs in src.attrs.items() if ["tt.divisibility", 16] in attrs}
    assert {(0,), (1,), (2,)} <= divisible  # aligned pointers, n % 16 == 0
    src17, _ = aot.kernel_source(_scale_kernel, dict(x_ptr=x, y_ptr=x, n=17, alpha=2.0, BLOCK=128))
    assert (2,) not in {p for p, a in src17.attrs.items() if ["tt.divisibility", 16] in a}
    compiled = aot.compile_kernel(_scale_kernel, dict(x_ptr=x, y_ptr=x, n=4096, alpha=2.0, BLOCK=128))
    assert "_scale_kernel" in compiled.asm["ptx"] and ".target sm_90a" in compiled.asm["ptx"]


def test_aot_helper_builds_gluon_sources():
    from triton.experimental.gluon._runtime import GluonASTSource

    q, kv, idx = _meta(128)
    src, options = tle.ops.kernel_source(q, kv, idx, 0.1, kernel="ws")
    assert isinstance(src, GluonASTSource) and options["num_warps"] == 4
    src48, _ = tle.ops.kernel_source(*_meta(48), 0.1, kernel="ws")  # h_q 48: a masked 64-head block
    assert isinstance(src48, GluonASTSource) and src48.hash() != src.hash()


# --------------------------------------------------------------------------------------------------
# the CUDA implementation's cached launches, driven on the CPU with a recording kernel that computes
# the reference from exactly the arguments it is handed
# --------------------------------------------------------------------------------------------------
class _RecordingKernel:
    """Stands in for a JIT kernel: same parameters; a launch checks the arguments against the
    tensors it receives and writes the fp32 reference computed from them into the outputs."""

    def __init__(self, real):
        self.arg_names, self.params = real.arg_names, real.params
        self.compiles, self.fast, self.slow, self.with_runner = 0, 0, 0, True
        self.live = {}  # data pointer -> tensor (see the recording_kernels fixture)

    def warmup(self, grid, **kwargs):
        self.compiles += 1
        kernel = self

        class Compiled:  # as old Tritons' compiled kernels would be: no launcher of their own
            n_spills = 0

        class CompiledWithLauncher(Compiled):
            def __getitem__(self, launch_grid):
                def runner(*args, stream=None):
                    assert stream == 1234 and launch_grid == (*grid, 1, 1)  # Triton's runner takes three
                    kernel.fast += 1
                    kernel.execute(kernel.resolve(args))
                return runner

        return CompiledWithLauncher() if self.with_runner else Compiled()

    def __getitem__(self, grid):
        def launch(*args, **options):
            self.slow += 1
            self.execute(args)
        return launch

    def resolve(self, args):
        """The cached launch passes data pointers (ints): the tensors they are the data of (each
        must be one the call was given, allocated or copied)."""
        from tle.ops.sparse_mla_launch import POINTER_ARGS

        args = list(args)
        for i, name in enumerate(self.arg_names):
            if name in POINTER_ARGS and args[i] is not None:
                assert type(args[i]) is int, f"{name}: {args[i]!r} is not a data pointer"
                args[i] = self.live[args[i]]
        return args

    def execute(self, args):
        from tle.ops.sparse_mla_launch import POINTER_ARGS
        from tle.ops.sparse_mla_validation import LOG2E

        assert len(args) == len(self.params)
        kw = dict(zip(self.arg_names, args))
        q, kv, idx, sink, tlen, out, ml, lse = (kw[n] for n in POINTER_ARGS)
        assert (kw["s_q"], kw["h_q"], kw["topk"]) == (q.shape[-3], q.shape[-2], idx.shape[-1])
        assert (kw["stride_qs"], kw["stride_qh"]) == (q.stride(-3), q.stride(-2))
        assert (kw["stride_kvs"], kw["stride_is"]) == (kv.stride(-3), idx.stride(-3))
        assert (kw["stride_os"], kw["stride_oh"], kw["stride_ls"]) == (out.stride(-3), out.stride(-2), lse.stride(-2))
        assert ml.stride() == lse.stride() and out.shape[-2] == q.shape[-2]
        assert kw["HAS_SINK"] == (sink is not None) and kw["HAS_TOPK_LENGTH"] == (tlen is not None)
        if q.dim() == 4:  # batched: every batch stride is the tensor's own
            assert (kw["stride_qb"], kw["stride_kvb"], kw["stride_ib"]) == (q.stride(0), kv.stride(0), idx.stride(0))
            assert (kw["stride_ob"], kw["stride_lb"]) == (out.stride(0), lse.stride(0))
        if tlen is not None and tlen.dim() == 2:
            assert kw["stride_tlb"] == tlen.stride(0)
        assert all(t is None or t.stride(-1) == 1 for t in (sink, tlen))
        ref = sparse_mla_fwd_reference(q, kv, idx, kw["qk_scale_log2"] / LOG2E, 512, sink, tlen)
        for dst, src in zip((out, ml, lse), ref):
            dst.copy_(src)


@pytest.fixture(params=["cxx-entry", "python-entry"])
def recording_kernels(request, monkeypatch, fresh_op_state):
    """Both per-call paths: the C++ entry point (tle.ops.torch_ext) and the Python one."""
    from tle.ops import sparse_mla_launch, sparse_mla_tl, sparse_mla_ws, torch_ext

    kernels = {"tl": _RecordingKernel(sparse_mla_tl.sparse_mla_tl_kernel),
               "ws": _RecordingKernel(sparse_mla_ws.sparse_mla_ws_kernel)}
    monkeypatch.setattr(sparse_mla_launch, "_tl_kernel", lambda: kernels["tl"])
    monkeypatch.setattr(sparse_mla_launch, "_ws_kernel", lambda: kernels["ws"])
    monkeypatch.setattr(sm, "device_facts", lambda index: ((9, 0), 132))
    monkeypatch.setattr(sm, "_stream_of", lambda: (lambda index: 1234))
    guards = []

    class Guard:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            guards.append(self.index)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(torch.cuda, "device", Guard)
    live = {}  # data pointer -> the tensor: every tensor the calls are given, allocate or copy

    def register(*tensors):
        for t in tensors:
            if t is not None:
                live[t.data_ptr()] = t
        return tensors[0] if len(tensors) == 1 else tensors

    real_empty, real_contiguous = torch.empty_strided, torch.Tensor.contiguous
    monkeypatch.setattr(torch, "empty_strided", lambda *a, **k: register(real_empty(*a, **k)))
    monkeypatch.setattr(torch.Tensor, "contiguous", lambda self, *a, **k: register(real_contiguous(self, *a, **k)))
    real_impl = sm._cuda_impl

    def impl(q, kv, indices, sm_scale, d_v=512, attn_sink=None, topk_length=None, **options):
        register(q, kv, indices, attn_sink, topk_length)
        return real_impl(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, **options)

    monkeypatch.setattr(sm, "_cuda_impl", impl)
    if request.param == "cxx-entry":
        prepare = torch_ext.load().prepare

        def registering_prepare(*args):
            got = prepare(*args)
            assert got is not None, "the C++ entry point declined a plain call"
            register(*got[1:4])
            return got
        monkeypatch.setattr(sm, "_prepare", registering_prepare)
    else:
        monkeypatch.setattr(sm, "_prepare", sm._declined)
    for k in ("tl", "ws"):
        kernels[k].live = live
    current = [0]  # the "current device": 0 is not the CPU tensors' get_device() = -1
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current[0])
    monkeypatch.setattr(sm, "_current_device", lambda: current[0])
    kernels["guards"], kernels["current"] = guards, current
    return kernels


def _close(got, want):
    for a, b in zip(got, want):
        assert a.shape == b.shape and a.dtype == b.dtype and a.is_contiguous()
        fin = torch.isfinite(b)
        assert torch.equal(fin, torch.isfinite(a)) and torch.equal(a[~fin], b[~fin])
        torch.testing.assert_close(a[fin].float(), b[fin].float(), atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("kind", ["ws", "ws-padded-sink-topk_length", "tl-h16", "tl-batched-strided", "tl-triton",
                                  "ws-misaligned-q", "ws-batched-wide-topk_length"])
@pytest.mark.parametrize("runner,current", [(True, 0), (True, -1), (False, 0)],
                         ids=["fast-other-device-current", "fast-same-device", "jit"])
def test_cached_launch_replays_the_call(recording_kernels, kind, runner, current):
    """Two calls of one signature with different data: one compile, two launches, each with that
    call's tensors, strides and scale (the recording kernel checks them), giving that call's result;
    padded heads are computed padded and returned sliced and contiguous."""
    h_q = {"ws": 128, "ws-padded-sink-topk_length": 32, "tl-h16": 16, "tl-batched-strided": 16}.get(kind, 64)
    batch = 2 if "batched" in kind else None
    backend = "triton" if kind == "tl-triton" else "tle"
    expect = kind.split("-")[0]
    for k in ("tl", "ws"):
        recording_kernels[k].with_runner = runner
    recording_kernels["current"][0] = current
    results = []
    for seed in (0, 1):
        q, kv, idx = make_inputs(s_q=5, h_q=h_q, s_kv=60, topk=20, batch=batch, seed=seed)
        extra = {}
        if kind.startswith("ws-padded") or kind == "tl-batched-strided":
            g = torch.Generator().manual_seed(seed)
            extra["attn_sink"] = torch.randn(2 * h_q, generator=g)[::2]  # strided: copied per call
            tlen = torch.randint(0, 21, (batch or 1, 5 * 2), generator=g).to(torch.int32)[:, ::2]
            extra["topk_length"] = tlen if batch else tlen[0]
        if kind == "ws-batched-wide-topk_length":  # rows of a wider buffer: stride (8, 1), not copied
            g = torch.Generator().manual_seed(seed)
            extra["topk_length"] = torch.randint(0, 21, (batch, 8), generator=g).to(torch.int32)[:, :5]
        if kind == "ws-misaligned-q":
            q = torch.cat([q.flatten(), q.flatten()[:1]])[1:].view(q.shape)  # storage offset: 2 bytes
            assert q.data_ptr() % 16
        scale = 0.05 + 0.01 * seed
        got = sm._cuda_impl(q, kv, idx, scale, 512, extra.get("attn_sink"), extra.get("topk_length"), backend=backend)
        results.append((got, sparse_mla_fwd_reference(q, kv, idx, scale, **extra, out_dtype=torch.bfloat16)))
    kernel = recording_kernels[expect]
    other = recording_kernels["ws" if expect == "tl" else "tl"]
    assert kernel.compiles == 1 and other.compiles == 0
    assert (kernel.fast, kernel.slow) == ((2, 0) if runner else (0, 2))
    for got, want in results:
        _close(got, want)
    assert not torch.equal(results[0][0][0], results[1][0][0])
    # building a launch always, replaying it when another device is current: under the inputs' device
    guards = recording_kernels["guards"]
    assert set(guards) == {-1} and len(guards) == (1 if current == -1 else 3)


def test_cached_launch_keys(recording_kernels):
    """A new signature (shape, stride, TLE state) compiles again; the same one does not."""
    q, kv, idx = make_inputs(s_q=4, h_q=64, s_kv=30, topk=8)
    ws = recording_kernels["ws"]
    sm._cuda_impl(q, kv, idx, 0.1)
    sm._cuda_impl(q.clone(), kv.clone(), idx.clone(), 0.2)
    assert ws.compiles == 1
    sm._cuda_impl(q[:3], kv, idx[:3], 0.1)
    assert ws.compiles == 2
    wide = torch.zeros(4, 64, 640, dtype=q.dtype)[..., :576]
    wide.copy_(q)
    sm._cuda_impl(wide, kv, idx, 0.1)
    assert ws.compiles == 3
    with tle.enabled(False):
        sm._cuda_impl(q, kv, idx, 0.1)
    assert ws.compiles == 3 and recording_kernels["tl"].compiles == 1
    with pytest.raises(ValueError, match="sm_scale = 3e\\+38 overflows float32"):
        sm._cuda_impl(q, kv, idx, 3e38)  # the scale is checked per call, not cached


# --------------------------------------------------------------------------------------------------
# the eager shortcut past the dispatcher steps aside for everything that must see the op
# --------------------------------------------------------------------------------------------------
def test_eager_shortcut_only_when_nothing_observes_the_op():
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    class Dispatch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    class Function(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    assert sm._unobserved()
    with Dispatch():
        assert not sm._unobserved()
    with Function():
        assert not sm._unobserved()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]):
        assert not sm._unobserved()
    with torch.autograd.profiler_legacy.profile():
        assert not sm._unobserved()
    seen = []
    torch.func.vmap(lambda x: seen.append(sm._unobserved()) or x)(torch.ones(2, 3))
    assert seen == [False]
    seen.clear()

    def traced(x):
        seen.append(sm._unobserved())
        return x * 2
    torch.jit.trace(traced, torch.ones(2), check_trace=False)
    assert seen == [False]
    assert sm._unobserved()


def test_eager_shortcut_dispatches_what_the_cxx_entry_point_declines(monkeypatch):
    """A negative-bit view, a zero tensor or a functional tensor reaches the kernel only through
    the dispatcher (which materializes or unwraps it); so does every call when the C++ entry
    point is not available."""
    q, kv, idx = make_inputs()
    dispatched = []
    monkeypatch.setattr(sm, "_OP", lambda *a, **k: dispatched.append(a[0]))
    monkeypatch.setattr(sm, "_prepared_call", lambda *a: pytest.fail("took the shortcut"))
    for odd in (torch._neg_view(q), torch._efficientzerotensor(q.shape, dtype=q.dtype),
                torch._to_functional_tensor(q)):
        sm._eager_call(odd, kv, idx, 0.1, 512, None, None)
        assert dispatched[-1] is odd
    sm._eager_call(q, kv, idx, 0.1, 512, torch._neg_view(torch.ones(16)), None)
    monkeypatch.setattr(sm, "_prepare", sm._declined)
    sm._eager_call(q, kv, idx, 0.1, 512, None, None)
    assert len(dispatched) == 5


def test_a_cached_launch_keeps_no_tensor_of_the_call_that_built_it(recording_kernels):
    """The plan's argument template must not hold the first call's inputs or outputs alive (a
    serving process would keep a KV cache per signature)."""
    import gc
    import weakref

    q, kv, idx = make_inputs(s_q=4, h_q=64, s_kv=30, topk=8)
    out = sm._cuda_impl(q, kv, idx, 0.1)
    refs = [weakref.ref(t) for t in (q, kv, idx, *out)]
    assert len(sm._PLANS) == 1
    del q, kv, idx, out
    recording_kernels["tl"].live.clear()  # the fixture's own pointer -> tensor map
    gc.collect()
    assert [r() for r in refs] == [None] * 6


def test_eager_shortcut_is_not_taken_while_compiling():
    seen = []

    def f(x):
        seen.append(sm._unobserved())
        return x + 1
    torch.compile(f, backend="eager")(torch.ones(3))
    assert seen and not any(seen)
