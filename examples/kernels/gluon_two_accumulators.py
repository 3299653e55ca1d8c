"""A Gluon kernel whose async WGMMA stage computes an accumulator between two WGMMAs
(`acc2 = acc2 * 0.5` after issuing the WGMMA on `acc1`). ptxas then serializes the stage
(C7517: "warpgroup.wait is injected ... to allow use of registers defined by GMMA").
With `TLE_GLUON=1`, `tle-hoist-wgmma-accumulators` builds `acc2` before the stage."""
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import fence_async_shared, warpgroup_mma, warpgroup_mma_wait

from _spec import source as _source


@gluon.jit
def two_acc_kernel(a_ptr, b_ptr, c_ptr, stride_am, stride_bk, stride_cm,
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
    a_smem = gl.allocate_shared_memory(gl.bfloat16, [BLOCK_M, BLOCK_K], smem_layout, gl.load(a_ptr + rows[:, None] * stride_am + ks[None, :]))
    b_smem = gl.allocate_shared_memory(gl.bfloat16, [BLOCK_K, BLOCK_N], smem_layout, gl.load(b_ptr + kr[:, None] * stride_bk + cols[None, :]))
    fence_async_shared()
    acc1 = gl.zeros([BLOCK_M, BLOCK_N], gl.float32, acc_layout)
    acc2 = gl.full([BLOCK_M, BLOCK_N], 1.0, gl.float32, acc_layout)
    for i in range(4):
        acc1 = warpgroup_mma(a_smem, b_smem, acc1, is_async=True)
        acc2 = acc2 * 0.5
        acc2 = warpgroup_mma(a_smem, b_smem, acc2, is_async=True)
        acc1, acc2 = warpgroup_mma_wait(0, deps=[acc1, acc2])
    out = gl.convert_layout((acc1 + acc2).to(gl.bfloat16), blocked)
    gl.store(c_ptr + rows[:, None] * stride_cm + cols[None, :], out)


def make_source(BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4):
    from triton.experimental.gluon._runtime import GluonASTSource

    src = _source(two_acc_kernel,
                  {"a_ptr": "*bf16", "b_ptr": "*bf16", "c_ptr": "*bf16",
                   "stride_am": "i32", "stride_bk": "i32", "stride_cm": "i32"},
                  {"BLOCK_M": BLOCK_M, "BLOCK_N": BLOCK_N, "BLOCK_K": BLOCK_K},
                  divisible=["a_ptr", "b_ptr", "c_ptr", "stride_am", "stride_bk", "stride_cm"],
                  source_cls=GluonASTSource)
    return src, {"num_warps": num_warps}
