// RUN: %tle-opt %s -split-input-file --tle-wgmma-operand-reuse -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Malformed ops around a staged WGMMA operand that used to abort the pass: the copy stays.

!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// A wait with 2 operands and 1 result keeps the staged copy alive.
// CHECK-LABEL: sym_name = "short_wait"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "short_wait"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the staged copy has another use here (only waits that keep it alive are allowed)}}
  %w = "ttng.warp_group_dot_wait"(%d, %s) <{pendings = 0 : i32}> : (!acc, !staged) -> !acc
  "test.use"(%w) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!stagedT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
!regsT = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [8, 1], threadsPerWarp = [8, 4], warpsPerCTA = [1, 4], order = [0, 1]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// A tt.trans without an operand.
// CHECK-LABEL: sym_name = "trans_without_operand"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !acc) -> (), sym_name = "trans_without_operand"}> ({
^bb0(%q: !q, %acc: !acc):
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: malformed tt.trans (expected one operand, one result and an `order`)}}
  %kt = "tt.trans"() <{order = array<i32: 1, 0>}> : () -> !regsT
  %s = "ttg.local_alloc"(%kt) : (!regsT) -> !stagedT
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !stagedT, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!stagedT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!regsT = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [8, 1], threadsPerWarp = [8, 4], warpsPerCTA = [1, 4], order = [0, 1]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// A transpose order that is not a permutation (dimension 7 of a 2-D tile).
// CHECK-LABEL: sym_name = "bad_order"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "bad_order"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the buffer is not an NVMMA-shared tile in shared memory that the transpose order fits}}
  %k = "ttg.local_load"(%buf) : (!slot) -> !regs
  %kt = "tt.trans"(%k) <{order = array<i32: 7, 0>}> : (!regs) -> !regsT
  %s = "ttg.local_alloc"(%kt) : (!regsT) -> !stagedT
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !stagedT, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// An async WGMMA without a result (its wait cannot be found).
// CHECK-LABEL: sym_name = "dot_without_result"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "dot_without_result"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  // expected-remark @below {{tle-wgmma-operand-reuse: WGMMA left alone: malformed ttng.warp_group_dot (expected a, b, c[, useC] and one result of c's type)}}
  "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
