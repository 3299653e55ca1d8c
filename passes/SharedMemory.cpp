//===- SharedMemory.cpp - Alias and ring-slot reasoning -------------------===//
#include "passes/SharedMemory.h"

#include "model/TritonTypes.h"
#include "passes/TritonIR.h"

using namespace mlir;

namespace tle::tritonir {

Value getRootBuffer(Value memdesc) {
  Value v = memdesc;
  while (auto view = MemDescView::bind(v))
    v = view.src();
  return v;
}

SlotAccess getSlotAccess(Value memdesc) {
  Value v = memdesc;
  Value index;
  while (auto view = MemDescView::bind(v)) {
    if (auto slot = MemDescIndex::bind(view.getOperation())) {
      if (index)
        return {getRootBuffer(memdesc), Value(), false}; // nested indexing: unknown slot
      index = slot.index();
    }
    v = view.src();
  }
  return {v, index, index && MemDescIndex::bind(memdesc)};
}

std::optional<Value> getGenericSharedWrite(Operation *op) {
  if (auto alloc = LocalAlloc::bind(op); alloc && alloc.src())
    return alloc.result();
  if (auto store = LocalStore::bind(op))
    return store.dst();
  if (auto copy = AsyncCopy::bind(op))
    return copy.dst();
  return std::nullopt;
}

SmallVector<Value> getPossiblyWrittenBuffers(Operation *op) {
  SmallVector<Value> written;
  if (auto w = getGenericSharedWrite(op)) {
    written.push_back(*w);
    return written;
  }
  llvm::StringRef n = op->getName().getStringRef();
  // Ops known to only read (or merely view, free, or fence) their memdesc operands.
  if (isMemDescView(op) || n == kLocalLoad || n == kWarpGroupDot || n == kWarpGroupDotWait ||
      n == kFenceAsyncShared || n == kLocalDealloc || n == kTleFence || n == kScfYield ||
      n == kScfFor || n == kScfIf || n == kScfWhile || n == kAsyncWait || n == kAsyncCommitGroup)
    return written;
  for (Value operand : op->getOperands())
    if (triton::isMemDesc(operand.getType()))
      written.push_back(operand);
  return written;
}

SmallVector<Value, 2> getSharedReads(Operation *op) {
  if (auto dot = WarpGroupDot::bind(op))
    return dot.sharedOperands();
  if (auto load = LocalLoad::bind(op); load && triton::isMemDesc(load.src().getType()))
    return {load.src()};
  return {};
}

static bool isFreshAllocation(Value v) { return static_cast<bool>(LocalAlloc::bind(v)); }

static bool isKernelArgument(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && FuncOp::bind(arg.getOwner()->getParentOp());
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
  return true;
}

//===----------------------------------------------------------------------===//
// Modulo counters
//===----------------------------------------------------------------------===//

/// The modulus N when `next` is `select(x + 1 {==, >=} N, 0, x + 1)`, which maps every x in
/// [-1, N-1) to (x + 1) mod N.
static std::optional<int64_t> nextModulo(Value next, Value x) {
  auto select = Select::bind(next);
  if (!select || getConstantInt(select.ifTrue()) != 0)
    return std::nullopt;
  Value inc = select.ifFalse();
  auto add = BinaryOp::bind(inc, kArithAddI);
  if (!add || !add.otherThan(x) || getConstantInt(add.otherThan(x)) != 1)
    return std::nullopt;
  auto cmp = BinaryOp::bind(select.cond(), kArithCmpI);
  auto predicate = cmp ? cmp.predicate() : std::nullopt;
  if (!predicate || (*predicate != kEq && *predicate != kSge) || cmp.lhs() != inc)
    return std::nullopt;
  auto n = getConstantInt(cmp.rhs());
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
  unsigned k = 0;
  ForOp loop = ForOp::ofIterArg(arg, k);
  if (!loop)
    return std::nullopt;
  auto c = getConstantInt(loop.init(k));
  if (!c)
    return std::nullopt;
  yielded = loop.yielded(k);
  init = *c;
  auto n = nextModulo(yielded, arg);
  if (!n)
    return std::nullopt;
  return ModCounter{loop.getOperation(), 0, *n};
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
  auto select = Select::bind(v);
  auto add = select ? BinaryOp::bind(select.ifFalse(), kArithAddI) : BinaryOp();
  if (!add)
    return std::nullopt;
  for (Value operand : {add.lhs(), add.rhs()}) {
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

//===----------------------------------------------------------------------===//
// Schedule facts
//===----------------------------------------------------------------------===//

bool cannotCompleteCopies(Operation *op) {
  static const llvm::StringLiteral known[] = {
      kLocalAlloc,   kLocalLoad,     kLocalStore,  kAsyncCopyGlobalToLocal, kAsyncCommitGroup,
      kWarpGroupDot, kWarpGroupDotWait, kFenceAsyncShared, kLoad,           kReduce,
      kReduceReturn, kScan,          kScanReturn};
  bool completes = false;
  op->walk([&](Operation *nested) {
    llvm::StringRef n = nested->getName().getStringRef();
    if (isPureOp(nested) || isMemDescView(nested) || n.starts_with("tle.") ||
        llvm::is_contained(known, n))
      return;
    completes = true;
  });
  return !completes;
}

void ScheduleFacts::record(Value a, Value b, Block *block) {
  // A racy schedule the counters prove gives no fact (see the class comment).
  if (!a || !b || slotsProvablyEqual(a, b))
    return;
  facts[{a, b}].push_back(block);
}

void ScheduleFacts::learn(Block &block) {
  // WGMMAs still reading after the last full wait, and the copies issued after them.
  Operation *lastFullWait = nullptr;
  for (Operation &op : block)
    if (auto wait = WarpGroupDotWait::bind(&op); wait && wait.retiresAll())
      lastFullWait = &op;
  SmallVector<SlotAccess> inFlight;
  // Copies still landing: whole slots written since the last op that could complete them.
  SmallVector<SlotAccess> landing;
  for (Operation &op : block) {
    bool afterLastWait = !lastFullWait || lastFullWait->isBeforeInBlock(&op);
    if (!cannotCompleteCopies(&op)) {
      landing.clear();
      continue;
    }
    if (auto copy = AsyncCopy::bind(&op)) {
      SlotAccess written = getSlotAccess(copy.dst());
      if (!written.wholeSlot)
        continue;
      if (afterLastWait)
        for (const SlotAccess &read : inFlight)
          if (read.root == written.root && read.index)
            record(read.index, written.index, &block);
      landing.push_back(written);
      continue;
    }
    for (Value read : getSharedReads(&op)) {
      SlotAccess access = getSlotAccess(read);
      if (!access.index)
        continue;
      for (const SlotAccess &written : landing)
        if (written.root == access.root && written.index != access.index)
          record(access.index, written.index, &block);
      auto dot = WarpGroupDot::bind(&op);
      if (afterLastWait && dot && dot.isAsync())
        inFlight.push_back(access);
    }
  }
}

bool ScheduleFacts::provablyDistinct(Value a, Value b, Operation *at) const {
  if (!a || !b)
    return false;
  if (slotsProvablyDistinct(a, b))
    return true;
  for (auto key : {std::make_pair(a, b), std::make_pair(b, a)}) {
    auto it = facts.find(key);
    if (it == facts.end())
      continue;
    for (Block *block : it->second)
      if (block->findAncestorOpInBlock(*at))
        return true;
  }
  return false;
}

} // namespace tle::tritonir
