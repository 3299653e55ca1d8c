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

struct LowerToTritonPass : public tle::impl::TLELowerToTritonBase<LowerToTritonPass> {
  void runOnOperation() override {
    getOperation().walk([&](Operation *op) {
      OpBuilder b(op);
      if (auto view = dyn_cast<MemDescWgmmaViewOp>(op)) {
        Value replacement = view.getSrc();
        if (!isIdentity(view.getOrder())) {
          // `ttg.memdesc_trans` infers the same shape and flipped-transpose NVMMA encoding
          // that the view's verifier enforces.
          OperationState state(view.getLoc(), kMemDescTrans);
          state.addOperands(view.getSrc());
          state.addTypes(view.getType());
          // Inherent attributes go into properties, as Triton prints them (`<{order = ...}>`).
          state.propertiesAttr = b.getDictionaryAttr(
              b.getNamedAttr("order", b.getDenseI32ArrayAttr(view.getOrder())));
          replacement = b.create(state)->getResult(0);
        }
        view.getResult().replaceAllUsesWith(replacement);
        view.erase();
        return;
      }
      if (auto fence = dyn_cast<WgmmaSharedOperandFenceOp>(op)) {
        OperationState state(fence.getLoc(), kFenceAsyncShared);
        state.propertiesAttr =
            b.getDictionaryAttr(b.getNamedAttr("bCluster", b.getBoolAttr(fence.getBCluster())));
        b.create(state);
        fence.erase();
      }
    });
  }
};

} // namespace
