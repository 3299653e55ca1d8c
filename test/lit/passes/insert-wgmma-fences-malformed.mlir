// RUN: %tle-opt %s -split-input-file --tle-insert-wgmma-fences -verify-diagnostics --tle-verify-upstream-ops=false | FileCheck %s
// REQUIRES: tle-native
// Malformed ring-slot counters and ops outside any function that used to abort the pass. The
// analysis cannot prove the slots distinct, so the WGMMA after the copy is fenced.
// The upstream verifiers (which reject the short arith ops) are off: the pass itself must cope.

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>

// The counter's arith.addi has one operand; its cmpi and select are short as well.
// CHECK-LABEL: sym_name = "short_counter_ops"
// CHECK: "ttg.async_copy_global_to_local"
// CHECK-NEXT: "ttg.async_wait"
// CHECK: tle.wgmma_shared_operand_fence
// CHECK-NEXT: "ttng.warp_group_dot"
"tt.func"() <{function_type = (!ptrs, !acc, i32) -> (), sym_name = "short_counter_ops"}> ({
^bb0(%p: !ptrs, %acc: !acc, %n: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %c2 = "arith.constant"() <{value = 2 : i32}> : () -> i32
  %ring = "ttg.local_alloc"() : () -> !ring
  %r:2 = "scf.for"(%c0, %n, %c1, %c0, %c1) ({
  ^bb0(%i: i32, %consume: i32, %issue: i32):
    %dst = "ttg.memdesc_index"(%ring, %issue) : (!ring, i32) -> !a
    %t = "ttg.async_copy_global_to_local"(%p, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !a) -> !ttg.async.token
    %w = "ttg.async_wait"() <{num = 0 : i32}> : () -> !ttg.async.token
    %k = "ttg.memdesc_index"(%ring, %consume) : (!ring, i32) -> !a
    %x = "ttng.warp_group_dot"(%k, %k, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    %c_inc = "arith.addi"(%consume) : (i32) -> i32
    %c_wrap = "arith.cmpi"(%c_inc) <{predicate = 0 : i64}> : (i32) -> i1
    %c_next = "arith.select"(%c_wrap, %c0, %c_inc) : (i1, i32, i32) -> i32
    %i_inc = "arith.addi"(%issue) : (i32) -> i32
    %i_wrap = "arith.cmpi"(%i_inc, %c2) <{predicate = 0 : i64}> : (i32, i32) -> i1
    %i_next = "arith.select"(%i_wrap, %c0) : (i1, i32) -> i32
    "scf.yield"(%c_next, %i_next) : (i32, i32) -> ()
  }) : (i32, i32, i32, i32, i32) -> (i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>

// Ops directly in the module (no function), with a loop whose slot index is module-level.
// CHECK-LABEL: module
// CHECK: "scf.for"
// CHECK: tle.wgmma_shared_operand_fence
// CHECK-NEXT: "ttng.warp_group_dot"
%r = "test.src"() : () -> !regs
%acc = "test.src"() : () -> !acc
%n = "test.src"() : () -> i32
%c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
%c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
%ring = "ttg.local_alloc"() : () -> !ring
%slot = "ttg.memdesc_index"(%ring, %c0) : (!ring, i32) -> !a
"scf.for"(%c0, %n, %c1) ({
^bb0(%i: i32):
  %x = "ttng.warp_group_dot"(%slot, %slot, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  "ttg.local_store"(%r, %slot) : (!regs, !a) -> ()
  "scf.yield"() : () -> ()
}) : (i32, i32, i32) -> ()

// -----
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>

// A WGMMA without an accumulator: its reads cannot be fenced reliably, so the pass fails
// instead of leaving a read unordered.
"tt.func"() <{function_type = (!regs) -> (), sym_name = "malformed_wgmma"}> ({
^bb0(%r: !regs):
  %a = "ttg.local_alloc"(%r) : (!regs) -> !a
  // expected-error @below {{tle-insert-wgmma-fences: malformed ttng.warp_group_dot (expected a, b, c[, useC] and one result of c's type): its shared-memory reads cannot be fenced}}
  "ttng.warp_group_dot"(%a, %a) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
