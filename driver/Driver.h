//===- Driver.h - What tle-opt and the C API share ------------------------===//
#ifndef TLE_DRIVER_DRIVER_H
#define TLE_DRIVER_DRIVER_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace tle {

/// Limits on what TLE hands to MLIR. MLIR's parser, printer and pass-pipeline parser recurse
/// once per nesting level, so input beyond these limits is refused with a diagnostic instead of
/// risking a stack overflow. Real Triton IR stays far below every one of them (the largest
/// captured kernel, with locations, is under 1 MiB and nests about 15 levels).
struct Limits {
  /// Bytes of IR text.
  static constexpr size_t kMaxInputBytes = size_t(64) << 20;
  /// Nesting of brackets (`(`, `[`, `{`, `<`) outside comments and strings, plus the nesting an
  /// attribute or type alias brings along where it is used, plus the operators of an affine map
  /// or integer set (the affine parser and printer recurse once per operator).
  static constexpr unsigned kMaxNestingDepth = 256;
  /// Bytes of a textual pass pipeline.
  static constexpr size_t kMaxPipelineBytes = size_t(64) << 10;
  /// Bracket nesting of a textual pass pipeline.
  static constexpr unsigned kMaxPipelineNesting = 32;
  /// Stack of the thread that parses, runs passes and prints: generous headroom for recursion
  /// that the nesting limit does not bound (e.g. walks along long use-def chains). Only the
  /// pages touched are ever committed.
  static constexpr size_t kWorkerStackBytes = size_t(512) << 20;
};

/// Registers the dialects TLE's passes run with: TLE's own. Triton's dialects, and the upstream
/// dialects inside Triton's IR, stay unregistered there on purpose: their ops, types and
/// attributes round-trip as generic text exactly as Triton printed them (see
/// model/TritonTypes.h), and no folding or canonicalization of registered ops can change them.
void registerTLEDialects(mlir::DialectRegistry &registry);

/// Registers TLE's dialect and the upstream dialects Triton's IR uses (arith, scf, math, cf, ub),
/// for verifyUpstreamOps.
void registerVerificationDialects(mlir::DialectRegistry &registry);

/// Checks the upstream ops in `text` (generic or custom form, as MLIR prints it) with their own
/// verifiers: parses it into a fresh context where the dialects of registerVerificationDialects
/// are registered (Triton's are not) and verifies it. Their verifiers see Triton's types as
/// opaque types, which they accept wherever the op allows any type (tensors with Triton
/// encodings, !tt.ptr values in scf.for). On failure, returns false with the diagnostics
/// (located in `text`, buffer `bufferName`, or at the locations `text` carries) in `diagnostics`.
bool verifyUpstreamOps(llvm::StringRef text, llvm::StringRef bufferName,
                       llvm::raw_ostream &diagnostics);

/// A pass (for tle-opt, which runs it before and after the user's pipeline) that checks its
/// operation with verifyUpstreamOps and re-emits what the verifiers say at the locations they
/// name. `when` ("input", "output") goes into the summary error.
std::unique_ptr<mlir::Pass> createVerifyUpstreamOpsPass(llvm::StringRef when);

/// An error message if `input` cannot be handed to MLIR's parser safely: too large, a NUL byte,
/// nested deeper than Limits::kMaxNestingDepth (as the parser counts nesting).
std::optional<std::string> checkInputSafety(llvm::StringRef input);

/// An error message if the textual pass pipeline `pipeline` is too long, contains a NUL byte or
/// nests deeper than Limits::kMaxPipelineNesting.
std::optional<std::string> checkPipelineSafety(llvm::StringRef pipeline);

/// How TLE prints IR it hands back: generic form (Triton's dialects are unregistered here, and
/// generic text is what Triton's parser reads back exactly), with locations when `input` had
/// any. The one place where TLE's output printing flags are chosen.
mlir::OpPrintingFlags outputPrintingFlags(llvm::StringRef input);

/// Runs `fn` on a new thread whose stack is Limits::kWorkerStackBytes and waits for it. Falls back
/// to smaller stacks, and finally to the calling thread, when such a thread cannot be created.
void runOnLargeStack(llvm::function_ref<void()> fn);

class NativeOutputCapture;
bool captureNativeWrite(int fd, const void *data, size_t size);

/// While alive, whatever native code on this thread writes to stdout or stderr through write(2)
/// is collected here instead, provided that write(2) calls are routed through
/// captureNativeWrite: the C API library does that for every write of its own code (LLVM's
/// errs()/outs() included), so that nothing TLE does inside a host process reaches the host's
/// streams. tle-opt does not route them: its stderr is its diagnostics channel.
class NativeOutputCapture {
public:
  NativeOutputCapture();
  ~NativeOutputCapture();
  NativeOutputCapture(const NativeOutputCapture &) = delete;
  NativeOutputCapture &operator=(const NativeOutputCapture &) = delete;
  /// What was captured so far (cleared).
  std::string take();

private:
  friend bool captureNativeWrite(int fd, const void *data, size_t size);
  std::string captured;
  NativeOutputCapture *outer;
};

/// Appends `size` bytes written to `fd` to the innermost capture of this thread; false (nothing
/// captured) when `fd` is not 1 or 2 or no capture is active.
bool captureNativeWrite(int fd, const void *data, size_t size);

/// Parses `input`, runs `pipeline` (textual, e.g. "tle-pipeline" or
/// "builtin.module(tle-lower-to-triton)") and prints the result (outputPrintingFlags) to `output`.
/// The input's upstream ops are verified first, and the output's when it differs from the input
/// (verifyUpstreamOps): invalid IR is refused, and a pass that produces some is reported.
/// On failure returns false with MLIR's diagnostics in `diagnostics`; what native code writes to
/// stdout/stderr meanwhile (where captured, see NativeOutputCapture) is added to them. Recursion in MLIR is bounded
/// by the checks above; callers that cannot rule out other deep recursion run this inside
/// runOnLargeStack (the C API does).
bool runPipelineOnText(llvm::StringRef input, llvm::StringRef pipeline, std::string &output,
                       std::string &diagnostics);

} // namespace tle

#endif // TLE_DRIVER_DRIVER_H
