"""Ordinary kernels give bit-identical results with TLE enabled and disabled on the GPU
(issue: "import tle" must not change kernels it has no business changing, and kernels it does
change, like the cp.async -> WGMMA loops that get a fence, must compute the same thing)."""
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)

import triton  # noqa: E402

import tle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "kernels"))
import flash_attention_fwd  # noqa: E402
import gluon_wgmma  # noqa: E402
import matmul  # noqa: E402
import softmax  # noqa: E402
import tma_matmul  # noqa: E402
import vector_add  # noqa: E402


def _both_gluon(run):
    """_both with TLE allowed to process Gluon kernels (TLE_GLUON=1), in strict mode."""
    from tle import config

    config.set_options(gluon=True, strict=True)
    try:
        return _both(run)
    finally:
        config.set_options(gluon=None, strict=None)


def _both(run):
    """run() with TLE disabled, then enabled; returns the two outputs."""
    was = tle.is_enabled()
    try:
        tle.disable()
        stock = run()
        tle.enable()
        with_tle = run()
    finally:
        (tle.enable if was else tle.disable)()
    torch.cuda.synchronize()
    return stock, with_tle


def test_vector_add():
    x, y = torch.randn(1 << 20, device="cuda"), torch.randn(1 << 20, device="cuda")

    def run():
        out = torch.full_like(x, float("nan"))
        vector_add.add_kernel[(triton.cdiv(x.numel(), 1024),)](x, y, out, x.numel(), BLOCK=1024)
        return out
    a, b = _both(run)
    assert torch.equal(a, b) and torch.equal(a, x + y)


def test_softmax():
    x = torch.randn(512, 1000, device="cuda", dtype=torch.float16)

    def run():
        out = torch.empty_like(x)
        softmax.softmax_kernel[(x.shape[0],)](out, x, x.stride(0), out.stride(0), x.shape[1], BLOCK=1024)
        return out
    a, b = _both(run)
    assert torch.equal(a, b)
    torch.testing.assert_close(a.float(), torch.softmax(x.float(), -1), atol=2e-3, rtol=2e-3)


def test_matmul():
    M = N = K = 1024
    a_ = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b_ = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)

    def run():
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        grid = (triton.cdiv(M, 128) * triton.cdiv(N, 128),)
        matmul.matmul_kernel[grid](a_, b_, c, M, N, K, a_.stride(0), a_.stride(1), b_.stride(0), b_.stride(1),
                                   c.stride(0), c.stride(1), BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, GROUP_M=8,
                                   num_warps=8, num_stages=3)
        return c
    a, b = _both(run)
    assert torch.equal(a, b)
    ref = (a_.float() @ b_.float())
    assert (a.float() - ref).norm() / ref.norm() < 1e-2


def test_flash_attention_fwd():
    Z, H, N_CTX, D = 2, 4, 1024, 128
    q, k, v = (torch.randn(Z, H, N_CTX, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))

    def run():
        o = torch.empty_like(q)
        grid = (triton.cdiv(N_CTX, 128), Z * H)
        flash_attention_fwd.attn_fwd_kernel[grid](q, k, v, o, D ** -0.5, *q.stride(), *k.stride(), *v.stride(),
                                                  *o.stride(), H, N_CTX, BLOCK_M=128, BLOCK_N=64, HEAD_DIM=D,
                                                  num_warps=8, num_stages=3)
        return o
    a, b = _both(run)
    assert torch.equal(a, b)
    ref = torch.nn.functional.scaled_dot_product_attention(q.float(), k.float(), v.float())
    assert (a.float() - ref).norm() / ref.norm() < 1e-2


def test_tma_matmul():
    M = N = K = 512
    a_ = torch.randn(M, K, device="cuda", dtype=torch.float16)
    b_ = torch.randn(K, N, device="cuda", dtype=torch.float16)
    triton.set_allocator(lambda size, align, stream: torch.empty(size, dtype=torch.int8, device="cuda"))

    def run():
        c = torch.empty(M, N, device="cuda", dtype=torch.float16)
        tma_matmul.tma_matmul_kernel[(M // 128, N // 128)](a_, b_, c, M, N, K, BLOCK_M=128, BLOCK_N=128,
                                                           BLOCK_K=64, num_warps=4, num_stages=3)
        return c
    a, b = _both(run)
    assert torch.equal(a, b)
    ref = a_.float() @ b_.float()
    assert (a.float() - ref).norm() / ref.norm() < 1e-2


def test_gluon_wgmma():
    a_ = torch.randn(256, 64, device="cuda", dtype=torch.bfloat16)
    b_ = torch.randn(64, 64, device="cuda", dtype=torch.bfloat16)

    def run():
        c = torch.empty(256, 64, device="cuda", dtype=torch.bfloat16)
        gluon_wgmma.gluon_wgmma_kernel[(4,)](a_, b_, c, a_.stride(0), b_.stride(0), c.stride(0),
                                             BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4)
        return c
    a, b = _both(run)
    assert torch.equal(a, b)
    ref = a_.float() @ b_.float()
    assert (a.float() - ref).norm() / ref.norm() < 1e-2


def test_gluon_staged_operand_reuse():
    """TLE_GLUON=1: tle-wgmma-operand-reuse removes the staging copy; results stay identical."""
    import gluon_staged_operand

    a_ = torch.randn(256, 64, device="cuda", dtype=torch.bfloat16)
    b_ = torch.randn(64, 64, device="cuda", dtype=torch.bfloat16)

    def run():
        c = torch.empty(256, 64, device="cuda", dtype=torch.bfloat16)
        gluon_staged_operand.staged_kernel[(4,)](a_, b_, c, a_.stride(0), b_.stride(0), c.stride(0),
                                                 BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4)
        return c
    a, b = _both_gluon(run)
    assert torch.equal(a, b)
    ref = a_.float() @ b_.float()
    assert (a.float() - ref).norm() / ref.norm() < 1e-2


def test_gluon_accumulator_hoisted():
    """TLE_GLUON=1: tle-hoist-wgmma-accumulators moves `acc2 * 0.5` before the WGMMA stage;
    results stay identical."""
    import gluon_two_accumulators

    a_ = torch.randn(256, 64, device="cuda", dtype=torch.bfloat16)
    b_ = torch.randn(64, 64, device="cuda", dtype=torch.bfloat16)

    def run():
        c = torch.empty(256, 64, device="cuda", dtype=torch.bfloat16)
        gluon_two_accumulators.two_acc_kernel[(4,)](a_, b_, c, a_.stride(0), b_.stride(0), c.stride(0),
                                                    BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4)
        return c
    a, b = _both_gluon(run)
    assert torch.equal(a, b)
