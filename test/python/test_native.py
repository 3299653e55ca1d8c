"""The Python binding of TLE's passes: round trips, pass listing, diagnostics as exceptions."""
import sys

import pytest

import tle
from tle_test_support import INPUTS, normalize_ssa_names


def test_lists_every_pass_and_the_pipeline():
    passes = tle.list_passes()
    for name in ["tle-pipeline", "tle-split-dot-warps", "tle-wgmma-operand-reuse",
                 "tle-insert-wgmma-fences", "tle-lower-to-triton", "tle-test-triton-model"]:
        assert name in passes and passes[name], name


@pytest.mark.parametrize("kernel", ["matmul", "flash_attention_fwd", "sparse_mla_plain"])
def test_no_pass_writes_back_the_same_ir(kernel, captured_ttgir):
    text = "\n".join(l for l in captured_ttgir[kernel].splitlines() if not l.startswith("//"))
    out = tle.run_pipeline(text, pipeline="builtin.module()")
    assert normalize_ssa_names(out.strip()) == normalize_ssa_names(text.strip())


INPUT_FILES = sorted(INPUTS.glob("*.mlir"))


@pytest.mark.parametrize("path", INPUT_FILES, ids=[p.name for p in INPUT_FILES])
def test_captured_ttgir_round_trips_exactly(path):
    """Every captured kernel (Triton 3.6-3.9, before and after the pipeliner) comes back from a
    no-op pipeline as exactly the text that went in (comments aside): no reordering, renaming,
    folding or reformatting, and its upstream ops pass their verifiers."""
    text = path.read_text()
    body = "".join(l for l in text.splitlines(keepends=True) if not l.startswith("//"))
    assert tle.run_pipeline(text, pipeline="builtin.module()") == body


@pytest.mark.parametrize("kernel", ["matmul", "flash_attention_fwd", "sparse_mla_plain"])
def test_typed_model_reprints_every_type(kernel, captured_ttgir):
    out = tle.run_pipeline(captured_ttgir[kernel], pipeline="tle-test-triton-model")
    assert out.count("tle.model") > 50


def test_pipeline_output_has_no_tle_ops(captured_ttgir):
    out = tle.run_pipeline(captured_ttgir["sparse_mla_plain"])
    assert '"tle.' not in out and "tle." not in out.replace("tle.model", "")


@pytest.mark.skipif(not tle.has_native_rewrites(), reason="built without __TLE__")
def test_sparse_mla_qk_layout_is_split(captured_ttgir):
    stock = captured_ttgir["sparse_mla_plain"]
    assert "warpsPerCTA = [8, 1], instrShape = [16, 32, 16]" in stock
    out = tle.run_pipeline(stock)
    assert "warpsPerCTA = [8, 1], instrShape = [16, 32, 16]" not in out
    assert "warpsPerCTA = [4, 2], instrShape = [16, 32, 16]" in out


def test_diagnostics_raise_with_text():
    with pytest.raises(tle.TLEError) as err:
        tle.run_pipeline('"tt.func"() ({ %0 = "a.b"(%undefined) : (i32) -> i32 }) : () -> ()')
    assert "undefined" in err.value.diagnostics or "undeclared" in err.value.diagnostics


def test_unknown_pass_raises():
    with pytest.raises(tle.TLEError) as err:
        tle.run_pipeline("module {}", pipeline="tle-no-such-pass")
    assert "tle-no-such-pass" in str(err.value)


def test_verifier_failure_raises():
    bad = ('!m = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, '
           'elementBitWidth = 16}>, #ttg.shared_memory>\n'
           '%k = "test.src"() : () -> !m\n'
           '%v = tle.memdesc_wgmma_view %k {order = array<i32: 0, 0>} : !m -> !m\n')
    with pytest.raises(tle.TLEError) as err:
        tle.run_pipeline(bad, pipeline="builtin.module()")
    assert "'order' must be a permutation" in err.value.diagnostics


def test_pipeline_output_is_verified(captured_ttgir):
    """The output of a pipeline that changed the IR passes the upstream verifiers too (checked on
    every call; a pass producing invalid arith/scf IR would raise here)."""
    out = tle.run_pipeline(captured_ttgir["sparse_mla_plain"])
    assert out != captured_ttgir["sparse_mla_plain"]
    assert tle.run_pipeline(out, pipeline="builtin.module()") == out


