//===- PassSupport.cpp - Refusals and the checks every TLE pass runs ------===//
#include "passes/PassSupport.h"

#include "passes/Passes.h"
#include "passes/TritonIR.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;

namespace tle {

LogicalResult refuse(Operation *at, llvm::StringRef pass, const llvm::Twine &reason) {
  at->emitRemark() << pass << ": " << reason;
  return failure();
}

LogicalResult checkPassCanRun(Operation *root, llvm::StringRef passArgument) {
  if (isNativeRewritePass(passArgument) && !hasNativeRewrites())
    return root->emitError() << passArgument
                             << " rewrites Triton's own IR and is compiled only under __TLE__ "
                                "(TLE_ENABLE_NATIVE_REWRITES=ON)";
  return tritonir::verifySSAOrder(root);
}

} // namespace tle
