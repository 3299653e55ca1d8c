// RUN: %tle-opt %S/issue-copies-early.mlir --tle-pipeline -o %t.copies.once.mlir
// RUN: %tle-opt %t.copies.once.mlir --tle-pipeline -o %t.copies.twice.mlir
// RUN: diff %t.copies.once.mlir %t.copies.twice.mlir
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-pipeline -o %t.smla.once.mlir
// RUN: %tle-opt %t.smla.once.mlir --tle-pipeline -o %t.smla.twice.mlir
// RUN: diff %t.smla.once.mlir %t.smla.twice.mlir
// RUN: %tle-opt %inputs/flash_attention_fwd.ttgir.mlir --tle-pipeline -o %t.fa.once.mlir
// RUN: %tle-opt %t.fa.once.mlir --tle-pipeline -o %t.fa.twice.mlir
// RUN: diff %t.fa.once.mlir %t.fa.twice.mlir
// RUN: %tle-opt %S/insert-wgmma-fences.mlir --tle-pipeline -o %t.fences.once.mlir
// RUN: %tle-opt %t.fences.once.mlir --tle-pipeline -o %t.fences.twice.mlir
// RUN: diff %t.fences.once.mlir %t.fences.twice.mlir
// REQUIRES: tle-native
// tle-pipeline is idempotent: a second run changes nothing. The copies tle-issue-copies-early
// moves ahead of a read of their ring must not look like unfenced writes to the next run's
// fence analysis (the copy is still landing at the read, so the slots differ).
