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

/// Loops whose body may run more than once.
bool isLoop(mlir::Operation *op);

} // namespace tle::tritonir

#endif // TLE_PASSES_TRITONIR_H
