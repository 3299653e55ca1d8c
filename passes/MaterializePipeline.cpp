//===- MaterializePipeline.cpp - Tile-style software pipeline for gather -> WGMMA loops ===//
//
// Runs on TTGIR before Triton's own pipeliner (`assign_latencies`), where a loop still reads
// like the source: `tt.load` of a pointer tensor (often a masked gather through loaded indices)
// -> `ttg.local_alloc` -> `ttng.warp_group_dot`. Such a loop becomes an explicit pipeline:
//
//   ring_p = local_alloc : N x TILE_p                        (one ring per tile, tile's encoding)
//   prologue: for k in [0, N-1): addresses(k); copies(k) -> slot k; commit      ("preload")
//   scf.for i  {tt.num_stages = 1}  iter_args(..., ahead state, tokens[N-1], consume, issue):
//     register loads of addresses(i+N-1)                      (top: latency hidden by the wait)
//     async_wait tokens[0] {num = N-2}; fence_async_shared; slot views of `consume`
//     first WGMMA chain on the slots; warp_group_dot_wait {pendings = 1}
//     addresses(i+N-1); copies(i+N-1) -> slot `issue` (predicated on i+N-1 < ub); commit
//     rest of the body; yield (..., tokens[1:] + new token, consume+1, issue+1 mod N)
//   epilogue: async_wait {num = 0}; local_dealloc ring_p
//
// The copy for iteration i+N-1 writes the slot iteration i-1 read. WGMMAs of iteration i-1 may
// still be in flight once Triton makes them asynchronous; `pendings = 1` after the first WGMMA
// chain of iteration i retires all of them (groups complete in order), and the barrier Triton's membar
// analysis puts before the copies (they write the ring the WGMMA read) makes that hold for every
// warpgroup. A static trip count <= N is fully peeled instead. Precondition: `analyzeLoop`.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/TritonIR.h"

#include "model/TritonTypes.h"
#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/MathExtras.h"

namespace tle {
#define GEN_PASS_DEF_TLEMATERIALIZEPIPELINE
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;
using triton::MemDescType;

namespace {

#ifdef __TLE__

constexpr unsigned kMinStages = 2;
constexpr unsigned kMaxStages = 16;
/// Discardable loop attribute recording what this pass did (read by tests and humans only).
constexpr llvm::StringLiteral kMarkerAttr = "tle.materialized_stages";

//===----------------------------------------------------------------------===//
// Generic-form helpers
//===----------------------------------------------------------------------===//

/// `scf.for` in generic form: operands (lb, ub, step, inits...), one block with arguments
/// (iv, iter_args...) ending in `scf.yield` of the next iter_args.
struct ForLoop {
  Operation *op = nullptr;
  Block *body = nullptr;
  Operation *yield = nullptr;

  static std::optional<ForLoop> match(Operation *op) {
    if (!isOp(op, kScfFor) || op->getNumOperands() < 3 || op->getNumRegions() != 1 ||
        !op->getRegion(0).hasOneBlock())
      return std::nullopt;
    ForLoop l{op, &op->getRegion(0).front(), nullptr};
    unsigned n = op->getNumOperands() - 3;
    if (l.body->getNumArguments() != n + 1 || op->getNumResults() != n || l.body->empty())
      return std::nullopt;
    l.yield = &l.body->back(); // not getTerminator(): it asserts on a registered non-terminator
    if (!isOp(l.yield, kScfYield) || l.yield->getNumOperands() != n)
      return std::nullopt;
    Type ivType = l.iv().getType();
    if (!isa<IntegerType>(ivType) || l.lb().getType() != ivType || l.ub().getType() != ivType ||
        l.step().getType() != ivType)
      return std::nullopt;
    for (unsigned i = 0; i < n; ++i) {
      Type t = l.init(i).getType();
      if (l.iterArg(i).getType() != t || op->getResult(i).getType() != t ||
          l.yield->getOperand(i).getType() != t)
        return std::nullopt;
    }
    return l;
  }

  Value lb() const { return op->getOperand(0); }
  Value ub() const { return op->getOperand(1); }
  Value step() const { return op->getOperand(2); }
  unsigned numIterArgs() const { return op->getNumOperands() - 3; }
  Value init(unsigned i) const { return op->getOperand(3 + i); }
  /// The body without its terminator (Block::without_terminator does not know that the
  /// unregistered scf.yield is one).
  llvm::iterator_range<Block::iterator> bodyOps() const {
    return llvm::make_range(body->begin(), Block::iterator(yield));
  }
  BlockArgument iv() const { return body->getArgument(0); }
  BlockArgument iterArg(unsigned i) const { return body->getArgument(1 + i); }
};

static Operation *createOp(OpBuilder &b, Location loc, llvm::StringRef name, ValueRange operands,
                           TypeRange types, ArrayRef<NamedAttribute> props = {}) {
  OperationState state(loc, name);
  state.addOperands(operands);
  state.addTypes(types);
  // Inherent attributes of Triton's ops live in the properties dictionary (`<{...}>`).
  if (!props.empty())
    state.propertiesAttr = b.getDictionaryAttr(props);
  return b.create(state);
}

static Value intConstant(OpBuilder &b, Location loc, Type type, int64_t value) {
  return createOp(b, loc, kArithConstant, {}, {type},
                  {b.getNamedAttr("value", b.getIntegerAttr(type, value))})
      ->getResult(0);
}

static std::optional<int64_t> getConstantInt(Value v) {
  Operation *def = v.getDefiningOp();
  if (!isOp(def, kArithConstant) || def->getNumResults() != 1)
    return std::nullopt;
  return getIntAttr(def, "value");
}

static Value arith(OpBuilder &b, Location loc, llvm::StringRef name, ValueRange operands) {
  return createOp(b, loc, name, operands, {operands.front().getType()})->getResult(0);
}

// arith.cmpi predicates (MLIR's arith::CmpIPredicate numbering).
enum CmpPredicate : int64_t { kEq = 0, kSlt = 2, kUlt = 6 };

static Value compare(OpBuilder &b, Location loc, CmpPredicate pred, Value lhs, Value rhs) {
  return createOp(b, loc, "arith.cmpi", {lhs, rhs}, {b.getI1Type()},
                  {b.getNamedAttr("predicate", b.getI64IntegerAttr(pred))})
      ->getResult(0);
}

static DictionaryAttr withProperty(Operation *op, llvm::StringRef name, Attribute value) {
  NamedAttrList list;
  if (auto props = dyn_cast_or_null<DictionaryAttr>(op->getPropertiesAsAttribute()))
    list.append(props.getValue());
  list.set(name, value);
  return list.getDictionary(op->getContext());
}

/// Bits of a memdesc element type (`bf16`, `i32`, ...): builtin types, parsed quietly.
static std::optional<int64_t> elementBits(const MemDescType &m, MLIRContext *ctx) {
  ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
  Type t = parseType(m.elementType, ctx);
  if (!t || !t.isIntOrFloat())
    return std::nullopt;
  return (int64_t)t.getIntOrFloatBitWidth();
}

/// Bytes of `elements` values of `bits` each; nullopt on overflow.
static std::optional<int64_t> byteSize(std::optional<int64_t> elements, int64_t bits) {
  auto totalBits = elements ? llvm::checkedMul(*elements, bits) : std::nullopt;
  auto rounded = totalBits ? llvm::checkedAdd(*totalBits, int64_t(7)) : std::nullopt;
  return rounded ? std::optional<int64_t>(*rounded / 8) : std::nullopt;
}

static std::optional<int64_t> memDescBytes(const MemDescType &m, MLIRContext *ctx) {
  auto bits = elementBits(m, ctx);
  if (!bits)
    return std::nullopt;
  return byteSize(m.numElements(), *bits);
}

static bool isZeroConstant(Value v) {
  Operation *def = v.getDefiningOp();
  if (!isOp(def, kArithConstant))
    return false;
  auto dense = getAttrOfType<DenseElementsAttr>(def, "value");
  if (!dense || !dense.isSplat())
    return false;
  Type elem = dense.getElementType();
  if (isa<FloatType>(elem))
    return dense.getSplatValue<APFloat>().isPosZero();
  if (isa<IntegerType>(elem))
    return dense.getSplatValue<APInt>().isZero();
  return false;
}

/// A `tt.load` the pipeline may run ahead of its iteration: well formed, not volatile.
static bool isRegisterLoad(Operation *op) {
  auto ops = getLoadOperands(op);
  auto isVolatile = getAttrOfType<BoolAttr>(op, "isVolatile");
  return ops && !(isVolatile && isVolatile.getValue()) &&
         (isPointerType(ops->ptr.getType()) || isTensorOfPointers(ops->ptr.getType()));
}

/// Ops whose results may simply be dropped when unused.
static bool isErasable(Operation *op) {
  return isPureOp(op) || isMemDescView(op) || isRegisterLoad(op) ||
         (isOp(op, kLocalAlloc) && op->getNumOperands() == 1);
}

static void eraseDeadOps(Block *block) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*block))) {
      if (!op.use_empty() || !isErasable(&op)) // scf.yield is never erasable
        continue;
      op.erase();
      changed = true;
    }
  }
}

