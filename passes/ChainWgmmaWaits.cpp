//===- ChainWgmmaWaits.cpp - Merge the drain between chained WGMMAs -------===//
//
//   %a  = warp_group_dot %x, %y, %acc {isAsync}       // D1
//   %w1 = warp_group_dot_wait %a, ... {pendings = 0}  // W1 (drains D1 and older WGMMAs)
//   %b  = warp_group_dot %u, %v, %w1#0 {isAsync}      // D2 accumulates onto D1
//   %w2 = warp_group_dot_wait %b, ... {pendings = 0}  // W2
// becomes D1 -> D2 (taking %a) -> one wait retiring what W1 and W2 retired. The tensor cores then
// run D1 and D2 back to back instead of idling for a drain in between.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/TritonIR.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseSet.h"

namespace tle {
#define GEN_PASS_DEF_TLECHAINWGMMAWAITS
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;

namespace {

#ifdef __TLE__

/// Merges `w1` into the wait after the WGMMA it feeds and returns the merged wait; an empty
/// view (IR untouched) to refuse. `erasedW2` is the second wait, erased by the merge.
static WarpGroupDotWait chain(WarpGroupDotWait w1, Operation *&erasedW2) {
  Block *block = w1->getBlock();
  // The async WGMMA whose result w1 drains, and the one that accumulates onto it.
  for (unsigned k = 0; k < w1.size(); ++k) {
    auto d1 = WarpGroupDot::bind(w1.input(k));
    if (!d1 || !d1.isAsync() || d1->getBlock() != block)
      continue;
    Value drained = w1.output(k);
    if (!drained.hasOneUse())
      continue;
    OpOperand &use = *drained.getUses().begin();
    auto d2 = WarpGroupDot::bind(use.getOwner());
    if (!d2 || !d2.isAsync() || use.getOperandNumber() != WarpGroupDot::kAccOperand ||
        d2->getBlock() != block || d2.result().getType() != d1.result().getType())
      continue; // only same-shape accumulator chaining is ordered by the hardware
    WarpGroupDotWait w2;
    for (Operation *op = d2->getNextNode(); op && !w2; op = op->getNextNode())
      if (auto wait = WarpGroupDotWait::bind(op);
          wait && wait.retiresAll() && llvm::is_contained(op->getOperands(), d2.result()))
        w2 = wait;
    if (!w2)
      continue;
    // Between the waits only D2, views and side-effect-free arithmetic may run (D1 is now in
    // flight there), and none of w1's other results may be needed before w2.
    bool safe = true;
    for (Operation *op = w1->getNextNode(); op != w2.getOperation(); op = op->getNextNode()) {
      if (op != d2.getOperation() && !isMemDescView(op) && !isPureOp(op))
        safe = false;
    }
    for (unsigned j = 0; j < w1.size() && safe; ++j) {
      if (j == k)
        continue;
      for (Operation *user : w1.output(j).getUsers()) {
        Operation *anchor = block->findAncestorOpInBlock(*user);
        if (!anchor || !w2->isBeforeInBlock(anchor))
          safe = false;
      }
    }
    if (!safe)
      return {};

    // One wait retiring everything both retired.
    OpBuilder b(w2.getOperation());
    SmallVector<Value> operands(w2->getOperands());
    SmallVector<unsigned> w1Slots; // w1 result j -> index in the merged wait
    for (unsigned j = 0; j < w1.size(); ++j) {
      if (j == k) {
        w1Slots.push_back(~0u);
        continue;
      }
      w1Slots.push_back(operands.size());
      operands.push_back(w1.input(j));
    }
    WarpGroupDotWait merged = w2.cloneWithOperands(b, operands);
    for (unsigned i = 0; i < w2.size(); ++i)
      w2.output(i).replaceAllUsesWith(merged.output(i));
    for (unsigned j = 0; j < w1.size(); ++j)
      w1.output(j).replaceAllUsesWith(j == k ? d1.result() : merged.output(w1Slots[j]));
    erasedW2 = w2.getOperation();
    w2->erase();
    w1->erase();
    return merged;
  }
  return {};
}

#endif // __TLE__

struct ChainWgmmaWaitsPass : public tle::impl::TLEChainWgmmaWaitsBase<ChainWgmmaWaitsPass> {
  void runOnOperation() override {
#ifdef __TLE__
    if (failed(verifySSAOrder(getOperation())))
      return signalPassFailure();
    // One pass in program order. A merge erases w1 and the later w2 and creates the merged wait
    // at w2's place, which may itself start the next chain: try it right away.
    SmallVector<Operation *> waits;
    getOperation().walk([&](Operation *op) {
      if (auto wait = WarpGroupDotWait::bind(op); wait && wait.retiresAll())
        waits.push_back(op);
    });
    llvm::DenseSet<Operation *> erased;
    for (Operation *w1 : waits) {
      auto next = erased.contains(w1) ? WarpGroupDotWait() : WarpGroupDotWait::bind(w1);
      while (next) {
        Operation *w2 = nullptr;
        WarpGroupDotWait merged = chain(next, w2);
        if (merged) {
          erased.insert(next.getOperation());
          erased.insert(w2);
        }
        next = merged;
      }
    }
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }
};

} // namespace
