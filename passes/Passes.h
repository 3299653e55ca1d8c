//===- Passes.h - TLE passes ----------------------------------------------===//
#ifndef TLE_PASSES_PASSES_H
#define TLE_PASSES_PASSES_H

#include "dialect/TLEDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "passes/PassSupport.h"

#include <string>
#include <utility>
#include <vector>

namespace tle {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// The passes `tle-pipeline` runs, in order (in this build: without __TLE__ only the checks
/// and the lowering of TLE ops).
std::vector<std::string> getTLEPipelinePasses();
void buildTLEPipeline(mlir::OpPassManager &pm);

/// Registers every TLE pass and the `tle-pipeline` pipeline (idempotent).
void registerAllTLEPasses();

/// (argument, summary) of `tle-pipeline` and every TLE pass, for `--help` style listings.
std::vector<std::pair<std::string, std::string>> listTLEPasses();

/// True when built with __TLE__ (rewrites of Triton's own IR compiled in).
bool hasNativeRewrites();

/// Whether the pass with this argument rewrites Triton's own IR (runs only under __TLE__).
bool isNativeRewritePass(llvm::StringRef passArgument);

} // namespace tle

#endif // TLE_PASSES_PASSES_H
