//===- TritonIR.h - What TLE passes know about Triton's (unregistered) ops -===//
//
// Triton's dialects are not registered in TLE's tools, so ops are recognized by name and their
// operands by position (Triton 3.6's generic form). Every such fact lives here.
//
//===----------------------------------------------------------------------===//
#ifndef TLE_PASSES_TRITONIR_H
#define TLE_PASSES_TRITONIR_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace tle::tritonir {

// Op names (Triton 3.6).
inline constexpr llvm::StringLiteral kWarpGroupDot = "ttng.warp_group_dot";
inline constexpr llvm::StringLiteral kWarpGroupDotWait = "ttng.warp_group_dot_wait";
inline constexpr llvm::StringLiteral kFenceAsyncShared = "ttng.fence_async_shared";
inline constexpr llvm::StringLiteral kLocalAlloc = "ttg.local_alloc";
inline constexpr llvm::StringLiteral kLocalLoad = "ttg.local_load";
inline constexpr llvm::StringLiteral kLocalStore = "ttg.local_store";
inline constexpr llvm::StringLiteral kAsyncCopyGlobalToLocal = "ttg.async_copy_global_to_local";
inline constexpr llvm::StringLiteral kMemDescIndex = "ttg.memdesc_index";
inline constexpr llvm::StringLiteral kMemDescTrans = "ttg.memdesc_trans";
inline constexpr llvm::StringLiteral kMemDescSubslice = "ttg.memdesc_subslice";
inline constexpr llvm::StringLiteral kMemDescReinterpret = "ttg.memdesc_reinterpret";
inline constexpr llvm::StringLiteral kMemDescReshape = "ttg.memdesc_reshape";
inline constexpr llvm::StringLiteral kTrans = "tt.trans";
inline constexpr llvm::StringLiteral kScfFor = "scf.for";
inline constexpr llvm::StringLiteral kScfIf = "scf.if";
inline constexpr llvm::StringLiteral kScfWhile = "scf.while";
inline constexpr llvm::StringLiteral kNumWarpsAttr = "ttg.num-warps";

bool isOp(mlir::Operation *op, llvm::StringRef name);

/// An attribute of a Triton op. Unregistered ops keep inherent attributes (`<{...}>`) in a
/// properties dictionary that Operation::getAttr does not search; this looks there first.
mlir::Attribute getAttr(mlir::Operation *op, llvm::StringRef name);
template <typename T> T getAttrOfType(mlir::Operation *op, llvm::StringRef name) {
  return llvm::dyn_cast_or_null<T>(getAttr(op, name));
}
/// An integer attribute's value; nullopt when absent, not an integer, or wider than 64 bits
/// (IntegerAttr::getInt asserts on those).
std::optional<int64_t> getIntAttr(mlir::Operation *op, llvm::StringRef name);

/// Checks that every operand under `root` is defined before its use. Triton's regions are SSA
/// regions, but with its dialects unregistered MLIR treats them as graph regions and accepts a use
/// before its definition; passes that reorder or merge ops rely on the order. Emits an error at
/// the first offending op.
mlir::LogicalResult verifySSAOrder(mlir::Operation *root);

/// Ops whose result is a view of operand 0's shared memory (no data moved).
bool isMemDescView(mlir::Operation *op);

/// The allocation a memdesc value views: the `ttg.local_alloc` result (or block argument)
/// reached through view ops.
mlir::Value getRootBuffer(mlir::Value memdesc);

/// The shared buffer (a memdesc value) written through the generic proxy by `op`, if any:
/// `local_alloc` from registers, `local_store`, cp.async (`async_copy_global_to_local`).
std::optional<mlir::Value> getGenericSharedWrite(mlir::Operation *op);

/// The buffer written by `op` through any proxy (generic writes above, plus any other op that
/// takes a memdesc operand and is not known to only read it). Conservative, for alias checks.
llvm::SmallVector<mlir::Value> getPossiblyWrittenBuffers(mlir::Operation *op);

/// Whether two root buffers may be the same memory. Distinct allocations never alias; a root
/// that is a block argument may alias anything.
bool mayAlias(mlir::Value rootA, mlir::Value rootB);

/// An async `ttng.warp_group_dot` (isAsync = true) with its accumulator operand.
bool isAsyncWarpGroupDot(mlir::Operation *op);

/// A `ttng.warp_group_dot_wait {pendings = 0}`: every WGMMA issued before it has retired.
bool isFullWgmmaWait(mlir::Operation *op);

/// Loops whose body may run more than once.
bool isLoop(mlir::Operation *op);

/// A shared-memory access `root[index]`: `index` is the slot of one `ttg.memdesc_index` of the
/// root, null when the access covers the whole buffer (or its slot is unknown).
struct SlotAccess {
  mlir::Value root;
  mlir::Value index;
};
SlotAccess getSlotAccess(mlir::Value memdesc);

/// Whether two ring-slot indices differ in every iteration, proven from the IR: both are
/// modulo-N counters of one scf.for (Triton's pipeliner and tle-materialize-pipeline both carry
/// `select(x + 1 >= N, 0, x + 1)` counters) started at constants that differ modulo N.
bool slotsProvablyDistinct(mlir::Value a, mlir::Value b);
/// Whether two ring-slot indices are equal in every iteration (the same value, or counters as
/// above with equal offsets).
bool slotsProvablyEqual(mlir::Value a, mlir::Value b);

// ---- Added for tle-materialize-pipeline (software pipelining before Triton's pipeliner) ----

inline constexpr llvm::StringLiteral kLoad = "tt.load";
inline constexpr llvm::StringLiteral kFunc = "tt.func";
inline constexpr llvm::StringLiteral kScfYield = "scf.yield";
inline constexpr llvm::StringLiteral kArithConstant = "arith.constant";
inline constexpr llvm::StringLiteral kAsyncWait = "ttg.async_wait";
inline constexpr llvm::StringLiteral kAsyncCommitGroup = "ttg.async_commit_group";
inline constexpr llvm::StringLiteral kLocalDealloc = "ttg.local_dealloc";
/// Loop attribute read by Triton 3.6's pipeliner: loops with a value <= 1 are not pipelined.
inline constexpr llvm::StringLiteral kNumStagesAttr = "tt.num_stages";

/// `!tt.ptr<...>`: a scalar global pointer (not a block pointer `!tt.ptr<tensor<...>>`).
bool isPointerType(mlir::Type type);
/// A ranked tensor of `!tt.ptr<...>` elements: the address operand of a gather `tt.load`.
bool isTensorOfPointers(mlir::Type type);
/// `!ttg.async.token`, the value of cp.async ops, commit groups and waits.
mlir::Type getAsyncTokenType(mlir::MLIRContext *ctx);

/// The operands of a `tt.load` (ptr, optional mask, optional other), read through its
/// operandSegmentSizes; nullopt when the op is not a well-formed load.
struct LoadOperands {
  mlir::Value ptr, mask, other;
};
std::optional<LoadOperands> getLoadOperands(mlir::Operation *load);

/// Ops with no memory effects, no side effects and no regions (arith, math, tensor shape and
/// pointer arithmetic, layout conversions): safe to clone, to run ahead of time and to erase.
bool isPureOp(mlir::Operation *op);

/// Whether `op` or anything nested in it may write global memory (stores, atomics, TMA stores,
/// calls, unknown ops). Conservative: only ops known not to write global memory answer false.
bool mayWriteGlobalMemory(mlir::Operation *op);

} // namespace tle::tritonir

#endif // TLE_PASSES_TRITONIR_H
