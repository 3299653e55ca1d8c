"""Cache correctness: TLE's identity is part of Triton's disk and in-memory cache keys."""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys


from test_hook_common import ROOT, TARGET, compile_kernel, fake_native, tle_env  # noqa: F401

import triton
import triton.runtime.jit as jit_mod
from triton.compiler.compiler import make_backend

import tle
from tle import hook


def _backend_hash():
    return make_backend(TARGET).hash()


def _stock_backend_hash():
    return hook._orig_backend_hash(make_backend(TARGET))


def test_backend_hash_enabled_vs_disabled(tle_env, monkeypatch):
    stock = _stock_backend_hash()
    on = _backend_hash()
    assert on != stock and on.startswith(stock + "-tle-")
    tle.disable()
    assert _backend_hash() == stock  # disabled: exactly the stock key
    tle.enable()
    assert _backend_hash() == on
    monkeypatch.setenv("TLE_DISABLE", "1")
    assert _backend_hash() == stock


def test_identity_tracks_output_affecting_options(tle_env, monkeypatch):
    base = _backend_hash()
    monkeypatch.setenv("TLE_PIPELINE", "tle-lower-to-triton")
    assert _backend_hash() != base
    monkeypatch.delenv("TLE_PIPELINE")
    assert _backend_hash() == base
    monkeypatch.setenv("TLE_GLUON", "1")
    assert _backend_hash() != base
    monkeypatch.delenv("TLE_GLUON")
    # diagnostics-only options do not fork the cache
    monkeypatch.setenv("TLE_STRICT", "1")
    monkeypatch.setenv("TLE_DUMP_DIR", str(tle_env / "dump"))
    assert _backend_hash() == base
    hook.insert_step("tle-x", before="pipeline", name="x")
    assert _backend_hash() != base
    hook.clear_steps()
    assert _backend_hash() == base
    monkeypatch.setattr(hook, "native_build_id", lambda: "0.0.0:other-build")
    hook._identity_cache.clear()
    assert _backend_hash() != base
    monkeypatch.undo()


def test_compile_hash_differs_and_entries_do_not_mix(tle_env, fake_native):
    """One TRITON_CACHE_DIR: a TLE-compiled kernel is never served with TLE disabled, nor the
    reverse; each state gets its own cache hits."""
    fake_native.mode = "marker"  # TLE output is recognisable
    k_on = compile_kernel("softmax")
    assert "tle.test_marker" in k_on.asm["ttgir"]
    assert len(fake_native.calls) == 1

    tle.disable()
    k_off = compile_kernel("softmax")
    assert k_off.hash != k_on.hash
    assert "tle.test_marker" not in k_off.asm["ttgir"]
    assert len(fake_native.calls) == 1  # TLE did not run

    tle.enable()
    k_on2 = compile_kernel("softmax")  # disk-cache hit: no compile, TLE's entry
    assert k_on2.hash == k_on.hash and "tle.test_marker" in k_on2.asm["ttgir"]
    assert len(fake_native.calls) == 1

    tle.disable()
    k_off2 = compile_kernel("softmax")
    assert k_off2.hash == k_off.hash and "tle.test_marker" not in k_off2.asm["ttgir"]
    assert len(fake_native.calls) == 1


_CHILD = r"""
import json, sys
sys.path[:0] = [sys.argv[1] + "/python", sys.argv[1] + "/examples/kernels"]
import triton
from triton.backends.compiler import GPUTarget
if sys.argv[2] == "tle":
    import tle  # TLE_DISABLE=1 in the environment
import softmax
src, opts = softmax.make_source()
k = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=opts)
print(json.dumps({"hash": k.hash, "marker": "tle.test_marker" in k.asm["ttgir"]}))
"""


def _child(mode, cache_dir):
    env = dict(os.environ, TRITON_CACHE_DIR=str(cache_dir), TLE_DISABLE="1")
    r = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), mode], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_other_process_with_tle_disabled_gets_stock(tle_env, fake_native):
    fake_native.mode = "marker"
    k_on = compile_kernel("softmax")
    tle.disable()
    k_off = compile_kernel("softmax")
    tle.enable()
    cache = os.environ["TRITON_CACHE_DIR"]
    disabled = _child("tle", cache)
    plain = _child("plain", cache)
    assert disabled == {"hash": k_off.hash, "marker": False}
    assert plain == disabled  # TLE disabled == no TLE at all, and shares its cache entries
    assert k_on.hash != disabled["hash"]


def test_jit_in_memory_key(tle_env, monkeypatch):
    """JITFunction.run keys its in-memory kernel cache with compute_cache_key: TLE's state is
    part of that key, so toggling enable/disable in one process never serves the other state's
    kernel (no GPU is needed to check the key itself)."""
    assert "compute_cache_key(" in inspect.getsource(jit_mod.JITFunction.run)
    assert getattr(jit_mod.compute_cache_key, "__tle__", False)
    spec = [("*fp32", "D"), ("i32", "")]
    options = {"num_warps": 4}
    memo = {}
    on = jit_mod.compute_cache_key(memo, spec, options)
    tle.disable()
    off = jit_mod.compute_cache_key(memo, spec, options)
    assert off == hook._orig_compute_cache_key({}, spec, options)
    assert on != off and on.startswith(off)
    tle.enable()
    assert jit_mod.compute_cache_key(memo, spec, options) == on
    monkeypatch.setenv("TLE_PIPELINE", "tle-lower-to-triton")
    assert jit_mod.compute_cache_key(memo, spec, options) not in (on, off)


def test_identity_is_cheap(tle_env):
    import time

    hook.cache_identity()
    t = time.perf_counter()
    for _ in range(10000):
        hook.cache_identity()
    per_call_us = (time.perf_counter() - t) / 10000 * 1e6
    assert per_call_us < 50, per_call_us  # runs on every JIT launch
