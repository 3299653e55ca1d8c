// RUN: %tle-opt %s -split-input-file --tle-wgmma-operand-reuse -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Each refusal of tle-wgmma-operand-reuse: the staging copy (`local_alloc` from registers)
// stays, and a remark at the op that blocked the reuse says why.
// CHECK-NOT: tle.memdesc_wgmma_view

!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// A local_load with no operand.
// CHECK-LABEL: sym_name = "malformed_load"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !acc) -> (), sym_name = "malformed_load"}> ({
^bb0(%q: !q, %acc: !acc):
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: malformed ttg.local_load (expected a buffer[, a token] and one result)}}
  %v = "ttg.local_load"() : () -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!odd = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, 64y64>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The loaded buffer's type is one the model cannot read.
// CHECK-LABEL: sym_name = "unreadable_buffer"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !odd, !acc) -> (), sym_name = "unreadable_buffer"}> ({
^bb0(%q: !q, %buf: !odd, %acc: !acc):
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the loaded buffer's type is not one TLE's model can read}}
  %v = "ttg.local_load"(%buf) : (!odd) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!odd = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, 64y64>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The staged copy's type is one the model cannot read.
// CHECK-LABEL: sym_name = "unreadable_copy"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "unreadable_copy"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the staged copy's type is not one TLE's model can read}}
  %s = "ttg.local_alloc"(%v) : (!regs) -> !odd
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !odd, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot64 = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The buffer is swizzled differently (64 B) from the copy the WGMMA reads (128 B).
// CHECK-LABEL: sym_name = "other_swizzle"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot64, !acc) -> (), sym_name = "other_swizzle"}> ({
^bb0(%q: !q, %buf: !slot64, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot64) -> !regs
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the buffer's layout (swizzle, orientation or element type) differs from the copy the WGMMA reads}}
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The load is outside the branch the copy and the WGMMA run in.
// CHECK-LABEL: sym_name = "other_block"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc, i1) -> (), sym_name = "other_block"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc, %c: i1):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  "scf.if"(%c) ({
    %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
    // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the load, its transpose and the copy are not all in this WGMMA's block}}
    %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
    "test.use"(%d) : (!acc) -> ()
    "scf.yield"() : () -> ()
  }, {
    "scf.yield"() : () -> ()
  }) : (i1) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// An async WGMMA that no wait of its block retires: its read of the buffer has no known end.
// CHECK-LABEL: sym_name = "no_wait"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "no_wait"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: no warp_group_dot_wait {pendings = 0} later in this block retires this async WGMMA}}
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The buffer is written after the load and before the async WGMMA's wait.
// CHECK-LABEL: sym_name = "written_before_wait"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc, !regs) -> (), sym_name = "written_before_wait"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc, %r: !regs):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: this op may write the buffer between the load and the end of the WGMMA's read (the copy is a snapshot)}}
  "ttg.local_store"(%r, %buf) : (!regs, !slot) -> ()
  %w:2 = "ttng.warp_group_dot_wait"(%d, %s) <{pendings = 0 : i32}> : (!acc, !staged) -> (!acc, !staged)
  "test.use"(%w#0) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The staged copy is read by something else too.
// CHECK-LABEL: sym_name = "copy_read_elsewhere"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "copy_read_elsewhere"}> ({
^bb0(%q: !q, %buf: !slot, %acc: !acc):
  %v = "ttg.local_load"(%buf) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the staged copy has another use here (only waits that keep it alive are allowed)}}
  %again = "ttg.local_load"(%s) : (!staged) -> !regs
  "test.use"(%d, %again) : (!acc, !regs) -> ()
  "tt.return"() : () -> ()
}) : () -> ()

// -----
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!tm = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttng.tensor_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>

// The buffer is not in shared memory.
// CHECK-LABEL: sym_name = "not_shared_memory"
// CHECK: "ttg.local_alloc"(%{{.*}})
"tt.func"() <{function_type = (!q, !tm, !acc) -> (), sym_name = "not_shared_memory"}> ({
^bb0(%q: !q, %buf: !tm, %acc: !acc):
  // expected-remark @below {{tle-wgmma-operand-reuse: staging copy kept: the buffer is not an NVMMA-shared tile in shared memory that the transpose order fits}}
  %v = "ttg.local_load"(%buf) : (!tm) -> !regs
  %s = "ttg.local_alloc"(%v) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  "test.use"(%d) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
