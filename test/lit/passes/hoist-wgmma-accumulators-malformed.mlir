// RUN: %tle-opt %s --tle-hoist-wgmma-accumulators -verify-diagnostics -o /dev/null
// REQUIRES: tle-native
// Out-of-order IR: an accumulator computed from a value defined after it. Moving the
// computation would make the order worse; the pass rejects the input instead.

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

"tt.func"() <{function_type = (!a, !a, !acc, !acc) -> (), sym_name = "use_before_def"}> ({
^bb0(%x: !a, %y: !a, %c1: !acc, %c2: !acc):
  %d1 = "ttng.warp_group_dot"(%x, %y, %c1) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  // expected-error @below {{operand #1 of 'arith.mulf' is used before its definition (Triton IR is in SSA order)}}
  %scaled = "arith.mulf"(%c2, %s) : (!acc, !acc) -> !acc
  %s = "arith.addf"(%c2, %c2) : (!acc, !acc) -> !acc
  %d2 = "ttng.warp_group_dot"(%x, %y, %scaled) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w:2 = "ttng.warp_group_dot_wait"(%d1, %d2) <{pendings = 0 : i32}> : (!acc, !acc) -> (!acc, !acc)
  "test.use"(%w#0, %w#1) : (!acc, !acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
