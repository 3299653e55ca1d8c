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
#include "passes/TritonIR.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SetVector.h"

namespace tle {
#define GEN_PASS_DEF_TLEINSERTWGMMAFENCES
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;

namespace {

#ifdef __TLE__

/// Buffers (root, ring slot or null for the whole buffer) with generic-proxy writes not yet
/// ordered by a fence.
using Pending = std::pair<Value, Value>;
using DirtySet = llvm::SmallSetVector<Pending, 8>;

static DirtySet join(const DirtySet &a, const DirtySet &b) {
  DirtySet out = a;
  out.insert(b.begin(), b.end());
  return out;
}

/// Across a back edge a slot index names another iteration's value: entries whose slot is
/// defined in `loop` widen to their whole buffer.
static DirtySet widenAcrossBackEdge(const DirtySet &dirty, Operation *loop) {
  DirtySet out;
  for (auto [root, index] : dirty) {
    bool local = index && loop->isAncestor(index.getParentRegion()->getParentOp());
    out.insert({root, local ? Value() : index});
  }
  return out;
}

/// Whether reading `read` may observe the pending write `pending`.
static bool conflicts(const Pending &pending, const SlotAccess &read) {
  auto [root, index] = pending;
  if (!mayAlias(root, read.root))
    return false;
  return !(root == read.root && slotsProvablyDistinct(index, read.index));
}

class FencePlacer {
public:
  /// Fences created or kept; hoisted once the walk is over.
  SmallVector<WgmmaSharedOperandFenceOp> fences;

  void processBlock(Block &block, DirtySet &dirty, bool mutate) {
    for (Operation &op : llvm::make_early_inc_range(block))
      processOp(&op, dirty, mutate);
  }

private:
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
    if (isOp(op, kWarpGroupDot)) {
      bool readsDirty = false;
      for (Value operand : op->getOperands().take_front(2)) {
        if (!triton::isMemDesc(operand.getType()))
          continue;
        SlotAccess read = getSlotAccess(operand);
        for (const Pending &p : dirty)
          readsDirty |= conflicts(p, read);
      }
      if (!readsDirty)
        return; // e.g. the copies for a later iteration landing in another ring slot
      // One fence orders all pending writes; it names every pending buffer it can reach, so that
      // hoisting later sees each buffer whose ordering depends on it.
      llvm::SmallSetVector<Value, 4> named;
      for (auto [root, index] : dirty)
        if (root.getParentRegion()->isAncestor(op->getParentRegion()))
          named.insert(root);
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
    if (isOp(op, "tt.func")) {
      for (Region &region : op->getRegions())
        for (Block &block : region) {
          DirtySet fresh; // a kernel starts with no pending generic writes
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
    DirtySet entry = dirty;
    while (true) {
      DirtySet end = entry;
      for (Region &region : op->getRegions())
        for (Block &block : region)
          processBlock(block, end, /*mutate=*/false);
      DirtySet next = join(entry, widenAcrossBackEdge(end, op));
      if (next.size() == entry.size())
        break;
      entry = next;
    }
    DirtySet end = entry;
    for (Region &region : op->getRegions())
      for (Block &block : region)
        processBlock(block, end, mutate);
    dirty = join(entry, widenAcrossBackEdge(end, op));
  }
};

/// Whether `loop` contains a generic write that may alias one of `roots`.
static bool writesAnyOf(Operation *loop, ValueRange roots) {
  bool found = false;
  loop->walk([&](Operation *op) {
    for (Value written : getPossiblyWrittenBuffers(op))
      for (Value root : roots)
        if (mayAlias(getRootBuffer(written), root))
          found = true;
  });
  return found;
}

static void hoistOutOfLoops(WgmmaSharedOperandFenceOp fence) {
  while (Operation *parent = fence->getParentOp()) {
    if (!isLoop(parent) || writesAnyOf(parent, fence.getBuffers()))
      return;
    for (Value buffer : fence.getBuffers())
      if (parent->isAncestor(buffer.getParentRegion()->getParentOp()) ||
          buffer.getParentRegion()->getParentOp() == parent)
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

#endif // __TLE__

struct InsertWgmmaFencesPass : public tle::impl::TLEInsertWgmmaFencesBase<InsertWgmmaFencesPass> {
  void runOnOperation() override {
#ifdef __TLE__
    FencePlacer placer;
    for (Region &region : getOperation()->getRegions())
      for (Block &block : region) {
        DirtySet dirty;
        placer.processBlock(block, dirty, /*mutate=*/true);
      }
    for (WgmmaSharedOperandFenceOp fence : placer.fences)
      hoistOutOfLoops(fence);
    for (WgmmaSharedOperandFenceOp fence : placer.fences)
      removeAdjacentDuplicates(fence);
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }
};

} // namespace
