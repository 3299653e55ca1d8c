//===- LowerToTriton.cpp - TLE ops -> stock Triton 3.6 ops ----------------===//
#include "passes/Passes.h"
#include "passes/TritonIR.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace tle {
#define GEN_PASS_DEF_TLELOWERTOTRITON
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;

namespace {

static bool isIdentity(ArrayRef<int32_t> order) {
  for (auto [i, d] : llvm::enumerate(order))
    if ((int32_t)i != d)
      return false;
  return true;
}

struct LowerToTritonPass : public TLEPass<LowerToTritonPass, tle::impl::TLELowerToTritonBase> {
  void execute() {
    getOperation().walk([&](Operation *op) {
      OpBuilder b(op);
      if (auto view = dyn_cast<MemDescWgmmaViewOp>(op)) {
        Value replacement = view.getSrc();
        // `ttg.memdesc_trans` infers the same shape and flipped-transpose NVMMA encoding that
        // the view's verifier enforces (triton::permutedView).
        if (!isIdentity(view.getOrder()))
          replacement =
              buildMemDescTrans(b, view.getLoc(), view.getType(), view.getSrc(), view.getOrder());
        view.getResult().replaceAllUsesWith(replacement);
        view.erase();
        return;
      }
      if (auto fence = dyn_cast<WgmmaSharedOperandFenceOp>(op)) {
        buildFenceAsyncShared(b, fence.getLoc(), fence.getBCluster());
        fence.erase();
      }
    });
  }
};

} // namespace
