// RUN: %tle-opt %s --tle-test-triton-model | FileCheck %s
// Unit tests of TLE's typed model of Triton's textual types: each spelling is parsed into typed
// fields (shown in `tle.model`) and re-printed identically (else the pass reports an error).

// CHECK: tle.model = "memdesc 2x64x576 bf16 [nvmma swizzle=128 transposed=0 bits=16] shared_memory mutable"
%0 = "test.a"() : () -> !ttg.memdesc<2x64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
// Allocation shape of a subview, immutable.
// CHECK: tle.model = "memdesc 64x64 f16 [nvmma swizzle=64 transposed=1 bits=16] shared_memory"
%1 = "test.b"() : () -> !ttg.memdesc<64x64xf16, #ttg.nvmma_shared<{swizzlingByteWidth = 64, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, 2x64x64>
// CHECK: tle.model = "memdesc 1 i64 [swizzled vec=1 order=0] shared_memory mutable"
%2 = "test.c"() : () -> !ttg.memdesc<1xi64, #ttg.swizzled_shared<{vec = 1, perPhase = 1, maxPhase = 1, order = [0]}>, #ttg.shared_memory, mutable>
// CHECK: tle.model = "mma v3 warps=8x1 instr=16x32x16"
%3 = "test.d"() : () -> tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 32, 16]}>>
// CHECK: tle.model = "slice1(mma v3 warps=4x2 instr=16x32x16)"
%4 = "test.e"() : () -> tensor<64xf32, #ttg.slice<{dim = 1, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 32, 16]}>}>>
// CHECK: tle.model = "dot_op0(mma v3 warps=4x2 instr=16x256x16)"
%5 = "test.f"() : () -> tensor<64x64xbf16, #ttg.dot_op<{opIdx = 0, parent = #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 2], instrShape = [16, 256, 16]}>, kWidth = 2}>>
// CHECK: tle.model = "blocked warps=8x1"
%6 = "test.g"() : () -> tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [8, 1], order = [1, 0]}>>
// Fields TLE does not model (CTA layout, linear layouts) survive verbatim.
// CHECK: tle.model = "blocked warps=4x1"
%7 = "test.h"() : () -> tensor<64x64xf32, #ttg.blocked<{sizePerThread = [1, 4], threadsPerWarp = [8, 4], warpsPerCTA = [4, 1], order = [1, 0], CTAsPerCGA = [2, 1], CTASplitNum = [2, 1], CTAOrder = [1, 0]}>>
// CHECK: tle.model = "linear"
%8 = "test.i"() : () -> tensor<16x16xf32, #ttg.linear<{register = [[0, 1], [0, 2]], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [0, 4]], warp = [], block = []}>>
// Block arguments are checked too.
// CHECK: tle.model = "memdesc 64x512 bf16 [nvmma swizzle=128 transposed=0 bits=16] shared_memory mutable"
"test.region"() ({
^bb0(%arg: !ttg.memdesc<64x512xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>):
  "test.end"() : () -> ()
}) : () -> ()
