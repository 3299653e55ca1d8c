//===- Passes.td - TLE passes over Triton GPU IR -----------*- tablegen -*-===//
#ifndef TLE_PASSES_TD
#define TLE_PASSES_TD

include "mlir/Pass/PassBase.td"

// All passes anchor on builtin.module: Triton's tt.func is an unregistered op here. Every pass
// derives from TLEPass (passes/PassSupport.h) and reports each refusal as a remark
// "<pass>: <reason>" at the op that blocked the rewrite; the lit tests cover every reason
// (test/lit/passes/<pass>-refusals.mlir, <pass>-malformed.mlir and the pass's own tests).
// Registration.cpp lists the passes once: registration, tle-pipeline and the pass listing.

def TLESplitDotWarps : Pass<"tle-split-dot-warps", "mlir::ModuleOp"> {
  let summary = "give a WGMMA tile's spare warps to N instead of duplicating it (__TLE__)";
  let description = [{
    Stock Triton 3.6 assigns all warps to M (`warpsPerCTA = [num_warps, 1]`) when a dot's result
    feeds another dot. For a tile whose M is smaller than 16 rows per warp (e.g. a 64-row QK^T tile
    with 8 warps), every warpgroup then computes the whole tile. This pass rewrites such an
    `#ttg.nvidia_mma` (version 3) layout to `warpsPerCTA = [M/16, num_warps*16/M]`, splitting N
    between warpgroups, and retypes every value, attribute and nested layout that uses it.
    Refuses (leaves the layout alone) when N cannot be split evenly or in whole WGMMA
    instructions, when the tile has a zero or dynamic size, when another WGMMA of the layout has
    no duplication or needs another split, and for a malformed `#ttg.nvidia_mma`. Compiled only
    under __TLE__.
  }];
}

def TLEWgmmaOperandReuse : Pass<"tle-wgmma-operand-reuse", "mlir::ModuleOp"> {
  let summary = "feed WGMMA operands that already sit in shared memory from their buffer (__TLE__)";
  let description = [{
    Replaces `local_alloc(local_load(buf))` (optionally through `tt.trans`) WGMMA operands by the
    buffer itself or by a `tle.memdesc_wgmma_view` of it, removing the shared -> registers ->
    shared staging copy. Sources may be plain, transposed, ring slots (`ttg.memdesc_index`) or
    subslices, mutable buffers included. Refuses when the buffer may be written between the load
    and the end of the WGMMA's read, when no wait in the block ends that read, when the copy has
    other uses, when the buffer is not an NVMMA-shared tile laid out exactly as the copy, when the
    ops are not in one block, or when an op or type involved is malformed or unreadable.
  }];
  let dependentDialects = ["::tle::TLEDialect"];
}

