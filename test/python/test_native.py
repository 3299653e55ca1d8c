"""The Python binding of TLE's passes: round trips, pass listing, diagnostics as exceptions."""
import pytest

import tle
from tle_test_support import normalize_ssa_names


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
