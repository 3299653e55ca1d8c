//===- SharedMemory.h - Alias and ring-slot reasoning over shared buffers --===//
//
// What TLE's passes prove about shared memory: which allocation a memdesc views, which buffers
// an op writes or reads, whether two buffers may be the same memory, and whether two slots of
// one ring differ. Built on the op views of passes/TritonIR.h.
//
//===----------------------------------------------------------------------===//
#ifndef TLE_PASSES_SHAREDMEMORY_H
#define TLE_PASSES_SHAREDMEMORY_H

#include "mlir/IR/Block.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace tle::tritonir {

/// The allocation a memdesc value views: the `ttg.local_alloc` result (or block argument)
/// reached through view ops.
mlir::Value getRootBuffer(mlir::Value memdesc);

/// A shared-memory access `root[index]`: `index` is the slot of one `ttg.memdesc_index` of the
/// root, null when the access covers the whole buffer (or its slot is unknown). `wholeSlot`: the
/// access is the slot itself, not a part of it (the memdesc is the memdesc_index result).
struct SlotAccess {
  mlir::Value root;
  mlir::Value index;
  bool wholeSlot = false;
};
SlotAccess getSlotAccess(mlir::Value memdesc);

/// The shared buffer (a memdesc value) written through the generic proxy by `op`, if any:
/// `local_alloc` from registers, `local_store`, cp.async (`async_copy_global_to_local`).
std::optional<mlir::Value> getGenericSharedWrite(mlir::Operation *op);

/// The buffer written by `op` through any proxy (generic writes above, plus any other op that
/// takes a memdesc operand and is not known to only read it). Conservative, for alias checks.
llvm::SmallVector<mlir::Value> getPossiblyWrittenBuffers(mlir::Operation *op);

/// The shared buffers `op` itself reads: a WGMMA's shared operands, a local_load's source.
llvm::SmallVector<mlir::Value, 2> getSharedReads(mlir::Operation *op);

/// Whether two root buffers may be the same memory. Distinct allocations never alias; a root
/// that is a block argument may alias anything.
bool mayAlias(mlir::Value rootA, mlir::Value rootB);

/// Whether two ring-slot indices differ in every iteration, proven from the IR: both are
/// modulo-N counters of one scf.for (Triton's pipeliner and tle-materialize-pipeline both carry
/// `select(x + 1 >= N, 0, x + 1)` counters) started at constants that differ modulo N.
bool slotsProvablyDistinct(mlir::Value a, mlir::Value b);
/// Whether two ring-slot indices are equal in every iteration (the same value, or counters as
/// above with equal offsets).
bool slotsProvablyEqual(mlir::Value a, mlir::Value b);

/// Whether `op` (with everything nested in it) cannot complete an outstanding cp.async: only
/// `ttg.async_wait` can, or a barrier wait on mbarrier-tracked copies, or anything unknown.
bool cannotCompleteCopies(mlir::Operation *op);

/// Slot facts that a race-free schedule implies, learnt per block, on top of the counters.
/// Within one execution of a block its SSA slot indices are fixed values, so a fact learnt there
/// holds wherever that block executes:
/// - an async WGMMA after the block's last full wait reads root[x] and a later cp.async in the
///   block writes the whole slot root[y]: the WGMMA may still be reading while the copy lands,
///   so x != y (the schedule Triton's pipeliner emits);
/// - a cp.async writes the whole slot root[y] and root[x] is read later in the block before
///   anything could complete the copy: the read cannot see the data still landing, so x != y
///   (the schedule tle-issue-copies-early leaves; knowing it keeps tle-pipeline idempotent).
/// Slots the counters prove equal give no fact: that schedule has a race, and TLE stays
/// conservative about it.
class ScheduleFacts {
public:
  void learn(mlir::Block &block);
  /// Whether slots `a` and `b` differ at `at`: proven by the counters, or by a fact of a block
  /// that contains `at`.
  bool provablyDistinct(mlir::Value a, mlir::Value b, mlir::Operation *at) const;

private:
  void record(mlir::Value a, mlir::Value b, mlir::Block *block);
  llvm::DenseMap<std::pair<mlir::Value, mlir::Value>, llvm::SmallVector<mlir::Block *, 1>> facts;
};

} // namespace tle::tritonir

#endif // TLE_PASSES_SHAREDMEMORY_H
