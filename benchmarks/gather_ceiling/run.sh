#!/usr/bin/env bash
# Build and run the gather-ceiling micro-benchmark on the GPU machine (nvcc 13.0 there).
#   run.sh [BINARY] [energy]   energy: joules per delivered byte instead of the timing table
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-/tmp/gather_ceiling}
nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v gather_ceiling.cu -o "$out" -ldl 2>&1 \
  | grep -E "error|Used" || true
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
"$out" "${@:2}"
