"""The op's C++ entry point (tle.ops.torch_ext, sparse_mla_entry.cpp) on the CPU: it builds against
the installed torch; its signature tells apart every call that needs its own launch and nothing
else; its outputs are the op's; it declines (None) everything that is not the plain case instead
of crashing or raising; without a compiler the op keeps working after one warning.

That the cached launches give the same results through it as through the Python path:
test_torch_op.py (the recording-kernel tests run on both entry points); on the GPU:
test/gpu/test_torch_op_gpu.py.
"""
from __future__ import annotations

import os
import random
import sys
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

_REPO = Path(__file__).resolve().parents[2]
try:
    import tle.ops  # noqa: F401
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(_REPO / "python"))

from tle import TLEWarning  # noqa: E402
from tle.ops import torch_ext  # noqa: E402


@pytest.fixture(scope="module")
def prepare():
    return torch_ext.load().prepare


def inputs(s_q=4, h_q=16, d_qk=576, s_kv=40, topk=8, batch=None):
    pre = () if batch is None else (batch,)
    q = torch.randn(*pre, s_q, h_q, d_qk).to(torch.bfloat16)
    kv = torch.randn(*pre, s_kv, 1, d_qk).to(torch.bfloat16)
    idx = torch.randint(0, s_kv, (*pre, s_q, 1, topk), dtype=torch.int32)
    return q, kv, idx


def test_outputs_and_pointers_are_the_ops(prepare):
    q, kv, idx = inputs(batch=2)
    sink, tlen = torch.zeros(16), torch.full((2, 4), 8, dtype=torch.int32)
    signature, out, ml, lse, pointers = prepare(q, kv, idx, sink, tlen, 512)
    assert type(signature) is bytes
    assert out.shape == (2, 4, 16, 512) and out.dtype == torch.bfloat16 and out.is_contiguous()
    for stat in (ml, lse):
        assert stat.shape == (2, 4, 16) and stat.dtype == torch.float32 and stat.is_contiguous()
    assert not (out.requires_grad or ml.requires_grad or lse.requires_grad)
    assert pointers == tuple(t.data_ptr() for t in (q, kv, idx, sink, tlen, out, ml, lse))
    assert len({out.data_ptr(), ml.data_ptr(), lse.data_ptr()}) == 3
    _, out2, *_ = prepare(q, kv, idx, sink, tlen, 512)
    assert out2.data_ptr() != out.data_ptr()  # fresh outputs every call
    _, _, _, _, pointers = prepare(q, kv, idx, None, None, 64)
    assert pointers[3:5] == (None, None)


def test_empty_problems_get_empty_outputs(prepare):
    q = torch.empty(0, 16, 576, dtype=torch.bfloat16)
    kv, idx = torch.empty(0, 1, 576, dtype=torch.bfloat16), torch.empty(0, 1, 8, dtype=torch.int32)
    _, out, ml, lse, _ = prepare(q, kv, idx, None, None, 512)
    assert out.shape == (0, 16, 512) and ml.shape == lse.shape == (0, 16)


def _variants(q, kv, idx):
    """Calls that must each get their own launch: (name, args) differing from the base in one way."""
    sink, tlen = torch.zeros(16), torch.full((4,), 8, dtype=torch.int32)
    base = (q, kv, idx, sink, tlen, 512)
    wide = torch.zeros(4, 16, 640, dtype=q.dtype)[..., :576]
    shifted = torch.cat([q.flatten(), q.flatten()[:1]])[1:].view(q.shape)  # 2-byte offset
    yield "base", base
    yield "s_q", (q[:3], kv, idx[:3], sink, tlen[:3], 512)
    yield "q stride", (wide, kv, idx, sink, tlen, 512)
    yield "q dtype", (q.half(), kv, idx, sink, tlen, 512)
    yield "q alignment", (shifted, kv, idx, sink, tlen, 512)
    yield "kv rows", (q, kv[:30], idx, sink, tlen, 512)
    yield "kv dtype", (q, kv.float(), idx, sink, tlen, 512)
    yield "indices dtype", (q, kv, idx.long(), sink, tlen, 512)
    yield "indices topk", (q, kv, idx[..., :4], sink, tlen, 512)
    yield "indices stride of a size-1 dim", (q, kv, idx.as_strided(idx.shape, (8, 16, 1)), sink, tlen, 512)
    yield "no sink", (q, kv, idx, None, tlen, 512)
    yield "no topk_length", (q, kv, idx, sink, None, 512)
    yield "sink strided", (q, kv, idx, torch.zeros(32)[::2], tlen, 512)
    yield "topk_length rank", (q, kv, idx, sink, tlen[None], 512)
    yield "q rank", (q[None], kv[None], idx[None], sink, tlen[None], 512)


