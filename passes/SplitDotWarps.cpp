//===- SplitDotWarps.cpp - Stop warpgroups from duplicating a WGMMA tile --===//
//
// Stock Triton 3.6 gives every warp to M for a dot whose result feeds another dot
// (`warpsPerCTA = [num_warps, 1]`). With a 64-row tile and 8 warps, each of the two warpgroups
// then computes the whole tile: twice the MMA work. Splitting N between the warpgroups
// (`[4, 2]`) removes the duplicate; Triton lowers the resulting cross-warpgroup reductions and
// layout conversions itself.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/TritonIR.h"

#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/MapVector.h"

#include <map>

namespace tle {
#define GEN_PASS_DEF_TLESPLITDOTWARPS
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::tritonir;
using triton::Encoding;
using triton::NvidiaMmaEncoding;

namespace {

/// Rows of a Hopper WGMMA per warp; a warpgroup (4 warps) covers 64 rows.
constexpr int64_t kRowsPerWarp = 16;
constexpr int64_t kWarpsPerWarpgroup = 4;

/// What one WGMMA says about its layout.
struct DotPlan {
  enum Kind {
    Split,         // duplicated work: `split` removes it
    NoDuplication, // nothing to do for this WGMMA (and its layout must stay)
    Refused,       // duplicated work that cannot be split: `why`
  } kind;
  NvidiaMmaEncoding split;
  std::string why;
};

/// The split layout for one WGMMA result of shape [m, n].
static DotPlan planSplit(const NvidiaMmaEncoding &mma, int64_t numWarps, int64_t m, int64_t n) {
  auto refused = [](const Twine &why) { return DotPlan{DotPlan::Refused, {}, why.str()}; };
  DotPlan none{DotPlan::NoDuplication, {}, {}};
  if (!mma.isHopperWgmma() || mma.warpsPerCTA.size() != 2 || mma.instrShape.size() != 3)
    return none; // not a 2-D Hopper (version 3) MMA layout
  // The model's view guarantees positive warps and instruction sizes; the tile's own sizes are
  // checked here (0 or dynamic would divide by zero below).
  if (m <= 0 || n <= 0)
    return refused("the WGMMA's result has a zero or dynamic dimension");
  if (mma.warpsPerCTA[0] != numWarps || mma.warpsPerCTA[1] != 1)
    return none; // warps are already split along N
  int64_t rowWarps = m / kRowsPerWarp;
  if (m % (kRowsPerWarp * kWarpsPerWarpgroup) != 0 || rowWarps >= numWarps ||
      numWarps % rowWarps != 0)
    return none; // M uses every warp: no duplicated work
  int64_t colWarps = numWarps / rowWarps;
  int64_t instrN = mma.instrShape[1];
  if (n % colWarps != 0)
    return refused("N (" + Twine(n) + ") does not split evenly between " + Twine(colWarps) +
                   " warpgroups");
  int64_t nPerGroup = n / colWarps;
  if (nPerGroup % instrN != 0) {
    // A narrower instruction still covers the tile when N per warpgroup is a multiple of 8.
    if (nPerGroup % 8 != 0 || nPerGroup > 256)
      return refused("N per warpgroup (" + Twine(nPerGroup) +
                     ") is not a whole number of WGMMA instructions");
    instrN = nPerGroup;
  }
  DotPlan plan{DotPlan::Split, mma, {}};
  plan.split.warpsPerCTA = {rowWarps, colWarps};
  plan.split.instrShape[1] = instrN;
  return plan;
}

/// One WGMMA layout and what its WGMMAs agree on.
struct LayoutPlan {
  Encoding from;
  std::optional<Encoding> to;  // the split every duplicating WGMMA of the layout asks for
  bool refused = false;        // a WGMMA of the layout was refused (already reported)
  Refusal blocked;             // why the split cannot be applied to the whole layout
  Operation *noDuplication = nullptr; // a WGMMA of the layout without duplicated work
};

/// Retypes every value, attribute and nested layout that uses `from` to `to`.
static void replaceLayout(ModuleOp module, const Encoding &from, const Encoding &to) {
  AttrTypeReplacer replacer;
  replacer.addReplacement([&](OpaqueAttr attr) -> std::optional<Attribute> {
    auto enc = triton::getEncoding(attr);
    if (!enc)
      return std::nullopt;
    triton::Encoding replaced = triton::replaceEncoding(*enc, from, to);
    if (replaced == *enc)
      return std::nullopt;
    return triton::toAttr(attr.getContext(), replaced);
  });
  // Dense constants carry their tensor type inside the attribute's storage.
  replacer.addReplacement([&](DenseElementsAttr attr) -> std::optional<Attribute> {
    Type replaced = triton::replaceEncoding(attr.getType(), from, to);
    if (replaced == attr.getType())
      return std::nullopt;
    return DenseElementsAttr::getFromRawBuffer(cast<ShapedType>(replaced), attr.getRawData());
  });
  replacer.addReplacement([&](OpaqueType type) -> std::optional<Type> {
    Type replaced = triton::replaceEncoding(type, from, to);
    if (replaced == type)
      return std::nullopt;
    return replaced;
  });
  replacer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true, /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
  // Unregistered ops keep their inherent attributes (e.g. a constant's `value`) in a
  // properties dictionary the walk above does not visit.
  module.walk([&](Operation *op) {
    Attribute props = op->getPropertiesAsAttribute();
    if (!props)
      return;
    Attribute replaced = replacer.replace(props);
    if (replaced != props)
      (void)op->setPropertiesFromAttribute(replaced, /*emitError=*/nullptr);
  });
}

struct SplitDotWarpsPass : public TLEPass<SplitDotWarpsPass, tle::impl::TLESplitDotWarpsBase> {
  void execute() {
    ModuleOp module = getOperation();
    auto numWarps = getNumWarps(module);
    if (!numWarps)
      return; // not TTGIR (no layouts assigned yet)

    // Every distinct WGMMA layout (in order of appearance), with what its WGMMAs agree on.
    llvm::MapVector<std::string, LayoutPlan, std::map<std::string, unsigned>> layouts;
    module.walk([&](Operation *op) {
      auto dot = WarpGroupDot::bind(op);
      if (!dot)
        return;
      auto type = dyn_cast<RankedTensorType>(dot.result().getType());
      auto enc = triton::getTensorEncoding(dot.result().getType());
      if (!type || type.getRank() != 2 || !enc || !enc->isa("nvidia_mma"))
        return;
      auto mma = NvidiaMmaEncoding::from(*enc);
      if (!mma) {
        (void)refuse(op, "WGMMA left alone: its #ttg.nvidia_mma layout is malformed (a field is "
                         "missing, or a warp count or instruction size is not positive)");
        return;
      }
      LayoutPlan &layout = layouts[enc->str()];
      layout.from = *enc;
      DotPlan plan = planSplit(*mma, *numWarps, type.getShape()[0], type.getShape()[1]);
      switch (plan.kind) {
      case DotPlan::NoDuplication:
        if (!layout.noDuplication)
          layout.noDuplication = op;
        return;
      case DotPlan::Refused:
        layout.refused = true;
        (void)refuse(op, "layout left alone: " + plan.why);
        return;
      case DotPlan::Split: {
        Encoding to = plan.split.toEncoding();
        if (!layout.to)
          layout.to = to;
        else if (*layout.to != to && !layout.blocked.at)
          layout.blocked = {op, "layout left alone: this WGMMA needs another split of it than an "
                                "earlier one"};
        return;
      }
      }
    });

    for (auto &[key, layout] : layouts) {
      if (!layout.to || layout.refused)
        continue;
      if (!layout.blocked.at && layout.noDuplication)
        layout.blocked = {layout.noDuplication,
                          "layout left alone: this WGMMA shares it and has no duplicated work "
                          "(the pass splits a layout only for all of its WGMMAs)"};
      if (layout.blocked.at) {
        (void)refuse(layout.blocked);
        continue;
      }
      replaceLayout(module, layout.from, *layout.to);
    }
  }
};

} // namespace
