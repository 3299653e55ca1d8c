//===- TritonIR.cpp - Triton op facts used by TLE passes ------------------===//
#include "passes/TritonIR.h"

#include "model/TritonTypes.h"
#include "mlir/IR/Block.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dominance.h"

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

std::optional<int64_t> getIntAttr(Operation *op, llvm::StringRef name) {
  auto attr = dyn_cast_or_null<IntegerAttr>(getAttr(op, name));
  if (!attr || !attr.getType().isIntOrIndex())
    return std::nullopt;
  return attr.getValue().trySExtValue();
}

/// Whether `v` is available at `user`: defined in a block enclosing it, before it.
static bool isDefinedBefore(Value v, Operation *user, DominanceInfo &dom) {
  Block *defBlock = v.getParentBlock();
  Operation *def = v.getDefiningOp();
  Operation *anchor = defBlock->getParent()->findAncestorOpInRegion(*user);
  if (!anchor || anchor == def)
    return false; // used outside the region of its definition, or inside its own op
  if (anchor->getBlock() != defBlock)
    return dom.properlyDominates(defBlock, anchor->getBlock());
  return !def || def->isBeforeInBlock(anchor);
}

LogicalResult verifySSAOrder(Operation *root) {
  DominanceInfo dom(root);
  WalkResult result = root->walk([&](Operation *op) {
    for (OpOperand &operand : op->getOpOperands())
      if (!isDefinedBefore(operand.get(), op, dom)) {
        op->emitError() << "operand #" << operand.getOperandNumber() << " of '" << op->getName()
                        << "' is used before its definition (Triton IR is in SSA order)";
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
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

bool isAsyncWarpGroupDot(Operation *op) {
  if (!isOp(op, kWarpGroupDot) || op->getNumOperands() < 3 || op->getNumResults() != 1)
    return false;
  auto isAsync = dyn_cast_or_null<BoolAttr>(getAttr(op, "isAsync"));
  return isAsync && isAsync.getValue();
}

bool isFullWgmmaWait(Operation *op) {
  if (!isOp(op, kWarpGroupDotWait))
    return false;
  return getIntAttr(op, "pendings") == 0;
}

SlotAccess getSlotAccess(Value memdesc) {
  Value v = memdesc;
  Value index;
  while (Operation *def = v.getDefiningOp()) {
    if (!isMemDescView(def))
      break;
    if (isOp(def, kMemDescIndex) && def->getNumOperands() == 2) {
      if (index)
        return {getRootBuffer(memdesc), Value()}; // nested indexing: unknown slot
      index = def->getOperand(1);
    }
    v = def->getOperand(0);
  }
  return {v, index};
}

static std::optional<int64_t> getConstantInt(Value v) {
  Operation *def = v ? v.getDefiningOp() : nullptr;
  if (!isOp(def, "arith.constant") || def->getNumResults() != 1)
    return std::nullopt;
  return getIntAttr(def, "value");
}

/// The modulus N when `next` is `select(x + 1 {==, >=} N, 0, x + 1)`, which maps every x in
/// [-1, N-1) to (x + 1) mod N.
static std::optional<int64_t> nextModulo(Value next, Value x) {
  Operation *select = next.getDefiningOp();
  if (!isOp(select, "arith.select") || select->getNumOperands() != 3 ||
      getConstantInt(select->getOperand(1)) != 0)
    return std::nullopt;
  Value inc = select->getOperand(2);
  Operation *add = inc.getDefiningOp();
  if (!isOp(add, "arith.addi") || add->getNumOperands() != 2 ||
      !((add->getOperand(0) == x && getConstantInt(add->getOperand(1)) == 1) ||
        (add->getOperand(1) == x && getConstantInt(add->getOperand(0)) == 1)))
    return std::nullopt;
  Operation *cmp = select->getOperand(0).getDefiningOp();
  if (!isOp(cmp, "arith.cmpi") || cmp->getNumOperands() != 2)
    return std::nullopt;
  auto predicate = getIntAttr(cmp, "predicate");
  // arith.cmpi predicates: 0 = eq, 5 = sge.
  if (!predicate || (*predicate != 0 && *predicate != 5) || cmp->getOperand(0) != inc)
    return std::nullopt;
  auto n = getConstantInt(cmp->getOperand(1));
  if (!n || *n < 1)
    return std::nullopt;
  return n;
}

namespace {
/// `value == (offset + t) mod modulus` in iteration t of `loop`.
struct ModCounter {
  Operation *loop;
  int64_t offset, modulus;
};
} // namespace

/// An scf.for iter arg updated by a modulo counter step, with its init constant and the value
/// the body yields for it.
static std::optional<ModCounter> counterArg(BlockArgument arg, Value &yielded, int64_t &init) {
  Operation *loop = arg.getOwner()->getParentOp();
  if (!isOp(loop, kScfFor) || arg.getArgNumber() == 0 || !arg.getOwner()->mightHaveTerminator())
    return std::nullopt;
  unsigned k = arg.getArgNumber() - 1; // iter arg k (argument 0 is the induction variable)
  Operation *yield = arg.getOwner()->getTerminator();
  if (!isOp(yield, kScfYield) || 3 + k >= loop->getNumOperands() || k >= yield->getNumOperands())
    return std::nullopt;
  auto c = getConstantInt(loop->getOperand(3 + k));
  if (!c)
    return std::nullopt;
  yielded = yield->getOperand(k);
  init = *c;
  auto n = nextModulo(yielded, arg);
  if (!n)
    return std::nullopt;
  return ModCounter{loop, 0, *n};
}

static std::optional<ModCounter> getModCounter(Value v) {
  Value yielded;
  int64_t init = 0;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto counter = counterArg(arg, yielded, init);
    if (!counter || init < 0 || init >= counter->modulus)
      return std::nullopt;
    counter->offset = init;
    return counter;
  }
  // `next(arg)` where the loop yields exactly this value for `arg`: Triton's pipeliner indexes
  // its ring with the incremented counter.
  Operation *select = v.getDefiningOp();
  if (!isOp(select, "arith.select") || select->getNumOperands() != 3)
    return std::nullopt;
  Operation *add = select->getOperand(2).getDefiningOp();
  if (!isOp(add, "arith.addi") || add->getNumOperands() != 2)
    return std::nullopt;
  for (Value operand : add->getOperands()) {
    auto arg = dyn_cast<BlockArgument>(operand);
    if (!arg)
      continue;
    auto counter = counterArg(arg, yielded, init);
    if (counter && yielded == v && init >= -1 && init < counter->modulus - 1) {
      counter->offset = init + 1;
      return counter;
    }
  }
  return std::nullopt;
}

/// (a - b) mod N when both are modulo-N counters of one loop.
static std::optional<int64_t> counterDifference(Value a, Value b) {
  if (!a || !b)
    return std::nullopt;
  auto ca = getModCounter(a), cb = getModCounter(b);
  if (!ca || !cb || ca->loop != cb->loop || ca->modulus != cb->modulus)
    return std::nullopt;
  return (ca->offset - cb->offset) % ca->modulus;
}

bool slotsProvablyDistinct(Value a, Value b) {
  if (!a || !b || a == b)
    return false;
  auto diff = counterDifference(a, b);
  return diff && *diff != 0;
}

bool slotsProvablyEqual(Value a, Value b) {
  if (a && a == b)
    return true;
  auto diff = counterDifference(a, b);
  return diff && *diff == 0;
}

// ---- Added for tle-materialize-pipeline ----

static bool isTritonPointer(Type type, bool blockPointer) {
  auto opaque = dyn_cast_or_null<OpaqueType>(type);
  if (!opaque || opaque.getDialectNamespace().getValue() != "tt" ||
      !opaque.getTypeData().starts_with("ptr<"))
    return false;
  return opaque.getTypeData().starts_with("ptr<tensor<") == blockPointer;
}

bool isPointerType(Type type) { return isTritonPointer(type, /*blockPointer=*/false); }

bool isTensorOfPointers(Type type) {
  auto tensor = dyn_cast_or_null<RankedTensorType>(type);
  return tensor && isPointerType(tensor.getElementType());
}

Type getAsyncTokenType(MLIRContext *ctx) {
  return OpaqueType::get(StringAttr::get(ctx, "ttg"), "async.token");
}

std::optional<LoadOperands> getLoadOperands(Operation *load) {
  if (!isOp(load, kLoad) || load->getNumResults() != 1)
    return std::nullopt;
  auto segments = getAttrOfType<DenseI32ArrayAttr>(load, "operandSegmentSizes");
  if (!segments || segments.size() != 3 || segments[0] != 1 || segments[1] > 1 ||
      segments[2] > 1 || (segments[2] == 1 && segments[1] != 1) ||
      (int64_t)load->getNumOperands() != segments[0] + segments[1] + segments[2])
    return std::nullopt;
  LoadOperands ops;
  ops.ptr = load->getOperand(0);
  if (segments[1])
    ops.mask = load->getOperand(1);
  if (segments[2])
    ops.other = load->getOperand(2);
  return ops;
}

bool isPureOp(Operation *op) {
  if (!op || op->getNumRegions() != 0)
    return false;
  llvm::StringRef n = op->getName().getStringRef();
  if (n.starts_with("arith.") || n.starts_with("math."))
    return true;
  static const llvm::StringLiteral pure[] = {
      "tt.splat",       "tt.broadcast",   "tt.expand_dims",     "tt.addptr",
      "tt.make_range",  "tt.reshape",     "tt.trans",           "tt.bitcast",
      "tt.int_to_ptr",  "tt.ptr_to_int",  "tt.fp_to_fp",        "tt.join",
      "tt.split",       "tt.cat",         "tt.get_program_id",  "tt.get_num_programs",
      "tt.precise_sqrt", "tt.precise_divf", "tt.mulhiui",       "tt.clampf",
      "tt.unsplat",     "ttg.convert_layout"};
  return llvm::is_contained(pure, n);
}

bool mayWriteGlobalMemory(Operation *op) {
  static const llvm::StringLiteral noGlobalWrites[] = {
      "tt.func",        "tt.return",          "tt.load",           "tt.descriptor_load",
      "tt.reduce",      "tt.reduce.return",   "tt.scan",           "tt.scan.return",
      "tt.dot",         "tt.dot_scaled",      "tt.assert",         "tt.print",
      "scf.for",        "scf.if",             "scf.yield",         "scf.while",
      "scf.condition",  "ttg.local_alloc",    "ttg.local_load",    "ttg.local_store",
      "ttg.local_dealloc", "ttg.async_copy_global_to_local", "ttg.async_commit_group",
      "ttg.async_wait", "ttng.warp_group_dot", "ttng.warp_group_dot_wait",
      "ttng.fence_async_shared"};
  bool writes = false;
  op->walk([&](Operation *nested) {
    llvm::StringRef n = nested->getName().getStringRef();
    if (isPureOp(nested) || isMemDescView(nested) || n.starts_with("tle.") ||
        llvm::is_contained(noGlobalWrites, n))
      return;
    writes = true;
  });
  return writes;
}

} // namespace tle::tritonir
