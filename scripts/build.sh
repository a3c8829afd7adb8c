#!/usr/bin/env bash
# Builds attnc into build/: installs the Debian packages (scripts/setup.sh),
# configures with CMake + Ninja against MLIR 22 when build/ is not configured
# yet, then builds everything with ninja -j2.
#
#   scripts/build.sh            # BUILD_DIR=... to use another build directory
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="${BUILD_DIR:-build}"

scripts/setup.sh

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build_dir" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_BUILD_TYPE=Release
fi

ninja -C "$build_dir" -j2
