//===- HoistWgmmaAccumulators.cpp - Accumulators built before the stage ---===//
//
// An async WGMMA stage runs from the first async WGMMA after a wait to the next wait. If a
// non-WGMMA op inside the stage defines the accumulator of a later WGMMA of the stage, ptxas
// serializes the WGMMAs (it injects a warpgroup.wait). Building that accumulator before the
// stage's first WGMMA keeps the stage WGMMA-only.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/TritonIR.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/SetVector.h"

namespace tle {
#define GEN_PASS_DEF_TLEHOISTWGMMAACCUMULATORS
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;

namespace {

/// Moves the pure ops computing `acc` that lie after `stageStart` in front of it. Returns the op
/// that prevents it (IR untouched): one that is not pure, or that the stage itself defines (e.g.
/// a WGMMA result); null when done.
static Operation *hoistBefore(Value acc, Operation *stageStart) {
  Block *block = stageStart->getBlock();
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> worklist{acc};
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || slice.contains(def))
      continue;
    Operation *inBlock = block->findAncestorOpInBlock(*def);
    if (!inBlock || inBlock->isBeforeInBlock(stageStart))
      continue; // already available before the stage (or defined outside the block)
    if (inBlock != def || !isPureOp(def))
      return inBlock; // e.g. the stage's first WGMMA itself, or an op with side effects

    slice.insert(def);
    worklist.append(def->getOperands().begin(), def->getOperands().end());
  }
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  for (Operation *op : ordered)
    op->moveBefore(stageStart);
  return nullptr;
}

struct HoistWgmmaAccumulatorsPass
    : public TLEPass<HoistWgmmaAccumulatorsPass, tle::impl::TLEHoistWgmmaAccumulatorsBase> {
  void execute() {
    getOperation().walk([&](Block *block) { hoistInBlock(*block); });
  }

  void hoistInBlock(Block &block) {
    Operation *stageStart = nullptr; // first async WGMMA since the last wait
    for (Operation &op : llvm::make_early_inc_range(block)) {
      // Any wait (also a malformed one) ends the stage: the accumulator is then built after it.
      if (isOp(&op, kWarpGroupDotWait)) {
        stageStart = nullptr;
        continue;
      }
      auto dot = WarpGroupDot::bind(&op);
      if (!dot || !dot.isAsync())
        continue;
      if (!stageStart) {
        stageStart = &op;
        continue;
      }
      Value acc = dot.acc();
      Operation *def = acc.getDefiningOp();
      if (!def || isOp(def, kWarpGroupDot) || def->getBlock() != &block ||
          def->isBeforeInBlock(stageStart))
        continue; // chained onto a WGMMA, or built before the stage: nothing to do
      if (Operation *blocker = hoistBefore(acc, stageStart))
        (void)refuse(&op, "the accumulator of this WGMMA is computed while earlier WGMMAs are "
                          "in flight and cannot move before them: it needs the result of `" +
                              blocker->getName().getStringRef() +
                              "`, which cannot move ahead of the stage (only side-effect-free "
                              "ops of this block can); ptxas may serialize this WGMMA stage");
    }
  }
};

} // namespace
