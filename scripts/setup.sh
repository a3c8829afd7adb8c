#!/usr/bin/env bash
# Installs every Debian package attnc needs to build and test. Idempotent: when
# everything is present it only checks (no apt-get update), so it is quick.
#   scripts/setup.sh           the build and the test suite
#   scripts/setup.sh --bench   also the benchmarks' OpenBLAS baseline
#                              (bench/README.md; PyTorch is in the default set)
set -euo pipefail

bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    -h | --help)
      sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option '$arg' (expected --bench)" >&2
      exit 2
      ;;
  esac
done

packages=(
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools   # LLVM/MLIR 22, lit, FileCheck
  antlr4 libantlr4-runtime-dev default-jre-headless        # ANTLR 4.7.2 tool + 4.9 runtime
  cmake ninja-build g++ ccache python3 python3-numpy       # build + tests
  libgtest-dev                                             # unit tests
  clang-format-22                                          # utils/lint.sh (bookworm-security)
  libomp-22-dev                                            # OpenMP runtime of CPU libraries
  clang-22 libclang-rt-22-dev                              # ASan/UBSan step of .ci/run, utils/fuzz.sh
  python3-torch                                            # python/tests: torch and as_op
)
if [ "$bench" -eq 1 ]; then
  packages+=(libopenblas-dev)                              # bench/ baselines
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup.sh: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
