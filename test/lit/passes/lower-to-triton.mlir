// RUN: %tle-opt %s --tle-lower-to-triton | FileCheck %s
// RUN: %tle-opt %s --tle-lower-to-triton | FileCheck %s --check-prefix=NOTLE
// TLE ops become stock Triton 3.6 ops, inherent attributes as properties like Triton prints them.

!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>

// NOTLE-NOT: tle.
// CHECK-LABEL: "tt.func"
// CHECK: ^bb0(%[[K:.*]]: !ttg.memdesc
// CHECK-NEXT: %[[KT:.*]] = "ttg.memdesc_trans"(%[[K]]) <{order = array<i32: 1, 0>}> : (!ttg.memdesc<64x576xbf16, {{.*}}) -> !ttg.memdesc<576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
// CHECK-NEXT: "ttng.fence_async_shared"() <{bCluster = false}> : () -> ()
// CHECK-NEXT: "ttng.fence_async_shared"() <{bCluster = true}> : () -> ()
// CHECK-NEXT: "test.use"(%[[KT]], %[[K]])
"tt.func"() <{function_type = (!k) -> (), sym_name = "lower"}> ({
^bb0(%k: !k):
  %kt = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt
  %same = tle.memdesc_wgmma_view %k {order = array<i32: 0, 1>} : !k -> !k
  tle.wgmma_shared_operand_fence %k : !k
  tle.wgmma_shared_operand_fence %k {bCluster = true} : !k
  "test.use"(%kt, %same) : (!kt, !k) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
