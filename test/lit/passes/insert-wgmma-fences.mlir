// RUN: %tle-opt %s --tle-insert-wgmma-fences | FileCheck %s
// REQUIRES: tle-native
// Fences go exactly where a WGMMA reads a buffer with an unfenced generic-proxy write.

!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>

// local_alloc from registers feeding a WGMMA: one fence naming that buffer, right before it.
// CHECK-LABEL: sym_name = "alloc_from_registers"
// CHECK: %[[A:.*]] = "ttg.local_alloc"(%{{.*}})
// CHECK-NEXT: %[[B:.*]] = "ttg.local_alloc"() : ()
// CHECK-NEXT: tle.wgmma_shared_operand_fence %[[A]] :
// CHECK-NEXT: "ttng.warp_group_dot"(%[[A]], %[[B]]
"tt.func"() <{function_type = (!regs, !acc) -> (), sym_name = "alloc_from_registers"}> ({
^bb0(%r: !regs, %acc: !acc):
  %a = "ttg.local_alloc"(%r) : (!regs) -> !a
  %b = "ttg.local_alloc"() : () -> !a
  %d = "ttng.warp_group_dot"(%a, %b, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// A stock fence already orders the write: nothing to add.
// CHECK-LABEL: sym_name = "stock_fence"
// CHECK-NOT: tle.wgmma_shared_operand_fence
"tt.func"() <{function_type = (!regs, !acc) -> (), sym_name = "stock_fence"}> ({
^bb0(%r: !regs, %acc: !acc):
  %a = "ttg.local_alloc"(%r) : (!regs) -> !a
  "ttng.fence_async_shared"() <{bCluster = false}> : () -> ()
  %d = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// Written once before the loop, read in the loop, never written inside: the fence is hoisted.
// CHECK-LABEL: sym_name = "hoist"
// CHECK: %[[A:.*]] = "ttg.local_alloc"(%{{.*}})
// CHECK-NEXT: tle.wgmma_shared_operand_fence %[[A]] :
// CHECK-NEXT: "scf.for"
// CHECK-NOT: tle.wgmma_shared_operand_fence
// CHECK: "ttng.warp_group_dot"
"tt.func"() <{function_type = (!regs, !acc, i32) -> (), sym_name = "hoist"}> ({
^bb0(%r: !regs, %acc: !acc, %n: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %a = "ttg.local_alloc"(%r) : (!regs) -> !a
  "scf.for"(%c0, %n, %c1) ({
  ^bb0(%i: i32):
    %d = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    "scf.yield"() : () -> ()
  }) : (i32, i32, i32) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Written in the loop after the read: through the back edge the next iteration's WGMMA reads an
// unfenced write, so the fence stays in the loop, before the WGMMA.
// CHECK-LABEL: sym_name = "back_edge"
// CHECK: "scf.for"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: tle.wgmma_shared_operand_fence %[[A:.*]] :
// CHECK-NEXT: "ttng.warp_group_dot"(%[[A]]
// CHECK-NEXT: "ttg.local_store"
"tt.func"() <{function_type = (!regs, !acc, i32) -> (), sym_name = "back_edge"}> ({
^bb0(%r: !regs, %acc: !acc, %n: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %a = "ttg.local_alloc"() : () -> !a
  "ttng.fence_async_shared"() <{bCluster = false}> : () -> ()
  "scf.for"(%c0, %n, %c1) ({
  ^bb0(%i: i32):
    %d = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    "ttg.local_store"(%r, %a) : (!regs, !a) -> ()
    "scf.yield"() : () -> ()
  }) : (i32, i32, i32) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// cp.async into a ring slot (generic proxy) then WGMMA on that slot: fenced inside the loop,
// naming the ring; the slot index is loop-dependent so nothing is hoisted.
// CHECK-LABEL: sym_name = "cp_async_ring"
// CHECK: %[[RING:.*]] = "ttg.local_alloc"() : ()
// CHECK: "scf.for"
// CHECK: "ttg.async_copy_global_to_local"
// CHECK: "ttg.async_wait"
// CHECK-NEXT: %[[SLOT:.*]] = "ttg.memdesc_index"
// CHECK-NEXT: tle.wgmma_shared_operand_fence %[[RING]] :
// CHECK-NEXT: "ttng.warp_group_dot"(%[[SLOT]]
"tt.func"() <{function_type = (!ptrs, !acc, i32) -> (), sym_name = "cp_async_ring"}> ({
^bb0(%p: !ptrs, %acc: !acc, %n: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %ring = "ttg.local_alloc"() : () -> !ring
  "scf.for"(%c0, %n, %c1) ({
  ^bb0(%i: i32):
    %dst = "ttg.memdesc_index"(%ring, %i) : (!ring, i32) -> !a
    %t = "ttg.async_copy_global_to_local"(%p, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !a) -> !ttg.async.token
    %w = "ttg.async_wait"(%t) <{num = 0 : i32}> : (!ttg.async.token) -> !ttg.async.token
    %slot = "ttg.memdesc_index"(%ring, %i) : (!ring, i32) -> !a
    %d = "ttng.warp_group_dot"(%slot, %slot, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    "scf.yield"() : () -> ()
  }) : (i32, i32, i32) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Dependency-aware: the write goes to %other, the WGMMA reads %a and %b only.
// CHECK-LABEL: sym_name = "unrelated_write"
// CHECK-NOT: tle.wgmma_shared_operand_fence
"tt.func"() <{function_type = (!regs, !acc) -> (), sym_name = "unrelated_write"}> ({
^bb0(%r: !regs, %acc: !acc):
  %a = "ttg.local_alloc"() : () -> !a
  %b = "ttg.local_alloc"() : () -> !a
  %other = "ttg.local_alloc"(%r) : (!regs) -> !a
  %d = "ttng.warp_group_dot"(%a, %b, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  "test.use"(%other) : (!a) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// A TLE fence that orders nothing is removed; of two identical fences one stays.
// CHECK-LABEL: sym_name = "redundant"
// CHECK: "ttg.local_store"
// CHECK-NEXT: tle.wgmma_shared_operand_fence
// CHECK-NEXT: "ttng.warp_group_dot"
// CHECK-NOT: tle.wgmma_shared_operand_fence
"tt.func"() <{function_type = (!regs, !acc) -> (), sym_name = "redundant"}> ({
^bb0(%r: !regs, %acc: !acc):
  %a = "ttg.local_alloc"() : () -> !a
  tle.wgmma_shared_operand_fence %a : !a
  "ttg.local_store"(%r, %a) : (!regs, !a) -> ()
  tle.wgmma_shared_operand_fence %a : !a
  %d = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  tle.wgmma_shared_operand_fence %a : !a
  "tt.return"() : () -> ()
}) : () -> ()

// A write in one branch of an scf.if reaches the WGMMA after it.
// CHECK-LABEL: sym_name = "branch"
// CHECK: "scf.if"
// CHECK: tle.wgmma_shared_operand_fence
// CHECK-NEXT: "ttng.warp_group_dot"
"tt.func"() <{function_type = (!regs, !acc, i1) -> (), sym_name = "branch"}> ({
^bb0(%r: !regs, %acc: !acc, %c: i1):
  %a = "ttg.local_alloc"() : () -> !a
  "scf.if"(%c) ({
    "ttg.local_store"(%r, %a) : (!regs, !a) -> ()
    "scf.yield"() : () -> ()
  }, {
    "scf.yield"() : () -> ()
  }) : (i1) -> ()
  %d = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// A buffer filled by TMA (async proxy) needs no proxy fence.
// CHECK-LABEL: sym_name = "tma"
// CHECK-NOT: tle.wgmma_shared_operand_fence
"tt.func"() <{function_type = (!tt.tensordesc<tensor<64x64xbf16>>, !acc, i32) -> (), sym_name = "tma"}> ({
^bb0(%desc: !tt.tensordesc<tensor<64x64xbf16>>, %acc: !acc, %x: i32):
  %a = "ttg.local_alloc"() : () -> !a
  %bar = "ttg.local_alloc"() : () -> !ttg.memdesc<1xi64, #ttg.swizzled_shared<{vec = 1, perPhase = 1, maxPhase = 1, order = [0]}>, #ttg.shared_memory, mutable>
  %true = "arith.constant"() <{value = true}> : () -> i1
  "ttng.async_tma_copy_global_to_local"(%desc, %x, %x, %bar, %a, %true) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false}> : (!tt.tensordesc<tensor<64x64xbf16>>, i32, i32, !ttg.memdesc<1xi64, #ttg.swizzled_shared<{vec = 1, perPhase = 1, maxPhase = 1, order = [0]}>, #ttg.shared_memory, mutable>, !a, i1) -> ()
  %d = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// Two rings filled by cp.async, read by two WGMMAs: the first fence orders both (a proxy fence
// orders all earlier generic writes of the thread) and names both; the second WGMMA needs none.
// CHECK-LABEL: sym_name = "two_rings"
// CHECK: %[[R1:.*]] = "ttg.local_alloc"() : ()
// CHECK: %[[R2:.*]] = "ttg.local_alloc"() : ()
// CHECK: "ttg.async_wait"
// CHECK-NEXT: tle.wgmma_shared_operand_fence %[[R1]], %[[R2]] :
// CHECK-NEXT: "ttng.warp_group_dot"
// CHECK-NOT: tle.wgmma_shared_operand_fence
// CHECK: "ttng.warp_group_dot"
// CHECK: "scf.yield"
"tt.func"() <{function_type = (!ptrs, !acc, i32) -> (), sym_name = "two_rings"}> ({
^bb0(%p: !ptrs, %acc: !acc, %n: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %r1 = "ttg.local_alloc"() : () -> !ring
  %r2 = "ttg.local_alloc"() : () -> !ring
  "scf.for"(%c0, %n, %c1) ({
  ^bb0(%i: i32):
    %d1 = "ttg.memdesc_index"(%r1, %i) : (!ring, i32) -> !a
    %d2 = "ttg.memdesc_index"(%r2, %i) : (!ring, i32) -> !a
    %t1 = "ttg.async_copy_global_to_local"(%p, %d1) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !a) -> !ttg.async.token
    %t2 = "ttg.async_copy_global_to_local"(%p, %d2) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !a) -> !ttg.async.token
    %w = "ttg.async_wait"(%t1, %t2) <{num = 0 : i32}> : (!ttg.async.token, !ttg.async.token) -> !ttg.async.token
    %x = "ttng.warp_group_dot"(%d1, %d1, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    %y = "ttng.warp_group_dot"(%d2, %d2, %x) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    "scf.yield"() : () -> ()
  }) : (i32, i32, i32) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Ring slots: the copies of a later iteration land in the slot `issue` while the second WGMMA
// reads slot `consume`; both are modulo-2 counters started at 0 and 1, so they always differ and
// that WGMMA needs no fence. Across the back edge the written slot becomes the one read next, so
// the first WGMMA keeps its fence.
// CHECK-LABEL: sym_name = "ring_slots"
// CHECK: "scf.for"
// CHECK: "ttg.async_wait"
// CHECK: tle.wgmma_shared_operand_fence
// CHECK-NEXT: "ttng.warp_group_dot"
// CHECK: "ttg.async_copy_global_to_local"
// CHECK-NOT: tle.wgmma_shared_operand_fence
// CHECK: "ttng.warp_group_dot"
// CHECK: "scf.yield"
"tt.func"() <{function_type = (!ptrs, !acc, i32) -> (), sym_name = "ring_slots"}> ({
^bb0(%p: !ptrs, %acc: !acc, %n: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %c2 = "arith.constant"() <{value = 2 : i32}> : () -> i32
  %ring = "ttg.local_alloc"() : () -> !ring
  %r:2 = "scf.for"(%c0, %n, %c1, %c0, %c1) ({
  ^bb0(%i: i32, %consume: i32, %issue: i32):
    %w = "ttg.async_wait"() <{num = 0 : i32}> : () -> !ttg.async.token
    %k = "ttg.memdesc_index"(%ring, %consume) : (!ring, i32) -> !a
    %x = "ttng.warp_group_dot"(%k, %k, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    %dst = "ttg.memdesc_index"(%ring, %issue) : (!ring, i32) -> !a
    %t = "ttg.async_copy_global_to_local"(%p, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !a) -> !ttg.async.token
    %y = "ttng.warp_group_dot"(%k, %k, %x) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    %c_inc = "arith.addi"(%consume, %c1) : (i32, i32) -> i32
    %c_wrap = "arith.cmpi"(%c_inc, %c2) <{predicate = 0 : i64}> : (i32, i32) -> i1
    %c_next = "arith.select"(%c_wrap, %c0, %c_inc) : (i1, i32, i32) -> i32
    %i_inc = "arith.addi"(%issue, %c1) : (i32, i32) -> i32
    %i_wrap = "arith.cmpi"(%i_inc, %c2) <{predicate = 5 : i64}> : (i32, i32) -> i1
    %i_next = "arith.select"(%i_wrap, %c0, %i_inc) : (i1, i32, i32) -> i32
    "scf.yield"(%c_next, %i_next) : (i32, i32) -> ()
  }) : (i32, i32, i32, i32, i32) -> (i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()

// The same loop with both counters started at 0: the slots may coincide, so the second WGMMA
// is fenced too.
// CHECK-LABEL: sym_name = "same_slot"
// CHECK: "ttg.async_copy_global_to_local"
// CHECK-NEXT: tle.wgmma_shared_operand_fence
// CHECK-NEXT: "ttng.warp_group_dot"
"tt.func"() <{function_type = (!ptrs, !acc, i32) -> (), sym_name = "same_slot"}> ({
^bb0(%p: !ptrs, %acc: !acc, %n: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %c2 = "arith.constant"() <{value = 2 : i32}> : () -> i32
  %ring = "ttg.local_alloc"() : () -> !ring
  %r:2 = "scf.for"(%c0, %n, %c1, %c0, %c0) ({
  ^bb0(%i: i32, %consume: i32, %issue: i32):
    %w = "ttg.async_wait"() <{num = 0 : i32}> : () -> !ttg.async.token
    %k = "ttg.memdesc_index"(%ring, %consume) : (!ring, i32) -> !a
    %x = "ttng.warp_group_dot"(%k, %k, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    %dst = "ttg.memdesc_index"(%ring, %issue) : (!ring, i32) -> !a
    %t = "ttg.async_copy_global_to_local"(%p, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !a) -> !ttg.async.token
    %y = "ttng.warp_group_dot"(%k, %k, %x) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
    %c_inc = "arith.addi"(%consume, %c1) : (i32, i32) -> i32
    %c_wrap = "arith.cmpi"(%c_inc, %c2) <{predicate = 0 : i64}> : (i32, i32) -> i1
    %c_next = "arith.select"(%c_wrap, %c0, %c_inc) : (i1, i32, i32) -> i32
    %i_inc = "arith.addi"(%issue, %c1) : (i32, i32) -> i32
    %i_wrap = "arith.cmpi"(%i_inc, %c2) <{predicate = 0 : i64}> : (i32, i32) -> i1
    %i_next = "arith.select"(%i_wrap, %c0, %i_inc) : (i1, i32, i32) -> i32
    "scf.yield"(%c_next, %i_next) : (i32, i32) -> ()
  }) : (i32, i32, i32, i32, i32) -> (i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()
