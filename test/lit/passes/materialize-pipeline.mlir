// RUN: %tle-opt %s --tle-materialize-pipeline | FileCheck %s
// RUN: %tle-opt %s --tle-materialize-pipeline=stages=3 | FileCheck %s --check-prefix=S3
// RUN: %tle-opt %s --tle-materialize-pipeline | FileCheck %s --check-prefix=GONE
// RUN: %tle-opt %s --tle-materialize-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK
// RUN: %tle-opt %s --tle-materialize-pipeline="stages=4 smem-budget=30000" 2>&1 | FileCheck %s --check-prefix=CLAMP
// REQUIRES: tle-native
// A gather (rows of the kv tile addressed through indices loaded in the loop) read by WGMMA,
// dynamic trip count. stages=2: a 2-slot ring, one iteration preloaded (predicated on lb < ub),
// the steady state waits for slot i with no group left in flight, consumes it, retires the
// previous iteration's WGMMAs and issues iteration i+1 (predicated) into the other slot.
// REMARK: remark: tle-materialize-pipeline: pipelined with 2 stages; 1 tile(s) (gather 8192 B), ring 16384 B + other shared memory 0 B of 232448 B; 7 address op(s) run ahead, 0 carried

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

// CHECK-LABEL: sym_name = "gather"
// CHECK: ^bb0(%{{.*}}: !ttg.memdesc{{.*}}, %[[IBASE:.*]]: tensor<64x!tt.ptr<i32>{{.*}}, %[[KV:.*]]: tensor<64x64x!tt.ptr<bf16>{{.*}}, %[[N:.*]]: i32):
// CHECK: %[[LB:.*]] = "arith.constant"() <{value = 0 : i32}>
// CHECK: %[[RING:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
// Prologue: iteration 0 (its index load is predicated too), into slot 0.
// CHECK: %[[P0:.*]] = "arith.cmpi"(%[[LB]], %[[N]]) <{predicate = 2 : i64}>
// CHECK: %[[IP0:.*]] = "tt.splat"(%[[P0]]) : (i1) -> tensor<64xi1
// CHECK: "tt.load"(%{{.*}}, %[[IP0]]) <{{{.*}}operandSegmentSizes = array<i32: 1, 1, 0>}>
// CHECK: %[[S0:.*]] = "ttg.memdesc_index"(%[[RING]], %{{.*}}) : (!ttg.memdesc<2x64x64xbf16, {{.*}}, mutable>, i32) -> !ttg.memdesc<64x64xbf16, {{.*}}, #ttg.shared_memory, mutable>
// CHECK: %[[M0:.*]] = "tt.splat"(%[[P0]]) : (i1) -> tensor<64x64xi1
// CHECK: %[[C0:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %[[S0]], %[[M0]]) <{cache = 1 : i32, contiguity = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 1, 0>}> : (tensor<64x64x!tt.ptr<bf16>{{.*}}) -> !ttg.async.token
// CHECK: %[[G0:.*]] = "ttg.async_commit_group"(%[[C0]]) : (!ttg.async.token) -> !ttg.async.token
// CHECK: %[[NEUTRAL:.*]] = "arith.constant"() <{value = dense<0> : tensor<2xi32, #ttg.blocked<{sizePerThread = [2], threadsPerWarp = [32], warpsPerCTA = [4], order = [0]}>>}>
// CHECK: %[[Z:.*]] = "arith.constant"() <{value = 0 : i32}>
// CHECK: %[[ONE:.*]] = "arith.constant"() <{value = 1 : i32}>
// CHECK: %[[LOOP:.*]]:4 = "scf.for"(%[[LB]], %[[N]], %{{.*}}, %{{.*}}, %[[G0]], %[[Z]], %[[ONE]]) ({
// CHECK-NEXT: ^bb0(%[[IV:.*]]: i32, %[[ACC:.*]]: tensor<64x64xf32{{.*}}, %[[TOK:.*]]: !ttg.async.token, %[[CONS:.*]]: i32, %[[ISSUE:.*]]: i32):
// The index load of iteration i+1 is issued first (its latency hides behind the wait).
// CHECK: %[[NEXT:.*]] = "arith.addi"(%[[IV]], %{{.*}}) : (i32, i32) -> i32
// CHECK-NEXT: %[[PRED:.*]] = "arith.cmpi"(%[[NEXT]], %[[N]]) <{predicate = 2 : i64}>
// CHECK: %[[IDX:.*]] = "tt.load"
// CHECK-NEXT: "ttg.async_wait"(%[[TOK]]) <{num = 0 : i32}> : (!ttg.async.token) -> !ttg.async.token
// CHECK-NEXT: "ttng.fence_async_shared"() <{bCluster = false}> : () -> ()
// CHECK-NEXT: %[[SLOT:.*]] = "ttg.memdesc_index"(%[[RING]], %[[CONS]])
// CHECK-NEXT: %[[KT:.*]] = "ttg.memdesc_trans"(%[[SLOT]]) <{order = array<i32: 1, 0>}> : (!ttg.memdesc<64x64xbf16, {{.*}}, mutable>) -> !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
// CHECK-NEXT: %[[DOT:.*]] = "ttng.warp_group_dot"(%{{.*}}, %[[KT]], %[[ACC]])
// CHECK-NEXT: "ttng.warp_group_dot_wait"(%[[NEUTRAL]]) <{pendings = 1 : i32}>
// CHECK-NEXT: "tt.expand_dims"(%[[IDX]])
// CHECK: %[[DST:.*]] = "ttg.memdesc_index"(%[[RING]], %[[ISSUE]])
// CHECK-NEXT: %[[MASK:.*]] = "tt.splat"(%[[PRED]]) : (i1) -> tensor<64x64xi1
// CHECK-NEXT: %[[CP:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %[[DST]], %[[MASK]])
// CHECK-NEXT: %[[G:.*]] = "ttg.async_commit_group"(%[[CP]])
// Slot indices advance modulo 2.
// CHECK: %[[C1:.*]] = "arith.addi"(%[[CONS]], %{{.*}})
// CHECK: %[[W1:.*]] = "arith.cmpi"(%[[C1]], %{{.*}}) <{predicate = 0 : i64}>
// CHECK: %[[CN:.*]] = "arith.select"(%[[W1]], %{{.*}}, %[[C1]])
// CHECK: %[[IN:.*]] = "arith.select"
// CHECK-NEXT: "scf.yield"(%[[DOT]], %[[G]], %[[CN]], %[[IN]])
// CHECK-NEXT: }) {tle.materialized_stages = 2 : i32, tt.num_stages = 1 : i32}
// CHECK-NEXT: "ttg.async_wait"() <{num = 0 : i32}> : () -> !ttg.async.token
// CHECK-NEXT: "ttg.local_dealloc"(%[[RING]])
// CHECK-NEXT: "test.use"(%[[LOOP]]#0)