static void sortInBlockOrder(SmallVectorImpl<Operation *> &ops) {
  llvm::sort(ops, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
}

//===----------------------------------------------------------------------===//
// Phase 1: analysis. The precondition of the rewrite lives here, and only here.
//===----------------------------------------------------------------------===//

/// One tile the loop loads into shared memory for WGMMA.
struct Producer {
  Operation *load = nullptr;           // tt.load of a pointer tensor, top level of the body
  LoadOperands operands;               // its ptr / mask / other (kept: the load gets erased)
  SmallVector<NamedAttribute> copyProps; // cache / evict / isVolatile of the load
  LocationAttr loc;                    // the load's location
  SmallVector<Operation *> allocs;     // its ttg.local_alloc users (one type)
  SmallVector<Operation *> views;      // memdesc views of the allocs, in def-use order
  MemDescType tile;                    // the allocation type (the encoding WGMMA reads)
  int64_t tileBytes = 0;
  bool indirect = false;               // the addresses depend on a loaded value (a gather)
};

struct Plan {
  ForLoop loop;
  SmallVector<Producer, 2> producers;
  SmallVector<Operation *> slice;      // body ops computing the copies' operands (block order)
  SmallVector<Operation *> early;      // ... the register loads among them and their operands
  SmallVector<Operation *> late;       // ... the rest
  SmallVector<unsigned> stateArgs;     // iter_args the address computation carries
  Operation *waitBefore = nullptr;     // first producer alloc: wait for the slot before it
  Operation *firstConsumer = nullptr;  // first unconditional WGMMA on a slot
  Operation *issueAfter = nullptr;     // last WGMMA of the accumulation chain it starts
  std::optional<int64_t> tripCount;
  bool unsignedCmp = false;
  unsigned requestedStages = 0;
  unsigned stages = 0;                 // ring slots (trip count when peeled)
  bool peel = false;
  int64_t otherSmemBytes = 0;
  int64_t budget = 0;
  int64_t numWarps = 0, threadsPerWarp = 32; // module attributes

  /// Sum of the tiles' bytes; nullopt on overflow.
  std::optional<int64_t> perSlotBytesChecked() const {
    std::optional<int64_t> bytes = 0;
    for (const Producer &p : producers)
      if (!(bytes = llvm::checkedAdd(*bytes, p.tileBytes)))
        return std::nullopt;
    return bytes;
  }
  /// Only after analyzeLoop accepted the plan (it checked the sum).
  int64_t perSlotBytes() const { return *perSlotBytesChecked(); }
};

struct Refusal {
  std::string reason;
};

/// The WGMMA / local_load reads of a shared tile through view ops. Fails on any other use.
static LogicalResult collectTileReads(Value tile, Producer &p, SmallVectorImpl<Operation *> &dots,
                                      std::string &why) {
  for (OpOperand &use : tile.getUses()) {
    Operation *user = use.getOwner();
    if (isMemDescView(user) && use.getOperandNumber() == 0) {
      if (!triton::getMemDesc(user->getResult(0).getType())) {
        why = "a view of the tile has a type TLE's model cannot read";
        return failure();
      }
      p.views.push_back(user);
      if (failed(collectTileReads(user->getResult(0), p, dots, why)))
        return failure();
      continue;
    }
    if (isOp(user, kWarpGroupDot) && use.getOperandNumber() < 2) {
      if (user->getNumOperands() < 3 || user->getNumResults() != 1) {
        why = "a WGMMA reading the tile is malformed (expected a, b, c operands and one result)";
        return failure();
      }
      dots.push_back(user);
      continue;
    }
    if (isOp(user, kLocalLoad) && use.getOperandNumber() == 0)
      continue;
    if (isOp(user, kScfYield)) {
      why = "loop-carried dependence through the loaded tile (it is yielded)";
      return failure();
    }
    why = ("the shared tile is used by `" + user->getName().getStringRef() +
           "`, which the rewrite does not handle")
              .str();
    return failure();
  }
  return success();
}

/// Checks one `tt.load -> local_alloc` pair and fills `p`; fails with a reason.
static LogicalResult matchProducer(Operation *load, ForLoop &loop, Producer &p,
                                   SmallVectorImpl<Operation *> &dots, std::string &why) {
  p.load = load;
  p.loc = load->getLoc();
  auto operands = getLoadOperands(load);
  if (!operands) {
    why = "a tile load has malformed operands";
    return failure();
  }
  p.operands = *operands;
  for (llvm::StringRef name : {"cache", "evict", "isVolatile"})
    if (Attribute attr = getAttr(load, name))
      p.copyProps.push_back(NamedAttribute(StringAttr::get(load->getContext(), name), attr));
  if (!isTensorOfPointers(operands->ptr.getType())) {
    why = "a tile is loaded through a block pointer or descriptor, not a pointer tensor (only "
          "pointer-tensor loads become cp.async)";
    return failure();
  }
  auto isVolatile = getAttrOfType<BoolAttr>(load, "isVolatile");
  auto boundary = getAttrOfType<DenseI32ArrayAttr>(load, "boundaryCheck");
  if ((isVolatile && isVolatile.getValue()) || (boundary && !boundary.empty())) {
    why = "a tile load is volatile or has a boundary check";
    return failure();
  }
  if (operands->other && !isZeroConstant(operands->other)) {
    why = "a tile load's `other` is not a zero constant (cp.async fills masked lanes with zeros)";
    return failure();
  }
  auto loaded = dyn_cast<RankedTensorType>(load->getResult(0).getType());
  if (!loaded || !loaded.getElementType().isIntOrFloat()) {
    why = "a tile load does not produce a tensor of numbers";
    return failure();
  }
  int64_t elemBits = loaded.getElementType().getIntOrFloatBitWidth();
  int64_t elemBytes = (elemBits + 7) / 8;
  // cp.async moves 4, 8 or 16 bytes per thread; Triton's lowering derives the vector from the
  // same address analysis that made Coalesce choose sizePerThread, so use that as the proxy.
  auto layout = triton::getTensorEncoding(operands->ptr.getType());
  auto blocked = layout ? triton::BlockedEncoding::from(*layout) : std::nullopt;
  if (!blocked || blocked->order.empty() || blocked->order[0] < 0 ||
      blocked->order[0] >= (int64_t)blocked->sizePerThread.size() ||
      blocked->sizePerThread[blocked->order[0]] * elemBytes < 4) {
    why = "a tile load is not vectorized to >= 4 bytes per thread (cp.async needs 4, 8 or 16)";
    return failure();
  }
  for (OpOperand &use : load->getResult(0).getUses()) {
    Operation *user = use.getOwner();
    if (!isOp(user, kLocalAlloc) || user->getNumOperands() != 1 || user->getBlock() != loop.body) {
      why = ("the loaded tile is also used in registers by `" + user->getName().getStringRef() +
             "` (only tiles consumed from shared memory are pipelined)")
                .str();
      return failure();
    }
    auto type = triton::getMemDesc(user->getResult(0).getType());
    if (!type || !type->inSharedMemory() || type->isMutable) {
      why = "the tile's allocation is not an immutable shared-memory buffer TLE's model can read";
      return failure();
    }
    if (!p.allocs.empty() && !(*type == p.tile)) {
      why = "the tile is allocated twice with different types";
      return failure();
    }
    p.tile = *type;
    p.allocs.push_back(user);
  }
  if (p.tile.shape != SmallVector<int64_t>(loaded.getShape())) {
    why = "the tile's allocation shape differs from the loaded tensor";
    return failure();
  }
  auto tileBytes = byteSize(p.tile.numElements(), elemBytes * 8);
  if (!tileBytes) {
    why = "the tile's size in bytes overflows";
    return failure();
  }
  p.tileBytes = *tileBytes;
  for (Operation *alloc : p.allocs)
    if (failed(collectTileReads(alloc->getResult(0), p, dots, why)))
      return failure();
  return success();
}

/// Body ops computing `roots`, and the iter_args that computation carries (each of which
/// pulls in its update). Fails on anything that cannot be executed ahead of its iteration.
static LogicalResult computeSlice(ForLoop &loop, ArrayRef<Value> roots,
                                  const DenseSet<Operation *> &tileOps,
                                  llvm::SetVector<Operation *> &slice,
                                  llvm::SetVector<unsigned> &stateArgs, std::string &why) {
  // Each value remembers the iter_arg whose update it computes (-1: the addresses themselves).
  SmallVector<std::pair<Value, int>> worklist;
  for (Value root : roots)
    worklist.push_back({root, -1});
  while (!worklist.empty()) {
    auto [v, viaArg] = worklist.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner() != loop.body || arg.getArgNumber() == 0)
        continue; // defined outside the loop, or the induction variable
      unsigned idx = arg.getArgNumber() - 1;
      if (stateArgs.insert(idx))
        worklist.push_back({loop.yield->getOperand(idx), (int)idx});
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (!loop.op->isAncestor(def))
      continue; // loop invariant
    if (def->getBlock() != loop.body) {
      why = "the address computation uses a value defined in a nested region";
      return failure();
    }
    if (tileOps.contains(def)) {
      why = "the address of a tile depends on a pipelined tile";
      return failure();
    }
    if (!slice.insert(def))
      continue;
    if (!isPureOp(def) && !isRegisterLoad(def)) {
      std::string what = ("`" + def->getName().getStringRef() +
                          "`, which cannot be executed ahead of its iteration")
                             .str();
      why = viaArg < 0 ? "the address computation uses " + what
                       : "loop-carried dependence: the address computation carries iter_arg #" +
                             std::to_string(viaArg) + ", whose update uses " + what;
      return failure();
    }
    for (Value operand : def->getOperands())
      worklist.push_back({operand, viaArg});
  }
  return success();
}