def TLEHoistWgmmaAccumulators : Pass<"tle-hoist-wgmma-accumulators", "mlir::ModuleOp"> {
  let summary = "build a WGMMA's accumulator before the WGMMAs already in flight (__TLE__)";
  let description = [{
    ptxas serializes WGMMA (warnings C7515/C7517: "non wgmma instructions defining accumulator
    registers ... between start and end of the pipeline stage", "warpgroup.wait is injected") when
    a non-WGMMA instruction defines the accumulator of an async WGMMA while earlier async WGMMAs
    of the same stage are still in flight, e.g. `acc2 = acc2 * s` between two async WGMMAs. The
    pass moves the side-effect-free computation of such an accumulator (with the pure ops it
    needs) in front of the first WGMMA in flight, so the whole stage is WGMMA-only. Refuses, with a
    remark, when the computation depends on a value the in-flight WGMMAs produce or is not pure.
  }];
}

def TLEInsertWgmmaFences : Pass<"tle-insert-wgmma-fences", "mlir::ModuleOp"> {
  let summary = "dependency-aware async-proxy fences before WGMMAs that read generic writes";
  let description = [{
    Tracks, over structured control flow, which shared buffers have generic-proxy writes
    (local_alloc from registers, local_store, cp.async) not yet ordered by a fence. Before each
    WGMMA that reads such a buffer it places `tle.wgmma_shared_operand_fence` naming those
    buffers, hoists it out of loops that write none of them, and removes TLE fences that order
    nothing. A WGMMA read is never left unfenced: a malformed WGMMA is an error. Polynomial in
    the nesting depth; `tle-pipeline` run twice is a no-op (the copies tle-issue-copies-early
    moved ahead of a read are recognized as still landing in another slot).
  }];
  let dependentDialects = ["::tle::TLEDialect"];
}

def TLEChainWgmmaWaits : Pass<"tle-chain-wgmma-waits", "mlir::ModuleOp"> {
  let summary = "let a WGMMA feed the next one's accumulator without draining in between";
  let description = [{
    Triton splits a K=576 product into two chained async WGMMAs (512 + 64) and drains the first
    (`warp_group_dot_wait {pendings = 0}`) before issuing the second. WGMMAs of one shape that
    chain through their accumulator are ordered by the hardware, so the first wait is merged into
    the second one's: the second WGMMA takes the first one's result directly, and every other
    value the first wait retired is retired by the merged wait instead. Refuses when a value the
    first wait retired is used before the second wait, when anything but views and pure arithmetic
    runs between the waits, when the drained result has other uses, when no later full wait
    retires the second WGMMA, and for a malformed wait.
  }];
}

def TLEIssueCopiesEarly : Pass<"tle-issue-copies-early", "mlir::ModuleOp"> {
  let summary = "issue a pipelined loop's cp.async gathers as soon as their ring slot is free";
  let description = [{
    Triton 3.6's pipeliner issues the copies for the next iteration at the end of the loop body,
    after the softmax and the second GEMM, so the gather latency is exposed at the next
    iteration's `async_wait`. In a loop body where a `warp_group_dot_wait {pendings = 0}` retires
    every WGMMA still in flight from the previous iteration, each `async_copy_global_to_local`
    (with the address computation it needs and its commit group) moves up to right after that
    wait, giving the gather the rest of the iteration to land.
    Slot safety: a read of the same ring between the new and the old position is allowed only
    at a slot index the input schedule already proves distinct from the written one (an async
    WGMMA still reading it when the copy was issued). Refuses moves across global-memory writes
    (when the copy's addresses need global loads), across commit groups and waits, across other
    accesses of the ring at slots not proven distinct, for addresses computed by ops it cannot
    move, for malformed copies, and for loops with copies but without such a wait.
  }];
}

def TLELowerToTriton : Pass<"tle-lower-to-triton", "mlir::ModuleOp"> {
  let summary = "lower TLE ops to stock Triton ops (Triton 3.6 cannot lower TLE ops)";
  let description = [{
    `tle.memdesc_wgmma_view` -> `ttg.memdesc_trans` (or the source itself for the identity order);
    `tle.wgmma_shared_operand_fence` -> `ttng.fence_async_shared`.
  }];
}

def TLECheckTritonTypes : Pass<"tle-check-triton-types", "mlir::ModuleOp"> {
  let summary = "reject Triton types and layouts TLE's model cannot read";
  let description = [{
    Every `!ttg.memdesc` and every `#ttg.*` tensor layout must parse with TLE's typed model and
    re-print identically; otherwise the passes after it could misread the IR. Runs first in
    `tle-pipeline`; reports each offending op with an error.
  }];
}

def TLETestTritonModel : Pass<"tle-test-triton-model", "mlir::ModuleOp"> {
  let summary = "test pass: parse every Triton type and layout with TLE's model and re-print it";
  let description = [{
    Annotates each op with `tle.model` describing the Triton memdesc types and layouts of its
    results as the typed model sees them, and reports an error for any spelling the model cannot
    parse or does not re-print identically.
  }];
}

def TLEMaterializePipeline : Pass<"tle-materialize-pipeline", "mlir::ModuleOp"> {
  let summary = "rewrite gather -> WGMMA loops into an explicit cp.async ring pipeline (runs before Triton's pipeliner)";
  let description = [{
    Runs on TTGIR before Triton's pipeliner (`assign_latencies`). A selected `scf.for` whose body
    loads tiles with `tt.load` of pointer tensors into `ttg.local_alloc`s read by
    `ttng.warp_group_dot` becomes: an N-slot ring per tile (`ttg.local_alloc` of NxTILE with the
    tile's shared encoding), a prologue issuing the `ttg.async_copy_global_to_local`s of the first
    N-1 iterations (one commit group per iteration), a steady state that waits for slot i
    (`ttg.async_wait {num = N-2}` on the loop-carried token), fences, consumes the slot, and after
    the first WGMMA chain (plus `ttng.warp_group_dot_wait {pendings = 1}`) issues the predicated
    copies for iteration i+N-1 into the slot freed by iteration i-1, and an epilogue that drains
    (`async_wait {num = 0}`) and deallocates the rings. Address computations are cloned for the
    iteration they serve (register loads in them hoisted to the top of the body); loop-carried
    address recurrences get run-ahead copies. Short static loops (trip count <= stages) are fully
    peeled. Pipelined loops get `tt.num_stages = 1`, so Triton's pipeliner leaves them alone.
    Selection: every loop with at least one indirect gather producer (`gather-only`), in every
    function or in the functions named by `kernels`; a loop's own `tt.num_stages` (from
    `tl.range(..., num_stages=N)`) overrides `stages`. The rings plus every other `local_alloc` of
    the function must fit `smem-budget`: stages are clamped (remark) or the loop is refused.
    Every refusal of a loop that reads shared memory with WGMMA is reported as a remark.
  }];
  let options = [
    Option<"stages", "stages", "unsigned", "2",
           "ring slots (copies in flight + 1) for loops without their own tt.num_stages">,
    Option<"smemBudget", "smem-budget", "int64_t", "232448",
           "shared-memory bytes per CTA the rings and all other allocations must fit (227 KB on sm_90)">,
    Option<"gatherOnly", "gather-only", "bool", "true",
           "only loops with an indirect gather producer (addresses computed from loaded values)">,
    ListOption<"kernels", "kernels", "std::string",
               "only these tt.func names; an entry `name:N` also sets the stages for that kernel">,
    Option<"hoistAddressLoads", "hoist-address-loads", "bool", "true",
           "issue the register loads of the run-ahead address computation (e.g. gather indices) at "
           "the top of the body, hiding their latency at the cost of registers live across the "
           "first WGMMAs">,
  ];
}

#endif // TLE_PASSES_TD
