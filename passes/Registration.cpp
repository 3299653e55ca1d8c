//===- Registration.cpp - The one list of TLE passes and tle-pipeline -----===//
//
// kPasses is the only list of TLE's passes: it registers them, builds tle-pipeline from the
// entries marked for it (in the table's order), names them in the pipeline's summary and in
// listTLEPasses, and says which ones rewrite Triton's own IR (the __TLE__ gate). A pass missing
// here is not registered, so its tests fail.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace tle {

bool hasNativeRewrites() {
  // The only place __TLE__ is read (CMake option TLE_ENABLE_NATIVE_REWRITES).
#ifdef __TLE__
  return true;
#else
  return false;
#endif
}

namespace {

enum class Place {
  Pipeline,        // a step of tle-pipeline, which runs on the TTGIR make_ttgir produced
  BeforePipeliner, // inserted into make_ttgir before Triton's pipeliner (python/tle/pipeline.py)
  Test,            // for TLE's tests only
};

struct PassEntry {
  std::unique_ptr<Pass> (*create)();
  Place place;
  /// Rewrites Triton's own IR: without __TLE__ it stays registered (same --help) but refuses to
  /// run, and tle-pipeline leaves it out.
  bool native;
};

const PassEntry kPasses[] = {
    // tle-pipeline, in order. First the check that every later pass can read the IR's types.
    {createTLECheckTritonTypes, Place::Pipeline, false},
    // Layout rewrites first (they retype values), then operand reuse (may expose new WGMMA
    // reads of written buffers), then the WGMMA schedule.
    {createTLESplitDotWarps, Place::Pipeline, true},
    {createTLEWgmmaOperandReuse, Place::Pipeline, true},
    {createTLEChainWgmmaWaits, Place::Pipeline, true},
    {createTLEHoistWgmmaAccumulators, Place::Pipeline, true},
    // Fences over the final reads, on the pipeliner's schedule; moving copies earlier afterwards
    // only puts writes further ahead of the fences that order them.
    {createTLEInsertWgmmaFences, Place::Pipeline, true},
    {createTLEIssueCopiesEarly, Place::Pipeline, true},
    // Back to stock Triton ops.
    {createTLELowerToTriton, Place::Pipeline, false},
    {createTLEMaterializePipeline, Place::BeforePipeliner, true},
    {createTLETestTritonModel, Place::Test, false},
};

bool runsInThisBuild(const PassEntry &entry) { return !entry.native || hasNativeRewrites(); }

/// The argument of every entry, read once (a pass instance is needed to ask).
llvm::ArrayRef<std::string> arguments() {
  static const std::vector<std::string> args = [] {
    std::vector<std::string> out;
    for (const PassEntry &entry : kPasses)
      out.push_back(entry.create()->getArgument().str());
    return out;
  }();
  return args;
}

const std::string &pipelineSummary() {
  static const std::string summary = "TLE's post-TTGIR pipeline: " +
                                     llvm::join(getTLEPipelinePasses(), ", ");
  return summary;
}

} // namespace

std::vector<std::string> getTLEPipelinePasses() {
  std::vector<std::string> names;
  for (auto [entry, argument] : llvm::zip(kPasses, arguments()))
    if (entry.place == Place::Pipeline && runsInThisBuild(entry))
      names.push_back(argument);
  return names;
}

void buildTLEPipeline(OpPassManager &pm) {
  for (const PassEntry &entry : kPasses)
    if (entry.place == Place::Pipeline && runsInThisBuild(entry))
      pm.addPass(entry.create());
}

bool isNativeRewritePass(llvm::StringRef passArgument) {
  for (auto [entry, argument] : llvm::zip(kPasses, arguments()))
    if (entry.native && argument == passArgument)
      return true;
  return false;
}

void registerAllTLEPasses() {
  static bool registered = [] {
    for (const PassEntry &entry : kPasses)
      registerPass(entry.create);
    PassPipelineRegistration<>("tle-pipeline", pipelineSummary(), buildTLEPipeline);
    return true;
  }();
  (void)registered;
}

std::vector<std::pair<std::string, std::string>> listTLEPasses() {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("tle-pipeline", pipelineSummary());
  for (const PassEntry &entry : kPasses) {
    std::unique_ptr<Pass> pass = entry.create();
    out.emplace_back(pass->getArgument().str(), pass->getDescription().str());
  }
  return out;
}

} // namespace tle
