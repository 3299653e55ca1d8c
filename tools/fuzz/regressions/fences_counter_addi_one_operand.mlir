// issue 11: tle-insert-wgmma-fences aborted in the ring-slot counter analysis when the counter's
// arith.addi has one operand. The upstream verifier now refuses it before any pass; tle-opt
// --tle-verify-upstream-ops=false still hands it to the pass, whose own guard must hold.
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
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
    %c_inc = "arith.addi"(%consume) : (i32) -> i32
    %c_wrap = "arith.cmpi"(%c_inc, %c2) <{predicate = 0 : i64}> : (i32, i32) -> i1
    %c_next = "arith.select"(%c_wrap, %c0, %c_inc) : (i1, i32, i32) -> i32
    %i_inc = "arith.addi"(%issue, %c1) : (i32, i32) -> i32
    %i_wrap = "arith.cmpi"(%i_inc, %c2) <{predicate = 5 : i64}> : (i32, i32) -> i1
    %i_next = "arith.select"(%i_wrap, %c0, %i_inc) : (i1, i32, i32) -> i32
    "scf.yield"(%c_next, %i_next) : (i32, i32) -> ()
  }) : (i32, i32, i32, i32, i32) -> (i32, i32)
  "tt.return"() : () -> ()
}) : () -> ()
