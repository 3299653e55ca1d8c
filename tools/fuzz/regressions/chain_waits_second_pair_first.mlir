// issue 11: tle-chain-wgmma-waits SIGSEGV when the second dot/wait pair comes textually before the
// first (a use before its definition, which MLIR accepts in regions of unregistered ops).
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!acc2 = tensor<64x128xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 128, 16]}>>
!b2 = !ttg.memdesc<64x128xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
"tt.func"() <{function_type = (!a, !a, !acc) -> (), sym_name = "chained"}> ({
^bb0(%x: !a, %y: !a, %c: !acc):
  %d2 = "ttng.warp_group_dot"(%y, %x, %w1#0) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w2:3 = "ttng.warp_group_dot_wait"(%d2, %y, %x) <{pendings = 0 : i32}> : (!acc, !a, !a) -> (!acc, !a, !a)
  %d1 = "ttng.warp_group_dot"(%x, %y, %c) <{inputPrecision = 0 : i32, isAsync = true, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, !acc) -> !acc
  %w1:3 = "ttng.warp_group_dot_wait"(%d1, %x, %y) <{pendings = 0 : i32}> : (!acc, !a, !a) -> (!acc, !a, !a)
  "test.use"(%w2#0, %w1#1) : (!acc, !a) -> ()
  "tt.return"() : () -> ()
}) : () -> ()
