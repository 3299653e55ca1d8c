// REQUIRES: tle-native
// Bad options are errors (the pass fails), not silent no-ops.
// RUN: not %tle-opt %s --tle-materialize-pipeline=stages=1 2>&1 | FileCheck %s --check-prefix=STAGES1
// RUN: not %tle-opt %s --tle-materialize-pipeline=stages=17 2>&1 | FileCheck %s --check-prefix=STAGES17
// RUN: not %tle-opt %s --tle-materialize-pipeline=smem-budget=0 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not %tle-opt %s --tle-materialize-pipeline=kernels=k:1 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: not %tle-opt %s --tle-materialize-pipeline=kernels=:3 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: %tle-opt --help | FileCheck %s --check-prefix=HELP
// STAGES1: error: tle-materialize-pipeline: stages must be in [2, 16], got 1
// STAGES17: error: tle-materialize-pipeline: stages must be in [2, 16], got 17
// BUDGET: error: tle-materialize-pipeline: smem-budget must be positive
// KERNEL: error: tle-materialize-pipeline: bad kernels entry
// HELP: --tle-materialize-pipeline
// HELP-DAG: --gather-only
// HELP-DAG: --hoist-address-loads
// HELP-DAG: --kernels
// HELP-DAG: --smem-budget
// HELP-DAG: --stages
module attributes {"ttg.num-warps" = 4 : i32} {
}
