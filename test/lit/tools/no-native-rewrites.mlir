// RUN: not %tle-opt %s --tle-split-dot-warps 2>&1 | FileCheck %s
// RUN: not %tle-opt %s --tle-insert-wgmma-fences 2>&1 | FileCheck %s
// RUN: not %tle-opt %s --tle-chain-wgmma-waits 2>&1 | FileCheck %s
// RUN: not %tle-opt %s --tle-issue-copies-early 2>&1 | FileCheck %s
// RUN: not %tle-opt %s --tle-wgmma-operand-reuse 2>&1 | FileCheck %s
// RUN: not %tle-opt %s --tle-hoist-wgmma-accumulators 2>&1 | FileCheck %s
// RUN: not %tle-opt %s --tle-materialize-pipeline 2>&1 | FileCheck %s
// RUN: %tle-opt %s --tle-pipeline | FileCheck %s --check-prefix=PIPELINE
// REQUIRES: no-tle-native
// Built without __TLE__: the rewrites of Triton's own IR refuse to run, and tle-pipeline passes
// native Triton IR through untouched.
// CHECK: compiled only under __TLE__
// PIPELINE: warpsPerCTA = [8, 1]
// PIPELINE-NOT: fence
#mma = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>
!a = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!a, tensor<64x64xf32, #mma>, tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [8, 1], order = [1, 0]}>>) -> (), sym_name = "k"}> ({
  ^bb0(%a: !a, %acc: tensor<64x64xf32, #mma>, %r: tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [8, 1], order = [1, 0]}>>):
    %w = "ttg.local_alloc"(%r) : (tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [8, 1], order = [1, 0]}>>) -> !a
    %s = "ttng.warp_group_dot"(%w, %a, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!a, !a, tensor<64x64xf32, #mma>) -> tensor<64x64xf32, #mma>
    "tt.return"() : () -> ()
  }) : () -> ()
}
