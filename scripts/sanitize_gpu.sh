#!/usr/bin/env bash
# compute-sanitizer's four tools on TLE's warp-specialized sparse MLA kernel (small shapes:
# padding, invalid indices, topk_length, attn_sink, several tiles per CTA) and on the minimal
# row hand-off kernel (examples/kernels/gluon_row_handoff.py: the kernel's mbarrier hand-off, the
# same on named barriers, and an unsynchronized control), then one summary table.
#
# On the GPU machine, with TLE importable as README's "Running on a machine without MLIR" sets up:
#   PYTHONPATH=$PWD/stage bash scripts/sanitize_gpu.sh [LOG_DIR]      (default: sanitize-logs)
# Env: COMPUTE_SANITIZER (binary; default: PATH, then /usr/local/cuda*/bin), PYTHON (python3),
#      SANITIZE_TIMEOUT (seconds per sanitizer run, 600). A few minutes in all on an H200.
# Exit status: 1 if a case computed a wrong result or a tool run failed to complete, else 0
# (hazards/errors are reported in the table, judged against docs/gluon-layer.md's analysis).
set -uo pipefail
cd "$(dirname "$0")/.."
log=${1:-sanitize-logs}
py=${PYTHON:-python3}
limit=${SANITIZE_TIMEOUT:-600}
newest_cuda_sanitizer() { ls -1d /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | sort -V | tail -n 1; }
san=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || newest_cuda_sanitizer)}
[ -n "$san" ] && [ -x "$san" ] || { echo "compute-sanitizer not found (set COMPUTE_SANITIZER)" >&2; exit 2; }
mkdir -p "$log"
# one compile per kernel specialization for all runs (the sanitizer runs then load cached binaries)
export TRITON_CACHE_DIR=${TRITON_CACHE_DIR:-$PWD/$log/triton-cache}
driver=test/gpu/sanitize_cases.py
status=0
# restrict the checks to TLE's kernels where the tool allows it (compute-sanitizer's name filter)
filter=1
"$san" --tool memcheck --kernel-name kns=sparse_mla true > /dev/null 2>&1 || filter=

versions=$("$py" -c 'import triton, torch; print("triton", triton.__version__, "torch", torch.__version__)')
echo "== $("$san" --version | tail -n 1); $versions"
echo "== plain run (compiles, checks results)"
if ! "$py" "$driver" op || ! "$py" "$driver" handoff mbarrier || ! "$py" "$driver" handoff named \
   || ! "$py" "$driver" handoff racy; then
  echo "plain run failed: fix that first" >&2
  exit 1
fi

rows=()
# run TARGET TOOL KERNEL ARGS...: one sanitizer run, one table row
run() {
  local target=$1 tool=$2 kernel=$3; shift 3
  local out="$log/$target.$tool.log"
  local opts=(--tool "$tool" --print-limit 10000 --log-file "$out")
  # initcheck sees writes only in the kernels it instruments: it checks every kernel
  [ "$tool" != initcheck ] && [ -n "$filter" ] && opts+=(--kernel-name "kns=$kernel")
  echo "== $tool: $target"
  timeout "$limit" "$san" "${opts[@]}" "$py" "$driver" "$@" > "$log/$target.$tool.out" 2>&1
  local rc=$? result
  if [ $rc -eq 124 ]; then result="TIMEOUT (${limit}s)"; status=1
  elif grep -q "^FAIL" "$log/$target.$tool.out"; then result="WRONG RESULT"; status=1
  elif [ $rc -ne 0 ]; then result="exit $rc"; status=1
  else result=ok; fi
  local races=
  [ "$tool" = racecheck ] && races="$log/$target.races.txt"
  local summary
  summary=$("$py" "$driver" summarize "$out" $races)
  rows+=("$(printf '%-18s %-10s %-14s %s' "$target" "$tool" "$result" "$summary")")
}

for tool in memcheck racecheck synccheck initcheck; do
  run sparse_mla_ws "$tool" sparse_mla_ws_kernel op
  run handoff-mbarrier "$tool" row_handoff_kernel handoff mbarrier
done
run handoff-named racecheck row_handoff_kernel handoff named
run handoff-named synccheck row_handoff_kernel handoff named
run handoff-racy racecheck row_handoff_kernel handoff racy

echo
echo "== summary (logs: $log/)"
printf '%-18s %-10s %-14s %s\n' target tool run "sanitizer summary"
printf '%s\n' "${rows[@]}"
for f in "$log"/*.races.txt; do
  [ -s "$f" ] || continue
  echo "-- races racecheck reported for $(basename "$f" .races.txt), grouped by location:"
  cat "$f"
done
echo "== expected (docs/gluon-layer.md, 'racecheck on the ws kernel'): memcheck, synccheck, initcheck:"
echo "   0 errors everywhere. racecheck: sparse_mla_ws and handoff-mbarrier report the"
echo "   publish_rows/receive_rows lines (mbarrier-ordered) and lines of the kernel's entry (Triton's"
echo "   warp_specialize start-up); handoff-named reports nothing at its hand-off lines;"
echo "   handoff-racy reports its hand-off lines (the control). Every run: results ok."
exit $status
