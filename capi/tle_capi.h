/*===- tle_capi.h - C ABI of TLE (loaded by Python through ctypes) -------===*
 *
 * A plain C ABI keeps what Python loads independent of the CPython version. Strings returned
 * through out-parameters are heap-allocated by TLE and freed with tle_free(). Nothing here writes
 * to the process's stdout or stderr: every message comes back through *diag.
 *===----------------------------------------------------------------------===*/
#ifndef TLE_CAPI_H
#define TLE_CAPI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TLE_EXPORT __attribute__((visibility("default")))

/* Version of the functions below; bumped whenever a signature changes, so that a binding can
 * refuse a library it would call wrongly. 2: tle_run_pipeline takes the pipeline's length. */
#define TLE_ABI_VERSION 2
TLE_EXPORT int tle_abi_version(void);

/* Parses `ir` (`ir_len` bytes of MLIR text), runs the textual `pipeline` (`pipeline_len` bytes;
 * neither needs a terminating NUL and a NUL inside either is an error), and returns 0 with the
 * generic-form result in *out (length *out_len), or non-zero with MLIR's diagnostics in *diag
 * (1: the pipeline failed; 2: a NULL argument; 3: out of memory for the result).
 * A successful run may also set *diag (warnings, remarks). Runs on a thread of its own with a
 * large stack; safe to call from several threads at once. */
TLE_EXPORT int tle_run_pipeline(const char *ir, size_t ir_len, const char *pipeline,
                                size_t pipeline_len, char **out, size_t *out_len, char **diag);
/* One line per pass or pipeline: "name\tsummary". */
TLE_EXPORT char *tle_list_passes(void);
TLE_EXPORT const char *tle_version(void);
/* 1 when built with __TLE__ (rewrites of Triton's own IR compiled in). */
TLE_EXPORT int tle_has_native_rewrites(void);
TLE_EXPORT void tle_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* TLE_CAPI_H */
