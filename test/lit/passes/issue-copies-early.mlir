// RUN: %tle-opt %s --tle-issue-copies-early | FileCheck %s
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-issue-copies-early | FileCheck %s --check-prefix=SMLA
// RUN: %tle-opt %s --tle-issue-copies-early -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK
// REQUIRES: tle-native
// Copies for the next iteration move up to the first wait that retires every WGMMA in flight.
// The refused copies below each get a remark at the op that keeps them in place:
// REMARK: :80:10: remark: tle-issue-copies-early: copy left in place: this op accesses the buffer the copy writes, at a slot not proven distinct from the copy's
// REMARK: :112:12: remark: tle-issue-copies-early: copy left in place: the copy's operands need this `test.make_offsets`, which cannot move
// REMARK: :130:5: remark: tle-issue-copies-early: copy left in place: this op may write global memory, which the global loads of the copy's addresses would then read too early
// REMARK-NOT: remark

!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!tok = !ttg.async.token

// The shape Triton's pipeliner produces: read slot %r, then (async) second GEMM on slot %r,
// then the copy into slot %w for the next iteration. The copy, its address computation (with
// the global load it needs) and its commit group move to right after the full wait.
// CHECK-LABEL: sym_name = "moves"
// CHECK: "ttng.warp_group_dot_wait"{{.*}}<{pendings = 0 : i32}>
// CHECK-NEXT: "tt.load"
// CHECK-NEXT: "tt.addptr"
// CHECK-NEXT: %[[DST:.*]] = "ttg.memdesc_index"(%{{.*}}, %[[W:.*]]) :
// CHECK-NEXT: "ttg.async_copy_global_to_local"(%{{.*}}, %[[DST]])
// CHECK-NEXT: "ttg.async_commit_group"
// CHECK: "tt.reduce"
// CHECK: "ttng.warp_group_dot"
// CHECK-NEXT: "scf.yield"
"tt.func"() <{function_type = (!q, !ring, !ptrs, tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>, !acc, i32, i32, i32) -> (), sym_name = "moves"}> ({
^bb0(%q: !q, %ring: !ring, %base: !ptrs, %iptr: tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>, %acc0: !acc, %n: i32, %r0: i32, %w0: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %res:3 = "scf.for"(%c0, %n, %c1, %acc0, %r0, %w0) ({
  ^bb0(%i: i32, %acc: !acc, %r: i32, %w: i32):
    %t0 = "ttg.async_wait"() <{num = 0 : i32}> : () -> !tok
    %k = "ttg.memdesc_index"(%ring, %r) : (!ring, i32) -> !slot
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %sw:3 = "ttng.warp_group_dot_wait"(%s, %k, %acc) <{pendings = 0 : i32}> : (!acc, !slot, !acc) -> (!acc, !slot, !acc)
    %m = "tt.reduce"(%sw#0) <{axis = 1 : i32}> ({
    ^bb1(%a: f32, %b: f32):
      %x = "arith.maxnumf"(%a, %b) : (f32, f32) -> f32
      "tt.reduce.return"(%x) : (f32) -> ()
    }) : (!acc) -> tensor<64xf32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>}>>
    %p = "ttg.local_alloc"() : () -> !q
    %o = "ttng.warp_group_dot"(%p, %k, %sw#2) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %idx = "tt.load"(%iptr) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>) -> !offs
    %ptrs = "tt.addptr"(%base, %idx) : (!ptrs, !offs) -> !ptrs
    %dst = "ttg.memdesc_index"(%ring, %w) : (!ring, i32) -> !slot
    %cp = "ttg.async_copy_global_to_local"(%ptrs, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !slot) -> !tok
    %cg = "ttg.async_commit_group"(%cp) : (!tok) -> !tok
    "scf.yield"(%o, %w, %r) : (!acc, i32, i32) -> ()
  }) : (i32, i32, i32, !acc, i32, i32) -> (!acc, i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: between the wait and the copy a synchronous read of the ring at a slot not proven
// distinct from the written one (%w2 is not the slot any in-flight WGMMA reads).
// CHECK-LABEL: sym_name = "unproven_slot"
// CHECK: "ttng.warp_group_dot_wait"{{.*}}<{pendings = 0 : i32}>
// CHECK-NEXT: "ttg.memdesc_index"
// CHECK-NEXT: "ttg.local_load"
// CHECK: "ttg.async_copy_global_to_local"
// CHECK-NEXT: "ttg.async_commit_group"
// CHECK-NEXT: "scf.yield"
"tt.func"() <{function_type = (!q, !ring, !ptrs, !acc, i32, i32, i32, i32) -> (), sym_name = "unproven_slot"}> ({
^bb0(%q: !q, %ring: !ring, %base: !ptrs, %acc0: !acc, %n: i32, %r0: i32, %w0: i32, %w2: i32):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %res:3 = "scf.for"(%c0, %n, %c1, %acc0, %r0, %w0) ({
  ^bb0(%i: i32, %acc: !acc, %r: i32, %w: i32):
    %k = "ttg.memdesc_index"(%ring, %r) : (!ring, i32) -> !slot
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %sw:2 = "ttng.warp_group_dot_wait"(%s, %k) <{pendings = 0 : i32}> : (!acc, !slot) -> (!acc, !slot)
    %other = "ttg.memdesc_index"(%ring, %w2) : (!ring, i32) -> !slot
    %v = "ttg.local_load"(%other) : (!slot) -> !regs
    %dst = "ttg.memdesc_index"(%ring, %w) : (!ring, i32) -> !slot
    %cp = "ttg.async_copy_global_to_local"(%base, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !slot) -> !tok
    %cg = "ttg.async_commit_group"(%cp) : (!tok) -> !tok
    "scf.yield"(%sw#0, %w, %r) : (!acc, i32, i32) -> ()
  }) : (i32, i32, i32, !acc, i32, i32) -> (!acc, i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()

// Refused: the copy's addresses depend on the softmax (a reduction): nothing can move above it.
// And: a global store between the wait and a copy whose addresses need a global load.
// CHECK-LABEL: sym_name = "depends_on_reduce"
// CHECK: "tt.reduce"
// CHECK: "ttg.async_copy_global_to_local"
// CHECK-LABEL: sym_name = "store_in_between"
// CHECK: "tt.store"
// CHECK-NEXT: "tt.load"
"tt.func"() <{function_type = (!q, !ring, !ptrs, !acc, i32, i32, i32, tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>) -> (), sym_name = "depends_on_reduce"}> ({
^bb0(%q: !q, %ring: !ring, %base: !ptrs, %acc0: !acc, %n: i32, %r0: i32, %w0: i32, %iptr: tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %res:3 = "scf.for"(%c0, %n, %c1, %acc0, %r0, %w0) ({
  ^bb0(%i: i32, %acc: !acc, %r: i32, %w: i32):
    %k = "ttg.memdesc_index"(%ring, %r) : (!ring, i32) -> !slot
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %sw:2 = "ttng.warp_group_dot_wait"(%s, %k) <{pendings = 0 : i32}> : (!acc, !slot) -> (!acc, !slot)
    %m = "tt.reduce"(%sw#0) <{axis = 1 : i32}> ({
    ^bb1(%a: f32, %b: f32):
      %x = "arith.maxnumf"(%a, %b) : (f32, f32) -> f32
      "tt.reduce.return"(%x) : (f32) -> ()
    }) : (!acc) -> tensor<64xf32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>}>>
    %mi = "arith.fptosi"(%m) : (tensor<64xf32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>}>>) -> tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>}>>
    %off = "test.make_offsets"(%mi) : (tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>}>>) -> !offs
    %ptrs = "tt.addptr"(%base, %off) : (!ptrs, !offs) -> !ptrs
    %dst = "ttg.memdesc_index"(%ring, %w) : (!ring, i32) -> !slot
    %cp = "ttg.async_copy_global_to_local"(%ptrs, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !slot) -> !tok
    %cg = "ttg.async_commit_group"(%cp) : (!tok) -> !tok
    "scf.yield"(%sw#0, %w, %r) : (!acc, i32, i32) -> ()
  }) : (i32, i32, i32, !acc, i32, i32) -> (!acc, i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()
"tt.func"() <{function_type = (!q, !ring, !ptrs, !acc, i32, i32, i32, tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>, !regs) -> (), sym_name = "store_in_between"}> ({
^bb0(%q: !q, %ring: !ring, %base: !ptrs, %acc0: !acc, %n: i32, %r0: i32, %w0: i32, %iptr: tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>, %val: !regs):
  %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
  %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
  %res:3 = "scf.for"(%c0, %n, %c1, %acc0, %r0, %w0) ({
  ^bb0(%i: i32, %acc: !acc, %r: i32, %w: i32):
    %k = "ttg.memdesc_index"(%ring, %r) : (!ring, i32) -> !slot
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !slot, !acc) -> !acc
    %sw:2 = "ttng.warp_group_dot_wait"(%s, %k) <{pendings = 0 : i32}> : (!acc, !slot) -> (!acc, !slot)
    "tt.store"(%base, %val) <{cache = 1 : i32, evict = 1 : i32}> : (!ptrs, !regs) -> ()
    %idx = "tt.load"(%iptr) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 0, 0>}> : (tensor<64x64x!tt.ptr<i32>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>) -> !offs
    %ptrs = "tt.addptr"(%base, %idx) : (!ptrs, !offs) -> !ptrs
    %dst = "ttg.memdesc_index"(%ring, %w) : (!ring, i32) -> !slot
    %cp = "ttg.async_copy_global_to_local"(%ptrs, %dst) <{cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> : (!ptrs, !slot) -> !tok
    %cg = "ttg.async_commit_group"(%cp) : (!tok) -> !tok
    "scf.yield"(%sw#0, %w, %r) : (!acc, i32, i32) -> ()
  }) : (i32, i32, i32, !acc, i32, i32) -> (!acc, i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()

// Real stock TTGIR of the plain sparse MLA kernel: the index copy and both KV gathers (latent
// 512 and rope 64 columns) start right after the first full wait, before the softmax and the PV
// GEMM; the loop ends with the PV GEMM.
// SMLA: "scf.for"
// SMLA: "ttng.warp_group_dot_wait"{{.*}}<{pendings = 0 : i32}>
// SMLA: "ttg.async_copy_global_to_local"
// SMLA: "ttg.async_copy_global_to_local"
// SMLA: "ttg.async_copy_global_to_local"
// SMLA: "tt.reduce"
// SMLA: "ttng.warp_group_dot"
// SMLA-NEXT: "scf.yield"