// stages=3: two iterations preloaded, two tokens carried, one group stays in flight.
// S3: %[[RING:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<3x64x64xbf16
// S3: %[[G0:.*]] = "ttg.async_commit_group"
// S3: %[[G1:.*]] = "ttg.async_commit_group"
// S3: %[[Z:.*]] = "arith.constant"() <{value = 0 : i32}>
// S3: %[[TWO:.*]] = "arith.constant"() <{value = 2 : i32}>
// S3: "scf.for"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[G0]], %[[G1]], %[[Z]], %[[TWO]]) ({
// S3-NEXT: ^bb0(%{{.*}}: i32, %{{.*}}: tensor<64x64xf32{{.*}}, %[[T0:.*]]: !ttg.async.token, %[[T1:.*]]: !ttg.async.token, %{{.*}}: i32, %{{.*}}: i32):
// S3: "ttg.async_wait"(%[[T0]]) <{num = 1 : i32}>
// S3: %[[G:.*]] = "ttg.async_commit_group"
// S3: "scf.yield"(%{{.*}}, %[[T1]], %[[G]], %{{.*}}, %{{.*}})
// S3: tle.materialized_stages = 3 : i32

// Unknown trip count and 4 stages of 8 KB over a 30000-byte budget: clamped to the 3 slots that
// fit, never peeled (the prologue's copies are predicated on the trip count instead).
// CLAMP: remark: tle-materialize-pipeline: stages clamped from 4 to 3: 4 x 8192 ring bytes + 0 other bytes exceed the shared-memory budget of 30000
// CLAMP: remark: tle-materialize-pipeline: pipelined with 3 stages
// CLAMP: "ttg.local_alloc"() : () -> !ttg.memdesc<3x64x64xbf16
// CLAMP: tle.materialized_stages = 3 : i32

// The register load of the tile and its local_alloc are gone.
// GONE-NOT: "ttg.local_alloc"(%
// GONE-NOT: -> tensor<64x64xbf16

module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "gather"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
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
