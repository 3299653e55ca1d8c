// RUN: %tle-opt --help | FileCheck %s
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-pipeline -o %t.pipeline.mlir
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --pass-pipeline="builtin.module(tle-check-triton-types,tle-split-dot-warps,tle-wgmma-operand-reuse,tle-chain-wgmma-waits,tle-hoist-wgmma-accumulators,tle-insert-wgmma-fences,tle-issue-copies-early,tle-lower-to-triton)" -o %t.steps.mlir
// RUN: diff %t.pipeline.mlir %t.steps.mlir
// REQUIRES: tle-native
// One table (passes/Registration.cpp) registers every pass and builds tle-pipeline; the
// pipeline's summary is derived from it and names its steps in order, and running those steps
// one by one gives the same IR as tle-pipeline.
// CHECK-DAG: --tle-materialize-pipeline
// CHECK-DAG: --tle-test-triton-model
// CHECK-DAG: --tle-check-triton-types
// CHECK: --tle-pipeline {{.*}}TLE's post-TTGIR pipeline: tle-check-triton-types, tle-split-dot-warps, tle-wgmma-operand-reuse, tle-chain-wgmma-waits, tle-hoist-wgmma-accumulators, tle-insert-wgmma-fences, tle-issue-copies-early, tle-lower-to-triton{{$}}
