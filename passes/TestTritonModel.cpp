//===- TestTritonModel.cpp - Exercise the typed Triton model on real IR ---===//
#include "passes/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/raw_ostream.h"

namespace tle {
#define GEN_PASS_DEF_TLECHECKTRITONTYPES
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

/// Parses and re-prints every Triton type of `module` with the model; reports mismatches as
/// errors. With `annotate`, records what the model read in a `tle.model` attribute.
static LogicalResult checkTritonTypes(ModuleOp module, bool annotate) {
  bool failedAny = false;
  auto check = [&](Operation *op, const std::string &original, const std::string &printed) {
    if (original != printed) {
      op->emitError("TLE's Triton model re-printed '") << original << "' as '" << printed
                                                        << "'";
      failedAny = true;
    }
  };
  module.walk([&](Operation *op) {
    SmallVector<std::string> notes;
    SmallVector<Value> values(op->getResults());
    for (Region &region : op->getRegions())
      for (Block &block : region)
        values.append(block.getArguments().begin(), block.getArguments().end());
    for (Value result : values) {
      Type type = result.getType();
      if (auto opaque = dyn_cast<OpaqueType>(type);
          opaque && opaque.getTypeData().starts_with("memdesc<")) {
        std::string original = ("!ttg." + opaque.getTypeData()).str();
        auto parsed = parseMemDesc(original);
        if (auto *err = std::get_if<ParseError>(&parsed)) {
          op->emitError("TLE's Triton model cannot read this type: ") << err->message;
          failedAny = true;
          continue;
        }
        auto &m = std::get<MemDescType>(parsed);
        check(op, original, m.str());
        std::string note;
        llvm::raw_string_ostream os(note);
        os << "memdesc ";
        llvm::interleave(m.shape, os, "x");
        os << " " << m.elementType << " [" << describe(m.encoding) << "] "
           << m.memorySpace.kind << (m.isMutable ? " mutable" : "");
        notes.push_back(note);
      } else if (auto tensor = dyn_cast<RankedTensorType>(type)) {
        auto opaque = dyn_cast_or_null<OpaqueAttr>(tensor.getEncoding());
        if (!opaque)
          continue;
        std::string original =
            ("#" + opaque.getDialectNamespace().getValue() + "." + opaque.getAttrData()).str();
        auto parsed = parseEncoding(original);
        if (auto *err = std::get_if<ParseError>(&parsed)) {
          op->emitError("TLE's Triton model cannot read this type: ") << err->message;
          failedAny = true;
          continue;
        }
        check(op, original, std::get<Encoding>(parsed).str());
        notes.push_back(describe(std::get<Encoding>(parsed)));
      }
    }
    if (annotate && !notes.empty()) {
      std::string joined;
      llvm::raw_string_ostream os(joined);
      llvm::interleave(notes, os, "; ");
      op->setAttr("tle.model", StringAttr::get(op->getContext(), joined));
    }
  });
  return failure(failedAny);
}

struct CheckTritonTypesPass
    : public tle::impl::TLECheckTritonTypesBase<CheckTritonTypesPass> {
  void runOnOperation() override {
    if (failed(checkTritonTypes(getOperation(), /*annotate=*/false)))
      signalPassFailure();
  }
};

struct TestTritonModelPass : public tle::impl::TLETestTritonModelBase<TestTritonModelPass> {
  void runOnOperation() override {
    if (failed(checkTritonTypes(getOperation(), /*annotate=*/true)))
      signalPassFailure();
  }
};

} // namespace
