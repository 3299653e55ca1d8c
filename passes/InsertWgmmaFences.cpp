//===- InsertWgmmaFences.cpp - Dependency-aware async-proxy fences --------===//
//
// WGMMA reads shared memory through the async proxy; writes by st.shared, local_store, cp.async
// or local_alloc-from-registers go through the generic proxy and must be ordered by
// `fence.proxy.async` before the WGMMA reads them. A forward dataflow over structured control
// flow tracks the buffers with unfenced generic writes ("dirty"), fences exactly the WGMMAs that
// read one, hoists each fence out of loops that write none of its buffers, and drops TLE fences
// that order nothing.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/SharedMemory.h"
#include "passes/TritonIR.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

namespace tle {
#define GEN_PASS_DEF_TLEINSERTWGMMAFENCES
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;

namespace {


/// Buffers (root, ring slot or null for the whole buffer) with generic-proxy writes not yet
/// ordered by a fence.
using Pending = std::pair<Value, Value>;
using DirtySet = llvm::SmallSetVector<Pending, 8>;

static DirtySet join(const DirtySet &a, const DirtySet &b) {
  DirtySet out = a;
  out.insert(b.begin(), b.end());
  return out;
}

/// Whether `v` is available at `at`: defined in a block enclosing `at`, before it. A pending write
/// carried around a back edge can name a buffer defined later in the body; a fence before `at`
/// must not use it.
static bool isAvailableAt(Value v, Operation *at) {
  Block *defBlock = v.getParentBlock();
  Operation *ancestor = defBlock ? defBlock->findAncestorOpInBlock(*at) : nullptr;
  if (!ancestor)
    return false;
  Operation *def = v.getDefiningOp();
  return !def || (def != ancestor && def->isBeforeInBlock(ancestor));
}

/// Whether `v` is defined inside `op`'s regions.
static bool isDefinedInside(Value v, Operation *op) {
  Operation *parent = v.getParentRegion()->getParentOp();
  return parent && op->isAncestor(parent);
}

/// Across a back edge a slot index names another iteration's value: entries whose slot is
/// defined in `loop` widen to their whole buffer.
static DirtySet widenAcrossBackEdge(const DirtySet &dirty, Operation *loop) {
  DirtySet out;
  for (auto [root, index] : dirty) {
    bool local = index && isDefinedInside(index, loop);
    out.insert({root, local ? Value() : index});
  }
  return out;
}

class FencePlacer {
public:
  /// Fences created or kept; hoisted once the walk is over.
  SmallVector<WgmmaSharedOperandFenceOp> fences;

  /// Two walks: the first computes every loop's entry state, the second places fences with them.
  void run(Operation *root) {
    root->walk([&](Block *block) { facts.learn(*block); });
    for (bool mutate : {false, true})
      for (Region &region : root->getRegions())
        for (Block &block : region) {
          DirtySet dirty;
          processBlock(block, dirty, mutate);
        }
  }

private:
  ScheduleFacts facts;
  /// Entry state of every loop (and other region op), kept across visits. It only grows, so the
  /// number of body walks is bounded by the number of times it grows plus the visits of the
  /// parent: polynomial in the nesting depth (restarting each loop's fixpoint from scratch on
  /// every visit of its parent was exponential).
  llvm::DenseMap<Operation *, DirtySet> loopEntry;

  void processBlock(Block &block, DirtySet &dirty, bool mutate) {
    for (Operation &op : llvm::make_early_inc_range(block))
      processOp(&op, dirty, mutate);
  }

  /// Whether reading `read` at `at` may observe the pending write `pending`.
  bool conflicts(const Pending &pending, const SlotAccess &read, Operation *at) const {
    auto [root, index] = pending;
    if (!mayAlias(root, read.root))
      return false;
    return !(root == read.root && facts.provablyDistinct(index, read.index, at));
  }

