#!/usr/bin/env bash
# The sanitizer step of CI (.ci/run runs it after scripts/test.sh;
# docs/Testing.md "Sanitizers"): builds attnc and its unit tests with
# clang-22 and -fsanitize=address,undefined (-O1, line tables) into
# build-asan/ (about 6.5 minutes clean), then runs a subset of the tests on
# that build: every unit test and the lit suites Frontend, Driver, Dialect
# and Transforms. Not run: lit-Examples, lit-Integration and lit-Target
# (they JIT or link large kernels: the uninstrumented LLVM does most of the
# work there, slowly), lit-Lint (no binary), the Python tests and
# random-programs (utils/randprog: 8 minutes under ASan). Any ASan report,
# leak or UB aborts the program, so the test fails.
#
#   scripts/sanitize.sh        # ASAN_BUILD_DIR=... to use another directory
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="${ASAN_BUILD_DIR:-build-asan}"

scripts/setup.sh

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build_dir" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_C_FLAGS_RELEASE=-O1 -gline-tables-only -DNDEBUG" \
    "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DATTNC_SANITIZE=address,undefined
fi

ninja -C "$build_dir" -j2

# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs in our
# instrumented copies of its inline code but not in libMLIR.so's, a false
# use-after-poison (docs/Testing.md "Sanitizers"). llvm-symbolizer gives the
# reports file:line.
export ASAN_OPTIONS="detect_leaks=1:allow_user_poisoning=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
ctest --test-dir "$build_dir" --output-on-failure -j2 \
  -E '^(lit-(Examples|Integration|Target|Lint)|python-.*|random-programs)$'
