//===- Registration.cpp - The TLE pass list and tle-pipeline --------------===//
#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace tle {

bool hasNativeRewrites() {
#ifdef __TLE__
  return true;
#else
  return false;
#endif
}

void reportCompiledWithoutNativeRewrites(Operation *op, llvm::StringRef passArgument) {
  op->emitError() << passArgument
                  << " rewrites Triton's own IR and is compiled only under __TLE__ "
                     "(TLE_ENABLE_NATIVE_REWRITES=ON)";
}

void buildTLEPipeline(OpPassManager &pm) {
  // Layout rewrites first (they retype values), then operand reuse (may expose new WGMMA reads
  // of written buffers), then fences over the final reads, then back to stock Triton ops.
  // Without __TLE__ only the checks and the lowering of TLE ops run: native Triton IR passes
  // through untouched.
  pm.addPass(createTLECheckTritonTypes());
  if (hasNativeRewrites()) {
    pm.addPass(createTLESplitDotWarps());
    pm.addPass(createTLEWgmmaOperandReuse());
    pm.addPass(createTLEChainWgmmaWaits());
    pm.addPass(createTLEHoistWgmmaAccumulators());
    // Fences are placed on the pipeliner's schedule; moving copies earlier afterwards only puts
    // writes further ahead of the fences that order them.
    pm.addPass(createTLEInsertWgmmaFences());
    pm.addPass(createTLEIssueCopiesEarly());
  }
  pm.addPass(createTLELowerToTriton());
}

static const char kPipelineSummary[] =
    "TLE's post-TTGIR pipeline: check Triton types, split duplicated WGMMA warps, reuse WGMMA operands in shared "
    "memory, insert dependency-aware fences, issue pipelined copies early, lower TLE ops to Triton";

void registerAllTLEPasses() {
  static bool registered = [] {
    registerTLEPasses(); // generated: every pass in Passes.td
    PassPipelineRegistration<>("tle-pipeline", kPipelineSummary, buildTLEPipeline);
    return true;
  }();
  (void)registered;
}

std::vector<std::pair<std::string, std::string>> listTLEPasses() {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("tle-pipeline", kPipelineSummary);
  std::unique_ptr<Pass> passes[] = {createTLECheckTritonTypes(), createTLESplitDotWarps(), createTLEWgmmaOperandReuse(),
                                     createTLEChainWgmmaWaits(), createTLEHoistWgmmaAccumulators(),
                                     createTLEInsertWgmmaFences(),
                                     createTLEIssueCopiesEarly(),
                                     createTLELowerToTriton(),
                                     createTLEMaterializePipeline(),
                                     createTLETestTritonModel()};
  for (auto &pass : passes)
    out.emplace_back(pass->getArgument().str(), pass->getDescription().str());
  return out;
}

} // namespace tle
