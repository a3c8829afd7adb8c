#!/usr/bin/env bash
# Builds attnc, then checks every example and prints the inferred signatures
# and tensor shapes of their definitions.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/build.sh
build_dir="${BUILD_DIR:-build}"

shopt -s nullglob
examples=(examples/*.attn)
if [ ${#examples[@]} -eq 0 ]; then
  echo "demo.sh: no examples/*.attn to check" >&2
  exit 1
fi
exec "$build_dir/bin/attnc" check --print-shapes "${examples[@]}"
