#!/usr/bin/env bash
# Builds attnc, then runs every test through CTest (the lit suites and the
# unit tests). The last line is CTest's summary, e.g.
#   100% tests passed, 0 tests failed out of 6
# and the exit code is CTest's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/build.sh
build_dir="${BUILD_DIR:-build}"

exec ctest --test-dir "$build_dir" --output-on-failure -j2
