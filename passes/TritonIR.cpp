//===- TritonIR.cpp - Typed views of Triton's ops --------------------------===//
#include "passes/TritonIR.h"

#include "model/TritonTypes.h"
#include "mlir/IR/Block.h"
#include "mlir/IR/Dominance.h"

using namespace mlir;

namespace tle::tritonir {

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

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

bool getFlag(Operation *op, llvm::StringRef name, bool otherwise) {
  Attribute attr = getAttr(op, name);
  if (!attr)
    return otherwise;
  // A BoolAttr, or a unit attribute (as newer MLIR prints some flags): present means set.
  auto flag = dyn_cast<BoolAttr>(attr);
  return !flag || flag.getValue();
}

DictionaryAttr withProperty(Operation *op, llvm::StringRef name, Attribute value) {
  NamedAttrList list;
  if (auto props = dyn_cast_or_null<DictionaryAttr>(op->getPropertiesAsAttribute()))
    list.append(props.getValue());
  list.set(name, value);
  return list.getDictionary(op->getContext());
}

static std::optional<int64_t> positiveModuleAttr(Operation *module, llvm::StringRef name) {
  auto v = module ? getIntAttr(module, name) : std::nullopt;
  return v && *v > 0 ? v : std::nullopt;
}
std::optional<int64_t> getNumWarps(Operation *module) {
  return positiveModuleAttr(module, kNumWarpsAttr);
}
std::optional<int64_t> getThreadsPerWarp(Operation *module) {
  return positiveModuleAttr(module, kThreadsPerWarpAttr);
}

//===----------------------------------------------------------------------===//
// Builders
//===----------------------------------------------------------------------===//

Operation *createOp(OpBuilder &b, Location loc, llvm::StringRef name, ValueRange operands,
                    TypeRange types, ArrayRef<NamedAttribute> props) {
  OperationState state(loc, name);
  state.addOperands(operands);
  state.addTypes(types);
  if (!props.empty())
    state.propertiesAttr = b.getDictionaryAttr(props);
  return b.create(state);
}

Value buildIntConstant(OpBuilder &b, Location loc, Type type, int64_t value) {
  return createOp(b, loc, kArithConstant, {}, {type},
                  {b.getNamedAttr(kValueProp, b.getIntegerAttr(type, value))})
      ->getResult(0);
}

Value buildBinary(OpBuilder &b, Location loc, llvm::StringRef name, Value lhs, Value rhs) {
  return createOp(b, loc, name, {lhs, rhs}, {lhs.getType()})->getResult(0);
}

Value buildCmpI(OpBuilder &b, Location loc, CmpIPredicate pred, Value lhs, Value rhs) {
  Type i1 = b.getI1Type();
  if (auto tensor = dyn_cast<RankedTensorType>(lhs.getType()))
    i1 = RankedTensorType::get(tensor.getShape(), i1, tensor.getEncoding());
  return createOp(b, loc, kArithCmpI, {lhs, rhs}, {i1},
                  {b.getNamedAttr(kPredicateProp, b.getI64IntegerAttr(pred))})
      ->getResult(0);
}

Value buildSelect(OpBuilder &b, Location loc, Value cond, Value ifTrue, Value ifFalse) {
  return createOp(b, loc, kArithSelect, {cond, ifTrue, ifFalse}, {ifTrue.getType()})
      ->getResult(0);
}

Value buildSplat(OpBuilder &b, Location loc, Value scalar, Type type) {
  return createOp(b, loc, kSplat, {scalar}, {type})->getResult(0);
}

void buildFenceAsyncShared(OpBuilder &b, Location loc, bool bCluster) {
  createOp(b, loc, kFenceAsyncShared, {}, {},
           {b.getNamedAttr(kBClusterProp, b.getBoolAttr(bCluster))});
}

Value buildMemDescIndex(OpBuilder &b, Location loc, Type slotType, Value ring, Value index) {
  return createOp(b, loc, kMemDescIndex, {ring, index}, {slotType})->getResult(0);
}

Value buildMemDescTrans(OpBuilder &b, Location loc, Type type, Value src,
                        ArrayRef<int32_t> order) {
  return createOp(b, loc, kMemDescTrans, {src}, {type},
                  {b.getNamedAttr(kOrderProp, b.getDenseI32ArrayAttr(order))})
      ->getResult(0);
}

Value buildLocalAlloc(OpBuilder &b, Location loc, Type type) {
  return createOp(b, loc, kLocalAlloc, {}, {type})->getResult(0);
}

void buildLocalDealloc(OpBuilder &b, Location loc, Value buffer) {
  createOp(b, loc, kLocalDealloc, {buffer}, {});
}

Value buildAsyncWait(OpBuilder &b, Location loc, ValueRange tokens, int32_t num) {
  return createOp(b, loc, kAsyncWait, tokens, {triton::getAsyncTokenType(b.getContext())},
                  {b.getNamedAttr(kNumProp, b.getI32IntegerAttr(num))})
      ->getResult(0);
}

Value buildAsyncCommitGroup(OpBuilder &b, Location loc, ValueRange tokens) {
  return createOp(b, loc, kAsyncCommitGroup, tokens,
                  {triton::getAsyncTokenType(b.getContext())})
      ->getResult(0);
}

Operation *buildWarpGroupDotWait(OpBuilder &b, Location loc, ValueRange operands,
                                 int32_t pendings) {
  return createOp(b, loc, kWarpGroupDotWait, operands, TypeRange(operands),
                  {b.getNamedAttr(kPendingsProp, b.getI32IntegerAttr(pendings))});
}

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

/// `op` has `name`, `numOperands` in [minOperands, maxOperands] and `numResults` results.
static bool hasShape(Operation *op, llvm::StringRef name, unsigned minOperands,
                     unsigned maxOperands, unsigned numResults) {
  return isOp(op, name) && op->getNumOperands() >= minOperands &&
         op->getNumOperands() <= maxOperands && op->getNumResults() == numResults;
}

/// Operand segment sizes, when present: each segment of `maxSizes` at most that size (a required
/// segment, maxSizes[i] < 0, exactly 1), summing to the operand count.
static std::optional<SmallVector<int32_t>> segmentSizes(Operation *op, ArrayRef<int> maxSizes) {
  auto segments = getAttrOfType<DenseI32ArrayAttr>(op, kSegmentsProp);
  if (!segments || segments.size() != (int64_t)maxSizes.size())
    return std::nullopt;
  int64_t total = 0;
  for (auto [size, max] : llvm::zip(segments.asArrayRef(), maxSizes)) {
    if (max < 0 ? size != 1 : (size < 0 || size > max))
      return std::nullopt;
    total += size;
  }
  if (total != op->getNumOperands())
    return std::nullopt;
  return SmallVector<int32_t>(segments.asArrayRef());
}

WarpGroupDot WarpGroupDot::bind(Operation *op) {
  if (!hasShape(op, kWarpGroupDot, 3, 4, 1) ||
      op->getResult(0).getType() != op->getOperand(kAccOperand).getType())
    return {};
  return WarpGroupDot(op);
}

SmallVector<Value, 2> WarpGroupDot::sharedOperands() const {
  SmallVector<Value, 2> out;
  for (Value v : {a(), b()})
    if (triton::isMemDesc(v.getType()))
      out.push_back(v);
  return out;
}

Operation *WarpGroupDot::endOfRead() const {
  if (!isAsync())
    return op;
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode())
    if (auto wait = WarpGroupDotWait::bind(next);
        wait && wait.retiresAll() && llvm::is_contained(next->getOperands(), result()))
      return next;
  return nullptr;
}

