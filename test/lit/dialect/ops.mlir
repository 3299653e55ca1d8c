// RUN: %tle-opt %s | %tle-opt | FileCheck %s
// RUN: %tle-opt %s --mlir-print-op-generic | %tle-opt | FileCheck %s
// Round trip of the TLE ops' custom assembly format, generic form included.

!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!ring = !ttg.memdesc<2x64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!ringt = !ttg.memdesc<2x576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>

// CHECK-LABEL: "tt.func"
"tt.func"() <{function_type = (!k, !ring) -> (), sym_name = "views"}> ({
^bb0(%k: !k, %ring: !ring):
  // CHECK: tle.memdesc_wgmma_view %{{.*}} {order = array<i32: 1, 0>} : !ttg.memdesc<64x576xbf16, {{.*}}transposed = false{{.*}}> -> !ttg.memdesc<576x64xbf16, {{.*}}transposed = true
  %kt = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt
  // CHECK: tle.memdesc_wgmma_view %{{.*}} {order = array<i32: 0, 1>} : !ttg.memdesc<64x576xbf16
  %same = tle.memdesc_wgmma_view %k {order = array<i32: 0, 1>} : !k -> !k
  // CHECK: tle.memdesc_wgmma_view %{{.*}} {order = array<i32: 0, 2, 1>} : !ttg.memdesc<2x64x576xbf16{{.*}}> -> !ttg.memdesc<2x576x64xbf16
  %ringt = tle.memdesc_wgmma_view %ring {order = array<i32: 0, 2, 1>} : !ring -> !ringt
  // CHECK: tle.wgmma_shared_operand_fence %{{.*}} : !ttg.memdesc<64x576xbf16
  tle.wgmma_shared_operand_fence %k : !k
  // CHECK: tle.wgmma_shared_operand_fence %{{.*}}, %{{.*}} {bCluster = true} : !ttg.memdesc<64x576xbf16{{.*}}>, !ttg.memdesc<2x64x576xbf16
  tle.wgmma_shared_operand_fence %k, %ring {bCluster = true} : !k, !ring
  "tt.return"() : () -> ()
}) : () -> ()
