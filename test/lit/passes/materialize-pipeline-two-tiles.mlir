// RUN: %tle-opt %s --tle-materialize-pipeline | FileCheck %s
// RUN: %tle-opt %s --tle-materialize-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK
// RUN: %tle-opt %s --tle-materialize-pipeline=hoist-address-loads=false | FileCheck %s --check-prefix=LATE
// RUN: %tle-opt %s --tle-materialize-pipeline=kernels=other_kernel | FileCheck %s --check-prefix=OTHER
// RUN: %tle-opt %s --tle-materialize-pipeline=kernels=mla:3 | FileCheck %s --check-prefix=NAMED
// REQUIRES: tle-native
// Sparse-MLA shape: two tiles gathered through the same loaded indices (a "nope" and a "rope"
// tile), QK^T as a chain of two WGMMAs, the indices also masking the scores (a value computed
// before the first consume that the consumer needs), and PV reading the nope tile again.
// - the index load is cloned into the prologue (iteration 0), run ahead at the top of the body
//   (iteration i+1), and kept in the body for the consumer (iteration i);
// - both tiles share one commit group per iteration and one wait;
// - the next copies are issued after the whole QK^T chain, not inside it.
// REMARK: remark: tle-materialize-pipeline: pipelined with 2 stages; 2 tile(s) (gather 8192 B, gather 8192 B), ring 32768 B + other shared memory 0 B of 232448 B; 8 address op(s) run ahead, 0 carried

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
!pa = tensor<64x64xbf16, #ttg.dot_op<{opIdx = 0, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>, kWidth = 2}>>
!pbf = tensor<64x64xbf16, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!mvec = tensor<64xi32, #ttg.slice<{dim = 0, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>}>>
!mrow = tensor<1x64xi32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!mfull = tensor<64x64xi32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!mmask = tensor<64x64xi1, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !smem, !iptrs, !ptrs, !ptrs, i32) -> (), sym_name = "mla"}> ({
  ^bb0(%qn: !smem, %qr: !smem, %ibase: !iptrs, %kvnope: !ptrs, %kvrope: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %ninf = "arith.constant"() <{value = dense<0xFF800000> : !acc}> : () -> !acc
    %zeroi = "arith.constant"() <{value = dense<0> : !mfull}> : () -> !mfull
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c64 = "arith.constant"() <{value = 64 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    %res = "scf.for"(%c0, %n, %c64, %zero) ({
    ^bb0(%i: i32, %acc: !acc):
      %is = "tt.splat"(%i) : (i32) -> !ivec
      %io = "arith.addi"(%is, %range) : (!ivec, !ivec) -> !ivec
      %ip = "tt.addptr"(%ibase, %io) : (!iptrs, !ivec) -> !iptrs
      %idx = "tt.load"(%ip) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!iptrs) -> !ivec
      %r1 = "tt.expand_dims"(%idx) <{axis = 1 : i32}> : (!ivec) -> !col
      %r2 = "tt.broadcast"(%r1) : (!col) -> !offs
      %pn = "tt.addptr"(%kvnope, %r2) : (!ptrs, !offs) -> !ptrs
      %nope = "tt.load"(%pn) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!ptrs) -> !tile
      %an = "ttg.local_alloc"(%nope) : (!tile) -> !smem
      %tn = "ttg.memdesc_trans"(%an) <{order = array<i32: 1, 0>}> : (!smem) -> !smemT
      %s1 = "ttng.warp_group_dot"(%qn, %tn, %zero) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smemT, !acc) -> !acc
      %pr = "tt.addptr"(%kvrope, %r2) : (!ptrs, !offs) -> !ptrs
      %rope = "tt.load"(%pr) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (!ptrs) -> !tile
      %ar = "ttg.local_alloc"(%rope) : (!tile) -> !smem
      %tr = "ttg.memdesc_trans"(%ar) <{order = array<i32: 1, 0>}> : (!smem) -> !smemT
      %s2 = "ttng.warp_group_dot"(%qr, %tr, %s1) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smemT, !acc) -> !acc
      %iv = "ttg.convert_layout"(%idx) : (!ivec) -> !mvec
      %ie = "tt.expand_dims"(%iv) <{axis = 0 : i32}> : (!mvec) -> !mrow
      %ib = "tt.broadcast"(%ie) : (!mrow) -> !mfull
      %valid = "arith.cmpi"(%ib, %zeroi) <{predicate = 5 : i64}> : (!mfull, !mfull) -> !mmask
      %s = "arith.select"(%valid, %s2, %ninf) : (!mmask, !acc, !acc) -> !acc
      %p = "arith.truncf"(%s) : (!acc) -> !pbf
      %pa = "ttg.convert_layout"(%p) : (!pbf) -> !pa
      %o = "ttng.warp_group_dot"(%pa, %an, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!pa, !smem, !acc) -> !acc
      "scf.yield"(%o) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}

// CHECK-LABEL: sym_name = "mla"
// CHECK: %[[RN:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<2x64x64xbf16
// CHECK: %[[RR:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<2x64x64xbf16
// Prologue: the index load of iteration 0, then both copies in one group.
// CHECK: "tt.load"(%{{.*}}, %{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 0>}> : (tensor<64x!tt.ptr<i32>
// CHECK: %[[PN:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: %[[PR:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: %[[G0:.*]] = "ttg.async_commit_group"(%[[PN]], %[[PR]])
// CHECK: "scf.for"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[G0]], %{{.*}}, %{{.*}}) ({
// CHECK-NEXT: ^bb0(%{{.*}}: i32, %[[ACC:.*]]: tensor<64x64xf32{{.*}}, %[[TOK:.*]]: !ttg.async.token, %[[CONS:.*]]: i32, %[[ISSUE:.*]]: i32):
// Index load of iteration i+1 (predicated), then the consumer's own index load of iteration i.
// CHECK: %[[AHEAD:.*]] = "tt.load"(%{{.*}}, %{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 0>}>
// CHECK: %[[OWN:.*]] = "tt.load"(%{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 0, 0>}>
// CHECK-NEXT: "ttg.async_wait"(%[[TOK]]) <{num = 0 : i32}>
// CHECK-NEXT: "ttng.fence_async_shared"
// CHECK-NEXT: %[[SN:.*]] = "ttg.memdesc_index"(%[[RN]], %[[CONS]])
// CHECK-NEXT: %[[TN:.*]] = "ttg.memdesc_trans"(%[[SN]])
// CHECK-NEXT: %[[S1:.*]] = "ttng.warp_group_dot"(%{{.*}}, %[[TN]], %{{.*}})
// CHECK-NEXT: %[[SR:.*]] = "ttg.memdesc_index"(%[[RR]], %[[CONS]])
// CHECK-NEXT: %[[TR:.*]] = "ttg.memdesc_trans"(%[[SR]])
// CHECK-NEXT: %[[S2:.*]] = "ttng.warp_group_dot"(%{{.*}}, %[[TR]], %[[S1]])
// CHECK-NEXT: "ttng.warp_group_dot_wait"(%{{.*}}) <{pendings = 1 : i32}>
// CHECK-NEXT: "tt.expand_dims"(%[[AHEAD]])
// CHECK: %[[DN:.*]] = "ttg.memdesc_index"(%[[RN]], %[[ISSUE]])
// CHECK: %[[CN:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %[[DN]], %{{.*}})
// CHECK: %[[DR:.*]] = "ttg.memdesc_index"(%[[RR]], %[[ISSUE]])
// CHECK: %[[CR:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %[[DR]], %{{.*}})
// CHECK-NEXT: %[[G:.*]] = "ttg.async_commit_group"(%[[CN]], %[[CR]])
// CHECK-NEXT: "ttg.convert_layout"(%[[OWN]])
// CHECK: %[[O:.*]] = "ttng.warp_group_dot"(%{{.*}}, %[[SN]], %[[ACC]])
// CHECK: "scf.yield"(%[[O]], %[[G]], %{{.*}}, %{{.*}})
// CHECK: "ttg.local_dealloc"(%[[RN]])
// CHECK-NEXT: "ttg.local_dealloc"(%[[RR]])

// hoist-address-loads=false: the run-ahead index load waits next to the copies.
// LATE: "scf.for"
// LATE-NOT: operandSegmentSizes = array<i32: 1, 1, 0>
// LATE: "ttng.warp_group_dot_wait"(%{{.*}}) <{pendings = 1 : i32}>
// LATE-NEXT: "tt.splat"
// LATE: "tt.load"(%{{.*}}, %{{.*}}) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 0>}>
// LATE: "ttg.async_copy_global_to_local"

// Functions not named in `kernels` are left alone; a named one takes its stages from the entry.
// OTHER-NOT: async
// NAMED: "ttg.local_alloc"() : () -> !ttg.memdesc<3x64x64xbf16
// NAMED: tle.materialized_stages = 3 : i32
