//===- CaptureWrites.cpp - Keep this library's output off the host's streams ===//
//
// libtle_capi.so runs inside someone else's process (Python, Triton). LLVM and MLIR write some
// errors straight to stderr (e.g. llvm::cl's "'abc' value invalid for uint argument!" when a pass
// option does not parse), and swapping fd 2 to catch them would redirect every thread of the
// host. Instead this library defines write(2) for its own code: the static LLVM/MLIR archives
// are linked into it with hidden visibility (see TLE_ISOLATE_LINK_FLAGS), so their calls bind to
// the definition below at link time, while the host process keeps libc's write. Writes to
// stdout/stderr made on a thread inside a TLE call (tle::NativeOutputCapture) become part of
// that call's diagnostics; every other write goes to the kernel unchanged.
//===----------------------------------------------------------------------===//
#include "driver/Driver.h"

#include <cerrno>
#include <cstddef>
#include <sys/syscall.h>
#include <sys/types.h>

extern "C" long syscall(long number, ...) noexcept;

extern "C" __attribute__((visibility("hidden"))) ssize_t write(int fd, const void *data,
                                                              size_t size) {
  if (tle::captureNativeWrite(fd, data, size))
    return static_cast<ssize_t>(size);
  return static_cast<ssize_t>(syscall(SYS_write, fd, data, size));
}