/// The last WGMMA of the chain `dot` starts: following WGMMAs that accumulate into the previous
/// one's result (operand C) with only reads and side-effect-free ops in between (the tile loads
/// and allocations there become slot views). The next copies are issued after the chain, so that
/// they neither split it nor wait for more than its last group.
static Operation *endOfDotChain(Operation *dot) {
  Operation *last = dot;
  for (Operation *op = dot->getNextNode(); op; op = op->getNextNode()) {
    if (isOp(op, kWarpGroupDot) && op->getNumOperands() >= 3 &&
        op->getOperand(2) == last->getResult(0)) {
      last = op;
      continue;
    }
    if (!isErasable(op))
      break;
  }
  return last;
}

static bool containsLoad(const llvm::SetVector<Operation *> &ops) {
  return llvm::any_of(ops, [](Operation *op) { return isOp(op, kLoad); });
}

/// Whether `value` is representable in the integer type `type` (signed).
static bool fitsIn(Type type, int64_t value) {
  unsigned width = type.getIntOrFloatBitWidth();
  return width >= 64 || llvm::isIntN(width, value);
}

/// The constants the steady state creates (ivAt(k) of the prologue, (N-1) * step) and, with a
/// static upper bound, the last run-ahead index fit the induction variable's type. A dynamic
/// bound is not checked: like Triton's pipeliner, the run-ahead index then relies on ub + (N-1) *
/// step not wrapping.
static bool runAheadFits(const Plan &plan, std::optional<int64_t> lb, std::optional<int64_t> ub,
                         std::optional<int64_t> step) {
  Type ivType = plan.loop.iv().getType();
  if (!step)
    return true; // computed at run time
  auto ahead = llvm::checkedMul(*step, int64_t(plan.stages - 1));
  if (!ahead || !fitsIn(ivType, *ahead))
    return false;
  if (lb) {
    auto last = llvm::checkedAdd(*lb, *ahead);
    if (!last || !fitsIn(ivType, *last))
      return false;
  }
  if (ub) {
    auto last = llvm::checkedAdd(*ub, *ahead);
    if (!last || !fitsIn(ivType, *last))
      return false;
  }
  return true;
}

