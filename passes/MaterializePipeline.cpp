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


constexpr unsigned kMinStages = 2;
constexpr unsigned kMaxStages = 16;
/// Discardable loop attribute recording what this pass did (read by tests and humans only).
constexpr llvm::StringLiteral kMarkerAttr = "tle.materialized_stages";

//===----------------------------------------------------------------------===//
// Generic-form helpers
//===----------------------------------------------------------------------===//

/// A `tt.load` the pipeline may run ahead of its iteration: well formed, not volatile.
static bool isRegisterLoad(Operation *op) {
  auto load = Load::bind(op);
  return load && !load.isVolatile() &&
         (triton::isPointer(load.ptr().getType()) || triton::isTensorOfPointers(load.ptr().getType()));
}

/// Ops whose results may simply be dropped when unused.
static bool isErasable(Operation *op) {
  auto alloc = LocalAlloc::bind(op);
  return isPureOp(op) || isMemDescView(op) || isRegisterLoad(op) || (alloc && alloc.src());
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
/// A tile load's operands, kept: the load itself gets erased.
struct LoadOperands {
  Value ptr, mask, other;
};

struct Producer {
  Operation *load = nullptr;           // tt.load of a pointer tensor, top level of the body
  LoadOperands operands;               // its ptr / mask / other
  SmallVector<NamedAttribute> copyProps; // cache / evict / isVolatile of the load
  LocationAttr loc;                    // the load's location
  SmallVector<Operation *> allocs;     // its ttg.local_alloc users (one type)
  SmallVector<Operation *> views;      // memdesc views of the allocs, in def-use order
  MemDescType tile;                    // the allocation type (the encoding WGMMA reads)
  int64_t tileBytes = 0;
  bool indirect = false;               // the addresses depend on a loaded value (a gather)
};

struct Plan {
  ForOp loop;
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

/// The WGMMA / local_load reads of a shared tile through view ops. Fails on any other use.
static LogicalResult collectTileReads(Value tile, Producer &p, SmallVectorImpl<Operation *> &dots,
                                      std::string &why) {
  // Depth-first over the tree of views, without recursion: a chain of views is as long as the
  // input makes it.
  SmallVector<std::pair<Value::use_iterator, Value::use_iterator>> stack;
  stack.push_back({tile.use_begin(), tile.use_end()});
  while (!stack.empty()) {
    auto &[next, end] = stack.back();
    if (next == end) {
      stack.pop_back();
      continue;
    }
    OpOperand &use = *next++;
    Operation *user = use.getOwner();
    if (auto view = MemDescView::bind(user); view && use.getOperandNumber() == 0) {
      if (!triton::getMemDesc(view.result().getType())) {
        why = "a view of the tile has a type TLE's model cannot read";
        return failure();
      }
      p.views.push_back(user);
      stack.push_back({view.result().use_begin(), view.result().use_end()});
      continue;
    }
    if (isOp(user, kWarpGroupDot) && use.getOperandNumber() < 2) {
      if (!WarpGroupDot::bind(user)) {
        why = "a WGMMA reading the tile is malformed (expected a, b, c operands and one result)";
        return failure();
      }
      dots.push_back(user);
      continue;
    }
    if (LocalLoad::bind(user) && use.getOperandNumber() == 0)
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
static LogicalResult matchProducer(Operation *load, ForOp &loop, Producer &p,
                                   SmallVectorImpl<Operation *> &dots, std::string &why) {
  p.load = load;
  p.loc = load->getLoc();
  auto view = Load::bind(load);
  if (!view) {
    why = "a tile load has malformed operands";
    return failure();
  }
  LoadOperands *operands = &p.operands;
  *operands = {view.ptr(), view.mask(), view.other()};
  p.copyProps = view.memoryProperties();
  if (!triton::isTensorOfPointers(operands->ptr.getType())) {
    why = "a tile is loaded through a block pointer or descriptor, not a pointer tensor (only "
          "pointer-tensor loads become cp.async)";
    return failure();
  }
  if (view.isVolatile() || view.hasBoundaryCheck()) {
    why = "a tile load is volatile or has a boundary check";
    return failure();
  }
  auto other = operands->other ? ArithConstant::bind(operands->other) : ArithConstant();
  if (operands->other && !(other && other.isZeroSplat())) {
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
  // (The model's view guarantees that order[0] indexes sizePerThread.)
  if (!blocked || blocked->sizePerThread[blocked->order[0]] * elemBytes < 4) {
    why = "a tile load is not vectorized to >= 4 bytes per thread (cp.async needs 4, 8 or 16)";
    return failure();
  }
  for (OpOperand &use : load->getResult(0).getUses()) {
    Operation *user = use.getOwner();
    auto alloc = LocalAlloc::bind(user);
    if (!alloc || !alloc.src() || user->getBlock() != loop.body()) {
      why = ("the loaded tile is also used in registers by `" + user->getName().getStringRef() +
             "` (only tiles consumed from shared memory are pipelined)")
                .str();
      return failure();
    }
    auto type = triton::getMemDesc(alloc.result().getType());
    if (!type || !type->inSharedMemory() || type->isMutable) {
      why = "the tile's allocation is not an immutable shared-memory buffer TLE's model can read";
      return failure();
    }
    if (!p.allocs.empty() && *type != p.tile) {
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
  auto elements = p.tile.numElements();
  auto tileBytes = elements ? llvm::checkedMul(*elements, elemBytes) : std::nullopt;
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
static LogicalResult computeSlice(ForOp &loop, ArrayRef<Value> roots,
                                  llvm::SetVector<Operation *> &slice,
                                  llvm::SetVector<unsigned> &stateArgs, std::string &why) {
  // Each value remembers the iter_arg whose update it computes (-1: the addresses themselves).
  SmallVector<std::pair<Value, int>> worklist;
  for (Value root : roots)
    worklist.push_back({root, -1});
  while (!worklist.empty()) {
    auto [v, viaArg] = worklist.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      unsigned idx = 0;
      ForOp owner = ForOp::ofIterArg(arg, idx);
      if (!owner || owner.getOperation() != loop.getOperation())
        continue; // defined outside the loop, or the induction variable
      if (stateArgs.insert(idx))
        worklist.push_back({loop.yielded(idx), (int)idx});
      continue;
    }
    // In SSA order (checked before any pass runs) an operand of a body op is defined in the body
    // or outside the loop; and a tile's load and allocations have only the uses matchProducer
    // allowed, none of them an address computation.
    Operation *def = v.getDefiningOp();
    if (!loop->isAncestor(def))
      continue; // loop invariant
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
  auto last = WarpGroupDot::bind(dot);
  for (Operation *op = dot->getNextNode(); op; op = op->getNextNode()) {
    if (auto next = WarpGroupDot::bind(op); next && next.acc() == last.result()) {
      last = next;
      continue;
    }
    if (!isErasable(op))
      break;
  }
  return last.getOperation();
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
  // Refusals are reported at the loop: the loop is the unit this pass rewrites or leaves alone.
  auto refuse = [&](std::string why) { return Refusal{op, "loop left alone: " + why}; };
  auto loopOr = ForOp::bind(op);
  if (!loopOr)
    return refuse("malformed scf.for (unexpected operands, block arguments or terminator)");
  Plan plan;
  plan.loop = loopOr;
  ForOp &loop = plan.loop;

  // Loop-level conditions.
  auto module = op->getParentOfType<ModuleOp>();
  auto numWarps = getNumWarps(module);
  if (!numWarps)
    return refuse("the module has no ttg.num-warps attribute (not TTGIR)");
  plan.numWarps = *numWarps;
  if (module->getAttr(kThreadsPerWarpAttr)) {
    auto tpw = getThreadsPerWarp(module);
    if (!tpw)
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
  plan.unsignedCmp = loop.unsignedCmp();
  bool nested = false, alreadyAsync = false;
  loop.body()->walk([&](Operation *inner) {
    nested |= isLoop(inner);
    alreadyAsync |= isOp(inner, kAsyncCopyGlobalToLocal) || isOp(inner, kAsyncWait) ||
                    isOp(inner, kAsyncCommitGroup) || isOp(inner, kWarpGroupDotWait);
    alreadyAsync |= isOp(inner, kWarpGroupDot) && getFlag(inner, kIsAsyncProp);
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
    if (dot->getBlock() == loop.body() &&
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
    if (failed(computeSlice(loop, {operands.ptr}, ptrSlice, ptrState, why)))
      return refuse(why);
    p.indirect = containsLoad(ptrSlice);
    SmallVector<Value> roots = {operands.ptr};
    if (operands.mask)
      roots.push_back(operands.mask);
    if (operands.other)
      roots.push_back(operands.other);
    if (failed(computeSlice(loop, roots, slice, stateArgs, why)))
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
    auto bytes = type ? type->numBytes() : std::nullopt;
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
      : plan(plan), loop(plan.loop), ctx(plan.loop->getContext()),
        loc(plan.loop->getLoc()), tokenType(triton::getAsyncTokenType(ctx)),
        i32(IntegerType::get(ctx, 32)) {}

  void run() {
    OpBuilder b(loop.getOperation());
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
  ForOp &loop;
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
      rings.push_back(buildLocalAlloc(b, loc, triton::toType(ctx, ring)));
    }
  }

  // ---- shared pieces ----------------------------------------------------------------------
  Value slotView(OpBuilder &b, unsigned producer, Value index) {
    Type type = triton::toType(ctx, slotType(plan.producers[producer]));
    return buildMemDescIndex(b, loc, type, rings[producer], index);
  }

  Value splatPredicate(OpBuilder &b, Value pred, Type like) {
    auto tensor = dyn_cast<RankedTensorType>(like);
    if (!tensor)
      return pred;
    auto type = RankedTensorType::get(tensor.getShape(), b.getI1Type(), tensor.getEncoding());
    return buildSplat(b, loc, pred, type);
  }

  /// `mask & pred` in the shape of `ptr` (or just the predicate when there is no mask).
  Value predicateMask(OpBuilder &b, Value mask, Value pred, Type ptrType) {
    Value p = splatPredicate(b, pred, ptrType);
    return mask ? buildBinary(b, loc, kArithAndI, mask, p) : p;
  }

  /// Clones `ops` with `map`; register loads get `pred` folded into their mask so that an
  /// iteration past the end reads no memory.
  void cloneSlice(OpBuilder &b, ArrayRef<Operation *> ops, IRMapping &map, Value pred) {
    for (Operation *op : ops) {
      Operation *clone = b.clone(*op, map);
      auto load = pred ? Load::bind(clone) : Load();
      if (!load)
        continue;
      Value mask = predicateMask(b, load.mask(), pred, load.ptr().getType());
      Load predicated = load.cloneWithMask(b, mask);
      load.result().replaceAllUsesWith(predicated.result());
      clone->erase();
      map.map(op->getResult(0), predicated.result());
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
      tokens.push_back(
          AsyncCopy::build(b, Location(p.loc), ptr, slot, mask, other, p.copyProps).token());
    }
    return buildAsyncCommitGroup(b, loc, tokens);
  }

  /// In the loop body: wait for the group of `token`, fence, and read every tile from its slot
  /// `index` instead of loading it. Returns the wait.
  Operation *rewriteConsumers(Value index, Value token, int64_t waitNum) {
    OpBuilder b(plan.waitBefore);
    Operation *wait = buildAsyncWait(b, loc, {token}, waitNum).getDefiningOp();
    // cp.async lands through the generic proxy; WGMMA reads through the async proxy.
    buildFenceAsyncShared(b, loc, /*bCluster=*/false);
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
      return buildIntConstant(b, loc, t, *lb + k * *step);
    Value offset = step ? buildIntConstant(b, loc, t, k * *step)
                        : buildBinary(b, loc, kArithMulI, loop.step(), buildIntConstant(b, loc, t, k));
    return buildBinary(b, loc, kArithAddI, loop.lb(), offset);
  }

  Value inRange(OpBuilder &b, Value iv) {
    return buildCmpI(b, loc, plan.unsignedCmp ? kUlt : kSlt, iv, loop.ub());
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
      pro.tokens.push_back(issueCopies(b, map, buildIntConstant(b, loc, i32, k), pred));
      for (auto [j, idx] : llvm::enumerate(plan.stateArgs))
        pro.state[j] = map.lookupOrDefault(loop.yielded(idx));
    }
    return pro;
  }

  // ---- phase 4a ---------------------------------------------------------------------------
  void emitSteadyState(OpBuilder &outer, Prologue &pro) {
    unsigned n = plan.stages;
    Block *body = loop.body();
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
    Value ahead = step ? buildIntConstant(b, loc, ivType, (n - 1) * *step)
                       : buildBinary(b, loc, kArithMulI, loop.step(),
                                     buildIntConstant(b, loc, ivType, n - 1));
    Value ivAhead = buildBinary(b, loc, kArithAddI, loop.iv(), ahead);
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

    b.setInsertionPoint(loop.yield());
    SmallVector<Value> extra;
    for (unsigned idx : plan.stateArgs)
      extra.push_back(map.lookupOrDefault(loop.yielded(idx)));
    extra.append(tokens.begin() + 1, tokens.end());
    extra.push_back(newToken);
    extra.push_back(nextSlot(b, consume));
    extra.push_back(nextSlot(b, issue));
    loop.yield()->insertOperands(loop.yield()->getNumOperands(), extra);

    eraseDeadOps(body);
    SmallVector<bool> keep = dropDeadIterArgs(numOriginal);
    eraseDeadOps(body);

    // The new scf.for: kept inits, then the new loop-carried values.
    SmallVector<Value> operands = {loop.lb(), loop.ub(), loop.step()};
    SmallVector<Value> oldResults;
    for (unsigned i = 0; i < numOriginal; ++i)
      if (keep[i]) {
        operands.push_back(loop.init(i));
        oldResults.push_back(loop->getResult(i));
      }
    operands.append(pro.state.begin(), pro.state.end());
    operands.append(pro.tokens.begin(), pro.tokens.end());
    operands.push_back(buildIntConstant(outer, loc, i32, 0));
    operands.push_back(buildIntConstant(outer, loc, i32, n - 1));
    SmallVector<Type> resultTypes;
    for (BlockArgument arg : body->getArguments().drop_front())
      resultTypes.push_back(arg.getType());
    OperationState state(loc, kScfFor);
    state.addOperands(operands);
    state.addTypes(resultTypes);
    state.propertiesAttr = loop->getPropertiesAsAttribute();
    state.addAttributes(loop->getDiscardableAttrDictionary().getValue());
    state.addRegion();
    Operation *newLoop = outer.create(state);
    newLoop->getRegion(0).takeBody(loop->getRegion(0));
    // Triton 3.6's pipeliner (assign_latencies, schedule_loops, pipeline) skips loops whose
    // tt.num_stages is <= 1.
    newLoop->setAttr(kNumStagesAttr, outer.getI32IntegerAttr(1));
    newLoop->setAttr(kMarkerAttr, outer.getI32IntegerAttr(n));
    for (auto [i, old] : llvm::enumerate(oldResults))
      old.replaceAllUsesWith(newLoop->getResult(i));
    loop->erase();
    loop = ForOp::bind(newLoop);

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
    buildWarpGroupDotWait(b, loc, {neutral}, /*pendings=*/1);
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
    return createOp(b, loc, kArithConstant, {}, {type}, {b.getNamedAttr(kValueProp, value)})
        ->getResult(0);
  }

  Value nextSlot(OpBuilder &b, Value slot) {
    Value next = buildBinary(b, loc, kArithAddI, slot, buildIntConstant(b, loc, i32, 1));
    Value wrap = buildCmpI(b, loc, kEq, next, buildIntConstant(b, loc, i32, plan.stages));
    return buildSelect(b, loc, wrap, buildIntConstant(b, loc, i32, 0), next);
  }

  /// Original iter_args nobody needs any more (typically the address recurrences whose run-ahead
  /// copies replaced them): result unused, and the argument only feeds its own update.
  SmallVector<bool> dropDeadIterArgs(unsigned numOriginal) {
    SmallVector<bool> keep(numOriginal, true);
    Block *body = loop.body();
    for (int i = numOriginal - 1; i >= 0; --i) {
      if (!loop->getResult(i).use_empty())
        continue;
      BlockArgument arg = body->getArgument(1 + i);
      llvm::SetVector<Operation *> chain;
      SmallVector<Value> work = {arg};
      bool dead = true;
      while (!work.empty() && dead) {
        Value v = work.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = use.getOwner();
          if (user == loop.yield()) {
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
      loop.yield()->eraseOperand(i);
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
    Block *body = loop.body();
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
      map.map(slotArg, buildIntConstant(b, loc, i32, k));
      for (Operation &op : loop.bodyOps()) {
        if (&op == wait) {
          map.map(wait->getResult(0), buildAsyncWait(b, loc, {pro.tokens[k]}, count - 1 - k));
          continue;
        }
        b.clone(op, map);
      }
      for (unsigned i = 0; i < loop.numIterArgs(); ++i)
        values[i] = map.lookupOrDefault(loop.yielded(i));
    }
    for (unsigned i = 0; i < loop.numIterArgs(); ++i)
      loop->getResult(i).replaceAllUsesWith(values[i]);
    emitEpilogue(b);
    loop->erase();
    loop = ForOp();
  }

  // ---- phase 5 ----------------------------------------------------------------------------
  void emitEpilogue(OpBuilder &b) {
    buildAsyncWait(b, loc, {}, 0);
    for (Value ring : rings)
      buildLocalDealloc(b, loc, ring);
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

struct MaterializePipelinePass
    : public TLEPass<MaterializePipelinePass, tle::impl::TLEMaterializePipelineBase> {
  using TLEPass::TLEPass;

  void execute() {
    ModuleOp module = getOperation();
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
      if (FuncOp::bind(op))
        funcs.push_back(op);
    });
    for (Operation *func : funcs) {
      Options opts{stages, smemBudget, gatherOnly, hoistAddressLoads};
      if (!kernels.empty()) {
        auto it = kernelStages.find(FuncOp::bind(func).name());
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
  }

  void processLoop(Operation *op, Operation *func, const Options &opts) {
    auto analysis = analyzeLoop(op, func, opts);
    if (auto *refusal = std::get_if<Refusal>(&analysis)) {
      if (isRelevant(op))
        (void)refuse(*refusal);
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
};

} // namespace
