// RUN: %tle-opt %s --tle-wgmma-operand-reuse | FileCheck %s
// RUN: %tle-opt %s --tle-wgmma-operand-reuse --tle-insert-wgmma-fences --tle-lower-to-triton | FileCheck %s --check-prefix=LOWERED
// REQUIRES: tle-native
// A WGMMA operand staged shared -> registers -> shared is fed from the buffer it sits in.

!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!stagedT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
!sw = !ttg.memdesc<64x64xbf16, #ttg.swizzled_shared<{vec = 8, perPhase = 1, maxPhase = 8, order = [1, 0]}>, #ttg.shared_memory, mutable>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!regsT = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [8, 1], threadsPerWarp = [8, 4], warpsPerCTA = [1, 4], order = [0, 1]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

module attributes {"ttg.num-warps" = 4 : i32} {
// K^T of a ring slot: a transposed view of the slot, no copy.
// CHECK-LABEL: sym_name = "transposed_slot"
// CHECK: %[[SLOT:.*]] = "ttg.memdesc_index"
// CHECK-NOT: "ttg.local_load"
// CHECK: %[[VIEW:.*]] = tle.memdesc_wgmma_view %[[SLOT]] {order = array<i32: 1, 0>} : !ttg.memdesc<64x64xbf16, {{.*}}transposed = false{{.*}}mutable> -> !ttg.memdesc<64x64xbf16, {{.*}}transposed = true{{.*}}mutable>
// CHECK-NOT: "ttg.local_alloc"
// CHECK: "ttng.warp_group_dot"(%{{.*}}, %[[VIEW]],
// LOWERED-LABEL: sym_name = "transposed_slot"
// LOWERED: %[[SLOT:.*]] = "ttg.memdesc_index"
// LOWERED-NEXT: %[[T:.*]] = "ttg.memdesc_trans"(%[[SLOT]]) <{order = array<i32: 1, 0>}>
// LOWERED-NEXT: "ttng.warp_group_dot"(%{{.*}}, %[[T]],
"tt.func"() <{function_type = (!q, !ring, i32, !acc) -> (), sym_name = "transposed_slot"}> ({
^bb0(%q: !q, %ring: !ring, %i: i32, %acc: !acc):
  %slot = "ttg.memdesc_index"(%ring, %i) : (!ring, i32) -> !slot
  %k = "ttg.local_load"(%slot) : (!slot) -> !regs
  %kt = "tt.trans"(%k) <{order = array<i32: 1, 0>}> : (!regs) -> !regsT
  %s = "ttg.local_alloc"(%kt) : (!regsT) -> !stagedT
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !stagedT, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// A plain (untransposed) mutable buffer is used directly; the async WGMMA's wait keeps it alive.
// CHECK-LABEL: sym_name = "plain_async"
// CHECK: ^bb0(%{{.*}}: !ttg.memdesc{{.*}}, %[[BUF:.*]]: !ttg.memdesc
// CHECK-NOT: "ttg.local_alloc"
// CHECK: %[[D:.*]] = "ttng.warp_group_dot"(%{{.*}}, %[[BUF]],
// CHECK-NEXT: "ttng.warp_group_dot_wait"(%[[D]], %[[BUF]]) <{pendings = 0 : i32}> : ({{.*}}, !ttg.memdesc<64x64xbf16, {{.*}}mutable>) -> ({{.*}}, !ttg.memdesc<64x64xbf16, {{.*}}mutable>)
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "plain_async"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  %w:2 = "ttng.warp_group_dot_wait"(%d, %s) <{pendings = 0 : i32}> : (!acc, !staged) -> (!acc, !staged)
  "test.use"(%w#0) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: the buffer is written between the load and the WGMMA (the copy is a snapshot).
// CHECK-LABEL: sym_name = "written_in_between"
// CHECK: "ttg.local_alloc"(%{{.*}})
// CHECK-NOT: tle.memdesc_wgmma_view
"tt.func"() <{function_type = (!q, !slot, !acc, !regs) -> (), sym_name = "written_in_between"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc, %r: !regs):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  "ttg.local_store"(%r, %buf) : (!regs, !slot) -> ()
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: an async WGMMA with no wait{pendings = 0} in the block may still read after a rewrite.
// CHECK-LABEL: sym_name = "async_no_wait"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "async_no_wait"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  %w:2 = "ttng.warp_group_dot_wait"(%d, %s) <{pendings = 1 : i32}> : (!acc, !staged) -> (!acc, !staged)
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: a swizzled (non-NVMMA) buffer is not WGMMA-readable.
// CHECK-LABEL: sym_name = "not_nvmma"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !sw, !acc) -> (), sym_name = "not_nvmma"}> ({
^bb0(%q: !q, %buf: !sw, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!sw) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: the staged copy is also read by something else.
// CHECK-LABEL: sym_name = "copy_has_other_uses"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "copy_has_other_uses"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "test.use"(%s) : (!staged) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
}
