//===- tle-opt.cpp - opt driver for TLE passes over Triton IR -------------===//
#include "driver/Driver.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  tle::registerAllTLEPasses();
  mlir::DialectRegistry registry;
  tle::registerTLEDialects(registry);

  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "TLE optimizer driver over Triton IR\n", registry);
  // Triton's dialects are deliberately unregistered: accept their ops as generic ops.
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
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
