// REQUIRES: tle-native
// Real pre-pipeliner TTGIR captured from Triton 3.6 (python test/python/test_pipeline_hint.py --capture).
// RUN: %tle-opt %inputs/sparse_mla_prepipeline.ttgir.mlir --tle-materialize-pipeline | FileCheck %s --check-prefix=SMLA
// RUN: %tle-opt %inputs/sparse_mla_prepipeline.ttgir.mlir --tle-materialize-pipeline=stages=3 -o /dev/null 2>&1 | FileCheck %s --check-prefix=CLAMP
// RUN: %tle-opt %inputs/sparse_mla_prepipeline.ttgir.mlir --tle-materialize-pipeline=smem-budget=200000 -o /dev/null 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: %tle-opt %inputs/sparse_mla_prepipeline.ttgir.mlir --tle-materialize-pipeline | %tle-opt --tle-materialize-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=AGAIN
// RUN: %tle-opt %inputs/matmul_prepipeline.ttgir.mlir --tle-materialize-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=DENSE
// RUN: %tle-opt %inputs/matmul_prepipeline.ttgir.mlir --tle-materialize-pipeline="gather-only=false stages=3" | FileCheck %s --check-prefix=MM

// Sparse MLA (d_qk = 576 = 512 + 64, BK = 64, dynamic topk): two gathered tiles through the same
// loaded indices, a 2-slot ring each (Q's 73.7 KB + 2 x 73.7 KB fit 227 KB).
// SMLA: %[[NOPE:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<2x64x512xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
// SMLA-NEXT: %[[ROPE:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<2x64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
// SMLA: %[[CN:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{cache = 1 : i32, contiguity = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 1, 1>}> : (tensor<64x512x!tt.ptr<bf16>
// SMLA: %[[CR:.*]] = "ttg.async_copy_global_to_local"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {{.*}}(tensor<64x64x!tt.ptr<bf16>
// SMLA-NEXT: %[[G0:.*]] = "ttg.async_commit_group"(%[[CN]], %[[CR]])
// SMLA: "scf.for"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[G0]], %{{.*}}, %{{.*}}) ({
// SMLA-NEXT: ^bb0(%{{.*}}: i32, %{{.*}}, %{{.*}}, %{{.*}}: tensor<64x512xf32, {{.*}}, %[[TOK:.*]]: !ttg.async.token, %[[CONS:.*]]: i32, %[[ISSUE:.*]]: i32):
// SMLA: "ttg.async_wait"(%[[TOK]]) <{num = 0 : i32}>
// SMLA-NEXT: "ttng.fence_async_shared"
// SMLA-NEXT: %[[SN:.*]] = "ttg.memdesc_index"(%[[NOPE]], %[[CONS]])
// SMLA-NEXT: %[[KT:.*]] = "ttg.memdesc_trans"(%[[SN]]) {{.*}} -> !ttg.memdesc<512x64xbf16, {{.*}}transposed = true{{.*}}, mutable>
// SMLA-NEXT: %[[QK1:.*]] = "ttng.warp_group_dot"(%{{.*}}, %[[KT]], %{{.*}})
// SMLA-NEXT: %[[SR:.*]] = "ttg.memdesc_index"(%[[ROPE]], %[[CONS]])
// SMLA-NEXT: %[[RT:.*]] = "ttg.memdesc_trans"(%[[SR]])
// SMLA-NEXT: "ttng.warp_group_dot"(%{{.*}}, %[[RT]], %[[QK1]])
// SMLA-NEXT: "ttng.warp_group_dot_wait"(%{{.*}}) <{pendings = 1 : i32}>
// SMLA: "ttg.memdesc_index"(%[[NOPE]], %[[ISSUE]])
// SMLA: %[[N1:.*]] = "ttg.async_copy_global_to_local"
// SMLA: "ttg.memdesc_index"(%[[ROPE]], %[[ISSUE]])
// SMLA: %[[R1:.*]] = "ttg.async_copy_global_to_local"
// SMLA-NEXT: %[[G1:.*]] = "ttg.async_commit_group"(%[[N1]], %[[R1]])
// PV reads the same nope slot.
// SMLA: "ttng.warp_group_dot"(%{{.*}}, %[[SN]], %{{.*}}) {{.*}} -> tensor<64x512xf32
// SMLA: "scf.yield"(%{{.*}}, %{{.*}}, %{{.*}}, %[[G1]], %{{.*}}, %{{.*}})
// SMLA-NEXT: }) {tle.materialized_stages = 2 : i32, tt.num_stages = 1 : i32}
// SMLA-NEXT: "ttg.async_wait"() <{num = 0 : i32}>
// SMLA-NEXT: "ttg.local_dealloc"(%[[NOPE]])
// SMLA-NEXT: "ttg.local_dealloc"(%[[ROPE]])
// The register gathers are gone: only Q is still loaded into a tensor of 64x512 bf16.
// SMLA-NOT: "tt.load"({{.*}} -> tensor<64x512xbf16

