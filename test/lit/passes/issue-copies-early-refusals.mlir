// RUN: %tle-opt %s -split-input-file --tle-issue-copies-early -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Each refusal of tle-issue-copies-early: the copy stays at the end of the body, and a remark at
// the op that kept it there says why.

!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!tok = !ttg.async.token

// A loop whose WGMMAs are never all retired in the body (pendings = 1): no copy's slot is known
// to be free early.
// CHECK-LABEL: sym_name = "no_full_wait"
// CHECK: "ttg.async_copy_global_to_local"
// CHECK-NEXT: "ttg.async_commit_group"
// CHECK-NEXT: "scf.yield"
"tt.func"() <{function_type = (!q, !ring, !ptrs, !acc, i32, i32, i32) -> (), sym_name = "no_full_wait"}> ({
^bb0(%q: !q, %ring: !ring, %base: !ptrs, %acc0: !acc, %n: i32, %r0: i32, %w0: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  // expected-remark @below {{tle-issue-copies-early: loop left alone: no warp_group_dot_wait {pendings = 0} in its body, so no copy's ring slot is known to be free before the end}}
  %res:3 = "scf.for"(%c0, %n, %c1, %acc0, %r0, %w0) ({
  ^bb0(%i: i32, %acc: !acc, %r: i32, %w: i32):
    %k = "ttg.memdesc_index"(%ring, %r) : (!ring, i32) -> !slot
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %sw:2 = "ttng.warp_group_dot_wait"(%s, %k) <{pendings = 1 : i32}> : (!acc, !slot) -> (!acc, !slot)
    %dst = "ttg.memdesc_index"(%ring, %w) : (!ring, i32) -> !slot
    %cp = "ttg.async_copy_global_to_local"(%base, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !slot) -> !tok
    %cg = "ttg.async_commit_group"(%cp) : (!tok) -> !tok
    "scf.yield"(%sw#0, %w, %r) : (!acc, i32, i32) -> ()
  }) : (i32, i32, i32, !acc, i32, i32) -> (!acc, i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()

// An async_wait between the full wait and the copy: moving the copy above it would change which
// commit groups the wait counts.
// CHECK-LABEL: sym_name = "async_wait_between"
// CHECK: "ttg.async_wait"
// CHECK-NEXT: "ttg.memdesc_index"
// CHECK-NEXT: "ttg.async_copy_global_to_local"
"tt.func"() <{function_type = (!q, !ring, !ptrs, !acc, i32, i32, i32) -> (), sym_name = "async_wait_between"}> ({
^bb0(%q: !q, %ring: !ring, %base: !ptrs, %acc0: !acc, %n: i32, %r0: i32, %w0: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %res:3 = "scf.for"(%c0, %n, %c1, %acc0, %r0, %w0) ({
  ^bb0(%i: i32, %acc: !acc, %r: i32, %w: i32):
    %k = "ttg.memdesc_index"(%ring, %r) : (!ring, i32) -> !slot
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %sw:2 = "ttng.warp_group_dot_wait"(%s, %k) <{pendings = 0 : i32}> : (!acc, !slot) -> (!acc, !slot)
    // expected-remark @below {{tle-issue-copies-early: copy left in place: moving the copy across this op would change which commit group later waits count}}
    %t = "ttg.async_wait"() <{num = 0 : i32}> : () -> !tok
    %dst = "ttg.memdesc_index"(%ring, %w) : (!ring, i32) -> !slot
    %cp = "ttg.async_copy_global_to_local"(%base, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !slot) -> !tok
    %cg = "ttg.async_commit_group"(%cp) : (!tok) -> !tok
    "scf.yield"(%sw#0, %w, %r) : (!acc, i32, i32) -> ()
  }) : (i32, i32, i32, !acc, i32, i32) -> (!acc, i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()
