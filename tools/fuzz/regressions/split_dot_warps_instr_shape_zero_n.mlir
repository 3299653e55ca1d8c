// issue 11: tle-split-dot-warps divided by an instrShape N of 0 (SIGFPE).
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!b = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 0, 16]}>>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !b, !acc) -> (), sym_name = "k"}> ({
  ^bb0(%a: !q, %bt: !b, %c: !acc):
    %d = "ttng.warp_group_dot"(%a, %bt, %c) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !b, !acc) -> !acc
    "test.use"(%d) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
