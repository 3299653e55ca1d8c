// issue 11: tle-wgmma-operand-reuse aborted on a wait with 2 operands and 1 result.
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!ring = !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!slot = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!staged = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!stagedT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
!sw = !ttg.memdesc<64x64xbf16, #ttg.swizzled_shared<{vec = 8, perPhase = 1, maxPhase = 8, order = [1, 0]}>, #ttg.shared_memory, mutable>
!regs = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!regsT = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [8, 1], threadsPerWarp = [8, 4], warpsPerCTA = [1, 4], order = [0, 1]}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
"tt.func"() <{function_type = (!q, !slot, !acc) -> (), sym_name = "wait_arity"}> ({
^bb0(%q: !q, %slot: !slot, %acc: !acc):
  %k = "ttg.local_load"(%slot) : (!slot) -> !regs
  %s = "ttg.local_alloc"(%k) : (!regs) -> !staged
  %d = "ttng.warp_group_dot"(%q, %s, %acc) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!q, !staged, !acc) -> !acc
  %w = "ttng.warp_group_dot_wait"(%d, %s) <{pendings = 0 : i32}> : (!acc, !staged) -> !acc
  "test.use"(%w) : (!acc) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
