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

/// The op of `block` that contains `op` (op itself when it is directly in the block).
static Operation *ancestorIn(Block *block, Operation *op) {
  return block->findAncestorOpInBlock(*op);
}

/// A wait passes its operands through: result i is operand i, with its type.
static bool isWellFormedWait(Operation *wait) {
  return wait->getNumResults() == wait->getNumOperands() &&
         wait->getResultTypes() == wait->getOperandTypes();
}

/// Merges `w1` into the wait after the WGMMA it feeds and returns the merged wait; null (IR
/// untouched) to refuse.
static Operation *chain(Operation *w1, Operation *&erasedW2) {
  if (!isWellFormedWait(w1))
    return nullptr;
  Block *block = w1->getBlock();
  // The async WGMMA whose result w1 drains, and the one that accumulates onto it.
  for (unsigned k = 0; k < w1->getNumOperands(); ++k) {
    Operation *d1 = w1->getOperand(k).getDefiningOp();
    if (!d1 || !isAsyncWarpGroupDot(d1) || d1->getBlock() != block)
      continue;
    Value drained = w1->getResult(k);
    if (!drained.hasOneUse())
      continue;
    OpOperand &use = *drained.getUses().begin();
    Operation *d2 = use.getOwner();
    if (!isAsyncWarpGroupDot(d2) || use.getOperandNumber() != 2 || d2->getBlock() != block ||
        d2->getResult(0).getType() != d1->getResult(0).getType())
      continue; // only same-shape accumulator chaining is ordered by the hardware
    Operation *w2 = nullptr;
    for (Operation *op = d2->getNextNode(); op; op = op->getNextNode())
      if (isFullWgmmaWait(op) && llvm::is_contained(op->getOperands(), d2->getResult(0))) {
        w2 = op;
        break;
      }
    if (!w2 || !isWellFormedWait(w2))
      continue;
    // Between the waits only D2, views and side-effect-free arithmetic may run (D1 is now in
    // flight there), and none of w1's other results may be needed before w2.
    bool safe = true;
    for (Operation *op = w1->getNextNode(); op != w2; op = op->getNextNode()) {
      if (op != d2 && !isMemDescView(op) && !isPureOp(op))
        safe = false;
    }
    for (unsigned j = 0; j < w1->getNumResults() && safe; ++j) {
      if (j == k)
        continue;
      for (Operation *user : w1->getResult(j).getUsers()) {
        Operation *anchor = ancestorIn(block, user);
        if (!anchor || !w2->isBeforeInBlock(anchor))
          safe = false;
      }
    }
    if (!safe)
      return nullptr;

    // One wait retiring everything both retired.
    OpBuilder b(w2);
    SmallVector<Value> operands(w2->getOperands());
    SmallVector<unsigned> w1Slots; // w1 result j -> index in the merged wait
    for (unsigned j = 0; j < w1->getNumOperands(); ++j) {
      if (j == k) {
        w1Slots.push_back(~0u);
        continue;
      }
      w1Slots.push_back(operands.size());
      operands.push_back(w1->getOperand(j));
    }
    OperationState state(w2->getLoc(), kWarpGroupDotWait);
    state.addOperands(operands);
    for (Value v : operands)
      state.addTypes(v.getType());
    state.propertiesAttr = w2->getPropertiesAsAttribute();
    state.addAttributes(w2->getAttrs());
    Operation *merged = b.create(state);

    for (unsigned i = 0; i < w2->getNumResults(); ++i)
      w2->getResult(i).replaceAllUsesWith(merged->getResult(i));
    for (unsigned j = 0; j < w1->getNumResults(); ++j)
      w1->getResult(j).replaceAllUsesWith(j == k ? d1->getResult(0)
                                                 : merged->getResult(w1Slots[j]));
    erasedW2 = w2;
    w2->erase();
    w1->erase();
    return merged;
  }
  return nullptr;
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
      if (isFullWgmmaWait(op))
        waits.push_back(op);
    });
    llvm::DenseSet<Operation *> erased;
    for (Operation *w1 : waits) {
      Operation *next = erased.contains(w1) ? nullptr : w1;
      while (next) {
        Operation *w2 = nullptr;
        Operation *merged = chain(next, w2);
        if (merged) {
          erased.insert(next);
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