def test_signature_separates_exactly_what_needs_its_own_launch(prepare):
    q, kv, idx = inputs()
    seen = {}
    for name, args in _variants(q, kv, idx):
        signature = prepare(*args)[0]
        assert signature not in seen, f"{name} has the signature of {seen.get(signature)}"
        seen[signature] = name
    # the same call with other data (and d_v, which the op keys on itself) has the same signature
    sink, tlen = torch.zeros(16), torch.full((4,), 8, dtype=torch.int32)
    base = prepare(q, kv, idx, sink, tlen, 512)[0]
    assert prepare(q.clone(), kv.clone(), idx.clone(), sink.clone(), tlen.clone(), 512)[0] == base
    assert prepare(q, kv, idx, sink, tlen, 64)[0] == base


class _Sub(torch.Tensor):
    pass


def _without_data(t):
    t = t.clone()
    t.untyped_storage().resize_(0)  # sizes and strides stay; the data pointer is null
    return t


def test_declines_what_is_not_the_plain_case(prepare):
    q, kv, idx = inputs()
    declined = {
        "subclass q": (q.as_subclass(_Sub), kv, idx, None, None, 512),
        "subclass sink": (q, kv, idx, torch.zeros(16).as_subclass(_Sub), None, 512),
        "negative view": (torch._neg_view(q), kv, idx, None, None, 512),
        "zero tensor": (torch._efficientzerotensor(q.shape, dtype=q.dtype), kv, idx, None, None, 512),
        "functional tensor": (q, torch._to_functional_tensor(kv), idx, None, None, 512),
        "nested": (torch.nested.nested_tensor([q[0], q[1]], layout=torch.jagged), kv, idx, None, None, 512),
        "storage without data": (_without_data(q), kv, idx, None, None, 512),
        "negative view of topk_length": (q, kv, idx, None, torch._neg_view(torch.ones(4, dtype=torch.int32)), 512),
        "conjugate view": (q, torch.randn(40, 1, 576, dtype=torch.complex64).conj(), idx, None, None, 512),
        "sparse": (q, kv, idx.to_sparse(), None, None, 512),
        "d_v 0": (q, kv, idx, None, None, 0),
        "d_v negative": (q, kv, idx, None, None, -1),
        "d_v above d_qk": (q, kv, idx, None, None, 577),
        "d_v huge": (q, kv, idx, None, None, 1 << 80),
        "d_v bool": (q, kv, idx, None, None, True),
        "d_v float": (q, kv, idx, None, None, 512.0),
        "0-dim q": (torch.tensor(1.0), kv, idx, None, None, 1),
        "not a tensor": ([1, 2], kv, idx, None, None, 512),
        "too few arguments": (q, kv, idx),
        "too many arguments": (q, kv, idx, None, None, 512, 0),
    }
    for name, args in declined.items():
        assert prepare(*args) is None, name
    assert prepare() is None


def test_requires_grad_is_declined_only_with_grad_mode_on(prepare):
    q, kv, idx = inputs()
    leaf = q.clone().requires_grad_()
    sink = torch.zeros(16, requires_grad=True)
    assert prepare(leaf, kv, idx, None, None, 512) is None
    assert prepare(q, kv.clone().requires_grad_(), idx, None, None, 512) is None
    assert prepare(q, kv, idx, sink, None, 512) is None
    with torch.no_grad():
        assert prepare(leaf, kv, idx, sink, None, 512) is not None
    param = torch.nn.Parameter(q.clone(), requires_grad=False)  # exactly a tensor to C++
    assert prepare(param, kv, idx, None, None, 512) is not None


def test_random_arguments_never_crash(prepare):
    """Fuzz: any mix of tensors (odd shapes, dtypes, views, subclasses) and other objects gives None
    or a result, never a crash or an exception."""
    rng = random.Random(0)
    pool = [None, 0, 512, -5, 1.5, "x", object(), [], torch.tensor(3), torch.empty(0),
            torch.empty(2, 0, 7), torch.randn(3, 4)[:, ::2], torch.randn(2, 3, 5).permute(2, 0, 1),
            torch.empty(1, 1, 1, 1, 1, 1, 1, 1), torch.zeros(4, 4).to_sparse(), torch.empty(3, 5, device="meta"),
            torch.empty(2, 2, dtype=torch.bool), torch.randn(6).as_subclass(_Sub), torch._neg_view(torch.randn(3)),
            *inputs()]
    for _ in range(3000):
        args = [rng.choice(pool) for _ in range(rng.choice((5, 6, 6, 6, 7)))]
        got = prepare(*args)
        assert got is None or (type(got) is tuple and len(got) == 5)


