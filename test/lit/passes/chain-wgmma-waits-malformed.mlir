// RUN: %tle-opt %s -split-input-file --tle-chain-wgmma-waits -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Malformed waits and out-of-order IR that used to abort or crash the pass.

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// A wait with no result for its operand: left alone.
// CHECK-LABEL: sym_name = "no_results"
// CHECK: "ttng.warp_group_dot_wait"(%{{.*}}) <{pendings = 0 : i32}> : ({{.*}}) -> ()
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "no_results"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: malformed ttng.warp_group_dot_wait (a wait passes its operands through: one result of the same type for each, and an integer `pendings`)}}
  "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// A first wait with more results than operands: left alone (both waits stay).
// CHECK-LABEL: sym_name = "more_results"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "more_results"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: malformed ttng.warp_group_dot_wait (a wait passes its operands through: one result of the same type for each, and an integer `pendings`)}}
  %w1:2 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> (!acc, !acc)
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1#0) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  "test.use"(%w2, %w1#1) : (!acc, !acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The second wait with more results than operands: left alone.
// CHECK-LABEL: sym_name = "second_more_results"
// CHECK-COUNT-2: "ttng.warp_group_dot_wait"
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "second_more_results"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: no later warp_group_dot_wait {pendings = 0} in this block retires this second WGMMA}}
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  // expected-remark @below {{tle-chain-wgmma-waits: wait left alone: malformed ttng.warp_group_dot_wait (a wait passes its operands through: one result of the same type for each, and an integer `pendings`)}}
  %w2:2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> (!acc, !acc)
  "test.use"(%w2#1) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The second dot/wait pair before the first (a use before its definition, which MLIR accepts
// in regions of unregistered ops): an error, nothing is merged.
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "swapped"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  // expected-error @below {{operand #2 of 'ttng.warp_group_dot' is used before its definition (Triton IR is in SSA order)}}
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2 = "ttng.warp_group_dot_wait"(%d2) <{pendings = 0 : i32}> : (!acc) -> !acc
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1 = "ttng.warp_group_dot_wait"(%d1) <{pendings = 0 : i32}> : (!acc) -> !acc
  "test.use"(%w2) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
