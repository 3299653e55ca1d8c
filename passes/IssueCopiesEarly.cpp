//===- IssueCopiesEarly.cpp - Start a pipelined loop's gathers earlier ---===//
//
// Triton's pipeliner places the copies for iteration i+1 at the end of iteration i. Once the
// WGMMAs of iteration i-1 have retired (the first `warp_group_dot_wait {pendings = 0}` of the
// body), the slot those copies write is free, so they can start there and overlap the softmax and
// the second GEMM instead of only the latter.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/SharedMemory.h"
#include "passes/TritonIR.h"

#include "mlir/IR/BuiltinAttributes.h"
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
      if (auto wait = WarpGroupDotWait::bind(&op); wait && wait.retiresAll()) {
        anchor = &op;
        break;
      }
    if (!anchor)
      return 0;
    facts.learn(body);

    SmallVector<AsyncCopy> copies;
    for (Operation &op : body)
      if (auto copy = AsyncCopy::bind(&op); copy && anchor->isBeforeInBlock(&op))
        copies.push_back(copy);

    unsigned moved = 0;
    Operation *insertAfter = anchor;
    for (AsyncCopy copy : copies) {
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
  /// The ops to move right after `anchor` (slice, the copy, its commit group), in order, or
  /// false to refuse. Everything up to `anchor` already precedes the new position.
  bool planMove(AsyncCopy copy, Operation *anchor, SmallVector<Operation *> &group) {
    // Backward slice of the copy inside (anchor, copy).
    llvm::SetVector<Operation *> slice;
    SmallVector<Value> worklist(copy->getOperands().begin(), copy->getOperands().end());
    while (!worklist.empty()) {
      Operation *def = worklist.pop_back_val().getDefiningOp();
      if (!def || def->getBlock() != &body || !anchor->isBeforeInBlock(def) ||
          slice.contains(def))
        continue;
      if (!isMovable(def))
        return false;
      slice.insert(def);
      worklist.append(def->getOperands().begin(), def->getOperands().end());
    }
    // The commit group that closes this copy, if it directly follows the copy's token.
    Operation *commit = nullptr;
    for (Operation *user : copy.token().getUsers())
      if (isOp(user, kAsyncCommitGroup) && user->getBlock() == &body &&
          user->getNumOperands() == 1)
        commit = user;

    SlotAccess written = getSlotAccess(copy.dst());
    bool hasGlobalLoad = llvm::any_of(slice, [](Operation *op) { return isOp(op, kLoad); });
    for (Operation *op = anchor->getNextNode(); op && op != copy.getOperation();
         op = op->getNextNode()) {
      if (slice.contains(op))
        continue;
      if (hasGlobalLoad && mayWriteGlobalMemory(op))
        return false;
      if (isOp(op, kAsyncCommitGroup) || isOp(op, kAsyncWait))
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
              !(access.root == written.root &&
                facts.provablyDistinct(access.index, written.index, nested)))
            conflict = true;
        }
      });
      if (conflict)
        return false;
    }
    // Keep the slice in program order.
    for (Operation *op = anchor->getNextNode(); op && op != copy.getOperation();
         op = op->getNextNode())
      if (slice.contains(op))
        group.push_back(op);
    group.push_back(copy.getOperation());
    if (commit)
      group.push_back(commit);
    return true;
  }

  Block &body;
  /// What the input schedule proves about the ring slots (see ScheduleFacts).
  ScheduleFacts facts;
};

#endif // __TLE__

struct IssueCopiesEarlyPass : public tle::impl::TLEIssueCopiesEarlyBase<IssueCopiesEarlyPass> {
  void runOnOperation() override {
#ifdef __TLE__
    if (failed(verifySSAOrder(getOperation())))
      return signalPassFailure();
    SmallVector<ForOp> loops;
    getOperation().walk([&](Operation *op) {
      if (auto loop = ForOp::bind(op))
        loops.push_back(loop);
    });
    for (ForOp loop : loops)
      LoopScheduler(*loop.body()).run();
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }
};

} // namespace
