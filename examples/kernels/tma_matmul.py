"""Matmul through device-side tensor descriptors (TMA on sm_90): ``tl.make_tensor_descriptor`` +
``desc.load`` / ``desc.store``; exercises optimize_descriptor_encoding and tma_lowering.
(Running it needs ``triton.set_allocator`` for the descriptors' global scratch; compiling does not.)"""
import triton
import triton.language as tl

from _spec import source


@triton.jit
def tma_matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                      BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    a_desc = tl.make_tensor_descriptor(a_ptr, shape=[M, K], strides=[K, 1], block_shape=[BLOCK_M, BLOCK_K])
    b_desc = tl.make_tensor_descriptor(b_ptr, shape=[K, N], strides=[N, 1], block_shape=[BLOCK_K, BLOCK_N])
    c_desc = tl.make_tensor_descriptor(c_ptr, shape=[M, N], strides=[N, 1], block_shape=[BLOCK_M, BLOCK_N])
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        a = a_desc.load([pid_m * BLOCK_M, k * BLOCK_K])
        b = b_desc.load([k * BLOCK_K, pid_n * BLOCK_N])
        acc = tl.dot(a, b, acc)
    c_desc.store([pid_m * BLOCK_M, pid_n * BLOCK_N], acc.to(tl.float16))


def make_source(BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, num_warps=4, num_stages=3):
    src = source(tma_matmul_kernel,
                 {"a_ptr": "*fp16", "b_ptr": "*fp16", "c_ptr": "*fp16", "M": "i32", "N": "i32", "K": "i32"},
                 {"BLOCK_M": BLOCK_M, "BLOCK_N": BLOCK_N, "BLOCK_K": BLOCK_K},
                 divisible=["a_ptr", "b_ptr", "c_ptr", "M", "N", "K"])
    return src, {"num_warps": num_warps, "num_stages": num_stages}
