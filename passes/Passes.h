//===- Passes.h - TLE passes ----------------------------------------------===//
#ifndef TLE_PASSES_PASSES_H
#define TLE_PASSES_PASSES_H

#include "dialect/TLEDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <string>
#include <utility>
#include <vector>

namespace tle {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// The pipeline `tle-pipeline` runs, in order (also used by the Python hook's docs).
void buildTLEPipeline(mlir::OpPassManager &pm);

/// Registers every TLE pass and the `tle-pipeline` pipeline (idempotent).
void registerAllTLEPasses();

/// (argument, summary) of every registered TLE pass and pipeline, for `--help` style listings.
std::vector<std::pair<std::string, std::string>> listTLEPasses();

/// True when built with __TLE__ (rewrites of Triton's own IR compiled in).
bool hasNativeRewrites();

/// The error a pass that rewrites Triton's own IR reports when it was compiled without __TLE__.
void reportCompiledWithoutNativeRewrites(mlir::Operation *op, llvm::StringRef passArgument);

} // namespace tle

#endif // TLE_PASSES_PASSES_H
