// RUN: %tle-opt %s -split-input-file --tle-materialize-pipeline=stages=3 | FileCheck %s
// RUN: %tle-opt %s -split-input-file --tle-materialize-pipeline=stages=3 -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK
// REQUIRES: tle-native
// Static trip counts. <= stages: fully peeled (every copy issued up front, each iteration waits
// for its own group as straight-line code, no loop left). > stages: pipelined, and the prologue
// needs no predicate. 0: left alone.
// REMARK: remark: tle-materialize-pipeline: fully peeled 2 iteration(s) (static trip count <= 3 stages)
// REMARK: remark: tle-materialize-pipeline: pipelined with 3 stages
// REMARK: remark: tle-materialize-pipeline: loop left alone: static trip count 0: nothing to pipeline

// CHECK-LABEL: sym_name = "peel2"
// CHECK-NOT: "scf.for"
// CHECK: %[[RING:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<2x64x64xbf16
// CHECK-NOT: "arith.cmpi"
// CHECK: %[[C0:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 0>}>
// CHECK-NEXT: %[[G0:.*]] = "ttg.async_commit_group"(%[[C0]])
// CHECK: %[[C1:.*]] = "ttg.async_copy_global_to_local"
// CHECK-NEXT: %[[G1:.*]] = "ttg.async_commit_group"(%[[C1]])
// Iteration 0 waits for its group, leaving iteration 1's in flight.
// CHECK: "ttg.async_wait"(%[[G0]]) <{num = 1 : i32}>
// CHECK-NEXT: "ttng.fence_async_shared"
// CHECK-NEXT: "ttg.memdesc_index"(%[[RING]], %{{.*}})
// CHECK-NEXT: "ttg.memdesc_trans"
// CHECK-NEXT: %[[D0:.*]] = "ttng.warp_group_dot"
// CHECK-NOT: "ttng.warp_group_dot_wait"
// CHECK: "ttg.async_wait"(%[[G1]]) <{num = 0 : i32}>
// CHECK-NEXT: "ttng.fence_async_shared"
// CHECK-NEXT: "ttg.memdesc_index"(%[[RING]], %{{.*}})
// CHECK-NEXT: "ttg.memdesc_trans"
// CHECK-NEXT: %[[D1:.*]] = "ttng.warp_group_dot"(%{{.*}}, %{{.*}}, %[[D0]])
// CHECK-NEXT: "ttg.async_wait"() <{num = 0 : i32}>
// CHECK-NEXT: "ttg.local_dealloc"(%[[RING]])
// CHECK-NEXT: "test.use"(%[[D1]])
// CHECK-NOT: "scf.yield"

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

module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "peel2"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c64 = "arith.constant"() <{value = 64 : i32}> : () -> i32
    %ub = "arith.constant"() <{value = 128 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    %res = "scf.for"(%c0, %ub, %c64, %zero) ({
    ^bb0(%i: i32, %acc: !acc):
      %is = "tt.splat"(%i) : (i32) -> !ivec
      %io = "arith.addi"(%is, %range) : (!ivec, !ivec) -> !ivec
      %ip = "tt.addptr"(%ibase, %io) : (!iptrs, !ivec) -> !iptrs
      %idx = "tt.load"(%ip) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!iptrs) -> !ivec
      %r1 = "tt.expand_dims"(%idx) <{axis = 1 : i32}> : (!ivec) -> !col
      %r2 = "tt.broadcast"(%r1) : (!col) -> !offs
      %p = "tt.addptr"(%kvbase, %r2) : (!ptrs, !offs) -> !ptrs
      %tile = "tt.load"(%p) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!ptrs) -> !tile
      %a = "ttg.local_alloc"(%tile) : (!tile) -> !smem
      %t = "ttg.memdesc_trans"(%a) <{order = array<i32: 1, 0>}> : (!smem) -> !smemT
      %s = "ttng.warp_group_dot"(%q, %t, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smemT, !acc) -> !acc
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----

// CHECK-LABEL: sym_name = "static5"
// CHECK: "ttg.local_alloc"() : () -> !ttg.memdesc<3x64x64xbf16
// The two preloaded iterations are in range: no predicate before the loop.
// CHECK-NOT: "arith.cmpi"
// CHECK: "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 0>}>
// CHECK: "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 0>}>
// CHECK: "scf.for"
// Iterations 3 and 4 issue copies for 5 and 6: predicated in the loop.
// CHECK: "arith.cmpi"({{.*}}) <{predicate = 2 : i64}>
// CHECK: "ttg.async_wait"(%{{.*}}) <{num = 1 : i32}>
// CHECK: "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}, %{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0>}>
// CHECK: tle.materialized_stages = 3 : i32

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

module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "static5"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c64 = "arith.constant"() <{value = 64 : i32}> : () -> i32
    %ub = "arith.constant"() <{value = 320 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    %res = "scf.for"(%c0, %ub, %c64, %zero) ({
    ^bb0(%i: i32, %acc: !acc):
      %is = "tt.splat"(%i) : (i32) -> !ivec
      %io = "arith.addi"(%is, %range) : (!ivec, !ivec) -> !ivec
      %ip = "tt.addptr"(%ibase, %io) : (!iptrs, !ivec) -> !iptrs
      %idx = "tt.load"(%ip) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!iptrs) -> !ivec
      %r1 = "tt.expand_dims"(%idx) <{axis = 1 : i32}> : (!ivec) -> !col
      %r2 = "tt.broadcast"(%r1) : (!col) -> !offs
      %p = "tt.addptr"(%kvbase, %r2) : (!ptrs, !offs) -> !ptrs
      %tile = "tt.load"(%p) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!ptrs) -> !tile
      %a = "ttg.local_alloc"(%tile) : (!tile) -> !smem
      %t = "ttg.memdesc_trans"(%a) <{order = array<i32: 1, 0>}> : (!smem) -> !smemT
      %s = "ttng.warp_group_dot"(%q, %t, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smemT, !acc) -> !acc
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----

// CHECK-LABEL: sym_name = "never"
// CHECK-NOT: async
// CHECK: "ttg.local_alloc"(%

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

module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "never"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c64 = "arith.constant"() <{value = 64 : i32}> : () -> i32
    %ub = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    %res = "scf.for"(%c0, %ub, %c64, %zero) ({
    ^bb0(%i: i32, %acc: !acc):
      %is = "tt.splat"(%i) : (i32) -> !ivec
      %io = "arith.addi"(%is, %range) : (!ivec, !ivec) -> !ivec
      %ip = "tt.addptr"(%ibase, %io) : (!iptrs, !ivec) -> !iptrs
      %idx = "tt.load"(%ip) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!iptrs) -> !ivec
      %r1 = "tt.expand_dims"(%idx) <{axis = 1 : i32}> : (!ivec) -> !col
      %r2 = "tt.broadcast"(%r1) : (!col) -> !offs
      %p = "tt.addptr"(%kvbase, %r2) : (!ptrs, !offs) -> !ptrs
      %tile = "tt.load"(%p) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!ptrs) -> !tile
      %a = "ttg.local_alloc"(%tile) : (!tile) -> !smem
      %t = "ttg.memdesc_trans"(%a) <{order = array<i32: 1, 0>}> : (!smem) -> !smemT
      %s = "ttng.warp_group_dot"(%q, %t, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smemT, !acc) -> !acc
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
