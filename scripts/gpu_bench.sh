#!/usr/bin/env bash
# A committed benchmark run on the GPU machine: `python -m tle.bench sparse-mla --suite serving`
# against the source-built FlashMLA (and the vllm copy), with its outputs bundled under $OUT.
#
#   scripts/gpu_bench.sh [--flashmla-src PATH] [--flashmla-lib PATH] [BENCH ARGS...]
#
# Run from anywhere with the tree staged (scripts/stage_for_device.sh) and PYTHONPATH naming the
# staged package, e.g. `PYTHONPATH=$PWD/stage scripts/gpu_bench.sh`; for another Triton put its copy
# on PYTHONPATH too (the output names carry triton.__version__, so runs under two Tritons can share
# one $OUT). FlashMLA builds: the flags, else $FLASHMLA_SRC / $FLASHMLA_LIB, else
# .flashmla/flash_mla_sm90_src.so and .flashmla/_flashmla_C.abi3.so when present (a missing build
# is reported in the table's header and its provider skipped).
# BENCH ARGS go to the benchmark (e.g. --only 'h_q=32', --rounds 7, --suite sweep).
# Environment: OUT (default bench-results), PYTHON (default python3), TLE_COMMIT (recorded in the
# results; default `git rev-parse` when a repository is there), TIME_LIMIT (seconds, default 540).
# Writes $OUT/sparse_mla-<suite>-triton<version>.{json,csv,png,log} (4 files; the device tool
# brings back 8) and prints the summary table last. Exit status: the benchmark's (1: a provider
# failed its reference check somewhere; 2: nothing could run).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
src=${FLASHMLA_SRC:-}
lib=${FLASHMLA_LIB:-}
suite=serving
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --flashmla-src) src=${2:?--flashmla-src needs a path}; shift 2 ;;
    --flashmla-src=*) src=${1#*=}; shift ;;
    --flashmla-lib) lib=${2:?--flashmla-lib needs a path}; shift 2 ;;
    --flashmla-lib=*) lib=${1#*=}; shift ;;
    --suite) suite=${2:?--suite needs a name}; shift 2 ;;
    --suite=*) suite=${1#*=}; shift ;;
    --out|--out=*) echo "gpu_bench.sh: outputs go to \$OUT, not --out" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -z "$src" ] && [ -f .flashmla/flash_mla_sm90_src.so ] && src=.flashmla/flash_mla_sm90_src.so
[ -z "$lib" ] && [ -f .flashmla/_flashmla_C.abi3.so ] && lib=.flashmla/_flashmla_C.abi3.so
out=${OUT:-bench-results}
mkdir -p "$out" || exit 2
if [ -z "${TLE_COMMIT:-}" ] && git -C "$root" rev-parse --short HEAD >/dev/null 2>&1; then
  TLE_COMMIT=$(git -C "$root" rev-parse --short HEAD)
  git -C "$root" diff --quiet HEAD 2>/dev/null || TLE_COMMIT="$TLE_COMMIT+dirty"
fi
export TLE_COMMIT=${TLE_COMMIT:-}

# What will run: the interpreter, torch, the Triton on the path, the staged TLE and its native library.
"$py" - <<'EOF' || { echo "gpu_bench.sh: the environment check failed (is PYTHONPATH set to the staged tree?)" >&2; exit 2; }
import sys
import torch, triton, tle
print(f"python {sys.version.split()[0]}; torch {torch.__version__} (CUDA {torch.version.cuda}); "
      f"triton {triton.__version__} from {triton.__file__}")
print(f"tle from {tle.__file__}: {len(tle.list_passes())} passes, native rewrites {tle.has_native_rewrites()}")
print("GPU:", torch.cuda.get_device_name() if torch.cuda.is_available() else "none")
EOF
# The card as found (read only; its settings are left alone).
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw,power.limit,utilization.gpu --format=csv 2>/dev/null
ver=$("$py" -c 'import triton; print(triton.__version__)') || exit 2
stem="sparse_mla-$suite-triton$ver"
log="$out/$stem.log"
# A cold Triton cache of its own: every first call then compiles, so first-call times are compile times.
TRITON_CACHE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tle-bench-triton-cache.XXXXXX") || exit 2
export TRITON_CACHE_DIR PYTHONUNBUFFERED=1
echo "flashmla (source build): ${src:-none}; flashmla_vllm: ${lib:-none}; commit ${TLE_COMMIT:-unknown}; log $log"

cmd=("$py" -m tle.bench sparse-mla --suite "$suite" --out "$out")
[ -n "$src" ] && cmd+=(--flashmla-src "$src")
[ -n "$lib" ] && cmd+=(--flashmla-lib "$lib")
# The device tool stops a command at 600 s: start no point that would end after 540 s of the run
# (a --time-limit among the arguments wins), so the outputs and the table always come back.
case " ${args[*]} " in *" --time-limit"*) ;; *) cmd+=(--time-limit "${TIME_LIMIT:-540}") ;; esac
cmd+=("${args[@]}")
echo "+ ${cmd[*]}" | tee "$log"
start=$(date +%s)
# The full output goes to the log; the console gets one progress line per point (and failures).
"${cmd[@]}" 2>&1 | tee -a "$log" | grep --line-buffered -E '^\[tle-bench .*\] \[[0-9]+/[0-9]+\]|FAILED|[Ee]rror'
rc=${PIPESTATUS[0]}
rm -rf "$TRITON_CACHE_DIR"
echo "benchmark exit status $rc after $(( $(date +%s) - start )) s"
ls -l "$out" | grep -F "$stem" || true
if [ -f "$out/$stem.json" ]; then
  echo
  "$py" -m tle.bench sparse-mla --show "$out/$stem.json"
else
  echo "no results JSON; the log's end:"
  tail -n 60 "$log"
fi
exit $rc