WarpGroupDotWait WarpGroupDotWait::bind(Operation *op) {
  if (!isOp(op, kWarpGroupDotWait) || op->getNumResults() != op->getNumOperands() ||
      op->getResultTypes() != op->getOperandTypes() || !getIntAttr(op, kPendingsProp))
    return {};
  return WarpGroupDotWait(op);
}

WarpGroupDotWait WarpGroupDotWait::cloneWithOperands(OpBuilder &b, ValueRange operands) const {
  OperationState state(op->getLoc(), op->getName());
  state.addOperands(operands);
  state.addTypes(TypeRange(operands));
  state.propertiesAttr = op->getPropertiesAsAttribute();
  state.addAttributes(op->getAttrs());
  return WarpGroupDotWait(b.create(state));
}

bool isMemDescView(Operation *op) {
  if (!op || op->getNumOperands() == 0 || op->getNumResults() != 1)
    return false;
  llvm::StringRef n = op->getName().getStringRef();
  return n == kMemDescIndex || n == kMemDescTrans || n == kMemDescSubslice ||
         n == kMemDescReinterpret || n == kMemDescReshape || n == kTleWgmmaView;
}

MemDescView MemDescView::bind(Operation *op) {
  return isMemDescView(op) ? MemDescView(op) : MemDescView();
}

