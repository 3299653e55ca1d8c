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

struct ReuseCandidate {
  WarpGroupDot dot;
  unsigned operandIndex;
  LocalAlloc alloc; // ttg.local_alloc %regs
  LocalLoad load;   // ttg.local_load %buf
  Trans transpose;  // tt.trans between them, or empty
  SmallVector<int32_t> order;
};

static Refusal kept(Operation *at, const Twine &why) {
  return {at, ("staging copy kept: " + why).str()};
}

/// The first op in [from, to] (same block, nested regions included) that may write `root`;
/// `from` itself when `to` is not reached (not one block).
static Operation *firstWriteBetween(Operation *from, Operation *to, Value root) {
  for (Operation *op = from; op; op = op->getNextNode()) {
    Operation *writer = nullptr;
    op->walk([&](Operation *nested) {
      for (Value w : getPossiblyWrittenBuffers(nested))
        if (!writer && mayAlias(getRootBuffer(w), root))
          writer = nested;
    });
    if (writer)
      return writer;
    if (op == to)
      return nullptr;
  }
  return from;
}

/// The `local_alloc(local_load(buf))` (optionally through `tt.trans`) feeding operand `idx` of
/// `dot`. nullopt with no refusal when the operand is no such copy (nothing to do).
static std::optional<ReuseCandidate> match(WarpGroupDot dot, unsigned idx,
                                           std::optional<Refusal> &refusal) {
  ReuseCandidate c{dot, idx, {}, {}, {}, {}};
  c.alloc = LocalAlloc::bind(dot->getOperand(idx));
  if (!c.alloc || !c.alloc.src())
    return std::nullopt;
  Value regs = c.alloc.src();
  if (isOp(regs.getDefiningOp(), kTrans)) {
    if (!(c.transpose = Trans::bind(regs))) {
      refusal = kept(regs.getDefiningOp(), "malformed tt.trans (expected one operand, one "
                                           "result and an `order`)");
      return std::nullopt;
    }
    c.order.assign(c.transpose.order().begin(), c.transpose.order().end());
    regs = c.transpose.src();
  }
  if (!isOp(regs.getDefiningOp(), kLocalLoad))
    return std::nullopt; // computed in registers: no shared buffer to read instead
  if (!(c.load = LocalLoad::bind(regs))) {
    refusal = kept(regs.getDefiningOp(), "malformed ttg.local_load (expected a buffer[, a "
                                         "token] and one result)");
    return std::nullopt;
  }
  auto buffer = triton::getMemDesc(c.load.src().getType());
  if (!buffer) {
    refusal = kept(c.load.getOperation(), "the loaded buffer's type is not one TLE's model can "
                                          "read");
    return std::nullopt;
  }
  if (c.order.empty())
    for (int32_t i = 0; i < (int32_t)buffer->shape.size(); ++i)
      c.order.push_back(i);
  // Every other use of the staged copy must be a wait that merely keeps it alive.
  for (OpOperand &use : c.alloc.result().getUses()) {
    Operation *user = use.getOwner();
    if (user == dot.getOperation())
      continue;
    auto wait = WarpGroupDotWait::bind(user);
    if (!wait || !wait.output(use.getOperandNumber()).use_empty()) {
      refusal = kept(user, "the staged copy has another use here (only waits that keep it alive "
                           "are allowed)");
      return std::nullopt;
    }
  }
  return c;
}

/// Why `c` cannot read its buffer directly, and the view type it reads it through otherwise.
static FailureOr<MemDescType> checkCandidate(const ReuseCandidate &c, Refusal &refusal) {
  MemDescType src = *triton::getMemDesc(c.load.src().getType());
  auto staged = triton::getMemDesc(c.alloc.result().getType());
  if (!staged) {
    refusal = kept(c.alloc.getOperation(), "the staged copy's type is not one TLE's model can "
                                           "read");
    return failure();
  }
  auto view = src.inSharedMemory() ? triton::permutedView(src, c.order) : std::nullopt;
  if (!view) {
    refusal = kept(c.load.getOperation(), "the buffer is not an NVMMA-shared tile in shared "
                                          "memory that the transpose order fits");
    return failure();
  }
  // WGMMA must see exactly the layout the staging copy had (same swizzle and orientation).
  if (view->shape != staged->shape || view->encoding != staged->encoding ||
      view->elementType != staged->elementType) {
    refusal = kept(c.alloc.getOperation(), "the buffer's layout (swizzle, orientation or element "
                                           "type) differs from the copy the WGMMA reads");
    return failure();
  }
  // The load, its transpose, the copy and the dot must share a block, and nothing may write the
  // buffer from the load until the WGMMA has finished reading it.
  Block *block = c.dot->getBlock();
  if (c.load->getBlock() != block || c.alloc->getBlock() != block ||
      (c.transpose && c.transpose->getBlock() != block)) {
    refusal = kept(c.dot.getOperation(), "the load, its transpose and the copy are not all in "
                                         "this WGMMA's block");
    return failure();
  }
  Operation *end = c.dot.endOfRead();
  if (!end) {
    refusal = kept(c.dot.getOperation(), "no warp_group_dot_wait {pendings = 0} later in this "
                                         "block retires this async WGMMA");
    return failure();
  }
  if (Operation *writer = firstWriteBetween(c.load->getNextNode(), end,
                                            getRootBuffer(c.load.src()))) {
    refusal = kept(writer, "this op may write the buffer between the load and the end of the "
                           "WGMMA's read (the copy is a snapshot)");
    return failure();
  }
  return *view;
}

struct WgmmaOperandReusePass
    : public TLEPass<WgmmaOperandReusePass, tle::impl::TLEWgmmaOperandReuseBase> {
  void execute() {
    SmallVector<WarpGroupDot> dots;
    getOperation().walk([&](Operation *op) {
      if (auto dot = WarpGroupDot::bind(op))
        dots.push_back(dot);
      else if (isOp(op, kWarpGroupDot))
        (void)refuse(op, "WGMMA left alone: malformed ttng.warp_group_dot (expected a, b, "
                         "c[, useC] and one result of c's type)");
    });
    for (WarpGroupDot dot : dots)
      for (unsigned idx : {0u, 1u})
        rewrite(dot, idx);
  }

  void rewrite(WarpGroupDot dot, unsigned idx) {
    std::optional<Refusal> refusal;
    auto c = match(dot, idx, refusal);
    if (!c) {
      if (refusal)
        (void)refuse(*refusal);
      return;
    }
    Refusal why;
    FailureOr<MemDescType> view = checkCandidate(*c, why);
    if (failed(view)) {
      (void)refuse(why);
      return;
    }
    Value buffer = c->load.src();
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
};

} // namespace
