// Real TTGIR captured from Triton 3.6 kernels (test/lit/Inputs, see tools/capture_ttgir.py).
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-pipeline | FileCheck %s --check-prefix=SMLA
// RUN: %tle-opt %inputs/matmul.ttgir.mlir --tle-pipeline | FileCheck %s --check-prefix=MM
// RUN: %tle-opt %inputs/flash_attention_fwd.ttgir.mlir --tle-pipeline | FileCheck %s --check-prefix=FA
// RUN: %tle-opt %inputs/sparse_mla_plain.ttgir.mlir --tle-split-dot-warps --tle-insert-wgmma-fences | FileCheck %s --check-prefix=NAMED
// REQUIRES: tle-native

// Sparse MLA (64 heads x BK 64, 8 warps): the QK^T layout loses its duplicated warpgroup; the PV
// layout was already split. cp.async-filled K/V rings get one fence before the first WGMMA of the
// loop (it orders both rings); Q's hoisted stock fence stays.
// SMLA-NOT: warpsPerCTA = [8, 1], instrShape = [16, 32, 16]
// SMLA: "ttng.fence_async_shared"() <{bCluster = false}>
// SMLA-NEXT: "scf.for"
// SMLA: "ttg.async_wait"
// SMLA: "ttng.fence_async_shared"() <{bCluster = false}>
// SMLA-NEXT: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [4, 2], instrShape = [16, 32, 16]
// SMLA-NOT: "ttng.fence_async_shared"
// SMLA: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [4, 2], instrShape = [16, 32, 16]
// SMLA-NOT: "ttng.fence_async_shared"
// SMLA: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [4, 2], instrShape = [16, 256, 16]
// SMLA-NOT: tle.
// NAMED: "scf.for"
// NAMED: tle.wgmma_shared_operand_fence %{{.*}}, %{{.*}} :

// Matmul (128-row tiles use every warp): layouts untouched; its cp.async ring gets one fence in
// the loop before the WGMMA.
// MM: warpsPerCTA = [8, 1], instrShape = [16, 128, 16]
// MM: "scf.for"
// MM: "ttg.async_wait"
// MM: "ttng.fence_async_shared"() <{bCluster = false}>
// MM-NEXT: "ttng.warp_group_dot"

// Flash attention forward (BLOCK_M 128, 8 warps): no duplicated work, layouts untouched.
// FA-NOT: warpsPerCTA = [4, 2]
// FA: "ttng.warp_group_dot"
