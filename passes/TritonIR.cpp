//===- TritonIR.cpp - Triton op facts used by TLE passes ------------------===//
#include "passes/TritonIR.h"

#include "model/TritonTypes.h"
#include "mlir/IR/Block.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace tle::tritonir {

bool isOp(Operation *op, llvm::StringRef name) {
  return op && op->getName().getStringRef() == name;
}

Attribute getAttr(Operation *op, llvm::StringRef name) {
  if (auto props = llvm::dyn_cast_or_null<DictionaryAttr>(op->getPropertiesAsAttribute()))
    if (Attribute attr = props.get(name))
      return attr;
  return op->getAttr(name);
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

static bool isFreshAllocation(Value v) { return isOp(v.getDefiningOp(), kLocalAlloc); }

static bool isKernelArgument(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && isOp(arg.getOwner()->getParentOp(), "tt.func");
}

bool mayAlias(Value rootA, Value rootB) {
  if (rootA == rootB)
    return true;
  // A local_alloc is fresh memory: distinct from every other allocation and from anything passed
  // into the kernel. Other roots (loop-carried block arguments) may be any buffer.
  if (isFreshAllocation(rootA) && (isFreshAllocation(rootB) || isKernelArgument(rootB)))
    return false;
  if (isFreshAllocation(rootB) && isKernelArgument(rootA))
    return false;
  return !(isFreshAllocation(rootA) && isFreshAllocation(rootB));
}

bool isLoop(Operation *op) { return isOp(op, kScfFor) || isOp(op, kScfWhile); }

} // namespace tle::tritonir
