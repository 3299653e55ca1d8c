// Found by tools/fuzz (seed 20261201, case 3626; reduced): tle-insert-wgmma-fences puts a fence
// before the first WGMMA of the loop that names %a2, a buffer allocated after it (the second
// reader is a malformed warp_group_dot_wait with 3 operands and 1 result). The output fails
// verification ("operand #0 does not dominate this use"); run_pipeline refused it. Fixed: a fence
// names only buffers available where it is placed.
// pipeline: tle-insert-wgmma-fences
!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 4 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "two_allocs"}> ({
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
      %a2 = "ttg.local_alloc"(%tile) : (!tile) -> !smemT
      %s2 = "ttng.warp_group_dot_wait"(%q, %a2, %s) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smemT, !acc) -> !acc
      "scf.yield"(%s2) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
  }) : () -> ()
}
