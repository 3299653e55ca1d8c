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
  Operation *dot;
  unsigned operandIndex;
  Operation *alloc;     // ttg.local_alloc %regs
  Operation *load;      // ttg.local_load %buf
  Operation *transpose; // tt.trans between them, or null
  SmallVector<int32_t> order;
};

/// The op after which the WGMMA no longer reads its operands: the dot itself when synchronous,
/// else a `warp_group_dot_wait {pendings = 0}` of its result in the same block.
static Operation *endOfRead(Operation *dot) {
  auto isAsync = getAttrOfType<BoolAttr>(dot, "isAsync");
  if (!isAsync || !isAsync.getValue())
    return dot;
  for (Operation *op = dot->getNextNode(); op; op = op->getNextNode())
    if (isFullWgmmaWait(op) && llvm::is_contained(op->getOperands(), dot->getResult(0)))
      return op;
  return nullptr;
}

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

static std::optional<ReuseCandidate> match(Operation *dot, unsigned idx, std::string &why) {
  ReuseCandidate c{dot, idx, nullptr, nullptr, nullptr, {}};
  c.alloc = dot->getOperand(idx).getDefiningOp();
  if (!isOp(c.alloc, kLocalAlloc) || c.alloc->getNumOperands() != 1)
    return std::nullopt;
  Operation *src = c.alloc->getOperand(0).getDefiningOp();
  if (isOp(src, kTrans)) {
    if (src->getNumOperands() != 1)
      return std::nullopt;
    c.transpose = src;
    auto order = getAttrOfType<DenseI32ArrayAttr>(src, "order");
    if (!order)
      return std::nullopt;
    c.order.assign(order.asArrayRef().begin(), order.asArrayRef().end());
    src = src->getOperand(0).getDefiningOp();
  }
  if (!isOp(src, kLocalLoad) || src->getNumOperands() < 1)
    return std::nullopt;
  c.load = src;
  if (c.order.empty()) {
    auto m = triton::getMemDesc(c.load->getOperand(0).getType());
    if (!m)
      return std::nullopt;
    for (int32_t i = 0; i < (int32_t)m->shape.size(); ++i)
      c.order.push_back(i);
  }
  // Every other use of the staged copy must be a wait that merely keeps it alive.
  for (OpOperand &use : c.alloc->getResult(0).getUses()) {
    Operation *user = use.getOwner();
    if (user == dot)
      continue;
    // A wait passes operand i through as result i.
    if (!isOp(user, kWarpGroupDotWait) || user->getNumResults() != user->getNumOperands() ||
        !user->getResult(use.getOperandNumber()).use_empty()) {
      why = "the staged copy has other uses";
      return std::nullopt;
    }
  }
  return c;
}

/// The view type of `src` permuted by `order` (NVMMA transpose flag flipped for a minor swap).
static std::optional<MemDescType> viewType(const MemDescType &src, ArrayRef<int32_t> order) {
  auto enc = triton::NvmmaSharedEncoding::from(src.encoding);
  if (!enc || !src.inSharedMemory() || order.size() != src.shape.size())
    return std::nullopt;
  SmallVector<bool> seen(order.size(), false);
  for (int32_t d : order) {
    if (d < 0 || d >= (int32_t)order.size() || seen[d])
      return std::nullopt; // not a permutation
    seen[d] = true;
  }
  MemDescType view = src;
  for (auto [i, d] : llvm::enumerate(order))
    view.shape[i] = src.shape[d];
  size_t r = order.size();
  bool swapsMinor = r >= 2 && order[r - 1] == (int32_t)r - 2 && order[r - 2] == (int32_t)r - 1;
  if (swapsMinor)
    enc->transposed = !enc->transposed;
  view.encoding = enc->toEncoding();
  view.allocShape.clear();
  if (!src.allocShape.empty())
    view.allocShape = src.allocShape;
  return view;
}

#endif // __TLE__

struct WgmmaOperandReusePass : public tle::impl::TLEWgmmaOperandReuseBase<WgmmaOperandReusePass> {
  void runOnOperation() override {
#ifdef __TLE__
    SmallVector<Operation *> dots;
    if (failed(verifySSAOrder(getOperation())))
      return signalPassFailure();
    getOperation().walk([&](Operation *op) {
      if (isOp(op, kWarpGroupDot) && op->getNumOperands() >= 3 && op->getNumResults() == 1)
        dots.push_back(op);
    });
    for (Operation *dot : dots)
      for (unsigned idx : {0u, 1u})
        rewrite(dot, idx);
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }

#ifdef __TLE__
  void rewrite(Operation *dot, unsigned idx) {
    std::string why;
    auto c = match(dot, idx, why);
    if (!c)
      return;
    Value buffer = c->load->getOperand(0);
    auto src = triton::getMemDesc(buffer.getType());
    auto staged = triton::getMemDesc(c->alloc->getResult(0).getType());
    if (!src || !staged)
      return;
    auto view = viewType(*src, c->order);
    // WGMMA must see exactly the layout the staging copy had (same swizzle and orientation).
    if (!view || view->shape != staged->shape || !(view->encoding == staged->encoding) ||
        view->elementType != staged->elementType)
      return;
    // The load, its transpose, the copy and the dot must share a block, and nothing may write the
    // buffer from the load until the WGMMA has finished reading it.
    Block *block = dot->getBlock();
    if (c->load->getBlock() != block || c->alloc->getBlock() != block ||
        (c->transpose && c->transpose->getBlock() != block))
      return;
    Operation *end = endOfRead(dot);
    if (!end || mayWriteBetween(c->load->getNextNode(), end, getRootBuffer(buffer)))
      return;

    OpBuilder b(c->alloc);
    Value operand = buffer;
    bool identity = llvm::all_of(llvm::enumerate(c->order),
                                 [](auto p) { return (int32_t)p.index() == p.value(); });
    Type viewTy = triton::toType(&getContext(), *view);
    if (!identity || viewTy != buffer.getType())
      operand = b.create<MemDescWgmmaViewOp>(c->alloc->getLoc(), viewTy, buffer,
                                             b.getDenseI32ArrayAttr(c->order));
    // Waits pass their operands through: keep their (unused) result types in step.
    for (OpOperand &use : llvm::make_early_inc_range(c->alloc->getResult(0).getUses())) {
      Operation *user = use.getOwner();
      if (user != dot)
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
