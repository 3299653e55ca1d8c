//===- TestTritonModel.cpp - Exercise the typed Triton model on real IR ---===//
#include "passes/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/raw_ostream.h"

namespace tle {
#define GEN_PASS_DEF_TLETESTTRITONMODEL
#include "passes/Passes.h.inc"
} // namespace tle

using namespace mlir;
using namespace tle;
using namespace tle::triton;

namespace {

static std::string describe(const Encoding &e) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto m = NvidiaMmaEncoding::from(e)) {
    os << "mma v" << m->versionMajor << " warps=";
    llvm::interleave(m->warpsPerCTA, os, "x");
    os << " instr=";
    llvm::interleave(m->instrShape, os, "x");
  } else if (auto b = BlockedEncoding::from(e)) {
    os << "blocked warps=";
    llvm::interleave(b->warpsPerCTA, os, "x");
  } else if (auto d = DotOperandEncoding::from(e)) {
    os << "dot_op" << d->opIdx << "(" << describe(*d->parent) << ")";
  } else if (auto sl = SliceEncoding::from(e)) {
    os << "slice" << sl->dim << "(" << describe(*sl->parent) << ")";
  } else if (auto n = NvmmaSharedEncoding::from(e)) {
    os << "nvmma swizzle=" << n->swizzlingByteWidth << " transposed=" << n->transposed
       << " bits=" << n->elementBitWidth;
  } else if (auto sw = SwizzledSharedEncoding::from(e)) {
    os << "swizzled vec=" << sw->vec << " order=";
    llvm::interleave(sw->order, os, ",");
  } else {
    os << e.kind;
  }
  return s;
}

/// What the model read from `type`, or nothing for a type it does not cover.
static std::optional<std::string> describe(Type type) {
  std::string note;
  llvm::raw_string_ostream os(note);
  if (auto m = getMemDesc(type)) {
    os << "memdesc ";
    llvm::interleave(m->shape, os, "x");
    os << " " << m->elementType << " [" << describe(m->encoding) << "] " << m->memorySpace.kind
       << (m->isMutable ? " mutable" : "");
    return note;
  }
  if (auto enc = getTensorEncoding(type))
    return describe(*enc);
  return std::nullopt;
}

/// Annotates each op with `tle.model`: what the model read from the Triton types of its results
/// and block arguments. Reports what tle-check-triton-types would reject as errors.
struct TestTritonModelPass : public TLEPass<TestTritonModelPass, tle::impl::TLETestTritonModelBase> {
  void execute() {
    bool failedAny = false;
    getOperation().walk([&](Operation *op) {
      SmallVector<Value> values = tle::definedValues(op);
      SmallVector<std::string> notes;
      for (Value value : values) {
        if (auto error = checkRoundTrip(value.getType())) {
          op->emitError(*error);
          failedAny = true;
        }
        if (auto note = describe(value.getType()))
          notes.push_back(*note);
      }
      if (notes.empty())
        return;
      std::string joined;
      llvm::raw_string_ostream os(joined);
      llvm::interleave(notes, os, "; ");
      op->setAttr("tle.model", StringAttr::get(op->getContext(), joined));
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