struct Options {
  unsigned stages;
  int64_t budget;
  bool gatherOnly;
  bool hoistLoads;
};

/// Everything the rewrite needs, or why the loop is left alone. Never touches the IR.
static std::variant<Plan, Refusal> analyzeLoop(Operation *op, Operation *func,
                                               const Options &opts) {
  auto refuse = [](std::string why) { return Refusal{std::move(why)}; };
  auto loopOr = ForLoop::match(op);
  if (!loopOr)
    return refuse("malformed scf.for (unexpected operands, block arguments or terminator)");
  Plan plan;
  plan.loop = *loopOr;
  ForLoop &loop = plan.loop;
  MLIRContext *ctx = op->getContext();

  // Loop-level conditions.
  auto module = op->getParentOfType<ModuleOp>();
  auto numWarps = module ? getIntAttr(module, kNumWarpsAttr) : std::nullopt;
  if (!numWarps || *numWarps <= 0)
    return refuse("the module has no ttg.num-warps attribute (not TTGIR)");
  plan.numWarps = *numWarps;
  if (auto tpw = getIntAttr(module, "ttg.threads-per-warp")) {
    if (*tpw <= 0)
      return refuse("the module's ttg.threads-per-warp is not positive");
    plan.threadsPerWarp = *tpw;
  }
  unsigned requested = opts.stages;
  if (op->getAttr(kNumStagesAttr)) {
    auto ns = getIntAttr(op, kNumStagesAttr);
    if (!ns)
      return refuse("tt.num_stages is not an integer");
    if (*ns <= 1)
      return refuse("tt.num_stages <= 1: already materialized, or pipelining disabled for it");
    requested = std::min<int64_t>(*ns, kMaxStages);
  }
  plan.requestedStages = requested;
  if (Attribute uc = getAttr(op, "unsignedCmp")) // a unit or boolean flag in newer MLIR
    plan.unsignedCmp = !isa<BoolAttr>(uc) || cast<BoolAttr>(uc).getValue();
  bool nested = false, alreadyAsync = false;
  loop.body->walk([&](Operation *inner) {
    nested |= isLoop(inner);
    alreadyAsync |= isOp(inner, kAsyncCopyGlobalToLocal) || isOp(inner, kAsyncWait) ||
                    isOp(inner, kAsyncCommitGroup) || isOp(inner, kWarpGroupDotWait);
    if (isOp(inner, kWarpGroupDot))
      if (auto async = getAttrOfType<BoolAttr>(inner, "isAsync"))
        alreadyAsync |= async.getValue();
  });
  if (nested)
    return refuse("not an innermost loop");
  if (alreadyAsync)
    return refuse("the loop is already software-pipelined (async copies or async WGMMA)");

  // Producers: top-level tt.load -> local_alloc tiles read by WGMMA.
  SmallVector<Operation *> dots;
  DenseSet<Operation *> tileOps;
  for (Operation &inner : loop.bodyOps()) {
    if (!isOp(&inner, kLoad) || inner.getNumResults() != 1)
      continue;
    bool toShared = llvm::any_of(inner.getResult(0).getUsers(),
                                 [](Operation *u) { return isOp(u, kLocalAlloc); });
    if (!toShared)
      continue;
    Producer p;
    SmallVector<Operation *> tileDots;
    std::string why;
    if (failed(matchProducer(&inner, loop, p, tileDots, why)))
      return refuse(why);
    if (tileDots.empty())
      continue; // shared memory staging for something else: not ours
    dots.append(tileDots);
    tileOps.insert(p.load);
    tileOps.insert(p.allocs.begin(), p.allocs.end());
    plan.producers.push_back(std::move(p));
  }
  if (plan.producers.empty())
    return refuse("no WGMMA consumer: no tile is loaded into shared memory for ttng.warp_group_dot");

  // Where the slot is waited for and where the next copies are issued.
  for (Producer &p : plan.producers)
    for (Operation *alloc : p.allocs)
      if (!plan.waitBefore || alloc->isBeforeInBlock(plan.waitBefore))
        plan.waitBefore = alloc;
  for (Operation *dot : dots)
    if (dot->getBlock() == loop.body &&
        (!plan.firstConsumer || dot->isBeforeInBlock(plan.firstConsumer)))
      plan.firstConsumer = dot;
  if (!plan.firstConsumer)
    return refuse("no unconditional WGMMA consumer at the top level of the loop body");
  plan.issueAfter = endOfDotChain(plan.firstConsumer);

  // The address computation, run ahead of its iteration.
  llvm::SetVector<Operation *> slice;
  llvm::SetVector<unsigned> stateArgs;
  for (Producer &p : plan.producers) {
    const LoadOperands &operands = p.operands;
    llvm::SetVector<Operation *> ptrSlice;
    llvm::SetVector<unsigned> ptrState;
    std::string why;
    if (failed(computeSlice(loop, {operands.ptr}, tileOps, ptrSlice, ptrState, why)))
      return refuse(why);
    p.indirect = containsLoad(ptrSlice);
    SmallVector<Value> roots = {operands.ptr};
    if (operands.mask)
      roots.push_back(operands.mask);
    if (operands.other)
      roots.push_back(operands.other);
    if (failed(computeSlice(loop, roots, tileOps, slice, stateArgs, why)))
      return refuse(why);
  }
  // An iter_arg the addresses carry (a recurrence such as `ptrs += step`) gets a run-ahead copy;
  // computeSlice pulled its update in and checked that it depends on nothing else.
  plan.stateArgs.assign(stateArgs.begin(), stateArgs.end());
  llvm::sort(plan.stateArgs);
  plan.slice.assign(slice.begin(), slice.end());
  sortInBlockOrder(plan.slice);
  // Register loads (and what they need) go to the top of the body so that their latency hides
  // behind the wait and the first WGMMAs; the rest is issued next to the copies.
  llvm::SetVector<Operation *> early;
  SmallVector<Operation *> work;
  for (Operation *s : plan.slice)
    if (isOp(s, kLoad) && opts.hoistLoads)
      work.push_back(s);
  while (!work.empty()) {
    Operation *s = work.pop_back_val();
    if (!early.insert(s))
      continue;
    for (Value operand : s->getOperands())
      if (Operation *def = operand.getDefiningOp(); def && slice.contains(def))
        work.push_back(def);
  }
  for (Operation *s : plan.slice)
    (early.contains(s) ? plan.early : plan.late).push_back(s);

  if (opts.gatherOnly && llvm::none_of(plan.producers, [](const Producer &p) { return p.indirect; }))
    return refuse("no indirect gather among the tiles (gather-only=true; dense loads are left to "
                  "Triton's pipeliner)");

  // Loads are issued N-1 iterations early: nothing in the loop may write global memory.
  for (Operation &inner : loop.bodyOps())
    if (mayWriteGlobalMemory(&inner))
      return refuse(("the loop writes global memory (`" + inner.getName().getStringRef() +
                     "`): loads cannot be moved ahead of it")
                        .str());

  // Shared memory: the rings plus every other allocation of the function.
  plan.budget = opts.budget;
  std::string sizeWhy;
  func->walk([&](Operation *inner) {
    if (!isOp(inner, kLocalAlloc) || tileOps.contains(inner) || inner->getNumResults() != 1)
      return;
    auto type = triton::getMemDesc(inner->getResult(0).getType());
    auto bytes = type ? memDescBytes(*type, ctx) : std::nullopt;
    auto total = bytes ? llvm::checkedAdd(plan.otherSmemBytes, *bytes) : std::nullopt;
    if (!bytes)
      sizeWhy = "a shared-memory allocation of the function has a type TLE cannot size";
    else if (!total)
      sizeWhy = "the function's shared-memory allocations overflow a 64-bit byte count";
    else
      plan.otherSmemBytes = *total;
  });
  if (!sizeWhy.empty())
    return refuse(sizeWhy);
  auto perSlotOr = plan.perSlotBytesChecked();
  if (!perSlotOr)
    return refuse("the tiles' sizes overflow a 64-bit byte count");
  int64_t perSlot = *perSlotOr;
  int64_t fitting = perSlot > 0 && plan.budget > plan.otherSmemBytes
                        ? (plan.budget - plan.otherSmemBytes) / perSlot
                        : 0;

  // Trip count and the shape of the result, with every bound checked for overflow: a wrapped
  // count would peel the wrong number of iterations.
  auto lb = getConstantInt(loop.lb()), ub = getConstantInt(loop.ub()),
       step = getConstantInt(loop.step());
  if (step && *step <= 0)
    return refuse("the loop's step is not positive");
  if (lb && ub && step && !(plan.unsignedCmp && (*lb < 0 || *ub < 0))) {
    auto span = llvm::checkedSub(*ub, *lb);
    auto rounded = span ? llvm::checkedAdd(*span, *step - 1) : std::nullopt;
    if (!rounded)
      return refuse("the static trip count overflows a 64-bit integer");
    plan.tripCount = *ub > *lb ? *rounded / *step : 0;
  }
  if (plan.tripCount && *plan.tripCount == 0)
    return refuse("static trip count 0: nothing to pipeline");
  if (plan.tripCount && *plan.tripCount <= (int64_t)requested && *plan.tripCount <= fitting) {
    plan.peel = true;
    plan.stages = *plan.tripCount;
    return plan;
  }
  if (fitting < (int64_t)kMinStages)
    return refuse(("shared memory: " + llvm::Twine(kMinStages) + " slots of " + llvm::Twine(perSlot) +
                   " bytes + " + llvm::Twine(plan.otherSmemBytes) +
                   " bytes of other allocations exceed the budget of " + llvm::Twine(plan.budget) +
                   " bytes (stages=" + llvm::Twine(requested) + " requested)")
                      .str());
  plan.stages = std::min<int64_t>(requested, fitting);
  if (!runAheadFits(plan, lb, ub, step))
    return refuse("the run-ahead induction variable (i + (stages - 1) * step) overflows its type");
  return plan;
}

