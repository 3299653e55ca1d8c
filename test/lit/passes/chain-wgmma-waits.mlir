// RUN: %tle-opt %s --tle-chain-wgmma-waits | FileCheck %s
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-chain-wgmma-waits | FileCheck %s --check-prefix=SMLA
// REQUIRES: tle-native
// Two same-shape async WGMMAs chained through the accumulator run back to back; one wait
// retires what both waits retired.

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!acc2 = tensor<64x128xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 128, 16]}>>
!b2 = !ttg.memdesc<64x128xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>

// CHECK-LABEL: sym_name = "chained"
// CHECK: %[[D1:.*]] = "ttng.warp_group_dot"(%[[X:.*]], %[[Y:.*]], %[[C:.*]]) <{
// CHECK-NEXT: %[[D2:.*]] = "ttng.warp_group_dot"(%{{.*}}, %{{.*}}, %[[D1]])
// CHECK-NEXT: %[[W:.*]]:5 = "ttng.warp_group_dot_wait"(%[[D2]], %{{.*}}, %{{.*}}, %[[X]], %[[Y]]) <{pendings = 0 : i32}>
// CHECK-NOT: "ttng.warp_group_dot_wait"
// CHECK: "test.use"(%[[W]]#0, %[[W]]#3)
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "chained"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1:3 = "ttng.warp_group_dot_wait"(%d1, %x, %y) <{pendings = 0 : i32}> : (!acc, !a, !a) -> (!acc, !a, !a)
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1#0) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2:3 = "ttng.warp_group_dot_wait"(%d2, %y, %x) <{pendings = 0 : i32}> : (!acc, !a, !a) -> (!acc, !a, !a)
  "test.use"(%w2#0, %w1#1) : (!acc, !a) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: a value the first wait retired is used before the second wait.
// CHECK-LABEL: sym_name = "used_between"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc, !acc2) -> (), sym_name = "used_between"}> ({
^bb0(%x: !a, %y: !a, %c: !acc, %o: !acc2):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1:2 = "ttng.warp_group_dot_wait"(%d1, %o) <{pendings = 0 : i32}> : (!acc, !acc2) -> (!acc, !acc2)
  %scaled = "arith.mulf"(%w1#1, %w1#1) : (!acc2, !acc2) -> !acc2
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1#0) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "test.use"(%w2, %scaled) : (!acc, !acc2) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: a store between the waits (D1 would still be in flight there).
// CHECK-LABEL: sym_name = "side_effect_between"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc, !tt.ptr<f32>, f32) -> (), sym_name = "side_effect_between"}> ({
^bb0(%x: !a, %y: !a, %c: !acc, %p: !tt.ptr<f32>, %f: f32):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  "tt.store"(%p, %f) <{cache = 1 : i32, evict = 1 : i32}> : (!tt.ptr<f32>, f32) -> ()
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: the second WGMMA is synchronous, or the result is also used elsewhere.
// CHECK-LABEL: sym_name = "sync_second"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "sync_second"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "two_uses"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "two_uses"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "test.use"(%w1) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: different shapes (64x64 then 64x128 accumulators) are not hardware-ordered.
// CHECK-LABEL: sym_name = "shapes_differ"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !b2, !acc2) -> (), sym_name = "shapes_differ"}> ({
^bb0(%x: !a, %y: !b2, %c: !acc2):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !b2, !acc2) -> !acc2
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc2) -> !acc2
  %t = "test.reshape"(%w1) : (!acc2) -> !acc
  %d2 = "ttng.warp_group_dot"(%x, %x, %t) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// The sparse MLA loop: QK^T over the 512 latent columns then the 64 rope columns, one wait,
// which also retires the previous iteration's PV GEMM (its accumulator is among the operands).
// SMLA: "scf.for"
// SMLA: "ttng.warp_group_dot"
// SMLA-NEXT: "ttg.memdesc_index"
// SMLA-NEXT: "ttg.memdesc_trans"
// SMLA-NEXT: "ttng.warp_group_dot"
// SMLA-NEXT: "ttng.warp_group_dot_wait"({{.*}}, %arg{{[0-9]+}}) <{pendings = 0 : i32}>
