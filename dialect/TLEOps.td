//===- TLEOps.td - TLE operations --------------------------*- tablegen -*-===//
#ifndef TLE_OPS_TD
#define TLE_OPS_TD

include "dialect/TLEDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def TLE_MemDescWgmmaViewOp : TLE_Op<"memdesc_wgmma_view", [Pure]> {
  let summary = "descriptor-only view of a shared tile in the form a WGMMA operand needs";
  let description = [{
    Moves no data. The result shape is the source shape permuted by `order`; its NVMMA-shared
    encoding is the source's with the transpose flag flipped when `order` swaps the two minor
    dimensions; memory space, element type, mutability and element count are unchanged. Lets a
    WGMMA read a tile straight from the buffer it already occupies (e.g. K^T of a row-major K tile)
    instead of a shared -> registers -> shared copy. Lowered to `ttg.memdesc_trans`.

    ```mlir
    %kt = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>}
        : !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<...>, #ttg.shared_memory, mutable>
       -> !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<... transposed = true ...>, ...>
    ```
  }];
  let arguments = (ins TLE_MemDesc:$src, DenseI32ArrayAttr:$order);
  let results = (outs TLE_MemDesc:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def TLE_WgmmaSharedOperandFenceOp : TLE_Op<"wgmma_shared_operand_fence"> {
  let summary = "async-proxy fence naming the shared buffers a following WGMMA reads";
  let description = [{
    Orders generic-proxy writes to the named buffers (st.shared, cp.async, local_store,
    local_alloc from registers) before WGMMA's async-proxy reads. Naming the buffers lets passes
    hoist it out of a loop only when no named buffer is written in that loop, and drop duplicates.
    Lowered to `ttng.fence_async_shared` (`fence.proxy.async.shared::cta`, or `::cluster` when
    `bCluster` is set).
  }];
  let arguments = (ins Variadic<TLE_MemDesc>:$buffers,
                       DefaultValuedAttr<BoolAttr, "false">:$bCluster);
  let assemblyFormat = "$buffers attr-dict `:` type($buffers)";
  let hasVerifier = 1;
}

#endif // TLE_OPS_TD
