// RUN: %tle-opt %s -split-input-file --tle-split-dot-warps -verify-diagnostics | FileCheck %s
// REQUIRES: tle-native
// Malformed layouts and shapes that used to divide by zero (SIGFPE): the pass leaves them alone.

// An instruction shape with a zero N.
// CHECK-LABEL: sym_name = "zero_instr_n"
// CHECK: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [8, 1], instrShape = [16, 0, 16]
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 0, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!kt = !ttg.memdesc<64x32xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !kt, tensor<64x32xf32, #mma>) -> (), sym_name = "zero_instr_n"}> ({
  ^bb0(%q: !q, %kt: !kt, %acc: tensor<64x32xf32, #mma>):
    // expected-remark @below {{tle-split-dot-warps: WGMMA left alone: its #ttg.nvidia_mma layout is malformed (a field is missing, or a warp count or instruction size is not positive)}}
    %s = "ttng.warp_group_dot"(%q, %kt, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !kt, tensor<64x32xf32, #mma>) -> tensor<64x32xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// A tile with M = 0.
// CHECK-LABEL: sym_name = "zero_m"
// CHECK: "ttng.warp_group_dot"{{.*}} -> tensor<0x32xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>>
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!q = !ttg.memdesc<0x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!kt = !ttg.memdesc<64x32xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !kt, tensor<0x32xf32, #mma>) -> (), sym_name = "zero_m"}> ({
  ^bb0(%q: !q, %kt: !kt, %acc: tensor<0x32xf32, #mma>):
    // expected-remark @below {{tle-split-dot-warps: layout left alone: the WGMMA's result has a zero or dynamic dimension}}
    %s = "ttng.warp_group_dot"(%q, %kt, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !kt, tensor<0x32xf32, #mma>) -> tensor<0x32xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// A dynamic M (the shape Triton never prints, which reads as a negative size).
// CHECK-LABEL: sym_name = "dynamic_m"
// CHECK: "ttng.warp_group_dot"{{.*}} -> tensor<?x32xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>>
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!kt = !ttg.memdesc<64x32xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!q, !kt, tensor<?x32xf32, #mma>) -> (), sym_name = "dynamic_m"}> ({
  ^bb0(%q: !q, %kt: !kt, %acc: tensor<?x32xf32, #mma>):
    // expected-remark @below {{tle-split-dot-warps: layout left alone: the WGMMA's result has a zero or dynamic dimension}}
    %s = "ttng.warp_group_dot"(%q, %kt, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !kt, tensor<?x32xf32, #mma>) -> tensor<?x32xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// A ttg.num-warps that does not fit 64 bits (IntegerAttr::getInt asserts on it).
// CHECK-LABEL: sym_name = "wide_num_warps"
// CHECK: warpsPerCTA = [8, 1]
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!q = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!kt = !ttg.memdesc<64x32xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
module attributes {"ttg.num-warps" = 100000000000000000000000 : i128} {
  "tt.func"() <{function_type = (!q, !kt, tensor<64x32xf32, #mma>) -> (), sym_name = "wide_num_warps"}> ({
  ^bb0(%q: !q, %kt: !kt, %acc: tensor<64x32xf32, #mma>):
    %s = "ttng.warp_group_dot"(%q, %kt, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!q, !kt, tensor<64x32xf32, #mma>) -> tensor<64x32xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}
