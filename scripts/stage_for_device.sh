#!/usr/bin/env bash
# Stage a built TLE tree for a machine without MLIR (e.g. the H200 box: Python 3.12, glibc 2.39).
# What Python loads is a C-ABI library used through ctypes, so a tree built here with Python 3.11
# runs there unchanged. Usage: scripts/stage_for_device.sh [BUILD_DIR] [DEST]   (default: build stage)
# Then on the target:  PYTHONPATH=$PWD/stage python3 -c "import tle; print(tle.list_passes())"
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dest=${2:-stage}
# The newest artifacts under BUILD_DIR (a pip build tree may sit beside a cmake one).
newest() { find "$build" -name "$1" -type f -printf '%T@ %p\n' | sort -nr | head -n 1 | cut -d' ' -f2-; }
lib=$(newest libtle_capi.so)
opt=$(newest tle-opt)
[ -n "$lib" ] && [ -n "$opt" ] || { echo "no built libtle_capi.so/tle-opt under $build" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
cp -r python/tle "$dest/tle"
find "$dest" -name __pycache__ -type d -prune -exec rm -rf {} +
mkdir -p "$dest/tle/_lib" "$dest/tle/_bin"
cp "$lib" "$dest/tle/_lib/"
cp "$opt" "$dest/tle/_bin/"
strip --strip-unneeded "$dest/tle/_lib/libtle_capi.so" "$dest/tle/_bin/tle-opt" 2>/dev/null || true
echo "staged $lib and $opt"
du -sh "$dest"
