// RUN: not %tle-opt %s --tle-no-such-pass 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not %tle-opt %s --tle-pipeline 2>&1 | FileCheck %s --check-prefix=TYPES
// RUN: %tle-opt --help | FileCheck %s --check-prefix=HELP
// UNKNOWN: Unknown command line argument '--tle-no-such-pass'
// TYPES: error: TLE's Triton model cannot read this type
// HELP-DAG: --tle-pipeline
// HELP-DAG: --tle-check-triton-types
// HELP-DAG: --tle-split-dot-warps
// HELP-DAG: --tle-wgmma-operand-reuse
// HELP-DAG: --tle-insert-wgmma-fences
// HELP-DAG: --tle-lower-to-triton
%0 = "test.src"() : () -> !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = }>, #ttg.shared_memory>
