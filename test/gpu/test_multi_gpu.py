"""The op on more than one GPU: inputs on cuda:1 while cuda:0 is current (eager, torch.compile,
a CUDA graph on cuda:1), launches and caches kept per device, and tensor parallelism: two
processes, each driving one GPU with half of the heads (h_q 64 of 128), whose outputs
concatenated are the single-GPU h_q = 128 result, bit for bit (each 64-head tile is computed the
same way whatever the rest of the problem is).

Needs two GPUs of the same kind; skips cleanly with fewer. The processes share nothing (no NCCL);
they still run with NVLink multicast off, as every program on the shared machines must.

Run: python -m pytest -q -rs test/gpu/test_multi_gpu.py
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

_TWO = torch.cuda.is_available() and torch.cuda.device_count() >= 2
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _TWO, reason="needs two CUDA GPUs")]

_REPO = Path(__file__).resolve().parents[2]
try:
    import tle.ops  # noqa: F401
except ImportError:  # not installed: the source tree (also in the worker processes)
    sys.path.insert(0, str(_REPO / "python"))

import tle  # noqa: E402
from tle.ops import sparse_mla_fwd, sparse_mla_fwd_reference  # noqa: E402

BF16 = torch.bfloat16
_NO_MULTICAST = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def make_problem(device, *, s_q=32, h_q=128, d_qk=576, s_kv=4000, topk=512, seed=0, sink=True, topk_length=True):
    """Inputs drawn on the CPU (identical in every process), then moved to ``device``."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(s_q, h_q, d_qk, generator=g).to(BF16)
    kv = torch.randn(s_kv, 1, d_qk, generator=g).to(BF16)
    idx = torch.argsort(torch.rand(s_q, s_kv, generator=g), dim=-1)[:, :topk].to(torch.int32)
    idx[0, : topk // 4] = -1
    extra = {}
    if sink:
        extra["attn_sink"] = torch.randn(h_q, generator=g) + 3.0
    if topk_length:
        tlen = torch.randint(0, topk + 1, (s_q,), generator=g).to(torch.int32)
        tlen[1] = 0
        extra["topk_length"] = tlen
    to = lambda t: t.to(device)  # noqa: E731
    return to(q), to(kv), to(idx[:, None, :].contiguous()), d_qk ** -0.5, {k: to(v) for k, v in extra.items()}


def _same_bits(got, want):
    for a, b in zip(got, want):
        assert a.device == b.device and a.shape == b.shape and a.dtype == b.dtype
        assert torch.equal(a, b)


def _on(device_index, fn):
    with torch.cuda.device(device_index):
        return fn()


@pytest.fixture(autouse=True)
def _current_device_zero():
    torch.cuda.set_device(0)
    torch._dynamo.reset()
    yield
    torch.cuda.set_device(0)


@pytest.mark.parametrize("h_q", [128, 32, 16], ids=["ws", "ws-padded", "plain"])
def test_inputs_on_second_gpu_while_first_is_current(h_q):
    q, kv, idx, scale, extra = make_problem("cuda:1", h_q=h_q, seed=1)
    want = _on(1, lambda: sparse_mla_fwd(q, kv, idx, scale, **extra))  # the op with cuda:1 current
    assert torch.cuda.current_device() == 0
    got = sparse_mla_fwd(q, kv, idx, scale, **extra)
    assert torch.cuda.current_device() == 0  # the op's device guard restores the current device
    assert all(t.device == torch.device("cuda", 1) for t in got)
    torch.cuda.synchronize(1)
    _same_bits(got, want)
    ref = sparse_mla_fwd_reference(q, kv, idx, scale, **extra)
    torch.testing.assert_close(got[0].float(), ref[0], atol=1e-2, rtol=2e-2)
    fin = torch.isfinite(ref[2])
    assert torch.equal(fin, torch.isfinite(got[2]))
    torch.testing.assert_close(got[2][fin], ref[2][fin], atol=5e-4, rtol=0)


def test_launches_and_caches_kept_per_device():
    """The same call signature on cuda:0 and cuda:1, interleaved: each device runs its own
    compiled kernel on its own data (a launch cached for one device never serves the other)."""
    p0 = make_problem("cuda:0", seed=2)
    p1 = make_problem("cuda:1", seed=3)  # other data, same shapes
    first = [sparse_mla_fwd(q, kv, idx, s, **e) for q, kv, idx, s, e in (p0, p1)]
    for _ in range(2):
        again = [sparse_mla_fwd(q, kv, idx, s, **e) for q, kv, idx, s, e in (p1, p0)][::-1]
        for a, b in zip(again, first):
            _same_bits(a, b)
    assert first[0][0].device.index == 0 and first[1][0].device.index == 1
    cross = [t.to("cuda:0") for t in first[1]]
    assert not torch.equal(cross[0], first[0][0])  # different data really gave different results
    _same_bits(_on(0, lambda: sparse_mla_fwd(*p1[:4], **p1[4])), first[1])


def test_compile_on_second_gpu_while_first_is_current():
    q, kv, idx, scale, extra = make_problem("cuda:1", seed=4)

    def step(q, kv, idx, sink, tlen):
        out, max_logits, lse = sparse_mla_fwd(q, kv, idx, scale, attn_sink=sink, topk_length=tlen)
        return out * 1, max_logits, lse

    want = step(q, kv, idx, extra["attn_sink"], extra["topk_length"])
    for mode in (None, "max-autotune"):
        torch._dynamo.reset()
        compiled = torch.compile(step, fullgraph=True, mode=mode)
        for _ in range(3):
            got = [t.clone() for t in compiled(q, kv, idx, extra["attn_sink"], extra["topk_length"])]
            assert torch.cuda.current_device() == 0
            _same_bits(got, want)


def test_cuda_graph_on_second_gpu():
    q, kv, idx, scale, extra = make_problem("cuda:1", seed=5)
    with torch.cuda.device(1):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            sparse_mla_fwd(q, kv, idx, scale, **extra)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            captured = sparse_mla_fwd(q, kv, idx, scale, **extra)
    q.copy_(make_problem("cuda:1", seed=6)[0])  # new data; replayed with cuda:0 current
    graph.replay()
    torch.cuda.synchronize(1)
    _same_bits([t.clone() for t in captured], sparse_mla_fwd(q, kv, idx, scale, **extra))


def _worker(rank: int, out_path: str) -> None:
    """One tensor-parallel rank: heads [64 rank, 64 rank + 64) of the h_q = 128 problem on cuda:rank."""
    torch.cuda.set_device(rank)
    q, kv, idx, scale, extra = make_problem(f"cuda:{rank}", seed=7)
    heads = slice(64 * rank, 64 * rank + 64)
    out = sparse_mla_fwd(q[:, heads].contiguous(), kv, idx, scale, attn_sink=extra["attn_sink"][heads].contiguous(),
                         topk_length=extra["topk_length"])
    torch.save({"rank": rank, "device": str(out[0].device), "tle_enabled": tle.is_enabled(),
                "out": [t.cpu() for t in out]}, out_path)


def test_two_processes_tensor_parallel_heads(tmp_path):
    env = dict(os.environ, **_NO_MULTICAST)
    env["PYTHONPATH"] = os.pathsep.join([str(_REPO / "python"), env.get("PYTHONPATH", "")])
    procs = [subprocess.Popen([sys.executable, __file__, "--tp-worker", str(rank), str(tmp_path / f"rank{rank}.pt")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in (0, 1)]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    for rank, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {rank} failed:\n{log[-4000:]}"
    shards = [torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1)]
    assert [s["device"] for s in shards] == ["cuda:0", "cuda:1"]
    assert shards[0]["tle_enabled"] == shards[1]["tle_enabled"] == tle.is_enabled()
    q, kv, idx, scale, extra = make_problem("cuda:0", seed=7)
    full = [t.cpu() for t in sparse_mla_fwd(q, kv, idx, scale, **extra)]
    for i, name in enumerate(("out", "max_logits", "lse")):
        joined = torch.cat([s["out"][i] for s in shards], dim=1)
        assert joined.shape == full[i].shape, name
        assert torch.equal(joined, full[i]), f"{name}: max |diff| {(joined.float() - full[i].float()).abs().max()}"


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--tp-worker":
    _worker(int(sys.argv[2]), sys.argv[3])
