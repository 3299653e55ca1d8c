//===- Driver.cpp - Parse, run a TLE pipeline, print ----------------------===//
#include "driver/Driver.h"

#include "dialect/TLEDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <pthread.h>

#include <mutex>
#include <vector>

using namespace mlir;

namespace tle {

void registerTLEDialects(DialectRegistry &registry) { registry.insert<TLEDialect>(); }

void registerVerificationDialects(DialectRegistry &registry) {
  // The upstream dialects whose ops appear in Triton's TTIR/TTGIR (captured 3.6-3.9 kernels:
  // arith, scf, math; cf and ub come from Triton's lowering of control flow and poison values).
  // gpu (gpu.barrier in Gluon kernels) and llvm stay unregistered: registering them would pull
  // in most of MLIR for ops with nothing to verify.
  registerTLEDialects(registry);
  registry.insert<arith::ArithDialect, scf::SCFDialect, math::MathDialect, cf::ControlFlowDialect,
                  ub::UBDialect>();
}

namespace {
/// Contexts for verifyUpstreamOps. Setting one up registers every op of five dialects (about
/// 3 ms, more than verifying a small kernel), so they are reused; but a context keeps every
/// attribute and type it ever uniqued, so each is retired after kMaxUses verifications.
class VerificationContextPool {
public:
  static constexpr unsigned kMaxUses = 16;
  static constexpr size_t kMaxIdle = 4;

  struct Lease {
    std::unique_ptr<MLIRContext> context;
    unsigned uses = 0;
  };

  Lease acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!idle.empty()) {
        Lease lease = std::move(idle.back());
        idle.pop_back();
        return lease;
      }
    }
    DialectRegistry registry;
    registerVerificationDialects(registry);
    auto context = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
    context->allowUnregisteredDialects();
    context->loadAllAvailableDialects();
    // The diagnostics point at the op's position; a copy of the op (for an scf.for, its whole
    // body) would only bury them.
    context->printOpOnDiagnostic(false);
    return Lease{std::move(context), 0};
  }

  void release(Lease lease) {
    if (++lease.uses >= kMaxUses)
      return;
    std::lock_guard<std::mutex> lock(mutex);
    if (idle.size() < kMaxIdle)
      idle.push_back(std::move(lease));
  }

private:
  std::mutex mutex;
  std::vector<Lease> idle;
};

VerificationContextPool &verificationContexts() {
  static VerificationContextPool *pool = new VerificationContextPool(); // outlives every caller
  return *pool;
}
} // namespace