//===----------------------------------------------------------------------===//
// Phases 2-5: rings, prologue, steady state (or full peel), epilogue
//===----------------------------------------------------------------------===//

class PipelineBuilder {
public:
  explicit PipelineBuilder(Plan &plan)
      : plan(plan), loop(plan.loop), ctx(plan.loop.op->getContext()),
        loc(plan.loop.op->getLoc()), tokenType(getAsyncTokenType(ctx)),
        i32(IntegerType::get(ctx, 32)) {}

  void run() {
    OpBuilder b(loop.op);
    buildRings(b);
    if (plan.peel) {
      Prologue pro = emitPrologue(b, plan.stages, /*predicated=*/false);
      emitPeeled(b, pro);
    } else {
      Prologue pro = emitPrologue(b, plan.stages - 1, /*predicated=*/!plan.tripCount);
      emitSteadyState(b, pro);
    }
  }

private:
  struct Prologue {
    SmallVector<Value> tokens; // commit group of iteration k
    SmallVector<Value> state;  // address iter_args for iteration `count`
  };

  Plan &plan;
  ForLoop &loop;
  MLIRContext *ctx;
  Location loc;
  Type tokenType;
  Type i32;
  SmallVector<Value> rings; // one per producer

  MemDescType slotType(const Producer &p) const {
    MemDescType slot = p.tile;
    slot.isMutable = true;
    slot.allocShape.clear();
    return slot;
  }

  // ---- phase 2 ----------------------------------------------------------------------------
  void buildRings(OpBuilder &b) {
    for (const Producer &p : plan.producers) {
      MemDescType ring = slotType(p);
      ring.shape.insert(ring.shape.begin(), (int64_t)plan.stages);
      rings.push_back(createOp(b, loc, kLocalAlloc, {}, {triton::toType(ctx, ring)})->getResult(0));
    }
  }

  // ---- shared pieces ----------------------------------------------------------------------
  Value slotView(OpBuilder &b, unsigned producer, Value index) {
    Type type = triton::toType(ctx, slotType(plan.producers[producer]));
    return createOp(b, loc, kMemDescIndex, {rings[producer], index}, {type})->getResult(0);
  }

  Value splatPredicate(OpBuilder &b, Value pred, Type like) {
    auto tensor = dyn_cast<RankedTensorType>(like);
    if (!tensor)
      return pred;
    auto type = RankedTensorType::get(tensor.getShape(), b.getI1Type(), tensor.getEncoding());
    return createOp(b, loc, "tt.splat", {pred}, {type})->getResult(0);
  }

  /// `mask & pred` in the shape of `ptr` (or just the predicate when there is no mask).
  Value predicateMask(OpBuilder &b, Value mask, Value pred, Type ptrType) {
    Value p = splatPredicate(b, pred, ptrType);
    return mask ? arith(b, loc, "arith.andi", {mask, p}) : p;
  }

