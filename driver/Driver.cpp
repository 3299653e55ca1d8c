//===- Driver.cpp - Parse, run a TLE pipeline, print ----------------------===//
#include "driver/Driver.h"

#include "dialect/TLEDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace tle {

void registerTLEDialects(DialectRegistry &registry) { registry.insert<TLEDialect>(); }

std::optional<std::string> checkInputSafety(llvm::StringRef input) {
  if (input.contains('\0'))
    return std::string("input contains NUL bytes: binary data, not MLIR text");
  unsigned depth = 0, line = 1;
  bool inString = false;
  for (size_t i = 0; i < input.size(); ++i) {
    char c = input[i];
    if (c == '\n') {
      ++line;
      inString = false; // MLIR strings do not span lines
      continue;
    }
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > kMaxNestingDepth)
        return ("input nests brackets deeper than " + llvm::Twine(kMaxNestingDepth) +
                " levels (line " + llvm::Twine(line) + "); refusing to parse it")
            .str();
    } else if (c == ')' || c == ']' || c == '}' || (c == '>' && (i == 0 || input[i - 1] != '-'))) {
      if (depth > 0)
        --depth;
    }
  }
  return std::nullopt;
}

bool runPipelineOnText(llvm::StringRef input, llvm::StringRef pipeline, std::string &output,
                       std::string &diagnostics) {
  llvm::raw_string_ostream diagStream(diagnostics);
  if (auto unsafe = checkInputSafety(input)) {
    diagStream << "error: " << *unsafe << "\n";
    return false;
  }
  registerAllTLEPasses();
  DialectRegistry registry;
  registerTLEDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.allowUnregisteredDialects();
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(input, "<tle-input>"),
                               llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagStream);

  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return false;

  PassManager pm(&context);
  llvm::StringRef text = pipeline.trim();
  if (text.starts_with("builtin.module(")) {
    FailureOr<OpPassManager> parsed = parsePassPipeline(text, diagStream);
    if (failed(parsed))
      return false;
    static_cast<OpPassManager &>(pm) = std::move(*parsed);
  } else if (failed(parsePassPipeline(text, pm, diagStream))) {
    return false;
  }
  if (failed(pm.run(*module)))
    return false;

  // Locations go back to Triton when the input carried any (the hook's text always does): they
  // become the PTX's .loc lines, and NameLocs are Triton's SSA value names (printed as the
  // %name prefix, as Triton prints them). Input without any loc(...) keeps printing without, so
  // the locations the parser made up for it (<tle-input>:line:col) do not appear.
  OpPrintingFlags flags;
  flags.printGenericOpForm();
  if (input.contains("loc("))
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false).printNameLocAsPrefix(true);
  llvm::raw_string_ostream out(output);
  module->print(out, flags);
  return true;
}

} // namespace tle
