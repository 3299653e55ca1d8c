// RUN: %tle-opt %s --tle-verify-upstream-ops=false --tle-insert-wgmma-fences | FileCheck %s
// REQUIRES: tle-native
// A pending write carried around the back edge names a buffer produced later in the body (fuzzer
// finding): the fence at the first WGMMA names only buffers available there, its operands.
// CHECK: "scf.for"
// CHECK: tle.wgmma_shared_operand_fence %arg0, %arg1 :
// CHECK-NEXT: "ttng.warp_group_dot"(%arg0
!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 9223372036854775807, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!tok = !ttg.async.token
"tt.func"() <{function_type = (!q, !ring, !ptrs, tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>, !acc, i32, i32, i32) -> (), sym_name = "moves"}> ({
^bb0(%q: !q, %ring: !ring, %base: !ptrs, %iptr: tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>, %acc0: !acc, %n: i32, %r0: i32, %w0: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %res:3 = "scf.for"(%c0, %n, %c1, %acc0, %r0, %w0) ({
  ^bb0(%i: i32, %acc: !acc, %r: i32, %w: i32):
    %k = "ttg.memdesc_index"(%ring, %r) : (!ring, i32) -> !slot
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %sw:3 = "ttng.warp_group_dot_wait"(%s, %k, %acc) <{pendings = 0 : i32}> : (!acc, !slot, !acc) -> (!acc, !slot, !acc)
    %m = "tt.reduce"(%sw#0) <{axis = 1 : i32}> ({
    }) : (!acc) -> tensor<64xf32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>}>>
    %p = "ttg.local_alloc"() : () -> !q
    %o = "ttng.warp_group_dot"(%p, %k, %sw#2) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %idx = "tt.load"(%iptr) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>) -> !offs
    %ptrs = "tt.addptr"(%base, %idx) : (!ptrs, !offs) -> !ptrs
    %dst = "ttg.async_commit_group"(%ring, %w) : (!ring, i32) -> !slot
    %cp = "ttg.async_copy_global_to_local"(%ptrs, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !slot) -> !tok
    "scf.yield"(%o, %w, %r) : (!acc, i32, i32) -> ()
  }) : (i32, i32, i32, !acc, i32, i32) -> (!acc, i32, i32)
}) : () -> ()
