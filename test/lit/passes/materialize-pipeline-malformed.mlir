// RUN: %tle-opt %s -split-input-file --tle-materialize-pipeline -verify-diagnostics --tle-verify-upstream-ops=false | FileCheck %s
// REQUIRES: tle-native
// Loops whose bounds or order the pass used to misread (wrapped trip counts, wide constants, a
// use before its definition that destroyed an op still in use). Each is refused with a remark
// or rejected with an error; the loop stays as it was.
// The upstream verifiers (which also catch the use before its definition inside scf.for) are
// off: the pass itself must cope.

// ub - lb does not fit 64 bits (it used to wrap to a trip count of 0).
// CHECK-LABEL: sym_name = "i64_span_overflows"
// CHECK: "scf.for"
// CHECK-NOT: tle.materialized_stages
// CHECK: "tt.return"
!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!mask = tensor<64x64xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!colmask = tensor<64x1xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!bvec = tensor<64xi1, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "i64_span_overflows"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %lb = "arith.constant"() <{value = -9223372036854775807 : i64}> : () -> i64
    %ub = "arith.constant"() <{value = 9223372036854775807 : i64}> : () -> i64
    %st = "arith.constant"() <{value = 9223372036854775807 : i64}> : () -> i64
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    // expected-remark @below {{tle-materialize-pipeline: loop left alone: the static trip count overflows a 64-bit integer}}
    %res = "scf.for"(%lb, %ub, %st, %zero) ({
    ^bb0(%iv: i64, %acc: !acc):
      %i = "arith.trunci"(%iv) : (i64) -> i32
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
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i64, i64, i64, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
// -----
// ~1.8e19 iterations: the count used to wrap negative and become a ring of 4294967295 slots
// (35 TB, out of memory).
// CHECK-LABEL: sym_name = "i64_wrapped_count"
// CHECK: "scf.for"
// CHECK-NOT: tle.materialized_stages
// CHECK: "tt.return"
!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!mask = tensor<64x64xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!colmask = tensor<64x1xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!bvec = tensor<64xi1, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "i64_wrapped_count"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %lb = "arith.constant"() <{value = -9223372036854775808 : i64}> : () -> i64
    %ub = "arith.constant"() <{value = 9223372036854775807 : i64}> : () -> i64
    %st = "arith.constant"() <{value = 1 : i64}> : () -> i64
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    // expected-remark @below {{tle-materialize-pipeline: loop left alone: the static trip count overflows a 64-bit integer}}
    %res = "scf.for"(%lb, %ub, %st, %zero) ({
    ^bb0(%iv: i64, %acc: !acc):
      %i = "arith.trunci"(%iv) : (i64) -> i32
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
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i64, i64, i64, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
// -----
// Four iterations of an i32 loop ending at INT32_MAX: i + step for the copies of the next
// iteration wraps, so the predicate i + step < ub would turn true past the end.
// CHECK-LABEL: sym_name = "run_ahead_overflows"
// CHECK: "scf.for"
// CHECK-NOT: tle.materialized_stages
// CHECK: "tt.return"
!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!mask = tensor<64x64xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!colmask = tensor<64x1xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!bvec = tensor<64xi1, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "run_ahead_overflows"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %lb = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %ub = "arith.constant"() <{value = 2147483647 : i32}> : () -> i32
    %st = "arith.constant"() <{value = 536870912 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    // expected-remark @below {{tle-materialize-pipeline: loop left alone: the run-ahead induction variable (i + (stages - 1) * step) overflows its type}}
    %res = "scf.for"(%lb, %ub, %st, %zero) ({
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
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
// -----
// A negative step.
// CHECK-LABEL: sym_name = "negative_step"
// CHECK: "scf.for"
// CHECK-NOT: tle.materialized_stages
// CHECK: "tt.return"
!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!mask = tensor<64x64xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!colmask = tensor<64x1xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!bvec = tensor<64xi1, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "negative_step"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %lb = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %ub = "arith.constant"() <{value = 128 : i32}> : () -> i32
    %st = "arith.constant"() <{value = -64 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    // expected-remark @below {{tle-materialize-pipeline: loop left alone: the loop's step is not positive}}
    %res = "scf.for"(%lb, %ub, %st, %zero) ({
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
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
// -----
// An i128 bound beyond 64 bits (its value used to be read with an asserting getSExtValue): read
// as a dynamic bound, so the loop is pipelined with predicated copies.
// CHECK-LABEL: sym_name = "wide_constant"
// CHECK: tle.materialized_stages = 2
!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!mask = tensor<64x64xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!colmask = tensor<64x1xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!bvec = tensor<64xi1, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "wide_constant"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %lb = "arith.constant"() <{value = 0 : i128}> : () -> i128
    %ub = "arith.constant"() <{value = 100000000000000000000000 : i128}> : () -> i128
    %st = "arith.constant"() <{value = 64 : i128}> : () -> i128
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    // expected-remark @below {{tle-materialize-pipeline: pipelined with 2 stages}}
    %res = "scf.for"(%lb, %ub, %st, %zero) ({
    ^bb0(%iv: i128, %acc: !acc):
      %i = "arith.trunci"(%iv) : (i128) -> i32
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
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i128, i128, i128, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}

// -----
// The WGMMA before the memdesc_trans it reads (MLIR accepts the use before the definition in
// regions of unregistered ops): an error, the loop is not touched.
!tile = tensor<64x64xbf16, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!ptrs = tensor<64x64x!tt.ptr<bf16>, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!offs = tensor<64x64xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!mask = tensor<64x64xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!col = tensor<64x1xi32, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!colmask = tensor<64x1xi1, #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>>
!iptrs = tensor<64x!tt.ptr<i32>, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!ivec = tensor<64xi32, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!bvec = tensor<64xi1, #ttg.slice<{dim = 1, parent = #ttg.blocked<{sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]}>}>>
!acc = tensor<64x64xf32, #ttg.nvidia_mma<{versionMajor = 3, versionMinor = 0, warpsPerCTA = [4, 1], instrShape = [16, 64, 16]}>>
!smem = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory>
!smemT = !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory>
module attributes {"ttg.num-warps" = 4 : i32, "ttg.threads-per-warp" = 32 : i32} {
  "tt.func"() <{function_type = (!smem, !iptrs, !ptrs, i32) -> (), sym_name = "use_before_def"}> ({
  ^bb0(%q: !smem, %ibase: !iptrs, %kvbase: !ptrs, %n: i32):
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : !acc}> : () -> !acc
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %lb = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %ub = "arith.constant"() <{value = 128 : i32}> : () -> i32
    %st = "arith.constant"() <{value = 64 : i32}> : () -> i32
    %range = "tt.make_range"() <{end = 64 : i32, start = 0 : i32}> : () -> !ivec
    %res = "scf.for"(%lb, %ub, %st, %zero) ({
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
      // expected-error @below {{operand #1 of 'ttng.warp_group_dot' is used before its definition (Triton IR is in SSA order)}}
      %s = "ttng.warp_group_dot"(%q, %t, %acc) <{inputPrecision = 0 : i32, isAsync = false, maxNumImpreciseAcc = 0 : i32}> : (!smem, !smemT, !acc) -> !acc
      %t = "ttg.memdesc_trans"(%a) <{order = array<i32: 1, 0>}> : (!smem) -> !smemT
      "scf.yield"(%s) : (!acc) -> ()
    }) : (i32, i32, i32, !acc) -> !acc
    "test.use"(%res) : (!acc) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
