//===- tle-opt.cpp - opt driver for TLE passes over Triton IR -------------===//
#include "driver/Driver.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

namespace {
llvm::cl::opt<bool> verifyUpstream(
    "tle-verify-upstream-ops", llvm::cl::init(true),
    llvm::cl::desc("Check the upstream (arith, scf, math, cf, ub) ops of the input and of the "
                   "output with their own verifiers (=false: hand passes IR those verifiers "
                   "reject, to test that passes refuse it cleanly)"));

/// MlirOptMain's configuration with the user's pipeline wrapped between two checks of the
/// upstream ops (arith, scf, ...): their dialects stay unregistered in the context the passes
/// run in, so the checks parse the IR into a context of their own (tle::verifyUpstreamOps).
struct TLEOptConfig : mlir::MlirOptMainConfig {
  explicit TLEOptConfig(mlir::MlirOptMainConfig base) : mlir::MlirOptMainConfig(std::move(base)) {
    auto userPipeline = std::move(passPipelineCallback);
    passPipelineCallback = [userPipeline](mlir::PassManager &pm) -> mlir::LogicalResult {
      if (verifyUpstream)
        pm.addPass(tle::createVerifyUpstreamOpsPass("input"));
      if (userPipeline && mlir::failed(userPipeline(pm)))
        return mlir::failure();
      if (verifyUpstream)
        pm.addPass(tle::createVerifyUpstreamOpsPass("output"));
      return mlir::success();
    };
  }
};

int runTLEOpt(int argc, char **argv) {
  tle::registerAllTLEPasses();
  mlir::DialectRegistry registry;
  tle::registerTLEDialects(registry);

  // A pipeline given on the command line nests no deeper than run_pipeline accepts: MLIR's
  // pipeline parser recurses per level.
  for (int i = 1; i < argc; ++i) {
    if (auto unsafe = tle::checkPipelineSafety(argv[i])) {
      llvm::WithColor::error() << "argument " << i << ": " << *unsafe << "\n";
      return 1;
    }
  }
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "TLE optimizer driver over Triton IR\n", registry);
  // Triton's dialects are deliberately unregistered: accept their ops as generic ops.
  TLEOptConfig config(mlir::MlirOptMainConfig::createFromCLOptions());
  config.allowUnregisteredDialects(true);

  std::string error;
  auto input = mlir::openInputFile(inputFilename, &error);
  if (!input) {
    llvm::WithColor::error() << error << "\n";
    return 1;
  }
  if (auto unsafe = tle::checkInputSafety(input->getBuffer())) {
    llvm::WithColor::error() << inputFilename << ": " << *unsafe << "\n";
    return 1;
  }
  auto output = mlir::openOutputFile(outputFilename, &error);
  if (!output) {
    llvm::WithColor::error() << error << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1;
  output->keep();
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Parsing, passes and printing run on a large stack (as in the C API): recursion the input
  // limits do not bound has room there.
  int rc = 1;
  tle::runOnLargeStack([&] { rc = runTLEOpt(argc, argv); });
  return rc;
}
