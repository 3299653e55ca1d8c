//===- Driver.h - What tle-opt and the C API share ------------------------===//
#ifndef TLE_DRIVER_DRIVER_H
#define TLE_DRIVER_DRIVER_H

#include "mlir/IR/DialectRegistry.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace tle {

/// Deepest bracket nesting TLE accepts. MLIR's parser recurses per level; refusing deeper input
/// up front turns a would-be stack overflow into a diagnostic.
constexpr unsigned kMaxNestingDepth = 256;

/// Dialects TLE's tools register. Triton's own dialects stay unregistered on purpose: their ops,
/// types and attributes round-trip as generic text (see model/TritonTypes.h).
void registerTLEDialects(mlir::DialectRegistry &registry);

/// An error message if `input` cannot be handed to MLIR's parser safely (too deeply nested).
std::optional<std::string> checkInputSafety(llvm::StringRef input);

/// Parses `input`, runs `pipeline` (textual, e.g. "tle-pipeline" or
/// "builtin.module(tle-lower-to-triton)") and prints the result in generic form to `output`.
/// On failure returns false with MLIR's diagnostics in `diagnostics`.
bool runPipelineOnText(llvm::StringRef input, llvm::StringRef pipeline, std::string &output,
                       std::string &diagnostics);

} // namespace tle

#endif // TLE_DRIVER_DRIVER_H
