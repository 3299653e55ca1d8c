"""A Gluon (explicit-layout) kernel for sm_90: one 64xN tile of C = A @ B with WGMMA.

A and B are loaded with pointer loads in a blocked layout, written to NVMMA-swizzled shared
memory, fenced for the async proxy and multiplied with ``warpgroup_mma``. Gluon kernels reach
make_llir almost as written (``gluon_to_ttgir`` runs a handful of passes)."""
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import fence_async_shared, warpgroup_mma

from _spec import source as _source


@gluon.jit
def gluon_wgmma_kernel(a_ptr, b_ptr, c_ptr, stride_am, stride_bk, stride_cm,
                       BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, BLOCK_K: gl.constexpr):
    blocked: gl.constexpr = gl.BlockedLayout([1, 8], [4, 8], [gl.num_warps(), 1], [1, 0])
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[gl.num_warps(), 1],
                                                          instr_shape=[16, BLOCK_N, 16])
    smem_layout: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)
    pid = gl.program_id(0)
    rows = pid * BLOCK_M + gl.arange(0, BLOCK_M, layout=gl.SliceLayout(1, blocked))
    ks = gl.arange(0, BLOCK_K, layout=gl.SliceLayout(0, blocked))
    kr = gl.arange(0, BLOCK_K, layout=gl.SliceLayout(1, blocked))
    cols = gl.arange(0, BLOCK_N, layout=gl.SliceLayout(0, blocked))
    a = gl.load(a_ptr + rows[:, None] * stride_am + ks[None, :])
    b = gl.load(b_ptr + kr[:, None] * stride_bk + cols[None, :])
    a_smem = gl.allocate_shared_memory(gl.bfloat16, [BLOCK_M, BLOCK_K], smem_layout, a)
    b_smem = gl.allocate_shared_memory(gl.bfloat16, [BLOCK_K, BLOCK_N], smem_layout, b)
    fence_async_shared()
    acc = gl.zeros([BLOCK_M, BLOCK_N], gl.float32, acc_layout)
    acc = warpgroup_mma(a_smem, b_smem, acc)
    out = gl.convert_layout(acc.to(gl.bfloat16), blocked)
    gl.store(c_ptr + rows[:, None] * stride_cm + cols[None, :], out)


def make_source(BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4):
    from triton.experimental.gluon._runtime import GluonASTSource

    src = _source(gluon_wgmma_kernel,
                  {"a_ptr": "*bf16", "b_ptr": "*bf16", "c_ptr": "*bf16",
                   "stride_am": "i32", "stride_bk": "i32", "stride_cm": "i32"},
                  {"BLOCK_M": BLOCK_M, "BLOCK_N": BLOCK_N, "BLOCK_K": BLOCK_K},
                  divisible=["a_ptr", "b_ptr", "c_ptr", "stride_am", "stride_bk", "stride_cm"],
                  source_cls=GluonASTSource)
    return src, {"num_warps": num_warps}
