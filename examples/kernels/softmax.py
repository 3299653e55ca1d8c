"""Row-wise softmax (one row per program): reductions, no dots."""
import triton
import triton.language as tl

from _spec import source


@triton.jit
def softmax_kernel(out_ptr, in_ptr, in_row_stride, out_row_stride, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(in_ptr + row * in_row_stride + cols, mask=mask, other=-float("inf")).to(tl.float32)
    x = x - tl.max(x, axis=0)
    num = tl.exp(x)
    y = num / tl.sum(num, axis=0)
    tl.store(out_ptr + row * out_row_stride + cols, y.to(out_ptr.dtype.element_ty), mask=mask)


def make_source(BLOCK=1024, num_warps=4):
    src = source(softmax_kernel,
                 {"out_ptr": "*fp16", "in_ptr": "*fp16", "in_row_stride": "i32", "out_row_stride": "i32",
                  "n_cols": "i32"},
                 {"BLOCK": BLOCK}, divisible=["out_ptr", "in_ptr", "in_row_stride", "out_row_stride"])
    return src, {"num_warps": num_warps}
