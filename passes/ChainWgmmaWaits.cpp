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

/// The outcome of trying to merge one wait: the merged wait (and the second wait it replaced),
/// a refusal, or neither when the wait does not drain a chained WGMMA.
struct ChainResult {
  WarpGroupDotWait merged;
  Operation *erasedW2 = nullptr;
  std::optional<Refusal> refusal;
};

static ChainResult refused(Operation *at, const Twine &why) {
  return {{}, nullptr, Refusal{at, ("wait left alone: " + why).str()}};
}

/// Merges `w1` into the wait after the WGMMA it feeds. IR untouched unless merged.
static ChainResult chain(WarpGroupDotWait w1) {
  Block *block = w1->getBlock();
  // A refusal for one drained WGMMA; another operand of the wait may still chain.
  ChainResult firstRefusal;
  auto keep = [&](ChainResult r) {
    if (!firstRefusal.refusal)
      firstRefusal = std::move(r);
  };
  // The async WGMMA whose result w1 drains, and the one that accumulates onto it.
  for (unsigned k = 0; k < w1.size(); ++k) {
    auto d1 = WarpGroupDot::bind(w1.input(k));
    if (!d1 || !d1.isAsync() || d1->getBlock() != block)
      continue;
    Value drained = w1.output(k);
    WarpGroupDot d2;
    for (OpOperand &use : drained.getUses())
      if (auto dot = WarpGroupDot::bind(use.getOwner());
          dot && dot.isAsync() && use.getOperandNumber() == WarpGroupDot::kAccOperand &&
          dot->getBlock() == block)
        d2 = dot;
    if (!d2)
      continue; // nothing accumulates onto D1 here: not a chain
    if (!drained.hasOneUse()) {
      keep(refused(w1.getOperation(), "the first WGMMA's result it retires is also used "
                                      "besides the second WGMMA's accumulator"));
      continue;
    }
    // Only same-shape chains are ordered by the hardware; the views guarantee it here: D2's
    // result has its accumulator's type, which is W1's operand type, D1's result type.
    WarpGroupDotWait w2;
    for (Operation *op = d2->getNextNode(); op && !w2; op = op->getNextNode())
      if (auto wait = WarpGroupDotWait::bind(op);
          wait && wait.retiresAll() && llvm::is_contained(op->getOperands(), d2.result()))
        w2 = wait;
    if (!w2) {
      keep(refused(d2.getOperation(), "no later warp_group_dot_wait {pendings = 0} in this "
                                      "block retires this second WGMMA"));
      continue;
    }
    // Between the waits only D2, views and side-effect-free arithmetic may run (D1 is now in
    // flight there), and none of w1's other results may be needed before w2.
    for (Operation *op = w1->getNextNode(); op != w2.getOperation(); op = op->getNextNode())
      if (op != d2.getOperation() && !isMemDescView(op) && !isPureOp(op))
        return refused(op, "`" + op->getName().getStringRef() +
                               "` runs between the waits (only the second WGMMA, views and "
                               "pure arithmetic may: the first WGMMA is still in flight there)");
    for (unsigned j = 0; j < w1.size(); ++j) {
      if (j == k)
        continue;
      for (Operation *user : w1.output(j).getUsers()) {
        Operation *anchor = block->findAncestorOpInBlock(*user);
        if (!anchor || !w2->isBeforeInBlock(anchor))
          return refused(user, "this op uses a value the first wait retires before the second "
                               "wait retires it");
      }
    }

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
    Operation *erased = w2.getOperation();
    w2->erase();
    w1->erase();
    return {merged, erased, std::nullopt};
  }
  return firstRefusal;
}

struct ChainWgmmaWaitsPass : public TLEPass<ChainWgmmaWaitsPass, tle::impl::TLEChainWgmmaWaitsBase> {
  void execute() {
    // One pass in program order. A merge erases w1 and the later w2 and creates the merged wait
    // at w2's place, which may itself start the next chain: try it right away.
    SmallVector<Operation *> waits;
    getOperation().walk([&](Operation *op) {
      auto wait = WarpGroupDotWait::bind(op);
      if (wait && wait.retiresAll())
        waits.push_back(op);
      else if (!wait && isOp(op, kWarpGroupDotWait))
        (void)refuse(op, "wait left alone: malformed ttng.warp_group_dot_wait (a wait passes "
                         "its operands through: one result of the same type for each, and an "
                         "integer `pendings`)");
    });
    llvm::DenseSet<Operation *> erased;
    for (Operation *w1 : waits) {
      auto next = erased.contains(w1) ? WarpGroupDotWait() : WarpGroupDotWait::bind(w1);
      while (next) {
        ChainResult result = chain(next);
        if (result.refusal)
          (void)refuse(*result.refusal);
        if (result.merged) {
          erased.insert(next.getOperation());
          erased.insert(result.erasedW2);
        }
        next = result.merged;
      }
    }
  }
};

} // namespace
