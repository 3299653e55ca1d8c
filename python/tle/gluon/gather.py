"""Row gathers into WGMMA-ready shared tiles with cp.async.

``gather_tile_async(dst, base, row_offsets, valid, COL0, COLS, layout)`` copies
``base[row_offsets[i] + COL0 : ... + COLS]`` into row ``i`` of ``dst`` ([ROWS, COLS], any shared
layout, NVMMA-swizzled for WGMMA operands). Rows with ``valid[i] == False`` are zero-filled by
the copy itself (cp.async with a source size of 0), so a consumer never multiplies stale shared
memory. ``row_offsets``/``valid`` are in ``gl.SliceLayout(1, layout)``; ``layout`` should give
each thread 16-byte runs along the row (8 x 16-bit) so every copy is one 16-byte cp.async; the
compiler must be able to prove the row starts 16-byte aligned (base pointer and row stride
divisible by 16 bytes, as the JIT specializes them), otherwise Triton refuses the copy.
"""
from triton.experimental import gluon
from triton.experimental.gluon import language as gl

from .compat import async_load


@gluon.jit
def gather_tile_async(dst, base, row_offsets, valid, COL0: gl.constexpr, COLS: gl.constexpr,
                      layout: gl.constexpr):
    cols = COL0 + gl.arange(0, COLS, layout=gl.SliceLayout(0, layout))
    ptrs = base + row_offsets[:, None] + cols[None, :]
    mask = valid[:, None] & (cols[None, :] >= 0)
    async_load(dst, ptrs, mask=mask)


@gluon.jit
def gather_rows_async(dst_lo, dst_hi, dst_tail, base, row_offsets, valid, HALF: gl.constexpr,
                      TAIL: gl.constexpr, layout: gl.constexpr):
    """Gather rows of ``2 * HALF + TAIL`` columns split over three tiles (TAIL may be 0)."""
    gather_tile_async(dst_lo, base, row_offsets, valid, 0, HALF, layout)
    gather_tile_async(dst_hi, base, row_offsets, valid, HALF, HALF, layout)
    if TAIL > 0:
        gather_tile_async(dst_tail, base, row_offsets, valid, 2 * HALF, TAIL, layout)

