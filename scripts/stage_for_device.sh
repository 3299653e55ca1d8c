#!/usr/bin/env bash
# Stage a built TLE tree for a machine without MLIR (e.g. the H200 box: Python 3.12, glibc 2.39).
# What Python loads is a C-ABI library used through ctypes, so a tree built here with Python 3.11
# runs there unchanged. Usage: scripts/stage_for_device.sh [BUILD_DIR] [DEST]   (default: build stage)
# Then on the target:  PYTHONPATH=$PWD/stage python3 -c "import tle; print(tle.list_passes())"
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dest=${2:-stage}
lib=$(find "$build" -name libtle_capi.so -type f | head -n 1)
opt=$(find "$build" -name tle-opt -type f -perm -u+x | head -n 1)
[ -n "$lib" ] && [ -n "$opt" ] || { echo "no built libtle_capi.so/tle-opt under $build" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
cp -r python/tle "$dest/tle"
find "$dest" -name __pycache__ -type d -prune -exec rm -rf {} +
mkdir -p "$dest/tle/_lib" "$dest/tle/_bin"
cp "$lib" "$dest/tle/_lib/"
cp "$opt" "$dest/tle/_bin/"
strip --strip-unneeded "$dest/tle/_lib/libtle_capi.so" "$dest/tle/_bin/tle-opt" 2>/dev/null || true
du -sh "$dest"