  /// Clones `ops` with `map`; register loads get `pred` folded into their mask so that an
  /// iteration past the end reads no memory.
  void cloneSlice(OpBuilder &b, ArrayRef<Operation *> ops, IRMapping &map, Value pred) {
    for (Operation *op : ops) {
      Operation *clone = b.clone(*op, map);
      if (!pred || !isOp(clone, kLoad))
        continue;
      auto operands = *getLoadOperands(clone);
      Value mask = predicateMask(b, operands.mask, pred, operands.ptr.getType());
      SmallVector<Value> newOperands = {operands.ptr, mask};
      if (operands.other)
        newOperands.push_back(operands.other);
      OperationState state(clone->getLoc(), kLoad);
      state.addOperands(newOperands);
      state.addTypes(clone->getResultTypes());
      state.propertiesAttr = withProperty(
          clone, "operandSegmentSizes", b.getDenseI32ArrayAttr({1, 1, operands.other ? 1 : 0}));
      state.addAttributes(clone->getDiscardableAttrDictionary().getValue());
      Operation *predicated = b.create(state);
      clone->getResult(0).replaceAllUsesWith(predicated->getResult(0));
      clone->erase();
      map.map(op->getResult(0), predicated->getResult(0));
    }
  }

  /// The cp.async copies of every tile into slot `index`, as one commit group.
  Value issueCopies(OpBuilder &b, IRMapping &map, Value index, Value pred) {
    SmallVector<Value> tokens;
    for (auto [i, p] : llvm::enumerate(plan.producers)) {
      const LoadOperands &operands = p.operands;
      Value ptr = map.lookupOrDefault(operands.ptr);
      Value mask = operands.mask ? map.lookupOrDefault(operands.mask) : Value();
      Value other = operands.other ? map.lookupOrDefault(operands.other) : Value();
      Value slot = slotView(b, i, index);
      if (pred)
        mask = predicateMask(b, mask, pred, ptr.getType());
      SmallVector<Value> copyOperands = {ptr, slot};
      if (mask)
        copyOperands.push_back(mask);
      if (other)
        copyOperands.push_back(other);
      SmallVector<NamedAttribute> props(p.copyProps.begin(), p.copyProps.end());
      // 1 = no hint: the lowering takes the vector width from its own address analysis.
      props.push_back(b.getNamedAttr("contiguity", b.getI32IntegerAttr(1)));
      props.push_back(b.getNamedAttr(
          "operandSegmentSizes", b.getDenseI32ArrayAttr({1, 1, mask ? 1 : 0, other ? 1 : 0})));
      tokens.push_back(
          createOp(b, Location(p.loc), kAsyncCopyGlobalToLocal, copyOperands, {tokenType}, props)
              ->getResult(0));
    }
    return createOp(b, loc, kAsyncCommitGroup, tokens, {tokenType})->getResult(0);
  }

  /// In the loop body: wait for the group of `token`, fence, and read every tile from its slot
  /// `index` instead of loading it. Returns the wait.
  Operation *rewriteConsumers(Value index, Value token, int64_t waitNum) {
    OpBuilder b(plan.waitBefore);
    Operation *wait = createOp(b, loc, kAsyncWait, {token}, {tokenType},
                               {b.getNamedAttr("num", b.getI32IntegerAttr(waitNum))});
    // cp.async lands through the generic proxy; WGMMA reads through the async proxy.
    createOp(b, loc, kFenceAsyncShared, {}, {},
             {b.getNamedAttr("bCluster", b.getBoolAttr(false))});
    for (auto [i, p] : llvm::enumerate(plan.producers)) {
      for (Operation *alloc : p.allocs) {
        b.setInsertionPoint(alloc);
        alloc->getResult(0).replaceAllUsesWith(slotView(b, i, index));
        alloc->erase();
      }
      // Views of a ring slot are views of mutable memory.
      for (Operation *view : p.views) {
        MemDescType type = *triton::getMemDesc(view->getResult(0).getType());
        type.isMutable = true;
        view->getResult(0).setType(triton::toType(ctx, type));
      }
      p.load->erase();
      p.load = nullptr;
    }
    return wait;
  }

  Value ivAt(OpBuilder &b, int64_t k) {
    Type t = loop.iv().getType();
    if (k == 0)
      return loop.lb();
    auto lb = getConstantInt(loop.lb()), step = getConstantInt(loop.step());
    if (lb && step)
      return intConstant(b, loc, t, *lb + k * *step);
    Value offset = step ? intConstant(b, loc, t, k * *step)
                        : arith(b, loc, "arith.muli", {loop.step(), intConstant(b, loc, t, k)});
    return arith(b, loc, "arith.addi", {loop.lb(), offset});
  }

  Value inRange(OpBuilder &b, Value iv) {
    return compare(b, loc, plan.unsignedCmp ? kUlt : kSlt, iv, loop.ub());
  }

  // ---- phase 3 ----------------------------------------------------------------------------
  /// Addresses and copies of iterations [0, count) into slots [0, count), before the loop.
  Prologue emitPrologue(OpBuilder &b, unsigned count, bool predicated) {
    Prologue pro;
    for (unsigned idx : plan.stateArgs)
      pro.state.push_back(loop.init(idx));
    for (unsigned k = 0; k < count; ++k) {
      Value iv = ivAt(b, k);
      Value pred = predicated ? inRange(b, iv) : Value();
      IRMapping map;
      map.map(loop.iv(), iv);
      for (auto [j, idx] : llvm::enumerate(plan.stateArgs))
        map.map(loop.iterArg(idx), pro.state[j]);
      cloneSlice(b, plan.slice, map, pred);
      pro.tokens.push_back(issueCopies(b, map, intConstant(b, loc, i32, k), pred));
      for (auto [j, idx] : llvm::enumerate(plan.stateArgs))
        pro.state[j] = map.lookupOrDefault(loop.yield->getOperand(idx));
    }
    return pro;
  }

