//===- IssueCopiesEarly.cpp - Start a pipelined loop's gathers earlier ---===//
//
// Triton's pipeliner places the copies for iteration i+1 at the end of iteration i. Once the
// WGMMAs of iteration i-1 have retired (the first `warp_group_dot_wait {pendings = 0}` of the
// body), the slot those copies write is free, so they can start there and overlap the softmax and
// the second GEMM instead of only the latter.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/TritonIR.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace tle {
#define GEN_PASS_DEF_TLEISSUECOPIESEARLY
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;

namespace {

#ifdef __TLE__

/// `ttg.async_copy_global_to_local(src, dst, ...)`: the shared buffer it writes, or null when the
/// op lacks the operands.
static Value copyDestination(Operation *copy) {
  return copy->getNumOperands() >= 2 && copy->getNumResults() == 1 ? copy->getOperand(1) : Value();
}

/// Ops a moved slice may contain: pure index/pointer arithmetic, views, and global loads.
static bool isMovable(Operation *op) {
  return isPureOp(op) || isMemDescView(op) || isOp(op, kLoad);
}

class LoopScheduler {
public:
  explicit LoopScheduler(Block &body) : body(body) {}

  /// Moves every movable copy; returns how many moved.
  unsigned run() {
    Operation *anchor = nullptr; // first wait that retires every WGMMA in flight
    for (Operation &op : body)
      if (isFullWgmmaWait(&op)) {
        anchor = &op;
        break;
      }
    if (!anchor)
      return 0;
    learnDistinctSlots();

    SmallVector<Operation *> copies;
    for (Operation &op : body)
      if (isOp(&op, kAsyncCopyGlobalToLocal) && copyDestination(&op) &&
          anchor->isBeforeInBlock(&op))
        copies.push_back(&op);

    unsigned moved = 0;
    Operation *insertAfter = anchor;
    for (Operation *copy : copies) {
      SmallVector<Operation *> group;
      if (!planMove(copy, insertAfter, group))
        continue;
      for (Operation *op : group) {
        op->moveAfter(insertAfter);
        insertAfter = op;
      }
      ++moved;
    }
    return moved;
  }

private:
  /// The input schedule issues each copy (writing root[W]) while the async WGMMAs after the last
  /// full wait still read root[X]: a race-free input implies X != W. Index values are SSA values,
  /// so the fact holds for every ring indexed by them.
  void learnDistinctSlots() {
    Operation *lastFullWait = nullptr;
    for (Operation &op : body)
      if (isOp(&op, kWarpGroupDotWait))
        if (isFullWgmmaWait(&op))
          lastFullWait = &op;
    SmallVector<SlotAccess> inFlight;
    for (Operation &op : body) {
      if (lastFullWait && !lastFullWait->isBeforeInBlock(&op))
        continue;
      if (isAsyncWarpGroupDot(&op)) {
        for (Value operand : op.getOperands().take_front(2))
          if (triton::isMemDesc(operand.getType()))
            inFlight.push_back(getSlotAccess(operand));
        continue;
      }
      // Only a copy issued after the WGMMA overlaps its read in the same iteration, and only a
      // copy of a whole slot conflicts with every part of it.
      Value dst = isOp(&op, kAsyncCopyGlobalToLocal) ? copyDestination(&op) : Value();
      if (!dst || !isOp(dst.getDefiningOp(), kMemDescIndex))
        continue;
      SlotAccess written = getSlotAccess(dst);
      for (SlotAccess read : inFlight)
        if (read.root == written.root && read.index && written.index &&
            read.index != written.index)
          distinct.insert({read.index, written.index});
    }
  }

  bool provablyDistinct(Value a, Value b) const {
    return a && b && (distinct.contains({a, b}) || distinct.contains({b, a}) ||
                      slotsProvablyDistinct(a, b));
  }

  /// The ops to move right after `anchor` (slice, the copy, its commit group), in order, or
  /// false to refuse. Everything up to `anchor` already precedes the new position.
  bool planMove(Operation *copy, Operation *anchor, SmallVector<Operation *> &group) {
    // Backward slice of the copy inside (anchor, copy).
    llvm::SetVector<Operation *> slice;
    SmallVector<Value> worklist(copy->getOperands().begin(), copy->getOperands().end());
    while (!worklist.empty()) {
      Operation *def = worklist.pop_back_val().getDefiningOp();
      if (!def || def->getBlock() != &body || !anchor->isBeforeInBlock(def) ||
          slice.contains(def))
        continue;
      if (!isMovable(def)) {
        return false;
      }
      slice.insert(def);
      worklist.append(def->getOperands().begin(), def->getOperands().end());
    }
    // The commit group that closes this copy, if it directly follows the copy's token.
    Operation *commit = nullptr;
    for (Operation *user : copy->getUsers())
      if (isOp(user, "ttg.async_commit_group") && user->getBlock() == &body &&
          user->getNumOperands() == 1)
        commit = user;

    SlotAccess written = getSlotAccess(copyDestination(copy));
    bool hasGlobalLoad = llvm::any_of(slice, [](Operation *op) { return isOp(op, "tt.load"); });
    for (Operation *op = anchor->getNextNode(); op && op != copy; op = op->getNextNode()) {
      if (slice.contains(op))
        continue;
      if (hasGlobalLoad && mayWriteGlobalMemory(op))
        return false;
      if (isOp(op, "ttg.async_commit_group") || isOp(op, "ttg.async_wait"))
        return false; // keep the order of commit groups that later waits count
      bool conflict = false;
      op->walk([&](Operation *nested) {
        if (isMemDescView(nested))
          return; // views access no memory
        for (Value operand : nested->getOperands()) {
          if (!triton::isMemDesc(operand.getType()))
            continue;
          SlotAccess access = getSlotAccess(operand);
          if (mayAlias(access.root, written.root) &&
              !(access.root == written.root && provablyDistinct(access.index, written.index)))
            conflict = true;
        }
      });
      if (conflict) {
        return false;
      }
    }
    // Keep the slice in program order.
    for (Operation *op = anchor->getNextNode(); op && op != copy; op = op->getNextNode())
      if (slice.contains(op))
        group.push_back(op);
    group.push_back(copy);
    if (commit)
      group.push_back(commit);
    return true;
  }

  Block &body;
  llvm::DenseSet<std::pair<Value, Value>> distinct;
};

#endif // __TLE__

struct IssueCopiesEarlyPass : public tle::impl::TLEIssueCopiesEarlyBase<IssueCopiesEarlyPass> {
  void runOnOperation() override {
#ifdef __TLE__
    if (failed(verifySSAOrder(getOperation())))
      return signalPassFailure();
    SmallVector<Operation *> loops;
    getOperation().walk([&](Operation *op) {
      if (isOp(op, kScfFor) && op->getNumRegions() == 1 && !op->getRegion(0).empty())
        loops.push_back(op);
    });
    for (Operation *loop : loops)
      LoopScheduler(loop->getRegion(0).front()).run();
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }
};

} // namespace