/// What MLIR's verifiers of the loop ops take for granted: the loop-like interface's verifier
/// runs before scf.for's and scf.while's own checks and indexes their block arguments (an
/// scf.for body without its induction variable aborts it). Checked first, with a diagnostic.
static LogicalResult checkLoopStructure(ModuleOp module) {
  WalkResult result = module->walk([](Operation *op) {
    auto entryArgs = [&](unsigned region) -> std::optional<unsigned> {
      if (op->getNumRegions() <= region || op->getRegion(region).empty())
        return std::nullopt;
      return op->getRegion(region).front().getNumArguments();
    };
    if (isa<scf::ForOp>(op)) {
      unsigned inits = op->getNumOperands() >= 3 ? op->getNumOperands() - 3 : 0;
      if (op->getNumOperands() < 3 || entryArgs(0) != 1 + inits || op->getNumResults() != inits) {
        op->emitOpError() << "needs 3 + N operands, N results and a body block with 1 + N "
                             "arguments (the induction variable and the N iteration arguments)";
        return WalkResult::interrupt();
      }
    } else if (isa<scf::WhileOp>(op)) {
      if (entryArgs(0) != op->getNumOperands() || entryArgs(1) != op->getNumResults()) {
        op->emitOpError() << "needs a 'before' block with one argument per operand and an "
                             "'after' block with one argument per result";
        return WalkResult::interrupt();
      }
    } else if (op->getDialect() && op->getDialect()->getNamespace() == "scf" &&
               isa<LoopLikeOpInterface>(op)) {
      // scf.parallel, scf.forall: never in Triton's IR, and their verifiers make the same kind
      // of assumption.
      op->emitOpError() << "is not accepted by TLE (Triton's IR has no such loops)";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

/// Parses `text` with the verification dialects registered, checks what the verifiers take for
/// granted, then verifies.
/// `makeHandler` installs the diagnostic handler for the context used.
static bool parseAndVerifyUpstream(
    llvm::StringRef text, llvm::StringRef bufferName,
    llvm::function_ref<std::unique_ptr<ScopedDiagnosticHandler>(MLIRContext &, llvm::SourceMgr &)>
        makeHandler) {
  VerificationContextPool::Lease lease = verificationContexts().acquire();
  bool ok;
  {
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(text, bufferName, /*RequiresNullTerminator=*/false),
        llvm::SMLoc());
    std::unique_ptr<ScopedDiagnosticHandler> handler = makeHandler(*lease.context, sourceMgr);
    OwningOpRef<ModuleOp> module =
        parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(lease.context.get(), /*verifyAfterParse=*/false));
    ok = module && succeeded(checkLoopStructure(*module)) && succeeded(verify(*module));
  }
  verificationContexts().release(std::move(lease));
  return ok;
}

bool verifyUpstreamOps(llvm::StringRef text, llvm::StringRef bufferName,
                       llvm::raw_ostream &diagnostics) {
  return parseAndVerifyUpstream(text, bufferName, [&](MLIRContext &context, llvm::SourceMgr &sm) {
    return std::make_unique<SourceMgrDiagnosticHandler>(sm, &context, diagnostics);
  });
}

namespace {
/// The verification context's location `loc`, rebuilt in `context` (file:line:col only: that
/// is what the diagnostic needs, and what -verify-diagnostics matches).
Location translateLocation(Location loc, MLIRContext *context) {
  if (auto file = loc->findInstanceOf<FileLineColLoc>())
    return FileLineColLoc::get(context, file.getFilename().getValue(), file.getLine(),
                               file.getColumn());
  return UnknownLoc::get(context);
}

struct VerifyUpstreamOpsPass : PassWrapper<VerifyUpstreamOpsPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(VerifyUpstreamOpsPass)

  explicit VerifyUpstreamOpsPass(llvm::StringRef when) : when(when.str()) {}
  llvm::StringRef getArgument() const override { return "tle-verify-upstream-ops"; }

  void runOnOperation() override {
    // Lossless text: generic form with the locations, so that the verifiers' diagnostics name
    // the original file positions.
    std::string text;
    llvm::raw_string_ostream os(text);
    getOperation()->print(os, OpPrintingFlags().printGenericOpForm().enableDebugInfo(true, false));
    MLIRContext *context = &getContext();
    Location fallback = getOperation()->getLoc();
    bool ok = parseAndVerifyUpstream(text, "<tle-verify>", [&](MLIRContext &verifyContext,
                                                              llvm::SourceMgr &) {
      return std::make_unique<ScopedDiagnosticHandler>(&verifyContext, [&](Diagnostic &diag) {
        Location loc = translateLocation(diag.getLocation(), context);
        if (isa<UnknownLoc>(loc))
          loc = fallback;
        InFlightDiagnostic out = diag.getSeverity() == DiagnosticSeverity::Error
                                     ? mlir::emitError(loc)
                                 : diag.getSeverity() == DiagnosticSeverity::Warning
                                     ? mlir::emitWarning(loc)
                                     : mlir::emitRemark(loc);
        out << diag.str();
        for (Diagnostic &note : diag.getNotes())
          out.attachNote(translateLocation(note.getLocation(), context)) << note.str();
        return success();
      });
    });
    if (!ok) {
      // At the location, not the op: the op printed into the note would be the whole module.
      mlir::emitError(fallback) << "the " << when
                                << " IR fails the verifiers of its upstream (arith, scf, math, "
                                   "cf, ub) ops (tle-opt --tle-verify-upstream-ops=false skips "
                                   "this check)";
      signalPassFailure();
    }
  }

  std::string when;
};
} // namespace

std::unique_ptr<Pass> createVerifyUpstreamOpsPass(llvm::StringRef when) {
  return std::make_unique<VerifyUpstreamOpsPass>(when);
}

OpPrintingFlags outputPrintingFlags(llvm::StringRef input) {
  // Locations go back to Triton when the input carried any (the hook's text always does): they
  // become the PTX's .loc lines, and NameLocs are Triton's SSA value names (printed as the
  // %name prefix, as Triton prints them). Input without any loc(...) keeps printing without, so
  // the locations the parser made up for it (<tle-input>:line:col) do not appear.
  OpPrintingFlags flags;
  flags.printGenericOpForm();
  if (input.contains("loc("))
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false).printNameLocAsPrefix(true);
  return flags;
}

static thread_local NativeOutputCapture *activeCapture = nullptr;

NativeOutputCapture::NativeOutputCapture() : outer(activeCapture) { activeCapture = this; }

NativeOutputCapture::~NativeOutputCapture() { activeCapture = outer; }

std::string NativeOutputCapture::take() {
  llvm::outs().flush(); // buffered: flushed here, while still captured
  llvm::errs().flush();
  std::string out;
  out.swap(captured);
  return out;
}

bool captureNativeWrite(int fd, const void *data, size_t size) {
  if ((fd != 1 && fd != 2) || !activeCapture)
    return false;
  activeCapture->captured.append(static_cast<const char *>(data), size);
  return true;
}

/// Captured native output as one line of diagnostic text. LLVM's command-line parser prefixes
/// its messages with the program name, which is empty here: a stray leading ": " goes.
static std::string cleanCaptured(llvm::StringRef text) {
  std::string out;
  for (llvm::StringRef line : llvm::split(text, '\n')) {
    line = line.trim();
    line.consume_front(": ");
    if (line.empty())
      continue;
    if (!out.empty())
      out += "; ";
    out += line.str();
  }
  return out;
}

