// RUN: %tle-opt %s -split-input-file --tle-chain-wgmma-waits -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Each refusal of tle-chain-wgmma-waits: both waits stay, and a remark at the op that blocked
// the merge says why.

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!acc2 = tensor<64x128xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 128, 16]}>>

// The drained result feeds the second WGMMA and something else.
// CHECK-LABEL: sym_name = "drained_twice"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "drained_twice"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: the first WGMMA's result it retires is also used besides the second WGMMA's accumulator}}
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "test.use"(%w2, %w1) : (!acc, !acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// No wait retires the second WGMMA in the block.
// CHECK-LABEL: sym_name = "no_second_wait"
// CHECK-COUNT-1: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "no_second_wait"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: no later warp_group_dot_wait {pendings = 0} in this block retires this second WGMMA}}
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  "test.use"(%d2) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// A store runs between the waits, while the first WGMMA would still be in flight.
// CHECK-LABEL: sym_name = "store_between"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc, !tt.ptr<f32>, f32) -> (), sym_name = "store_between"}> ({
^bb0(%x: !a, %y: !a, %c: !acc, %p: !tt.ptr<f32>, %f: f32):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: `tt.store` runs between the waits (only the second WGMMA, views and pure arithmetic may: the first WGMMA is still in flight there)}}
  "tt.store"(%p, %f) <{cache = 1 : i32, evict = 1 : i32}> : (!tt.ptr<f32>, f32) -> ()
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "test.use"(%w2) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Another value the first wait retires is used before the second wait.
// CHECK-LABEL: sym_name = "retired_value_used"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc, !acc2) -> (), sym_name = "retired_value_used"}> ({
^bb0(%x: !a, %y: !a, %c: !acc, %o: !acc2):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1:2 = "ttng.warp_group_dot_wait"(%d1, %o) <{pendings = 0 : i32}> : (!acc, !acc2) -> (!acc, !acc2)
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: this op uses a value the first wait retires before the second wait retires it}}
  %scaled = "arith.mulf"(%w1#1, %w1#1) : (!acc2, !acc2) -> !acc2
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1#0) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "test.use"(%w2, %scaled) : (!acc, !acc2) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