  void processOp(Operation *op, DirtySet &dirty, bool mutate) {
    if (auto write = getGenericSharedWrite(op)) {
      SlotAccess slot = getSlotAccess(*write);
      dirty.insert({slot.root, slot.index});
      return;
    }
    if (isOp(op, kFenceAsyncShared)) {
      dirty.clear(); // a stock fence orders every earlier generic write
      return;
    }
    if (auto fence = dyn_cast<WgmmaSharedOperandFenceOp>(op)) {
      // The hardware fence orders every earlier generic write of the thread, named or not.
      bool ordersSomething = !dirty.empty();
      dirty.clear();
      if (mutate) {
        if (ordersSomething)
          fences.push_back(fence);
        else
          fence.erase(); // redundant: nothing was written since the last fence
      }
      return;
    }
    if (auto dot = WarpGroupDot::bind(op)) {
      bool readsDirty = false;
      SmallVector<Value> conflictingReads;
      for (Value operand : dot.sharedOperands()) {
        SlotAccess read = getSlotAccess(operand);
        for (const Pending &p : dirty)
          if (conflicts(p, read, op)) {
            readsDirty = true;
            conflictingReads.push_back(read.root);
          }
      }
      if (!readsDirty)
        return; // e.g. the copies for a later iteration landing in another ring slot
      // One fence orders all pending writes; it names every pending buffer it can reach, so that
      // hoisting later sees each buffer whose ordering depends on it.
      llvm::SmallSetVector<Value, 4> named;
      for (auto [root, index] : dirty)
        if (isAvailableAt(root, op))
          named.insert(root);
      // Pending buffers the WGMMA cannot see (defined in a loop it follows, or later in the body
      // of its own loop): name what it reads instead, which hoisting then treats as written
      // wherever they may alias; its operands are always available.
      if (named.empty())
        for (Value read : conflictingReads)
          if (isAvailableAt(read, op))
            named.insert(read);
      if (named.empty())
        for (Value operand : dot.sharedOperands())
          named.insert(operand);
      dirty.clear();
      if (mutate) {
        OpBuilder b(op);
        fences.push_back(b.create<WgmmaSharedOperandFenceOp>(
            op->getLoc(), ValueRange(named.getArrayRef()), /*bCluster=*/false));
      }
      return;
    }
    if (op->getNumRegions() == 0)
      return;
    // A kernel (or a nested module) starts with no pending generic writes, and its writes do not
    // reach the ops after it.
    if (FuncOp::bind(op) || op->hasTrait<OpTrait::IsIsolatedFromAbove>()) {
      for (Region &region : op->getRegions())
        for (Block &block : region) {
          DirtySet fresh;
          processBlock(block, fresh, mutate);
        }
      return;
    }
    if (isOp(op, kScfIf)) {
      DirtySet merged = dirty;
      for (Region &region : op->getRegions()) {
        DirtySet branch = dirty;
        for (Block &block : region)
          processBlock(block, branch, mutate);
        merged = join(merged, branch);
      }
      dirty = merged;
      return;
    }
    // Loops and any other region op: state at region entry is the fixpoint over back edges.
    // In the placing walk the entry is already the fixpoint: one body walk, so each fence is
    // created once.
    loopEntry[op].insert(dirty.begin(), dirty.end());
    while (true) {
      DirtySet entry = loopEntry[op]; // a copy: nested visits may rehash the map
      DirtySet end = entry;
      for (Region &region : op->getRegions())
        for (Block &block : region)
          processBlock(block, end, mutate);
      DirtySet next = join(entry, widenAcrossBackEdge(end, op));
      if (mutate || next.size() == entry.size()) {
        dirty = next;
        return;
      }
      loopEntry[op] = next;
    }
  }
};

/// The root buffers each loop may write (through any proxy), computed once per loop.
class WrittenRoots {
public:
  llvm::ArrayRef<Value> of(Operation *loop) {
    auto [it, inserted] = roots.try_emplace(loop);
    if (inserted) {
      llvm::SetVector<Value> found;
      loop->walk([&](Operation *op) {
        for (Value written : getPossiblyWrittenBuffers(op))
          found.insert(getRootBuffer(written));
      });
      it->second.assign(found.begin(), found.end());
    }
    return it->second;
  }

private:
  llvm::DenseMap<Operation *, SmallVector<Value>> roots;
};

/// Whether `loop` contains a write that may alias one of `buffers`.
static bool writesAnyOf(WrittenRoots &written, Operation *loop, ValueRange buffers) {
  for (Value root : written.of(loop))
    for (Value buffer : buffers)
      if (mayAlias(root, buffer))
        return true;
  return false;
}

static void hoistOutOfLoops(WgmmaSharedOperandFenceOp fence, WrittenRoots &written) {
  while (Operation *parent = fence->getParentOp()) {
    if (!isLoop(parent) || writesAnyOf(written, parent, fence.getBuffers()))
      return;
    for (Value buffer : fence.getBuffers())
      if (isDefinedInside(buffer, parent))
        return; // the named buffer is defined inside the loop
    fence->moveBefore(parent);
  }
}

/// Drop a fence that directly follows another fence covering the same buffers.
static void removeAdjacentDuplicates(WgmmaSharedOperandFenceOp fence) {
  auto prev = dyn_cast_or_null<WgmmaSharedOperandFenceOp>(fence->getPrevNode());
  if (!prev || prev.getBCluster() != fence.getBCluster())
    return;
  for (Value buffer : fence.getBuffers())
    if (!llvm::is_contained(prev.getBuffers(), buffer))
      return;
  fence.erase();
}

struct InsertWgmmaFencesPass
    : public TLEPass<InsertWgmmaFencesPass, tle::impl::TLEInsertWgmmaFencesBase> {
  void execute() {
    // Every WGMMA read must be fenced: one whose operands cannot be read is an error, not a
    // refusal.
    WalkResult malformed = getOperation().walk([&](Operation *op) {
      if (!isOp(op, kWarpGroupDot) || WarpGroupDot::bind(op))
        return WalkResult::advance();
      op->emitError() << getArgument()
                      << ": malformed ttng.warp_group_dot (expected a, b, c[, useC] and one "
                         "result of c's type): its shared-memory reads cannot be fenced";
      return WalkResult::interrupt();
    });
    if (malformed.wasInterrupted())
      return signalPassFailure();
    FencePlacer placer;
    placer.run(getOperation());
    WrittenRoots written;
    for (WgmmaSharedOperandFenceOp fence : placer.fences)
      hoistOutOfLoops(fence, written);
    for (WgmmaSharedOperandFenceOp fence : placer.fences)
      removeAdjacentDuplicates(fence);
  }
};

} // namespace