MemDescIndex MemDescIndex::bind(Operation *op) {
  return hasShape(op, kMemDescIndex, 2, 2, 1) ? MemDescIndex(op) : MemDescIndex();
}

LocalAlloc LocalAlloc::bind(Operation *op) {
  return hasShape(op, kLocalAlloc, 0, 1, 1) ? LocalAlloc(op) : LocalAlloc();
}

LocalLoad LocalLoad::bind(Operation *op) {
  return hasShape(op, kLocalLoad, 1, 2, 1) ? LocalLoad(op) : LocalLoad();
}

LocalStore LocalStore::bind(Operation *op) {
  return hasShape(op, kLocalStore, 2, 2, 0) ? LocalStore(op) : LocalStore();
}

Trans Trans::bind(Operation *op) {
  if (!hasShape(op, kTrans, 1, 1, 1) || !getAttrOfType<DenseI32ArrayAttr>(op, kOrderProp))
    return {};
  return Trans(op);
}

ArrayRef<int32_t> Trans::order() const {
  return getAttrOfType<DenseI32ArrayAttr>(op, kOrderProp).asArrayRef();
}

Load Load::bind(Operation *op) {
  if (!isOp(op, kLoad) || op->getNumResults() != 1)
    return {};
  // ptr, optional mask, optional other (only with a mask).
  auto segments = segmentSizes(op, {-1, 1, 1});
  if (!segments || ((*segments)[2] == 1 && (*segments)[1] != 1))
    return {};
  Load load(op);
  load.maskIndex = (*segments)[1] ? 1 : 0;
  load.otherIndex = (*segments)[2] ? 2 : 0;
  return load;
}

bool Load::hasBoundaryCheck() const {
  auto boundary = getAttrOfType<DenseI32ArrayAttr>(op, kBoundaryCheckProp);
  return boundary && !boundary.empty();
}

SmallVector<NamedAttribute> Load::memoryProperties() const {
  SmallVector<NamedAttribute> props;
  for (llvm::StringRef name : {kCacheProp, kEvictProp, kIsVolatileProp})
    if (Attribute attr = getAttr(op, name))
      props.push_back(NamedAttribute(StringAttr::get(op->getContext(), name), attr));
  return props;
}

Load Load::cloneWithMask(OpBuilder &b, Value newMask) const {
  SmallVector<Value> operands = {ptr(), newMask};
  if (Value o = other())
    operands.push_back(o);
  OperationState state(op->getLoc(), kLoad);
  state.addOperands(operands);
  state.addTypes(op->getResultTypes());
  state.propertiesAttr =
      withProperty(op, kSegmentsProp, b.getDenseI32ArrayAttr({1, 1, other() ? 1 : 0}));
  state.addAttributes(op->getDiscardableAttrDictionary().getValue());
  return Load::bind(b.create(state));
}

AsyncCopy AsyncCopy::bind(Operation *op) {
  if (!isOp(op, kAsyncCopyGlobalToLocal) || op->getNumResults() != 1)
    return {};
  // src, dst, optional mask, optional other. Without segment sizes: positional.
  if (getAttr(op, kSegmentsProp) ? !segmentSizes(op, {-1, -1, 1, 1})
                                 : op->getNumOperands() < 2 || op->getNumOperands() > 4)
    return {};
  return AsyncCopy(op);
}

AsyncCopy AsyncCopy::build(OpBuilder &b, Location loc, Value src, Value dst, Value mask,
                           Value other, ArrayRef<NamedAttribute> props) {
  SmallVector<Value> operands = {src, dst};
  if (mask)
    operands.push_back(mask);
  if (other)
    operands.push_back(other);
  SmallVector<NamedAttribute> all(props.begin(), props.end());
  // 1 = no hint: the lowering takes the vector width from its own address analysis.
  all.push_back(b.getNamedAttr(kContiguityProp, b.getI32IntegerAttr(1)));
  all.push_back(b.getNamedAttr(kSegmentsProp,
                               b.getDenseI32ArrayAttr({1, 1, mask ? 1 : 0, other ? 1 : 0})));
  return AsyncCopy::bind(createOp(b, loc, kAsyncCopyGlobalToLocal, operands,
                                  {triton::getAsyncTokenType(b.getContext())}, all));
}