namespace {
struct ThreadCall {
  llvm::function_ref<void()> fn;
};

void *threadMain(void *arg) {
  static_cast<ThreadCall *>(arg)->fn();
  return nullptr;
}
} // namespace

void runOnLargeStack(llvm::function_ref<void()> fn) {
  ThreadCall call{fn};
  // Smaller stacks only where the address space or a ulimit refuses the large one.
  for (size_t bytes : {Limits::kWorkerStackBytes, size_t(64) << 20, size_t(16) << 20}) {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
      break;
    pthread_t thread;
    bool started = pthread_attr_setstacksize(&attr, bytes) == 0 &&
                   pthread_create(&thread, &attr, threadMain, &call) == 0;
    pthread_attr_destroy(&attr);
    if (started) {
      pthread_join(thread, nullptr);
      return;
    }
  }
  fn();
}

/// Parses a textual pipeline into `pm`: a full `builtin.module(...)` pipeline replaces pm's
/// (parsing it nested into pm would silently run nothing), anything else is nested into it.
static LogicalResult parsePipelineInto(PassManager &pm, llvm::StringRef text,
                                       llvm::raw_ostream &errors) {
  if (text.starts_with("builtin.module(")) {
    FailureOr<OpPassManager> parsed = parsePassPipeline(text, errors);
    if (failed(parsed))
      return failure();
    static_cast<OpPassManager &>(pm) = std::move(*parsed);
    return success();
  }
  return parsePassPipeline(text, pm, errors);
}

/// `text` for a one-line message: at most `limit` characters.
static std::string shorten(llvm::StringRef text, size_t limit = 200) {
  if (text.size() <= limit)
    return text.str();
  return (text.take_front(limit) + "...(" + llvm::Twine(text.size()) + " characters)").str();
}

static bool runPipelineCaptured(llvm::StringRef input, llvm::StringRef pipeline,
                                std::string &output, llvm::raw_ostream &diagStream,
                                NativeOutputCapture &capture) {
  registerAllTLEPasses();
  DialectRegistry registry;
  registerTLEDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.allowUnregisteredDialects();
  context.loadAllAvailableDialects();

  // The pipeline first: a bad pipeline is the caller's mistake whatever the IR.
  PassManager pm(&context);
  std::string reason;
  llvm::raw_string_ostream reasonStream(reason);
  if (failed(parsePipelineInto(pm, pipeline.trim(), reasonStream))) {
    // One line says why: what LLVM's option parsers wrote to errs() (captured) and the first
    // line of MLIR's message (which names the pass); MLIR's excerpt of the pipeline follows.
    std::string why = cleanCaptured(capture.take());
    auto [first, rest] = llvm::StringRef(reason).trim().split('\n');
    size_t error = first.find("error: ");
    if (error != llvm::StringRef::npos)
      first = first.drop_front(error + 7); // "MLIR Textual PassPipeline Parser:1:1: error: "
    if (!first.trim().empty())
      why += (why.empty() ? "" : "; ") + first.trim().str();
    diagStream << "error: cannot use pass pipeline '" << shorten(pipeline.trim()) << "'"
               << (why.empty() ? "" : ": ") << why << "\n";
    if (!rest.trim().empty())
      diagStream << rest.rtrim() << "\n";
    return false;
  }

  // Invalid upstream ops are refused before any pass sees them (the parse below, with those
  // dialects unregistered, would accept them).
  if (!verifyUpstreamOps(input, "<tle-input>", diagStream))
    return false;

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(input, "<tle-input>"),
                               llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagStream);

  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return false;
  if (failed(pm.run(*module)))
    return false;

  llvm::raw_string_ostream out(output);
  module->print(out, outputPrintingFlags(input));
  // Unchanged text was verified above; anything else a pass made is checked before Triton
  // gets it.
  if (output != input) {
    std::string problems;
    llvm::raw_string_ostream problemStream(problems);
    if (!verifyUpstreamOps(output, "<tle-output>", problemStream)) {
      diagStream << "error: pass pipeline '" << shorten(pipeline.trim())
                 << "' produced IR that fails the verifiers of its upstream ops:\n"
                 << problems;
      output.clear();
      return false;
    }
  }
  return true;
}

bool runPipelineOnText(llvm::StringRef input, llvm::StringRef pipeline, std::string &output,
                       std::string &diagnostics) {
  llvm::raw_string_ostream diagStream(diagnostics);
  if (auto unsafe = checkPipelineSafety(pipeline)) {
    diagStream << "error: " << *unsafe << "\n";
    return false;
  }
  if (auto unsafe = checkInputSafety(input)) {
    diagStream << "error: " << *unsafe << "\n";
    return false;
  }
  NativeOutputCapture capture;
  bool ok = runPipelineCaptured(input, pipeline, output, diagStream, capture);
  std::string stray = cleanCaptured(capture.take());
  if (!stray.empty())
    diagStream << (ok ? "warning" : "note") << ": native output: " << stray << "\n";
  return ok;
}

} // namespace tle
