// RUN: %tle-opt %s --tle-materialize-pipeline -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Only innermost loops are rewritten: the outer loop is refused (with a remark), the inner gather
// loop inside it is pipelined, ring and drain inside the outer body.

!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!mask = tensor<64x64xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!colmask = tensor<64x1xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!bvec = tensor<64xi1, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>

// CHECK: "scf.for"
// CHECK: "ttg.local_alloc"() : () -> !ttg.memdesc<2x64x64xbf16
// CHECK: "scf.for"
// CHECK: "ttg.async_wait"(%{{.*}}) <{num = 0 : i32}>
// CHECK: tle.materialized_stages = 2 : i32
// CHECK-NEXT: "ttg.async_wait"() <{num = 0 : i32}>
// CHECK-NEXT: "ttg.local_dealloc"
// CHECK-NEXT: "scf.yield"
module attributes {"ttg.num-warps" = 4 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32, i32) -> (), sym_name = "nested"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32, %m: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %c64 = "arith.constant"() <{value = 64 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    // expected-remark @below {{tle-materialize-pipeline: loop left alone: not an innermost loop}}
    %outer = "scf.for"(%c0, %m, %c1, %zero) ({
    ^bb0(%j: i32, %o: !acc):
      // expected-remark @below {{tle-materialize-pipeline: pipelined with 2 stages}}
      %res = "scf.for"(%c0, %n, %c64, %o) ({
      ^bb1(%i: i32, %acc: !acc):
        %is = "tt.splat"(%i) : (i32) -> !ivec
        %io = "arith.addi"(%is, %range) : (!ivec, !ivec) -> !ivec
        %ip = "tt.addptr"(%ibase, %io) : (!iptrs, !ivec) -> !iptrs
        %idx = "tt.load"(%ip) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!iptrs) -> !ivec
        %r1 = "tt.expand_dims"(%idx) <{axis = 1 : i32}> : (!ivec) -> !col
        %r2 = "tt.broadcast"(%r1) : (!col) -> !offs
        %p = "tt.addptr"(%kvbase, %r2) : (!ptrs, !offs) -> !ptrs
        %tile = "tt.load"(%p) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!ptrs) -> !tile
        %a = "ttg.local_alloc"(%tile) : (!tile) -> !smem
        %s = "ttng.warp_group_dot"(%q, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smem, !acc) -> !acc
        "scf.yield"(%s) : (!acc) -> ()
      }) : (i32, i32, i32, !acc) -> !acc
      "scf.yield"(%res) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%outer) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
