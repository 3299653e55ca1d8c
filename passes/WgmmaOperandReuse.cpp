//===- WgmmaOperandReuse.cpp - Feed WGMMA from the buffer a tile sits in --===//
//
// `local_alloc(local_load(buf))` as a WGMMA operand copies a tile that is already in shared
// memory through registers into a fresh buffer (stock Triton folds the pair only when the types
// match exactly, never for mutable buffers). When the buffer's layout is WGMMA-readable and it
// cannot be written while the WGMMA may still read it, the operand becomes the buffer itself or a
// `tle.memdesc_wgmma_view` of it (for `tt.trans` in between).
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/SharedMemory.h"
#include "passes/TritonIR.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace tle {
#define GEN_PASS_DEF_TLEWGMMAOPERANDREUSE
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;
using triton::MemDescType;

namespace {

#ifdef __TLE__

struct ReuseCandidate {
  WarpGroupDot dot;
  unsigned operandIndex;
  LocalAlloc alloc; // ttg.local_alloc %regs
  LocalLoad load;   // ttg.local_load %buf
  Trans transpose;  // tt.trans between them, or empty
  SmallVector<int32_t> order;
};

/// Whether any op in [from, to] (same block, nested regions included) may write `root`.
static bool mayWriteBetween(Operation *from, Operation *to, Value root) {
  for (Operation *op = from; op; op = op->getNextNode()) {
    bool writes = false;
    op->walk([&](Operation *nested) {
      for (Value w : getPossiblyWrittenBuffers(nested))
        if (mayAlias(getRootBuffer(w), root))
          writes = true;
    });
    if (writes)
      return true;
    if (op == to)
      return false;
  }
  return true; // `to` not reached: not in one block
}

static std::optional<ReuseCandidate> match(WarpGroupDot dot, unsigned idx, std::string &why) {
  ReuseCandidate c{dot, idx, {}, {}, {}, {}};
  c.alloc = LocalAlloc::bind(dot->getOperand(idx));
  if (!c.alloc || !c.alloc.src())
    return std::nullopt;
  Value regs = c.alloc.src();
  if ((c.transpose = Trans::bind(regs))) {
    c.order.assign(c.transpose.order().begin(), c.transpose.order().end());
    regs = c.transpose.src();
  }
  c.load = LocalLoad::bind(regs);
  if (!c.load)
    return std::nullopt;
  if (c.order.empty()) {
    auto m = triton::getMemDesc(c.load.src().getType());
    if (!m)
      return std::nullopt;
    for (int32_t i = 0; i < (int32_t)m->shape.size(); ++i)
      c.order.push_back(i);
  }
  // Every other use of the staged copy must be a wait that merely keeps it alive.
  for (OpOperand &use : c.alloc.result().getUses()) {
    Operation *user = use.getOwner();
    if (user == dot.getOperation())
      continue;
    auto wait = WarpGroupDotWait::bind(user);
    if (!wait || !wait.output(use.getOperandNumber()).use_empty()) {
      why = "the staged copy has other uses";
      return std::nullopt;
    }
  }
  return c;
}

/// The view type of `src` permuted by `order`, when WGMMA can read it from shared memory.
static std::optional<MemDescType> viewType(const MemDescType &src, ArrayRef<int32_t> order) {
  if (!src.inSharedMemory())
    return std::nullopt;
  return triton::permutedView(src, order);
}

#endif // __TLE__

struct WgmmaOperandReusePass : public tle::impl::TLEWgmmaOperandReuseBase<WgmmaOperandReusePass> {
  void runOnOperation() override {
#ifdef __TLE__
    SmallVector<WarpGroupDot> dots;
    if (failed(verifySSAOrder(getOperation())))
      return signalPassFailure();
    getOperation().walk([&](Operation *op) {
      if (auto dot = WarpGroupDot::bind(op))
        dots.push_back(dot);
    });
    for (WarpGroupDot dot : dots)
      for (unsigned idx : {0u, 1u})
        rewrite(dot, idx);
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }

#ifdef __TLE__
  void rewrite(WarpGroupDot dot, unsigned idx) {
    std::string why;
    auto c = match(dot, idx, why);
    if (!c)
      return;
    Value buffer = c->load.src();
    auto src = triton::getMemDesc(buffer.getType());
    auto staged = triton::getMemDesc(c->alloc.result().getType());
    if (!src || !staged)
      return;
    auto view = viewType(*src, c->order);
    // WGMMA must see exactly the layout the staging copy had (same swizzle and orientation).
    if (!view || view->shape != staged->shape || view->encoding != staged->encoding ||
        view->elementType != staged->elementType)
      return;
    // The load, its transpose, the copy and the dot must share a block, and nothing may write the
    // buffer from the load until the WGMMA has finished reading it.
    Block *block = dot->getBlock();
    if (c->load->getBlock() != block || c->alloc->getBlock() != block ||
        (c->transpose && c->transpose->getBlock() != block))
      return;
    Operation *end = dot.endOfRead();
    if (!end || mayWriteBetween(c->load->getNextNode(), end, getRootBuffer(buffer)))
      return;

    OpBuilder b(c->alloc.getOperation());
    Value operand = buffer;
    bool identity = llvm::all_of(llvm::enumerate(c->order),
                                 [](auto p) { return (int32_t)p.index() == p.value(); });
    Type viewTy = triton::toType(&getContext(), *view);
    if (!identity || viewTy != buffer.getType())
      operand = b.create<MemDescWgmmaViewOp>(c->alloc.getLoc(), viewTy, buffer,
                                             b.getDenseI32ArrayAttr(c->order));
    // Waits pass their operands through: keep their (unused) result types in step.
    for (OpOperand &use : llvm::make_early_inc_range(c->alloc.result().getUses())) {
      Operation *user = use.getOwner();
      if (user != dot.getOperation())
        user->getResult(use.getOperandNumber()).setType(operand.getType());
      use.set(operand);
    }
    c->alloc->erase();
    if (c->transpose && c->transpose->use_empty())
      c->transpose->erase();
    if (c->load->use_empty())
      c->load->erase();
  }
#endif // __TLE__
};

} // namespace
