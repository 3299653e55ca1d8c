//===- TritonIR.cpp - Triton op facts used by TLE passes ------------------===//
#include "passes/TritonIR.h"

#include "model/TritonTypes.h"
#include "mlir/IR/Block.h"

using namespace mlir;

namespace tle::tritonir {

bool isOp(Operation *op, llvm::StringRef name) {
  return op && op->getName().getStringRef() == name;
}

bool isMemDescView(Operation *op) {
  if (!op || op->getNumOperands() == 0 || op->getNumResults() != 1)
    return false;
  llvm::StringRef n = op->getName().getStringRef();
  return n == kMemDescIndex || n == kMemDescTrans || n == kMemDescSubslice ||
         n == kMemDescReinterpret || n == kMemDescReshape || n == "tle.memdesc_wgmma_view";
}

Value getRootBuffer(Value memdesc) {
  Value v = memdesc;
  while (Operation *def = v.getDefiningOp()) {
    if (!isMemDescView(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

std::optional<Value> getGenericSharedWrite(Operation *op) {
  if (isOp(op, kLocalAlloc) && op->getNumOperands() >= 1 && op->getNumResults() == 1)
    return op->getResult(0);
  if ((isOp(op, kLocalStore) || isOp(op, kAsyncCopyGlobalToLocal)) && op->getNumOperands() >= 2)
    return op->getOperand(1);
  return std::nullopt;
}

llvm::SmallVector<Value> getPossiblyWrittenBuffers(Operation *op) {
  llvm::SmallVector<Value> written;
  if (auto w = getGenericSharedWrite(op)) {
    written.push_back(*w);
    return written;
  }
  llvm::StringRef n = op->getName().getStringRef();
  // Ops known to only read (or merely view, free, or fence) their memdesc operands.
  if (isMemDescView(op) || n == kLocalLoad || n == kWarpGroupDot || n == kWarpGroupDotWait ||
      n == kFenceAsyncShared || n == "ttg.local_dealloc" || n == "tle.wgmma_shared_operand_fence" ||
      n == "scf.yield" || n == kScfFor || n == kScfIf || n == kScfWhile || n == "ttg.async_wait" ||
      n == "ttg.async_commit_group")
    return written;
  for (Value operand : op->getOperands())
    if (triton::isMemDesc(operand.getType()))
      written.push_back(operand);
  return written;
}

bool mayAlias(Value rootA, Value rootB) {
  if (rootA == rootB)
    return true;
  return isa<BlockArgument>(rootA) || isa<BlockArgument>(rootB);
}

bool isLoop(Operation *op) { return isOp(op, kScfFor) || isOp(op, kScfWhile); }

} // namespace tle::tritonir