  // ---- phase 4a ---------------------------------------------------------------------------
  void emitSteadyState(OpBuilder &outer, Prologue &pro) {
    unsigned n = plan.stages;
    Block *body = loop.body;
    unsigned numOriginal = loop.numIterArgs();

    // New loop-carried values: address state for iteration i+N-1, the tokens of the groups of
    // iterations i .. i+N-2, and the slot to consume / to fill.
    SmallVector<Value> aheadState, tokens;
    for (unsigned idx : plan.stateArgs)
      aheadState.push_back(body->addArgument(loop.iterArg(idx).getType(), loc));
    for (unsigned t = 0; t + 1 < n; ++t)
      tokens.push_back(body->addArgument(tokenType, loc));
    Value consume = body->addArgument(i32, loc);
    Value issue = body->addArgument(i32, loc);

    rewriteConsumers(consume, tokens.front(), n - 2);

    // Addresses of iteration i+N-1: register loads at the top, the rest with the copies.
    OpBuilder b = OpBuilder::atBlockBegin(body);
    Type ivType = loop.iv().getType();
    auto step = getConstantInt(loop.step());
    Value ahead = step ? intConstant(b, loc, ivType, (n - 1) * *step)
                       : arith(b, loc, "arith.muli",
                               {loop.step(), intConstant(b, loc, ivType, n - 1)});
    Value ivAhead = arith(b, loc, "arith.addi", {loop.iv(), ahead});
    Value pred = inRange(b, ivAhead);
    IRMapping map;
    map.map(loop.iv(), ivAhead);
    for (auto [j, idx] : llvm::enumerate(plan.stateArgs))
      map.map(loop.iterArg(idx), aheadState[j]);
    cloneSlice(b, plan.early, map, pred);

    // The copies overwrite the slot iteration i-1 read: retire its WGMMAs first (all groups but
    // the one the first consumer just issued).
    Value neutral = neutralTensor(outer);
    b.setInsertionPointAfter(plan.issueAfter);
    retirePreviousIteration(b, neutral);
    cloneSlice(b, plan.late, map, pred);
    Value newToken = issueCopies(b, map, issue, pred);

    b.setInsertionPoint(loop.yield);
    SmallVector<Value> extra;
    for (unsigned idx : plan.stateArgs)
      extra.push_back(map.lookupOrDefault(loop.yield->getOperand(idx)));
    extra.append(tokens.begin() + 1, tokens.end());
    extra.push_back(newToken);
    extra.push_back(nextSlot(b, consume));
    extra.push_back(nextSlot(b, issue));
    loop.yield->insertOperands(loop.yield->getNumOperands(), extra);

    eraseDeadOps(body);
    SmallVector<bool> keep = dropDeadIterArgs(numOriginal);
    eraseDeadOps(body);

    // The new scf.for: kept inits, then the new loop-carried values.
    SmallVector<Value> operands = {loop.lb(), loop.ub(), loop.step()};
    SmallVector<Value> oldResults;
    for (unsigned i = 0; i < numOriginal; ++i)
      if (keep[i]) {
        operands.push_back(loop.init(i));
        oldResults.push_back(loop.op->getResult(i));
      }
    operands.append(pro.state.begin(), pro.state.end());
    operands.append(pro.tokens.begin(), pro.tokens.end());
    operands.push_back(intConstant(outer, loc, i32, 0));
    operands.push_back(intConstant(outer, loc, i32, n - 1));
    SmallVector<Type> resultTypes;
    for (BlockArgument arg : body->getArguments().drop_front())
      resultTypes.push_back(arg.getType());
    OperationState state(loc, kScfFor);
    state.addOperands(operands);
    state.addTypes(resultTypes);
    state.propertiesAttr = loop.op->getPropertiesAsAttribute();
    state.addAttributes(loop.op->getDiscardableAttrDictionary().getValue());
    state.addRegion();
    Operation *newLoop = outer.create(state);
    newLoop->getRegion(0).takeBody(loop.op->getRegion(0));
    // Triton 3.6's pipeliner (assign_latencies, schedule_loops, pipeline) skips loops whose
    // tt.num_stages is <= 1.
    newLoop->setAttr(kNumStagesAttr, outer.getI32IntegerAttr(1));
    newLoop->setAttr(kMarkerAttr, outer.getI32IntegerAttr(n));
    for (auto [i, old] : llvm::enumerate(oldResults))
      old.replaceAllUsesWith(newLoop->getResult(i));
    loop.op->erase();
    loop.op = newLoop;

    outer.setInsertionPointAfter(newLoop);
    emitEpilogue(outer);
  }

  /// `warp_group_dot_wait {pendings = 1}` at `b`: every WGMMA group but the newest retires,
  /// i.e. all WGMMAs of iteration i-1. Triton's verifier wants an operand and Triton's
  /// asyncLaunchDots reads the operands of waits (threading a dot result or an accumulator
  /// through this wait would stop it from keeping those WGMMAs in flight), so the wait carries a
  /// loop-invariant two-element tensor and its results stay unused. Triton threads the
  /// accumulators through its own waits before their next use.
  void retirePreviousIteration(OpBuilder &b, Value neutral) {
    createOp(b, loc, kWarpGroupDotWait, {neutral}, {neutral.getType()},
             {b.getNamedAttr("pendings", b.getI32IntegerAttr(1))});
  }

  /// `arith.constant dense<0> : tensor<2xi32, #ttg.blocked<...>>`: two registers per thread
  /// (Triton lowers the wait to an inline asm that needs at least two outputs).
  Value neutralTensor(OpBuilder &b) {
    triton::BlockedEncoding layout;
    layout.sizePerThread = {2};
    layout.threadsPerWarp = {plan.threadsPerWarp};
    layout.warpsPerCTA = {plan.numWarps};
    layout.order = {0};
    layout.base.kind = "blocked";
    layout.base.hasParams = true;
    auto type = RankedTensorType::get({2}, i32, triton::toAttr(ctx, layout.toEncoding()));
    auto value = DenseElementsAttr::get(type, b.getI32IntegerAttr(0).getValue());
    return createOp(b, loc, kArithConstant, {}, {type}, {b.getNamedAttr("value", value)})
        ->getResult(0);
  }

  Value nextSlot(OpBuilder &b, Value slot) {
    Value next = arith(b, loc, "arith.addi", {slot, intConstant(b, loc, i32, 1)});
    Value wrap = compare(b, loc, kEq, next, intConstant(b, loc, i32, plan.stages));
    return createOp(b, loc, "arith.select", {wrap, intConstant(b, loc, i32, 0), next}, {i32})
        ->getResult(0);
  }