// stages=3 would need Q + 3 x 73.7 KB = 295 KB: clamped to 2 with a remark.
// CLAMP: remark: tle-materialize-pipeline: stages clamped from 3 to 2: 3 x 73728 ring bytes + 73728 other bytes exceed the shared-memory budget of 232448
// CLAMP: remark: tle-materialize-pipeline: pipelined with 2 stages; 2 tile(s) (gather 65536 B, gather 8192 B), ring 147456 B + other shared memory 73728 B of 232448 B; 31 address op(s) run ahead, 0 carried

// BUDGET: remark: tle-materialize-pipeline: loop left alone: shared memory: 2 slots of 73728 bytes + 73728 bytes of other allocations exceed the budget of 200000 bytes

// The result is left alone by a second run (and by Triton's pipeliner: tt.num_stages = 1).
// AGAIN: remark: tle-materialize-pipeline: loop left alone: tt.num_stages <= 1

// The dense matmul is Triton's pipeliner's job by default.
// DENSE: remark: tle-materialize-pipeline: loop left alone: no indirect gather among the tiles

// With gather-only=false: 3-slot rings, and the loop-carried A/B pointers get run-ahead copies
// (advanced twice in the prologue) that replace the original iter_args.
// MM: %[[RA:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<3x128x64xbf16
// MM-NEXT: %[[RB:.*]] = "ttg.local_alloc"() : () -> !ttg.memdesc<3x64x128xbf16
// MM: %[[A1:.*]] = "tt.addptr"(%[[A0:.*]], %[[DA:.*]]) : (tensor<128x64x!tt.ptr<bf16>
// MM-NEXT: %[[B1:.*]] = "tt.addptr"(%[[B0:.*]], %[[DB:.*]]) : (tensor<64x128x!tt.ptr<bf16>
// MM: "ttg.async_copy_global_to_local"(%[[A0]],
// MM: "ttg.async_copy_global_to_local"(%[[B0]],
// MM: %[[A2:.*]] = "tt.addptr"(%[[A1]], %[[DA]])
// MM-NEXT: %[[B2:.*]] = "tt.addptr"(%[[B1]], %[[DB]])
// MM: "ttg.async_copy_global_to_local"(%[[A1]],
// MM: "ttg.async_copy_global_to_local"(%[[B1]],
// MM: %{{.*}}:7 = "scf.for"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[A2]], %[[B2]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) ({
// MM-NEXT: ^bb0(%{{.*}}: i32, %{{.*}}: tensor<128x128xf32{{.*}}, %[[PA:.*]]: tensor<128x64x!tt.ptr<bf16>{{.*}}, %[[PB:.*]]: tensor<64x128x!tt.ptr<bf16>{{.*}}, %[[T0:.*]]: !ttg.async.token, %[[T1:.*]]: !ttg.async.token, %{{.*}}: i32, %{{.*}}: i32):
// MM: "ttg.async_wait"(%[[T0]]) <{num = 1 : i32}>
// MM: "ttng.warp_group_dot_wait"(%{{.*}}) <{pendings = 1 : i32}>
// MM: %[[NA:.*]] = "tt.addptr"(%[[PA]], %[[DA]])
// MM-NEXT: %[[NB:.*]] = "tt.addptr"(%[[PB]], %[[DB]])
// MM: "ttg.async_copy_global_to_local"(%[[PA]],
// MM: "ttg.async_copy_global_to_local"(%[[PB]],
// MM: %[[G:.*]] = "ttg.async_commit_group"
// MM: "scf.yield"(%{{.*}}, %[[NA]], %[[NB]], %[[T1]], %[[G]], %{{.*}}, %{{.*}})
// MM-NEXT: }) {tle.materialized_stages = 3 : i32, tt.num_stages = 1 : i32}