def _fake_library(tmp_path, body: str):
    """A shared object exporting only what `body` defines, built with the system C compiler."""
    import shutil
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    src = tmp_path / "fake.c"
    src.write_text(body)
    lib = tmp_path / "_lib" / "libtle_capi.so"
    lib.parent.mkdir()
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def test_library_with_another_c_abi_is_refused(tmp_path, monkeypatch):
    """A stale library (another tle_run_pipeline signature) is never called through the wrong
    prototype: loading refuses it and says why."""
    from tle import _native

    lib = _fake_library(tmp_path, "int tle_run_pipeline(void) { return 0; }\n")
    monkeypatch.setattr(_native, "_lib", None)
    monkeypatch.setenv("TLE_NATIVE_LIB", str(lib))
    with pytest.raises(ImportError, match=r"C ABI 1, this tle package needs 2: rebuild it"):
        _native.library()


def test_library_found_next_to_another_copy_of_the_package(tmp_path, monkeypatch):
    """Tests that import the source tree's Python still find an installed package's library: any
    `tle/_lib` on sys.path counts once the package's own has none."""
    from tle import _native

    site = tmp_path / "site"
    (site / "tle").mkdir(parents=True)
    lib = _fake_library(site / "tle", "int tle_abi_version(void) { return 2; }\n"
                        "int tle_run_pipeline(void) { return 0; }\nint tle_list_passes(void) { return 0; }\n"
                        "int tle_version(void) { return 0; }\nint tle_has_native_rewrites(void) { return 7; }\n"
                        "void tle_free(void *p) {}\n")
    monkeypatch.delenv("TLE_NATIVE_LIB", raising=False)
    monkeypatch.setattr(_native, "_lib", None)
    source_tree = tmp_path / "source-tree-tle"  # a package without _lib
    monkeypatch.setattr(tle, "__path__", [str(source_tree)])
    monkeypatch.setattr(_native, "__file__", str(source_tree / "_native.py"))
    monkeypatch.setattr(sys, "path", [str(site)] + sys.path)
    assert _native.library()._name == str(lib)
    assert _native.has_native_rewrites() is True


LIVE_KERNELS = ["vector_add", "softmax", "matmul", "flash_attention_fwd", "tma_matmul", "gluon_two_accumulators",
                "gluon_staged_operand"]


@pytest.fixture(scope="module")
def live_ttgir():
    """TTGIR of the example kernels compiled by the Triton installed here (3.6-3.9), as the hook
    hands it to TLE: generic form, with locations."""
    triton = pytest.importorskip("triton")
    from triton import knobs
    from triton._C.libtriton import ir
    from triton.backends.compiler import GPUTarget
    from triton.compiler.compiler import make_backend

    from tle import ttgir_text
    from tle_test_support import ROOT

    sys.path.insert(0, str(ROOT / "examples" / "kernels"))
    import importlib

    target = GPUTarget("cuda", 90, 32)
    saved = knobs.runtime.add_stages_inspection_hook, knobs.compilation.always_compile
    knobs.runtime.add_stages_inspection_hook, knobs.compilation.always_compile = None, True
    texts = {}
    try:
        for name in LIVE_KERNELS:
            src, options = importlib.import_module(name).make_source()
            kernel = triton.compile(src, target=target, options=options)
            ctx = ir.context()
            ir.load_dialects(ctx)
            make_backend(target).load_dialects(ctx)
            texts[name] = ttgir_text.module_to_generic_text(ttgir_text.generic_text_to_module(kernel.asm["ttgir"], ctx))
    finally:
        knobs.runtime.add_stages_inspection_hook, knobs.compilation.always_compile = saved
    return texts


@pytest.mark.parametrize("name", LIVE_KERNELS)
def test_live_triton_ttgir_round_trips_exactly(name, live_ttgir):
    """The installed Triton's own TTGIR (arith/scf/math ops on tensors with Triton encodings and
    !tt.ptr values, gpu.barrier in Gluon kernels, locations) passes the upstream verifiers and
    comes back from a no-op pipeline byte for byte."""
    text = live_ttgir[name]
    assert "loc(" in text
    assert tle.run_pipeline(text, pipeline="builtin.module()") == text
