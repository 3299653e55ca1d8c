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

#ifdef __TLE__

/// Rows of a Hopper WGMMA per warp; a warpgroup (4 warps) covers 64 rows.
constexpr int64_t kRowsPerWarp = 16;
constexpr int64_t kWarpsPerWarpgroup = 4;

struct SplitPlan {
  Encoding from, to;
};

/// The split layout for one WGMMA result of shape [m, n], or a reason to refuse.
static FailureOr<NvidiaMmaEncoding> planSplit(const NvidiaMmaEncoding &mma, int64_t numWarps,
                                              int64_t m, int64_t n, std::string &why) {
  if (!mma.isHopperWgmma() || mma.warpsPerCTA.size() != 2 || mma.instrShape.size() != 3) {
    why = "not a 2-D Hopper (version 3) MMA layout";
    return failure();
  }
  // The model's view guarantees positive warps and instruction sizes; the tile's own sizes are
  // checked here (0 or dynamic would divide by zero below).
  if (m <= 0 || n <= 0) {
    why = "the WGMMA's result has a zero or dynamic dimension";
    return failure();
  }
  if (mma.warpsPerCTA[0] != numWarps || mma.warpsPerCTA[1] != 1) {
    why = "warps are already split along N";
    return failure();
  }
  int64_t rowWarps = m / kRowsPerWarp;
  if (m % (kRowsPerWarp * kWarpsPerWarpgroup) != 0 || rowWarps >= numWarps ||
      numWarps % rowWarps != 0) {
    why = "M uses every warp (no duplicated work)";
    return failure();
  }
  int64_t colWarps = numWarps / rowWarps;
  int64_t instrN = mma.instrShape[1];
  if (n % colWarps != 0) {
    why = "N does not split evenly between warpgroups";
    return failure();
  }
  int64_t nPerGroup = n / colWarps;
  if (nPerGroup % instrN != 0) {
    // A narrower instruction still covers the tile when N per warpgroup is a multiple of 8.
    if (nPerGroup % 8 != 0 || nPerGroup > 256) {
      why = "N per warpgroup is not a whole number of WGMMA instructions";
      return failure();
    }
    instrN = nPerGroup;
  }
  NvidiaMmaEncoding split = mma;
  split.warpsPerCTA = {rowWarps, colWarps};
  split.instrShape[1] = instrN;
  return split;
}

#endif // __TLE__

struct SplitDotWarpsPass : public tle::impl::TLESplitDotWarpsBase<SplitDotWarpsPass> {
  void runOnOperation() override {
#ifdef __TLE__
    ModuleOp module = getOperation();
    if (failed(verifySSAOrder(module)))
      return signalPassFailure();
    auto numWarpsOr = getNumWarps(module);
    if (!numWarpsOr)
      return; // not TTGIR (no layouts assigned yet)
    int64_t numWarps = *numWarpsOr;

    // Every distinct WGMMA layout, with the plan all its dots agree on (or a refusal).
    std::map<std::string, std::optional<SplitPlan>> plans;
    module.walk([&](Operation *op) {
      auto dot = WarpGroupDot::bind(op);
      if (!dot)
        return;
      auto type = dyn_cast<RankedTensorType>(dot.result().getType());
      auto enc = triton::getTensorEncoding(dot.result().getType());
      auto mma = enc ? NvidiaMmaEncoding::from(*enc) : std::nullopt;
      if (!type || type.getRank() != 2 || !mma)
        return;
      std::string key = enc->str();
      std::string why;
      auto split = planSplit(*mma, numWarps, type.getShape()[0], type.getShape()[1], why);
      auto it = plans.find(key);
      if (failed(split)) {
        plans[key] = std::nullopt;
        return;
      }
      Encoding to = split->toEncoding();
      if (it == plans.end())
        plans[key] = SplitPlan{*enc, to};
      else if (it->second && !(it->second->to == to))
        it->second = std::nullopt; // two dots of one layout want different splits: refuse
    });

    for (auto &[key, plan] : plans) {
      if (!plan)
        continue;
      const Encoding &from = plan->from, &to = plan->to;
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
#else
    reportCompiledWithoutNativeRewrites(getOperation(), getArgument());
    signalPassFailure();
#endif
  }
};

} // namespace
