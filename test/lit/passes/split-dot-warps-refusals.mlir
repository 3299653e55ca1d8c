// RUN: %tle-opt %s -split-input-file --tle-split-dot-warps -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Each refusal of tle-split-dot-warps: the layout keeps warpsPerCTA = [8, 1], and a remark at
// the WGMMA that blocked the split says why.

// N = 40 gives each of the 2 warpgroups 20 columns: no whole number of 8-column instructions.
// CHECK-LABEL: sym_name = "n_not_whole_instructions"
// CHECK-NOT: warpsPerCTA = [4, 2]
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 40, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!k = !ttg.memdesc<64x40xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 32, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !k, tensor<64x40xf32, #mma>) -> (), sym_name = "n_not_whole_instructions"}> ({
  ^bb0(%q: !q, %k: !k, %acc: tensor<64x40xf32, #mma>):
    // expected-remark @below {{tle-split-dot-warps: layout left alone: N per warpgroup (20) is not a whole number of WGMMA instructions}}
    %s = "ttng.warp_group_dot"(%q, %k, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !k, tensor<64x40xf32, #mma>) -> tensor<64x40xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// 12 warps on a 64-row tile: 3 groups of 4 warps would share N = 64, which 3 does not divide.
// CHECK-LABEL: sym_name = "n_not_even"
// CHECK-NOT: warpsPerCTA = [4, 3]
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [12, 1], instrShape = [16, 64, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 12 : i32} {
  "tt.func"() <{function_type = (!q, tensor<64x64xf32, #mma>) -> (), sym_name = "n_not_even"}> ({
  ^bb0(%q: !q, %acc: tensor<64x64xf32, #mma>):
    // expected-remark @below {{tle-split-dot-warps: layout left alone: N (64) does not split evenly between 3 warpgroups}}
    %s = "ttng.warp_group_dot"(%q, %q, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !q, tensor<64x64xf32, #mma>) -> tensor<64x64xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// One layout, two WGMMAs: the 64-row one duplicates work, the 128-row one does not. Splitting
// the shared layout would change the second one too, so the layout stays.
// CHECK-LABEL: sym_name = "shared_with_full_tile"
// CHECK-NOT: warpsPerCTA = [4, 2]
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 64, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!a = !ttg.memdesc<128x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !a, tensor<64x64xf32, #mma>, tensor<128x64xf32, #mma>) -> (), sym_name = "shared_with_full_tile"}> ({
  ^bb0(%q: !q, %a: !a, %acc: tensor<64x64xf32, #mma>, %acc2: tensor<128x64xf32, #mma>):
    %s = "ttng.warp_group_dot"(%q, %q, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !q, tensor<64x64xf32, #mma>) -> tensor<64x64xf32, #mma>
    // expected-remark @below {{tle-split-dot-warps: layout left alone: this WGMMA shares it and has no duplicated work (the pass splits a layout only for all of its WGMMAs)}}
    %t = "ttng.warp_group_dot"(%a, %q, %acc2) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !q, tensor<128x64xf32, #mma>) -> tensor<128x64xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// One layout, two duplicating WGMMAs that need different splits (N = 64 keeps the 32-column
// instruction, N = 32 needs a 16-column one).
// CHECK-LABEL: sym_name = "different_splits"
// CHECK-NOT: warpsPerCTA = [4, 2]
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!k = !ttg.memdesc<64x32xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !k, tensor<64x64xf32, #mma>, tensor<64x32xf32, #mma>) -> (), sym_name = "different_splits"}> ({
  ^bb0(%q: !q, %k: !k, %acc: tensor<64x64xf32, #mma>, %acc2: tensor<64x32xf32, #mma>):
    %s = "ttng.warp_group_dot"(%q, %q, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !q, tensor<64x64xf32, #mma>) -> tensor<64x64xf32, #mma>
    // expected-remark @below {{tle-split-dot-warps: layout left alone: this WGMMA needs another split of it than an earlier one}}
    %t = "ttng.warp_group_dot"(%q, %k, %acc2) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !k, tensor<64x32xf32, #mma>) -> tensor<64x32xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}
