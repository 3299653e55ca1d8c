// RUN: %tle-opt %s -split-input-file --tle-split-dot-warps | FileCheck %s
// REQUIRES: tle-native
// A 64-row WGMMA tile with 8 warps: stock gives warpsPerCTA = [8, 1] so both warpgroups compute
// the whole tile. The pass splits N instead and retypes every use of the layout: values,
// constants, nested slice/dot_op parents.

#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!kt = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>

// CHECK-LABEL: module
// CHECK-NOT: warpsPerCTA = [8, 1]
// CHECK: "arith.constant"() <{value = dense<0.000000e+00> : tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 32, 16]}>>}>
// CHECK: "ttng.warp_group_dot"{{.*}} -> tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 32, 16]}>>
// CHECK: "tt.reduce"
// CHECK: }) : (tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 32, 16]}>>) -> tensor<64xf32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 32, 16]}>}>>
// CHECK: "ttg.convert_layout"{{.*}} -> tensor<64x64xbf16, #ttg.dot_op<{opIdx = 0, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 32, 16]}>, kWidth = 2}>>
// CHECK-NOT: warpsPerCTA = [8, 1]
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !kt) -> (), sym_name = "qk"}> ({
  ^bb0(%q: !q, %kt: !kt):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : tensor<64x64xf32, #mma>}> : () -> tensor<64x64xf32, #mma>
    %s = "ttng.warp_group_dot"(%q, %kt, %zero) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !kt, tensor<64x64xf32, #mma>) -> tensor<64x64xf32, #mma>
    %m = "tt.reduce"(%s) <{axis = 1 : i32}> ({
    ^bb0(%a: f32, %b: f32):
      %x = "arith.maxnumf"(%a, %b) : (f32, f32) -> f32
      "tt.reduce.return"(%x) : (f32) -> ()
    }) : (tensor<64x64xf32, #mma>) -> tensor<64xf32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>}>>
    %p = "arith.truncf"(%s) : (tensor<64x64xf32, #mma>) -> tensor<64x64xbf16, #mma>
    %pa = "ttg.convert_layout"(%p) : (tensor<64x64xbf16, #mma>) -> tensor<64x64xbf16, #ttg.dot_op<{opIdx = 0, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>, kWidth = 2}>>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// N per warpgroup (16) is narrower than the instruction (32): the instruction shrinks to N=16.
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!kt = !ttg.memdesc<64x32xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
// CHECK-LABEL: module
// CHECK: "ttng.warp_group_dot"{{.*}} -> tensor<64x32xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 16, 16]}>>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !kt, tensor<64x32xf32, #mma>) -> (), sym_name = "narrow"}> ({
  ^bb0(%q: !q, %kt: !kt, %acc: tensor<64x32xf32, #mma>):
    %s = "ttng.warp_group_dot"(%q, %kt, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !kt, tensor<64x32xf32, #mma>) -> tensor<64x32xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// Left alone: a 128-row tile uses all 8 warps along M (no duplicated work).
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 64, 16]}>
!a = !ttg.memdesc<128x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!b = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
// CHECK-LABEL: module
// CHECK: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [8, 1]
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!a, !b, tensor<128x64xf32, #mma>) -> (), sym_name = "full"}> ({
  ^bb0(%a: !a, %b: !b, %acc: tensor<128x64xf32, #mma>):
    %s = "ttng.warp_group_dot"(%a, %b, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !b, tensor<128x64xf32, #mma>) -> tensor<128x64xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// Left alone: N = 8 cannot be split into whole WGMMA instructions (4 columns per warpgroup).
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 8, 16]}>
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!b = !ttg.memdesc<64x8xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 32, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
// CHECK-LABEL: module
// CHECK: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [8, 1]
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!a, !b, tensor<64x8xf32, #mma>) -> (), sym_name = "thin"}> ({
  ^bb0(%a: !a, %b: !b, %acc: tensor<64x8xf32, #mma>):
    %s = "ttng.warp_group_dot"(%a, %b, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !b, tensor<64x8xf32, #mma>) -> tensor<64x8xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// Left alone: one layout shared by a 64-row dot (duplicated) and a 128-row dot (not): splitting
// the layout would change the 128-row dot too.
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 64, 16]}>
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!a2 = !ttg.memdesc<128x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!b = !ttg.memdesc<64x128xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
// CHECK-LABEL: module
// CHECK-NOT: warpsPerCTA = [4, 2]
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!a, !a2, !b, tensor<64x128xf32, #mma>, tensor<128x128xf32, #mma>) -> (), sym_name = "mixed"}> ({
  ^bb0(%a: !a, %a2: !a2, %b: !b, %acc: tensor<64x128xf32, #mma>, %acc2: tensor<128x128xf32, #mma>):
    %s = "ttng.warp_group_dot"(%a, %b, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !b, tensor<64x128xf32, #mma>) -> tensor<64x128xf32, #mma>
    %t = "ttng.warp_group_dot"(%a2, %b, %acc2) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a2, !b, tensor<128x128xf32, #mma>) -> tensor<128x128xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// Left alone: warps already split along N, and Ampere (version 2) layouts.
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 32, 16]}>
#mma2 = #ttg.nvidia_mma<{versionMajor = 2, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 8]}>
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
// CHECK-LABEL: module
// CHECK: warpsPerCTA = [4, 2]
// CHECK: "tt.dot"{{.*}}warpsPerCTA = [8, 1], instrShape = [16, 8]
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!a, tensor<64x64xf32, #mma>, tensor<64x64xf32, #mma2>) -> (), sym_name = "done"}> ({
  ^bb0(%a: !a, %acc: tensor<64x64xf32, #mma>, %acc2: tensor<64x64xf32, #mma2>):
    %s = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, tensor<64x64xf32, #mma>) -> tensor<64x64xf32, #mma>
    %t = "tt.dot"(%acc2, %acc2, %acc2) : (tensor<64x64xf32, #mma2>, tensor<64x64xf32, #mma2>, tensor<64x64xf32, #mma2>) -> tensor<64x64xf32, #mma2>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// Left alone: not TTGIR yet (no ttg.num-warps on the module).
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
// CHECK-LABEL: module
// CHECK: warpsPerCTA = [8, 1]
module {
  "tt.func"() <{function_type = (!a, tensor<64x64xf32, #mma>) -> (), sym_name = "nowarps"}> ({
  ^bb0(%a: !a, %acc: tensor<64x64xf32, #mma>):
    %s = "ttng.warp_group_dot"(%a, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, tensor<64x64xf32, #mma>) -> tensor<64x64xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}
