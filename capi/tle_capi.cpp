//===- tle_capi.cpp - C ABI over the TLE driver ----------------------------===//
#include "capi/tle_capi.h"

#include "driver/Driver.h"
#include "passes/Passes.h"

#include <cstdlib>
#include <cstring>
#include <string>

static char *copyOut(const std::string &s) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (p) {
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
  }
  return p;
}

extern "C" {

int tle_abi_version(void) { return TLE_ABI_VERSION; }

int tle_run_pipeline(const char *ir, size_t ir_len, const char *pipeline, size_t pipeline_len,
                     char **out, size_t *out_len, char **diag) {
  if (out)
    *out = nullptr;
  if (out_len)
    *out_len = 0;
  if (diag)
    *diag = nullptr;
  if ((!ir && ir_len) || (!pipeline && pipeline_len) || !out || !out_len || !diag)
    return 2;
  std::string output, diagnostics;
  bool ok = false;
  // Parsing, passes and printing run on a large stack; everything LLVM writes to stdout or
  // stderr meanwhile is captured on that thread and returned in the diagnostics.
  tle::runOnLargeStack([&] {
    tle::NativeOutputCapture capture;
    ok = tle::runPipelineOnText(llvm::StringRef(ir ? ir : "", ir_len),
                                llvm::StringRef(pipeline ? pipeline : "", pipeline_len), output,
                                diagnostics);
    std::string stray = capture.take();
    if (!stray.empty())
      diagnostics += "note: native output: " + stray;
  });
  if (!ok) {
    if (diagnostics.empty())
      diagnostics = "error: TLE pipeline failed without a diagnostic";
    *diag = copyOut(diagnostics);
    return 1;
  }
  *out = copyOut(output);
  if (!*out)
    return 3; // out of memory for the copy
  *out_len = output.size();
  if (!diagnostics.empty())
    *diag = copyOut(diagnostics); // warnings/remarks of a successful run
  return 0;
}

char *tle_list_passes(void) {
  std::string listing;
  tle::runOnLargeStack([&] {
    tle::NativeOutputCapture capture;
    tle::registerAllTLEPasses();
    for (auto &[name, summary] : tle::listTLEPasses())
      listing += name + "\t" + summary + "\n";
  });
  return copyOut(listing);
}

const char *tle_version(void) { return TLE_VERSION; }

int tle_has_native_rewrites(void) { return tle::hasNativeRewrites() ? 1 : 0; }

void tle_free(void *ptr) { std::free(ptr); }

} // extern "C"
