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

/// Ops a moved slice may contain: pure index/pointer arithmetic, views, and global loads.
static bool isMovable(Operation *op) {
  return isPureOp(op) || isMemDescView(op) || isOp(op, kLoad);
}

static Refusal copyLeft(Operation *at, const Twine &why) {
  return {at, ("copy left in place: " + why).str()};
}

class LoopScheduler {
public:
  explicit LoopScheduler(Block &body) : body(body) {}

  /// Moves every movable copy; returns the refusals (IR untouched for each refused copy).
  SmallVector<Refusal> run() {
    SmallVector<Refusal> refusals;
    SmallVector<AsyncCopy> copies;
    for (Operation &op : body) {
      if (auto copy = AsyncCopy::bind(&op))
        copies.push_back(copy);
      else if (isOp(&op, kAsyncCopyGlobalToLocal))
        refusals.push_back(copyLeft(&op, "malformed ttg.async_copy_global_to_local (expected "
                                         "src, dst[, mask[, other]] and one token)"));
    }
    if (copies.empty())
      return refusals; // nothing to issue early
    Operation *anchor = nullptr; // first wait that retires every WGMMA in flight
    for (Operation &op : body)
      if (auto wait = WarpGroupDotWait::bind(&op); wait && wait.retiresAll()) {
        anchor = &op;
        break;
      }
    if (!anchor) {
      refusals.push_back({body.getParentOp(),
                          "loop left alone: no warp_group_dot_wait {pendings = 0} in its body, "
                          "so no copy's ring slot is known to be free before the end"});
      return refusals;
    }
    facts.learn(body);

    Operation *insertAfter = anchor;
    for (AsyncCopy copy : copies) {
      if (!anchor->isBeforeInBlock(copy.getOperation()))
        continue; // already issued before the wait
      SmallVector<Operation *> group;
      if (std::optional<Refusal> refusal = planMove(copy, insertAfter, group)) {
        refusals.push_back(*refusal);
        continue;
      }
      for (Operation *op : group) {
        op->moveAfter(insertAfter);
        insertAfter = op;
      }
    }
    return refusals;
  }

private:
  /// The ops to move right after `anchor` (slice, the copy, its commit group), in order, or why
  /// not. Everything up to `anchor` already precedes the new position.
  std::optional<Refusal> planMove(AsyncCopy copy, Operation *anchor,
                                  SmallVector<Operation *> &group) {
    // Backward slice of the copy inside (anchor, copy).
    llvm::SetVector<Operation *> slice;
    SmallVector<Value> worklist(copy->getOperands().begin(), copy->getOperands().end());
    while (!worklist.empty()) {
      Operation *def = worklist.pop_back_val().getDefiningOp();
      if (!def || def->getBlock() != &body || !anchor->isBeforeInBlock(def) ||
          slice.contains(def))
        continue;
      if (!isMovable(def))
        return copyLeft(def, "the copy's operands need this `" + def->getName().getStringRef() +
                                 "`, which cannot move (only pure ops, views and global loads "
                                 "can)");
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
        return copyLeft(op, "this op may write global memory, which the global loads of the "
                            "copy's addresses would then read too early");
      if (isOp(op, kAsyncCommitGroup) || isOp(op, kAsyncWait))
        return copyLeft(op, "moving the copy across this op would change which commit group "
                            "later waits count");
      Operation *conflict = nullptr;
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
            conflict = nested;
        }
      });
      if (conflict)
        return copyLeft(conflict, "this op accesses the buffer the copy writes, at a slot not "
                                  "proven distinct from the copy's");
    }
    // Keep the slice in program order.
    for (Operation *op = anchor->getNextNode(); op && op != copy.getOperation();
         op = op->getNextNode())
      if (slice.contains(op))
        group.push_back(op);
    group.push_back(copy.getOperation());
    if (commit)
      group.push_back(commit);
    return std::nullopt;
  }

  Block &body;
  /// What the input schedule proves about the ring slots (see ScheduleFacts).
  ScheduleFacts facts;
};

struct IssueCopiesEarlyPass : public TLEPass<IssueCopiesEarlyPass, tle::impl::TLEIssueCopiesEarlyBase> {
  void execute() {
    SmallVector<ForOp> loops;
    getOperation().walk([&](Operation *op) {
      if (auto loop = ForOp::bind(op))
        loops.push_back(loop);
    });
    for (ForOp loop : loops)
      for (const Refusal &refusal : LoopScheduler(*loop.body()).run())
        (void)refuse(refusal);
  }
};

} // namespace
