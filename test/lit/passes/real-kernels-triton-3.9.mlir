// Real TTGIR captured from Triton 3.9.0 kernels (test/lit/Inputs/*.triton-3.9.ttgir.mlir, see
// tools/capture_ttgir.py): TLE's post-TTGIR pipeline does on 3.9's IR what real-kernels.mlir
// checks on 3.6's.
// RUN: %tle-opt %inputs/sparse_mla_plain.triton-3.9.ttgir.mlir --tle-pipeline -o %t.smla
// RUN: FileCheck %s --check-prefix=SMLA < %t.smla
// RUN: FileCheck %s --check-prefix=SMLA-ALL < %t.smla
// RUN: %tle-opt %inputs/matmul.triton-3.9.ttgir.mlir --tle-pipeline | FileCheck %s --check-prefix=MM
// RUN: %tle-opt %inputs/flash_attention_fwd.triton-3.9.ttgir.mlir --tle-pipeline | FileCheck %s --check-prefix=FA
// REQUIRES: tle-native

// Sparse MLA (64 heads x BK 64, 8 warps): both QK^T WGMMAs (K = 512 + 64) lose their duplicated
// warpgroup ([8, 1] -> [4, 2]); the PV layout was already split. Stock 3.9 already fences before
// each WGMMA of the loop (3.6 hoists Q's fence out of it), so TLE's fence pass adds none here.
// The next tile's three cp.async gathers are issued as soon as their ring slot is free: right
// after the first QK^T WGMMA's wait (stock 3.9 issues them after the PV WGMMA). Unlike 3.6, the
// 512 + 64 WGMMA chain keeps its drain in between: tle-chain-wgmma-waits refuses because stock
// 3.9's fence sits between the first wait and the second WGMMA.
// SMLA-ALL-NOT: warpsPerCTA = [8, 1], instrShape = [16, 32, 16]
// SMLA-ALL-NOT: tle.
// SMLA: "scf.for"
// SMLA: "ttg.async_wait"
// SMLA: "ttng.fence_async_shared"() <{bCluster = false}>
// SMLA-NEXT: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [4, 2], instrShape = [16, 32, 16]
// SMLA-NEXT: "ttng.warp_group_dot_wait"
// SMLA-COUNT-3: "ttg.async_copy_global_to_local"
// SMLA: "ttng.fence_async_shared"() <{bCluster = false}>
// SMLA-NEXT: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [4, 2], instrShape = [16, 32, 16]
// SMLA-NOT: "ttg.async_copy_global_to_local"
// SMLA: "ttng.fence_async_shared"() <{bCluster = false}>
// SMLA-NEXT: "ttng.warp_group_dot"{{.*}}warpsPerCTA = [4, 2], instrShape = [16, 256, 16]
// SMLA-NOT: "ttg.async_copy_global_to_local"
// SMLA: "scf.yield"

// Matmul (128-row tiles use every warp): layouts untouched; stock 3.9's fence before the loop's
// WGMMA orders its cp.async ring.
// MM: warpsPerCTA = [8, 1], instrShape = [16, 128, 16]
// MM: "scf.for"
// MM: "ttg.async_wait"
// MM: "ttng.fence_async_shared"() <{bCluster = false}>
// MM-NEXT: "ttng.warp_group_dot"

// Flash attention forward (BLOCK_M 128, 8 warps): no duplicated work, layouts untouched.
// FA-NOT: warpsPerCTA = [4, 2]
// FA: "ttng.warp_group_dot"
