"""TLE's warp-specialized sparse MLA kernel (tle.ops.sparse_mla_ws) on a GPU.

The kernel splits each CTA's blocks between two consumer warpgroups (even / odd blocks) and
rebases one warpgroup's probabilities to the other's running max, so the cases here aim at the
paths that split creates: an odd number of blocks (the last odd block does not exist), blocks
that are entirely invalid on one side only (one consumer's max is -inf while the other's is
finite), topk_length cutting inside a block, at a block edge and at zero, several head blocks,
batches, 64-bit row offsets, and agreement with the plain kernel.
Tolerances: those of test_sparse_mla_gpu.py (kernel vs fp32 reference).
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

from test_sparse_mla_gpu import BF16, DEV, FP16, check_against_reference, make_problem  # noqa: E402

import tle  # noqa: E402
from tle.ops import KernelChoice, launch_sparse_mla, select_kernel, sparse_mla_fwd, sparse_mla_fwd_reference  # noqa: E402

if torch.cuda.is_available() and torch.cuda.get_device_capability() != (9, 0):
    pytestmark.append(pytest.mark.skip(reason="the warp-specialized kernel targets sm_90"))


def run_ws(q, kv, idx, scale, extra, dtype):
    got = sparse_mla_fwd(q, kv, idx, scale, **extra, backend="tle", kernel="ws")
    ref = sparse_mla_fwd_reference(q, kv, idx, scale, **extra)
    check_against_reference(got, ref, dtype)
    return got, ref


# (id, s_q, h_q, d_qk, s_kv, topk, dtype, batch, features)
CASES = [
    ("headline-slice", 64, 128, 576, 8192, 2048, BF16, None, {}),
    ("odd-block-count", 32, 64, 576, 3000, 192, BF16, None, {}),
    ("one-block", 16, 64, 576, 500, 64, BF16, None, {}),
    ("topk-not-multiple-of-64", 16, 128, 576, 3000, 300, BF16, None, {"invalid": 0.2}),
    ("h192-fp16", 16, 192, 576, 4000, 512, FP16, None, {}),
    ("d512", 16, 64, 512, 4000, 512, BF16, None, {"invalid": 0.1}),
    ("d512-fp16-sink", 16, 128, 512, 2000, 256, FP16, None, {"sink": True}),
    ("masked-rows-oob", 24, 128, 576, 2000, 256, BF16, None, {"mask_rows": (0, 5, 23), "oob": True}),
    ("topk_length", 32, 64, 576, 4000, 640, BF16, None, {"topk_length": True}),
    ("sink+topk_length", 32, 128, 576, 4000, 256, BF16, None, {"sink": True, "topk_length": True}),
    ("duplicates", 16, 64, 576, 10, 256, BF16, None, {"dup": True}),
    ("batched", 16, 64, 576, 1500, 192, BF16, 3, {"sink": True, "topk_length": True, "invalid": 0.1}),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_ws_matches_reference(case):
    _, s_q, h_q, d_qk, s_kv, topk, dtype, batch, feats = case
    q, kv, idx, scale, extra = make_problem(s_q, h_q, d_qk, s_kv, topk, dtype, batch, seed=11, **feats)
    run_ws(q, kv, idx, scale, extra, dtype)


@pytest.mark.parametrize("invalid_blocks", [(0,), (1,), (0, 2), (1, 3), (0, 1), (3,)],
                         ids=["even0", "odd1", "even0+2", "odd1+3", "first-pair", "last-odd"])
def test_one_sided_invalid_blocks(invalid_blocks):
    """Whole 64-row blocks invalid: consumer 0 (even blocks) or 1 (odd blocks) sees only -inf."""
    q, kv, idx, scale, extra = make_problem(16, 128, 576, 3000, 256, BF16, seed=12)
    for blk in invalid_blocks:
        idx[:, :, blk * 64:(blk + 1) * 64] = -1
    run_ws(q, kv, idx, scale, extra, BF16)


def test_topk_length_edges():
    """topk_length at 0, 1, inside a block, at block and pair edges, and past topk."""
    lengths = [0, 1, 63, 64, 65, 127, 128, 129, 191, 192, 255, 256, 1000, -5]
    s_q = len(lengths)
    q, kv, idx, scale, extra = make_problem(s_q, 64, 576, 3000, 256, BF16, seed=13)
    extra["topk_length"] = torch.tensor(lengths, dtype=torch.int32, device=DEV)
    got, ref = run_ws(q, kv, idx, scale, extra, BF16)
    assert torch.isposinf(got[2][0]).all() and torch.isposinf(got[2][-1]).all()


def test_large_kv_offsets():
    """s_kv * d_qk > 2^31: 64-bit row offsets in the producer."""
    q, _, _, scale, _ = make_problem(4, 64, 576, 64, 32, BF16, seed=14)
    s_kv = 3_800_000
    gen = torch.Generator(device=DEV).manual_seed(15)
    kv = torch.randn(s_kv, 1, 576, generator=gen, device=DEV).to(BF16)
    idx = torch.randint(s_kv - 5000, s_kv, (4, 1, 128), generator=gen, device=DEV).to(torch.int32)
    idx[0, 0, :8] = torch.arange(8, dtype=torch.int32, device=DEV)
    run_ws(q, kv, idx, scale, {}, BF16)


def test_ws_agrees_with_plain_kernel():
    q, kv, idx, scale, extra = make_problem(64, 128, 576, 8192, 2048, BF16, seed=16)
    ws = sparse_mla_fwd(q, kv, idx, scale, backend="tle", kernel="ws")
    tl = sparse_mla_fwd(q, kv, idx, scale, backend="triton", kernel="tl")
    rel = ((ws[0].float() - tl[0].float()).norm() / tl[0].float().norm()).item()
    assert rel < 5e-3, f"ws vs plain kernel relative difference {rel:.3e}"
    torch.testing.assert_close(ws[2], tl[2], atol=1e-4, rtol=0)
    torch.testing.assert_close(ws[1], tl[1], atol=1e-5, rtol=1e-6)


def test_default_kernel_choice():
    """With TLE on, supported calls take the ws kernel; h_q = 48 runs it as one 64-head block whose
    last 16 Q rows are zero-filled and whose outputs are not stored (explicit or automatic)."""
    q, kv, idx, scale, _ = make_problem(4, 48, 576, 500, 128, BF16, seed=17)
    assert select_kernel(q, kv, idx, backend="tle") == KernelChoice("ws")
    ref = sparse_mla_fwd_reference(q, kv, idx, scale)
    for kernel in (None, "ws"):
        out = sparse_mla_fwd(q, kv, idx, scale, backend="tle", kernel=kernel)
        check_against_reference(out, ref, BF16)
        assert all(t.is_contiguous() for t in out)


def _launch_ws(q, kv, idx, scale, extra, persistent):
    """The ws kernel through the shared launcher: persistent (one CTA per SM) or one tile per CTA."""
    with tle.enabled(True):
        return launch_sparse_mla(q, kv, idx, scale, **extra, kernel="ws", persistent=persistent)


def test_persistent_walks_many_tiles():
    """More tiles than SMs, with per-token pair counts from 0 to 4: the ring and hand-off phases
    carry across tiles. Persistent and one-tile-per-CTA launches must agree bit for bit."""
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    s_q = 3 * sms + 7
    q, kv, idx, scale, extra = make_problem(s_q, 128, 576, 3000, 512, BF16, seed=18, sink=True, invalid=0.05)
    gen = torch.Generator(device=DEV).manual_seed(19)
    lengths = torch.randint(0, 513, (s_q,), generator=gen, device=DEV).to(torch.int32)
    lengths[::5] = 0
    lengths[1::7] = 64
    extra["topk_length"] = lengths
    ref = sparse_mla_fwd_reference(q, kv, idx, scale, **extra)
    persistent = _launch_ws(q, kv, idx, scale, extra, persistent=True)
    check_against_reference(persistent, ref, BF16)
    single = _launch_ws(q, kv, idx, scale, extra, persistent=False)
    for a, b in zip(persistent, single):
        assert torch.equal(a, b)
