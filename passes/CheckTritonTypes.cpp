//===- CheckTritonTypes.cpp - Reject Triton types the model cannot read ---===//
//
// First in tle-pipeline: every later pass reads Triton's types and layouts through the typed
// model, so a spelling the model cannot read back exactly (a newer Triton's syntax, a corrupted
// input) stops the pipeline here instead of being misread.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

namespace tle {
#define GEN_PASS_DEF_TLECHECKTRITONTYPES
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;

namespace {

struct CheckTritonTypesPass
    : public tle::TLEPass<CheckTritonTypesPass, tle::impl::TLECheckTritonTypesBase> {
  void execute() {
    bool failedAny = false;
    getOperation().walk([&](Operation *op) {
      SmallVector<Value> values = tle::definedValues(op);
      for (Value value : values)
        if (auto error = tle::triton::checkRoundTrip(value.getType())) {
          op->emitError(*error);
          failedAny = true;
        }
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
