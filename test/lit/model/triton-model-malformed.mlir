// RUN: %tle-opt %s --tle-test-triton-model -split-input-file -verify-diagnostics | FileCheck %s
// The typed model refuses what it cannot represent faithfully: spellings it cannot parse are
// errors (tle-check-triton-types stops the pipeline on them), and a layout whose fields are out
// of range parses but yields no typed view (a pass then sees only its kind).

// An instruction shape with a zero: no nvidia_mma view.
// CHECK: tle.model = "nvidia_mma"
%0 = "test.a"() : () -> tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [8, 1], instrShape = [16, 0, 16]}>>
// An order that is not a permutation: no blocked view (a pass would index sizePerThread by it).
// CHECK: tle.model = "blocked"
%1 = "test.b"() : () -> tensor<64x64xf32, #ttg.blocked<{sizePerThread = [1, 4], threadsPerWarp = [8, 4], warpsPerCTA = [4, 1], order = [2, 0]}>>
// Ranks that disagree.
// CHECK: tle.model = "blocked"
%2 = "test.c"() : () -> tensor<64x64xf32, #ttg.blocked<{sizePerThread = [1, 4], threadsPerWarp = [32], warpsPerCTA = [4, 1], order = [1, 0]}>>
// A zero vector width.
// CHECK: tle.model = "memdesc 64 i32 [swizzled_shared] shared_memory"
%3 = "test.d"() : () -> !ttg.memdesc<64xi32, #ttg.swizzled_shared<{vec = 0, perPhase = 1, maxPhase = 1, order = [0]}>, #ttg.shared_memory>

// -----
// A negative dimension.
// expected-error @below {{TLE's Triton model cannot read this type: negative memdesc dimension}}
%0 = "test.a"() : () -> !ttg.memdesc<-4x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>

// -----
// An element type that is not a builtin type.
// expected-error @below {{TLE's Triton model cannot read this type: memdesc element type 'nonsense' is not a builtin type}}
%0 = "test.a"() : () -> !ttg.memdesc<64x64xnonsense, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
