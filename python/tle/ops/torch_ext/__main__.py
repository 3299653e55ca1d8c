"""``python -m tle.ops.torch_ext``: build the op's C++ entry point now (e.g. while building a
container image), instead of on the first CUDA call; prints where it is, or why it cannot be built
(exit status 1)."""
import sys
import time

from . import BuildError, load


def main() -> int:
    t0 = time.perf_counter()
    try:
        module = load()
    except BuildError as e:
        print(f"tle.ops.torch_ext: cannot build the C++ entry point: {e}", file=sys.stderr)
        return 1
    print(f"{module.__file__} (ready in {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