ArithConstant ArithConstant::bind(Operation *op) {
  if (!hasShape(op, kArithConstant, 0, 0, 1) || !getAttr(op, kValueProp))
    return {};
  return ArithConstant(op);
}

bool ArithConstant::isZeroSplat() const {
  auto dense = dyn_cast<DenseElementsAttr>(value());
  if (!dense || !dense.isSplat())
    return false;
  Type elem = dense.getElementType();
  if (isa<FloatType>(elem))
    return dense.getSplatValue<APFloat>().isPosZero();
  if (isa<IntegerType>(elem))
    return dense.getSplatValue<APInt>().isZero();
  return false;
}

std::optional<int64_t> getConstantInt(Value v) {
  auto constant = v ? ArithConstant::bind(v) : ArithConstant();
  return constant ? constant.intValue() : std::nullopt;
}

Select Select::bind(Operation *op) {
  return hasShape(op, kArithSelect, 3, 3, 1) ? Select(op) : Select();
}

BinaryOp BinaryOp::bind(Operation *op, llvm::StringRef name) {
  return hasShape(op, name, 2, 2, 1) ? BinaryOp(op) : BinaryOp();
}

Value BinaryOp::otherThan(Value v) const {
  if (lhs() == v)
    return rhs();
  if (rhs() == v)
    return lhs();
  return {};
}

ForOp ForOp::bind(Operation *op) {
  if (!isOp(op, kScfFor) || op->getNumOperands() < 3 || op->getNumRegions() != 1 ||
      !op->getRegion(0).hasOneBlock())
    return {};
  ForOp loop(op);
  unsigned n = op->getNumOperands() - 3;
  Block *body = loop.body();
  if (body->getNumArguments() != n + 1 || op->getNumResults() != n || body->empty())
    return {};
  Operation *yield = &body->back();
  if (!isOp(yield, kScfYield) || yield->getNumOperands() != n)
    return {};
  Type ivType = loop.iv().getType();
  if (!isa<IntegerType>(ivType) || loop.lb().getType() != ivType ||
      loop.ub().getType() != ivType || loop.step().getType() != ivType)
    return {};
  for (unsigned i = 0; i < n; ++i) {
    Type t = loop.init(i).getType();
    if (loop.iterArg(i).getType() != t || op->getResult(i).getType() != t ||
        yield->getOperand(i).getType() != t)
      return {};
  }
  return loop;
}

ForOp ForOp::ofIterArg(BlockArgument arg, unsigned &index) {
  ForOp loop = bind(arg.getOwner()->getParentOp());
  if (!loop || arg.getOwner() != loop.body() || arg.getArgNumber() == 0)
    return {};
  index = arg.getArgNumber() - 1;
  return loop;
}

FuncOp FuncOp::bind(Operation *op) { return isOp(op, kFunc) ? FuncOp(op) : FuncOp(); }

llvm::StringRef FuncOp::name() const {
  auto name = getAttrOfType<StringAttr>(op, kSymNameProp);
  return name ? name.getValue() : llvm::StringRef();
}

//===----------------------------------------------------------------------===//
// Op classes
//===----------------------------------------------------------------------===//

bool isLoop(Operation *op) { return isOp(op, kScfFor) || isOp(op, kScfWhile); }

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
      kFunc,           "tt.return",          kLoad,               "tt.descriptor_load",
      kReduce,         kReduceReturn,        kScan,               kScanReturn,
      "tt.dot",        "tt.dot_scaled",      "tt.assert",         "tt.print",
      kScfFor,         kScfIf,               kScfYield,           kScfWhile,
      "scf.condition", kLocalAlloc,          kLocalLoad,          kLocalStore,
      kLocalDealloc,   kAsyncCopyGlobalToLocal, kAsyncCommitGroup,
      kAsyncWait,      kWarpGroupDot,        kWarpGroupDotWait,   kFenceAsyncShared};
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

//===----------------------------------------------------------------------===//
// SSA order
//===----------------------------------------------------------------------===//

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

} // namespace tle::tritonir
