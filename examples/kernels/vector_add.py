"""Element-wise vector add: the smallest kernel, no dots, no shared memory."""
import triton
import triton.language as tl

from _spec import source


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n_elements
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x + y, mask=mask)


def make_source(BLOCK=1024, num_warps=4):
    src = source(add_kernel, {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32", "n_elements": "i32"},
                 {"BLOCK": BLOCK}, divisible=["x_ptr", "y_ptr", "out_ptr", "n_elements"])
    return src, {"num_warps": num_warps}
