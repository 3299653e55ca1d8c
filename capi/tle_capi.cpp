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

int tle_run_pipeline(const char *ir, size_t ir_len, const char *pipeline, char **out,
                     size_t *out_len, char **diag) {
  if (out)
    *out = nullptr;
  if (out_len)
    *out_len = 0;
  if (diag)
    *diag = nullptr;
  if (!ir || !pipeline || !out || !out_len || !diag)
    return 2;
  std::string output, diagnostics;
  bool ok = tle::runPipelineOnText(llvm::StringRef(ir, ir_len), pipeline, output, diagnostics);
  if (!ok) {
    if (diagnostics.empty())
      diagnostics = "error: TLE pipeline failed without a diagnostic";
    *diag = copyOut(diagnostics);
    return 1;
  }
  *out = copyOut(output);
  *out_len = output.size();
  if (!diagnostics.empty())
    *diag = copyOut(diagnostics); // warnings/remarks of a successful run
  return 0;
}

char *tle_list_passes(void) {
  tle::registerAllTLEPasses();
  std::string listing;
  for (auto &[name, summary] : tle::listTLEPasses())
    listing += name + "\t" + summary + "\n";
  return copyOut(listing);
}

const char *tle_version(void) { return TLE_VERSION; }

int tle_has_native_rewrites(void) { return tle::hasNativeRewrites() ? 1 : 0; }

void tle_free(void *ptr) { std::free(ptr); }

} // extern "C"
