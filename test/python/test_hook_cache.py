"""Cache correctness: TLE's identity is part of Triton's disk and in-memory cache keys."""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys


import pytest

from test_hook_common import KEYED_HOOK, ROOT, TARGET, compile_kernel, fake_native, tle_env, tle_key_part  # noqa: F401

import triton
import triton.runtime.jit as jit_mod
from triton.compiler.compiler import make_backend

import tle
from tle import integration
from tle.integration import identity
from tle.integration.state import STATE

only_36 = pytest.mark.skipif(KEYED_HOOK, reason="Triton 3.7+ takes TLE's identity from the hook")
only_keyed = pytest.mark.skipif(not KEYED_HOOK, reason="Triton 3.6 does not ask the hook for a key")


def _backend_hash():
    return make_backend(TARGET).hash()


def _stock_backend_hash():
    return STATE.orig_backend_hash(make_backend(TARGET))


@only_36
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


@only_keyed
def test_keyed_hook_returns_identity_or_nothing(tle_env):
    """3.7+: compile() and every JIT launch call the hook with no arguments; TLE answers with its
    identity, and with empty strings when off (stock keys)."""
    key, digest = integration.stages_hook()
    assert digest == integration.cache_identity() and key == f"-tle-{digest}"
    assert not getattr(make_backend(TARGET).hash, "__tle__", False)  # no wrapping needed
    import triton.runtime.jit as jit_mod

    assert not getattr(jit_mod.compute_cache_key, "__tle__", False)
    tle.disable()
    assert integration.stages_hook() == ("", "")
    tle.enable()


def test_identity_tracks_output_affecting_options(tle_env, monkeypatch):
    base = tle_key_part()
    assert base
    monkeypatch.setenv("TLE_PIPELINE", "tle-lower-to-triton")
    assert tle_key_part() != base
    monkeypatch.delenv("TLE_PIPELINE")
    assert tle_key_part() == base
    monkeypatch.setenv("TLE_GLUON", "1")
    assert tle_key_part() != base
    monkeypatch.delenv("TLE_GLUON")
    # diagnostics-only options do not fork the cache; strictness does (a stock fallback cached
    # by a lenient compile must not satisfy a strict one)
    monkeypatch.setenv("TLE_DUMP_DIR", str(tle_env / "dump"))
    monkeypatch.setenv("TLE_REPRO_DIR", str(tle_env / "r2"))
    assert tle_key_part() == base
    monkeypatch.setenv("TLE_STRICT", "1")
    assert tle_key_part() != base
    monkeypatch.delenv("TLE_STRICT")
    integration.insert_step("tle-x", before="pipeline", name="x")
    assert tle_key_part() != base
    integration.clear_steps()
    assert tle_key_part() == base
    monkeypatch.setattr(identity, "native_build_id", lambda: "0.0.0:other-build")
    STATE.identity_cache.clear()
    assert tle_key_part() != base
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


@only_36
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
    assert off == STATE.orig_compute_cache_key({}, spec, options)
    assert on != off and on.startswith(off)
    tle.enable()
    assert jit_mod.compute_cache_key(memo, spec, options) == on
    monkeypatch.setenv("TLE_PIPELINE", "tle-lower-to-triton")
    assert jit_mod.compute_cache_key(memo, spec, options) not in (on, off)


@only_keyed
def test_jit_launch_asks_the_hook():
    """3.7+: JITFunction.run folds the hook's answer into its in-memory key on every launch."""
    src = inspect.getsource(jit_mod.JITFunction.run)
    assert "add_stages_inspection_hook()" in src


def test_identity_is_cheap(tle_env):
    import time

    integration.stages_hook() if KEYED_HOOK else integration.cache_identity()
    t = time.perf_counter()
    for _ in range(10000):
        integration.stages_hook() if KEYED_HOOK else integration.cache_identity()
    per_call_us = (time.perf_counter() - t) / 10000 * 1e6
    assert per_call_us < 50, per_call_us  # runs on every JIT launch
