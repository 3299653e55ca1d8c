// RUN: %tle-opt %s -split-input-file --tle-hoist-wgmma-accumulators -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// The refusal of tle-hoist-wgmma-accumulators, for both kinds of blocker: the accumulator stays
// where it is computed, and a remark at the WGMMA whose stage ptxas may serialize names the op
// that cannot move.

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The accumulator is computed from the stage's own first WGMMA.
// CHECK-LABEL: sym_name = "needs_stage_result"
// CHECK: "ttng.warp_group_dot"
// CHECK-NEXT: "arith.mulf"
"tt.func"() <{function_type = (!a, !acc, !acc) -> (), sym_name = "needs_stage_result"}> ({
^bb0(%x: !a, %acc1: !acc, %half: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %x, %acc1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %s = "arith.mulf"(%d1, %half) : (!acc, !acc) -> !acc
  // expected-remark @below {{tle-hoist-wgmma-accumulators: the accumulator of this WGMMA is computed while earlier WGMMAs are in flight and cannot move before them: it needs the result of `ttng.warp_group_dot`, which cannot move ahead of the stage (only side-effect-free ops of this block can); ptxas may serialize this WGMMA stage}}
  %d2 = "ttng.warp_group_dot"(%x, %x, %s) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w:2 = "ttng.warp_group_dot_wait"(%d1, %d2) <{pendings = 0 : i32}> : (!acc, !acc) -> (!acc, !acc)
  "tt.return"() : () -> ()
}) : () -> ()

// The accumulator is loaded from memory inside the stage (a load may not move above the WGMMA).
// CHECK-LABEL: sym_name = "needs_load"
// CHECK: "ttng.warp_group_dot"
// CHECK-NEXT: "tt.load"
"tt.func"() <{function_type = (!a, !acc, tensor<64x64x!tt.ptr<f32>, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>) -> (), sym_name = "needs_load"}> ({
^bb0(%x: !a, %acc1: !acc, %p: tensor<64x64x!tt.ptr<f32>, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>):
  %d1 = "ttng.warp_group_dot"(%x, %x, %acc1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %l = "tt.load"(%p) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (tensor<64x64x!tt.ptr<f32>, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>) -> !acc
  // expected-remark @below {{tle-hoist-wgmma-accumulators: the accumulator of this WGMMA is computed while earlier WGMMAs are in flight and cannot move before them: it needs the result of `tt.load`, which cannot move ahead of the stage (only side-effect-free ops of this block can); ptxas may serialize this WGMMA stage}}
  %d2 = "ttng.warp_group_dot"(%x, %x, %l) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w:2 = "ttng.warp_group_dot_wait"(%d1, %d2) <{pendings = 0 : i32}> : (!acc, !acc) -> (!acc, !acc)
  "tt.return"() : () -> ()
}) : () -> ()