def test_without_a_compiler_the_op_warns_once_and_keeps_its_python_path(monkeypatch, tmp_path):
    from tle.ops import sparse_mla as sm

    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("TLE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(torch_ext.BuildError, match="no-such-compiler"):
        torch_ext.load()
    monkeypatch.setattr(sm, "_prepare", sm._first_prepare)
    q, kv, idx = inputs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert sm._prepare(q, kv, idx, None, None, 512) is None
        assert sm._prepare(q, kv, idx, None, None, 512) is None
    assert [str(w.message) for w in caught if issubclass(w.category, TLEWarning)] == [
        next(str(w.message) for w in caught if "C++ entry point is not available" in str(w.message))]
    assert sm._prepare is sm._declined
    monkeypatch.setenv("TLE_STRICT", "1")
    with pytest.raises(torch_ext.BuildError):
        torch_ext.sparse_mla_prepare()


def test_a_failing_build_names_its_log(monkeypatch, tmp_path):
    failing = tmp_path / "cxx"
    failing.write_text("#!/bin/sh\necho 'fatal: no luck' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setenv("CXX", str(failing))
    monkeypatch.setenv("TLE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(torch_ext.BuildError, match="build.log") as e:
        torch_ext.load()
    log = Path(str(e.value).rsplit(" in ", 1)[1])
    assert "fatal: no luck" in log.read_text()
    assert not list(log.parent.glob("*.so*"))  # nothing half-written is left to load


def test_the_build_is_cached_per_torch_compiler_and_flags():
    facts = torch_ext._torch_facts()
    key = torch_ext.build_key(["c++"], facts)
    assert torch_ext.build_key(["c++"], facts) == key
    assert torch_ext.build_key(["clang++"], facts) != key
    assert torch_ext.build_key(["ccache", "c++"], facts) != key
    assert torch_ext.build_key(["c++"], {**facts, "version": "0.0"}) != key
    assert torch_ext.build_key(["c++"], {**facts, "cxx11_abi": 1 - facts["cxx11_abi"]}) != key
    assert torch_ext.build_key(["c++"], {**facts, "includes": facts["includes"][:1]}) != key
    assert torch_ext.load() is torch_ext.load()  # one module per process


def test_a_cached_build_is_readable_by_all_and_rebuilt_when_it_does_not_load(monkeypatch, tmp_path):
    """A shared cache works for every user (the file is not left 0600 as mkstemp makes it); a
    cached file that does not load (truncated by a crash, built on another host) is rebuilt."""
    monkeypatch.setenv("TLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(torch_ext, "_loaded", {})
    monkeypatch.setattr(torch_ext, "_import", lambda path: path)  # this process has the module already
    (built,) = [torch_ext.load()]
    assert built.stat().st_mode & 0o055 == 0o055  # group and others: read and execute
    built.write_bytes(b"not an ELF file")
    calls = []

    def import_once_broken(path):
        calls.append(path)
        if len(calls) == 1:
            raise ImportError("invalid ELF header")
        return path
    monkeypatch.setattr(torch_ext, "_import", import_once_broken)
    monkeypatch.setattr(torch_ext, "_loaded", {})
    assert torch_ext.load() == built and len(calls) == 2
    assert built.read_bytes()[:4] == b"\x7fELF"


def test_the_cache_falls_back_to_a_private_directory(monkeypatch, tmp_path):
    from tle import config

    monkeypatch.delenv("TLE_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "no-such-home"))
    monkeypatch.setattr(config.tempfile, "gettempdir", lambda: str(tmp_path))
    path = Path(config.cache_dir())
    assert path == tmp_path / f"tle-cache-{os.getuid()}" and path.stat().st_mode & 0o077 == 0
    path.chmod(0o777)  # writable by others: not used
    monkeypatch.setattr(config, "_private_cache", None)
    other = Path(config.cache_dir())
    assert other != path and other.stat().st_mode & 0o077 == 0


def test_stale_partial_builds_are_removed(tmp_path):
    stale, fresh = tmp_path / f"{torch_ext.MODULE}old.so.tmp", tmp_path / f"{torch_ext.MODULE}new.so.tmp"
    stale.write_text("x")
    fresh.write_text("x")
    os.utime(stale, (0, 0))
    torch_ext._remove_stale_partials(tmp_path)
    assert not stale.exists() and fresh.exists()  # a build still running keeps its file


def test_building_ahead_of_time_from_the_command_line(monkeypatch, tmp_path):
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    ok = subprocess.run([sys.executable, "-m", "tle.ops.torch_ext"], capture_output=True, text=True, env=env,
                        timeout=600)
    assert ok.returncode == 0 and torch_ext.MODULE in ok.stdout, ok.stderr
    env["CXX"] = str(tmp_path / "no-such-compiler")
    env["TLE_CACHE_DIR"] = str(tmp_path / "cache")
    bad = subprocess.run([sys.executable, "-m", "tle.ops.torch_ext"], capture_output=True, text=True, env=env,
                         timeout=600)
    assert bad.returncode == 1 and "cannot build" in bad.stderr
