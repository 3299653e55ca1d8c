// RUN: %tle-opt %s --tle-hoist-wgmma-accumulators | FileCheck %s
// RUN: %tle-opt %s --tle-hoist-wgmma-accumulators -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-hoist-wgmma-accumulators | %tle-opt --mlir-print-op-generic | FileCheck %s --check-prefix=SMLA
// REQUIRES: tle-native
// An accumulator computed while earlier async WGMMAs of the stage are in flight is built before
// the stage instead (ptxas would otherwise serialize the stage).

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// CHECK-LABEL: sym_name = "hoisted"
// CHECK: %[[S:.*]] = "arith.mulf"
// CHECK-NEXT: "ttng.warp_group_dot"
// CHECK-NEXT: "ttng.warp_group_dot"(%{{.*}}, %{{.*}}, %[[S]])
// CHECK-NEXT: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !acc, !acc, !acc) -> (), sym_name = "hoisted"}> ({
^bb0(%x: !a, %acc1: !acc, %acc2: !acc, %half: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %x, %acc1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %s = "arith.mulf"(%acc2, %half) : (!acc, !acc) -> !acc
  %d2 = "ttng.warp_group_dot"(%x, %x, %s) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w:2 = "ttng.warp_group_dot_wait"(%d1, %d2) <{pendings = 0 : i32}> : (!acc, !acc) -> (!acc, !acc)
  "tt.return"() : () -> ()
}) : () -> ()

// Left alone: the accumulator depends on the in-flight WGMMA's result (a remark says why), and
// a stage boundary (wait) before the second WGMMA makes it a stage of its own.
// CHECK-LABEL: sym_name = "depends_on_stage"
// REMARK: remark: tle-hoist-wgmma-accumulators: the accumulator of this WGMMA is computed while earlier WGMMAs are in flight
// REMARK-NOT: remark
// CHECK: "ttng.warp_group_dot"
// CHECK-NEXT: "arith.mulf"
"tt.func"() <{function_type = (!a, !acc, !acc) -> (), sym_name = "depends_on_stage"}> ({
^bb0(%x: !a, %acc1: !acc, %half: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %x, %acc1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %s = "arith.mulf"(%d1, %half) : (!acc, !acc) -> !acc
  %d2 = "ttng.warp_group_dot"(%x, %x, %s) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w:2 = "ttng.warp_group_dot_wait"(%d1, %d2) <{pendings = 0 : i32}> : (!acc, !acc) -> (!acc, !acc)
  "tt.return"() : () -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "new_stage"
// CHECK: "ttng.warp_group_dot_wait"
// CHECK-NEXT: "arith.mulf"
// CHECK-NEXT: "ttng.warp_group_dot"
"tt.func"() <{function_type = (!a, !acc, !acc, !acc) -> (), sym_name = "new_stage"}> ({
^bb0(%x: !a, %acc1: !acc, %acc2: !acc, %half: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %x, %acc1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  %s = "arith.mulf"(%acc2, %half) : (!acc, !acc) -> !acc
  %d2 = "ttng.warp_group_dot"(%x, %x, %s) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// The sparse MLA kernel's stages are already WGMMA-only: the pass changes nothing there (the
// PV accumulator rescale happens after the wait that closes the QK^T stage).
// SMLA: "scf.for"
// SMLA: "ttng.warp_group_dot_wait"
// SMLA: "arith.mulf"
// SMLA: "ttng.warp_group_dot"