  /// Original iter_args nobody needs any more (typically the address recurrences whose run-ahead
  /// copies replaced them): result unused, and the argument only feeds its own update.
  SmallVector<bool> dropDeadIterArgs(unsigned numOriginal) {
    SmallVector<bool> keep(numOriginal, true);
    Block *body = loop.body;
    for (int i = numOriginal - 1; i >= 0; --i) {
      if (!loop.op->getResult(i).use_empty())
        continue;
      BlockArgument arg = body->getArgument(1 + i);
      llvm::SetVector<Operation *> chain;
      SmallVector<Value> work = {arg};
      bool dead = true;
      while (!work.empty() && dead) {
        Value v = work.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = use.getOwner();
          if (user == loop.yield) {
            dead &= use.getOperandNumber() == (unsigned)i;
            continue;
          }
          if (user->getBlock() != body || !isPureOp(user)) {
            dead = false;
            break;
          }
          if (chain.insert(user))
            work.append(user->getResults().begin(), user->getResults().end());
        }
      }
      if (!dead)
        continue;
      loop.yield->eraseOperand(i);
      SmallVector<Operation *> ops(chain.begin(), chain.end());
      sortInBlockOrder(ops);
      for (Operation *op : llvm::reverse(ops))
        op->erase();
      body->eraseArgument(1 + i);
      keep[i] = false;
    }
    return keep;
  }

  // ---- phase 4b ---------------------------------------------------------------------------
  /// Static trip count <= stages: every copy is issued up front, then each iteration waits for
  /// its own group and runs as straight-line code.
  void emitPeeled(OpBuilder &b, Prologue &pro) {
    unsigned count = plan.stages;
    Block *body = loop.body;
    Value slotArg = body->addArgument(i32, loc);
    Value tokenArg = body->addArgument(tokenType, loc);
    Operation *wait = rewriteConsumers(slotArg, tokenArg, 0);
    eraseDeadOps(body);

    SmallVector<Value> values;
    for (unsigned i = 0; i < loop.numIterArgs(); ++i)
      values.push_back(loop.init(i));
    for (unsigned k = 0; k < count; ++k) {
      IRMapping map;
      map.map(loop.iv(), ivAt(b, k));
      for (unsigned i = 0; i < loop.numIterArgs(); ++i)
        map.map(loop.iterArg(i), values[i]);
      map.map(slotArg, intConstant(b, loc, i32, k));
      for (Operation &op : loop.bodyOps()) {
        if (&op == wait) {
          Operation *w = createOp(b, loc, kAsyncWait, {pro.tokens[k]}, {tokenType},
                                  {b.getNamedAttr("num", b.getI32IntegerAttr(count - 1 - k))});
          map.map(wait->getResult(0), w->getResult(0));
          continue;
        }
        b.clone(op, map);
      }
      for (unsigned i = 0; i < loop.numIterArgs(); ++i)
        values[i] = map.lookupOrDefault(loop.yield->getOperand(i));
    }
    for (unsigned i = 0; i < loop.numIterArgs(); ++i)
      loop.op->getResult(i).replaceAllUsesWith(values[i]);
    emitEpilogue(b);
    loop.op->erase();
    loop.op = nullptr;
  }

  // ---- phase 5 ----------------------------------------------------------------------------
  void emitEpilogue(OpBuilder &b) {
    createOp(b, loc, kAsyncWait, {}, {tokenType}, {b.getNamedAttr("num", b.getI32IntegerAttr(0))});
    for (Value ring : rings)
      createOp(b, loc, kLocalDealloc, {ring}, {});
  }
};

//===----------------------------------------------------------------------===//
// The pass: selection, options, remarks
//===----------------------------------------------------------------------===//

/// Loops worth a remark when refused: they read shared memory with WGMMA or stage tiles there.
static bool isRelevant(Operation *loop) {
  bool relevant = false;
  loop->walk([&](Operation *op) {
    relevant |= isOp(op, kWarpGroupDot) ||
                (isOp(op, kLoad) && op->getNumResults() == 1 &&
                 llvm::any_of(op->getResult(0).getUsers(),
                              [](Operation *u) { return isOp(u, kLocalAlloc); }));
  });
  return relevant;
}

#endif // __TLE__

struct MaterializePipelinePass
    : public tle::impl::TLEMaterializePipelineBase<MaterializePipelinePass> {
  using TLEMaterializePipelineBase::TLEMaterializePipelineBase;

  void runOnOperation() override {
#ifdef __TLE__
    ModuleOp module = getOperation();
    if (failed(verifySSAOrder(module)))
      return signalPassFailure();
    if (stages < kMinStages || stages > kMaxStages) {
      module.emitError() << "tle-materialize-pipeline: stages must be in [" << kMinStages << ", "
                         << kMaxStages << "], got " << (unsigned)stages;
      return signalPassFailure();
    }
    if (smemBudget <= 0) {
      module.emitError() << "tle-materialize-pipeline: smem-budget must be positive";
      return signalPassFailure();
    }
    llvm::StringMap<unsigned> kernelStages;
    for (const std::string &entry : kernels) {
      auto [name, count] = llvm::StringRef(entry).split(':');
      unsigned n = stages;
      if (name.empty() || (!count.empty() && (count.getAsInteger(10, n) || n < kMinStages ||
                                              n > kMaxStages))) {
        module.emitError() << "tle-materialize-pipeline: bad kernels entry '" << entry
                           << "' (expected NAME or NAME:STAGES with STAGES in [" << kMinStages
                           << ", " << kMaxStages << "])";
        return signalPassFailure();
      }
      kernelStages[name] = n;
    }

    SmallVector<Operation *> funcs;
    module.walk([&](Operation *op) {
      if (isOp(op, kFunc))
        funcs.push_back(op);
    });
    for (Operation *func : funcs) {
      Options opts{stages, smemBudget, gatherOnly, hoistAddressLoads};
      if (!kernels.empty()) {
        auto name = getAttrOfType<StringAttr>(func, "sym_name");
        auto it = name ? kernelStages.find(name.getValue()) : kernelStages.end();
        if (it == kernelStages.end())
          continue;
        opts.stages = it->second;
      }
      SmallVector<Operation *> loops;
      func->walk([&](Operation *op) {
        if (isOp(op, kScfFor))
          loops.push_back(op);
      });
      for (Operation *loop : loops)
        processLoop(loop, func, opts);
    }
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }

#ifdef __TLE__
  void processLoop(Operation *op, Operation *func, const Options &opts) {
    auto analysis = analyzeLoop(op, func, opts);
    if (auto *refusal = std::get_if<Refusal>(&analysis)) {
      if (isRelevant(op))
        op->emitRemark() << "tle-materialize-pipeline: loop left alone: " << refusal->reason;
      return;
    }
    Plan &plan = std::get<Plan>(analysis);
    Location loc = op->getLoc();
    int64_t ringBytes = plan.perSlotBytes() * plan.stages;
    if (!plan.peel && plan.stages < plan.requestedStages)
      emitRemark(loc) << "tle-materialize-pipeline: stages clamped from " << plan.requestedStages
                      << " to " << plan.stages << ": " << plan.requestedStages << " x "
                      << plan.perSlotBytes() << " ring bytes + " << plan.otherSmemBytes
                      << " other bytes exceed the shared-memory budget of " << plan.budget;
    {
      InFlightDiagnostic remark = emitRemark(loc);
      remark << "tle-materialize-pipeline: ";
      if (plan.peel)
        remark << "fully peeled " << plan.stages << " iteration(s) (static trip count <= "
               << plan.requestedStages << " stages)";
      else
        remark << "pipelined with " << plan.stages << " stages";
      remark << "; " << plan.producers.size() << " tile(s) (";
      llvm::interleaveComma(plan.producers, remark, [&](const Producer &p) {
        remark << (p.indirect ? "gather " : "dense ") << p.tileBytes << " B";
      });
      remark << "), ring " << ringBytes << " B + other shared memory " << plan.otherSmemBytes
             << " B of " << plan.budget << " B; " << plan.slice.size()
             << " address op(s) run ahead, " << plan.stateArgs.size() << " carried";
    }
    PipelineBuilder(plan).run();
  }
#endif // __TLE__
};

} // namespace
