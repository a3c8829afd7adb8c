#!/usr/bin/env bash
# Runs attnc's libFuzzer targets (fuzz/, docs/Testing.md "Fuzzing").
#
#   utils/fuzz.sh [--time SECONDS] [--jobs J] [TARGET...]
#
# TARGETs: check-source emit-mlir npy-reader opt-pipeline (default: all).
# --time: seconds per target (default 600); --jobs: targets run at once
# (default 1), each under nice. Configures and builds build-fuzz/ with
# clang-22 (-DATTNC_ENABLE_FUZZERS=ON) when needed, rebuilds the seed
# corpora from examples/ and test/, and fuzzes each target into its corpus
# build-fuzz/corpus/TARGET (kept between runs). Crashes, hangs (-timeout),
# OOMs (-rss_limit_mb) and leaks go to build-fuzz/crashes/TARGET/, logs to
# build-fuzz/logs/TARGET.log. Prints one summary line per target; the exit
# code is 1 when any target found something. BUILD_DIR overrides build-fuzz.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
build_dir="${BUILD_DIR:-build-fuzz}"
all_targets=(check-source emit-mlir npy-reader opt-pipeline)

seconds=600
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
    *)
      case " ${all_targets[*]} " in
        *" $1 "*) targets+=("$1") ;;
        *) echo "fuzz.sh: unknown target '$1' (${all_targets[*]})" >&2; exit 2 ;;
      esac
      shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# Build. The lock keeps two builds from sharing the machine's cores.
scripts/setup.sh
lock=()
command -v flock >/dev/null && lock=(flock "${ATTNC_BUILD_LOCK:-/tmp/attnc-build.lock}")
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build_dir" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DATTNC_ENABLE_FUZZERS=ON >/dev/null
fi
"${lock[@]}" ninja -C "$build_dir" -j2 $(printf 'attnc-fuzz-%s ' "${targets[@]}")

# Seed corpora, rebuilt every run from the sources: each file one input.
seeds="$build_dir/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{source,mlir,npy}
find examples test -name '*.attn' -size -64k -print0 |
  while IFS= read -r -d '' f; do cp "$f" "$seeds/source/$(echo "$f" | tr / _)"; done
# One seed per // ----- split of a .mlir test, as --split-input-file sees it.
/usr/bin/python3 - "$seeds/mlir" <<'EOF'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
for path in sorted(pathlib.Path("test").rglob("*.mlir")):
    parts = re.split(r"^// -----\s*$", path.read_text(errors="replace"), flags=re.M)
    for i, part in enumerate(parts):
        name = str(path).replace("/", "_")
        (out / f"{name}.{i}").write_text(part)
EOF
# Valid .npy files of every supported dtype and header version, and a few
# that decode must reject (Fortran order, big endian, unsupported dtype).
# Debian's python3 has python3-numpy (scripts/setup.sh).
/usr/bin/python3 - "$seeds/npy" <<'EOF'
import sys, numpy as np
from numpy.lib import format as npf
d = sys.argv[1]
def save(name, a, version=None):
    with open(f"{d}/{name}.npy", "wb") as f:
        npf.write_array(f, a, version=version, allow_pickle=False)
save("f32", np.arange(6, dtype="<f4").reshape(2, 3))
save("f64", np.array([1.5, -0.0, np.inf, np.nan], dtype="<f8"))
save("i32", np.array([[1, -2], [3, 4]], dtype="<i4"))
save("i64", np.array([2**53, -7], dtype="<i8"))
save("b1", np.array([True, False, True]))
save("scalar", np.array(3.0))
save("empty", np.zeros((0, 4), dtype="<f4"))
save("v2", np.ones((2, 2), dtype="<f4"), version=(2, 0))
save("v3", np.ones((3,), dtype="<f8"), version=(3, 0))
save("fortran", np.asfortranarray(np.ones((2, 3), dtype="<f4")))
save("bigendian", np.ones(3, dtype=">f4"))
save("f16", np.ones(3, dtype="<f2"))
EOF

run_target() {
  local t=$1 max_len dict=() seed_dir
  case "$t" in
    check-source | emit-mlir) max_len=8192; seed_dir=$seeds/source; dict=(-dict=fuzz/attn.dict) ;;
    npy-reader) max_len=4096; seed_dir=$seeds/npy ;;
    opt-pipeline) max_len=16384; seed_dir=$seeds/mlir; dict=(-dict=fuzz/mlir.dict) ;;
  esac
  local corpus="$build_dir/corpus/$t" crashes="$build_dir/crashes/$t"
  mkdir -p "$corpus" "$crashes" "$build_dir/logs"
  # New inputs go to the first directory (the corpus); the seeds are only
  # read. -timeout: seconds per input before it counts as a hang.
  # allow_user_poisoning=0: as scripts/sanitize.sh (LLVM's BumpPtrAllocator).
  ASAN_OPTIONS=allow_user_poisoning=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n 10 "$build_dir/bin/attnc-fuzz-$t" "$corpus" "$seed_dir" \
    "${dict[@]}" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$crashes/" >"$build_dir/logs/$t.log" 2>&1 || true
}

summary() {
  local t=$1 log="$build_dir/logs/$t.log"
  local execs cov ft found
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  found=$(find "$build_dir/crashes/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'leak-*' \) -newer "$log.start" | wc -l)
  printf '%-13s %5ss  execs %-9s cov %-6s ft %-6s findings %s\n' \
    "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$found"
  [ "$found" -eq 0 ]
}

for t in "${targets[@]}"; do
  mkdir -p "$build_dir/logs"
  touch "$build_dir/logs/$t.log.start"
done
running=0
for t in "${targets[@]}"; do
  echo "fuzz.sh: fuzzing $t for ${seconds}s (log $build_dir/logs/$t.log)" >&2
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
for t in "${targets[@]}"; do
  summary "$t" || status=1
done
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: findings in $build_dir/crashes/ (docs/Testing.md says how to turn one into a test)" >&2
fi
exit "$status"
