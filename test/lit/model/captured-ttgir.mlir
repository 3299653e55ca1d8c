// Stock TTGIR of the project's kernels from every supported Triton (test/lit/Inputs, captured with
// tools/capture_ttgir.py under each version): TLE's typed model reads every type and layout in it
// (tle-check-triton-types, and tle-test-triton-model re-prints each one identically), and tle-opt
// prints each file back exactly as Triton printed it (diff ignores the header comments and the
// trailing blank line).
// RUN: %tle-opt %inputs/matmul.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.matmul
// RUN: diff -I '^(//|$)' %inputs/matmul.ttgir.mlir %t.matmul
// RUN: %tle-opt %inputs/matmul.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/flash_attention_fwd.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.flash_attention_fwd
// RUN: diff -I '^(//|$)' %inputs/flash_attention_fwd.ttgir.mlir %t.flash_attention_fwd
// RUN: %tle-opt %inputs/flash_attention_fwd.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.sparse_mla_plain
// RUN: diff -I '^(//|$)' %inputs/sparse_mla_plain.ttgir.mlir %t.sparse_mla_plain
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/matmul.triton-3.7.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.matmul-3.7
// RUN: diff -I '^(//|$)' %inputs/matmul.triton-3.7.ttgir.mlir %t.matmul-3.7
// RUN: %tle-opt %inputs/matmul.triton-3.7.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/flash_attention_fwd.triton-3.7.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.flash_attention_fwd-3.7
// RUN: diff -I '^(//|$)' %inputs/flash_attention_fwd.triton-3.7.ttgir.mlir %t.flash_attention_fwd-3.7
// RUN: %tle-opt %inputs/flash_attention_fwd.triton-3.7.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/sparse_mla_plain.triton-3.7.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.sparse_mla_plain-3.7
// RUN: diff -I '^(//|$)' %inputs/sparse_mla_plain.triton-3.7.ttgir.mlir %t.sparse_mla_plain-3.7
// RUN: %tle-opt %inputs/sparse_mla_plain.triton-3.7.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/matmul.triton-3.8.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.matmul-3.8
// RUN: diff -I '^(//|$)' %inputs/matmul.triton-3.8.ttgir.mlir %t.matmul-3.8
// RUN: %tle-opt %inputs/matmul.triton-3.8.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/flash_attention_fwd.triton-3.8.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.flash_attention_fwd-3.8
// RUN: diff -I '^(//|$)' %inputs/flash_attention_fwd.triton-3.8.ttgir.mlir %t.flash_attention_fwd-3.8
// RUN: %tle-opt %inputs/flash_attention_fwd.triton-3.8.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/sparse_mla_plain.triton-3.8.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.sparse_mla_plain-3.8
// RUN: diff -I '^(//|$)' %inputs/sparse_mla_plain.triton-3.8.ttgir.mlir %t.sparse_mla_plain-3.8
// RUN: %tle-opt %inputs/sparse_mla_plain.triton-3.8.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/matmul.triton-3.9.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.matmul-3.9
// RUN: diff -I '^(//|$)' %inputs/matmul.triton-3.9.ttgir.mlir %t.matmul-3.9
// RUN: %tle-opt %inputs/matmul.triton-3.9.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/flash_attention_fwd.triton-3.9.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.flash_attention_fwd-3.9
// RUN: diff -I '^(//|$)' %inputs/flash_attention_fwd.triton-3.9.ttgir.mlir %t.flash_attention_fwd-3.9
// RUN: %tle-opt %inputs/flash_attention_fwd.triton-3.9.ttgir.mlir --tle-test-triton-model -o /dev/null
// RUN: %tle-opt %inputs/sparse_mla_plain.triton-3.9.ttgir.mlir --tle-check-triton-types --mlir-print-op-generic -o %t.sparse_mla_plain-3.9
// RUN: diff -I '^(//|$)' %inputs/sparse_mla_plain.triton-3.9.ttgir.mlir %t.sparse_mla_plain-3.9
// RUN: %tle-opt %inputs/sparse_mla_plain.triton-3.9.ttgir.mlir --tle-test-triton-model -o /dev/null
