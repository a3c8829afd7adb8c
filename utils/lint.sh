#!/usr/bin/env bash
#===- utils/lint.sh - Style checks run by CI ------------------------------===#
#
# Part of the attnc project, under the Apache License v2.0.
# SPDX-License-Identifier: Apache-2.0
#
#===------------------------------------------------------------------------===#
#
# The checks of STYLE.md §3 and §8, each printing `file:line: message` per
# finding. Exits 1 when anything is found, 0 otherwise.
#
#   1. trailing whitespace and a missing final newline in text files
#   2. deprecated MLIR APIs in C++ and TableGen sources
#   3. pass flag names in include/attnc/{Transforms,Conversion}/Passes.td
#   4. every pass flag is mentioned by at least one test
#   5. the parser island (grammar/, lib/Frontend/Parse/ and the headers they
#      include) includes no mlir/ header
#   6. changed C++ files are clang-formatted (only with clang-format-22)
#
# Files: those git tracks plus untracked ones that git does not ignore.
# Test inputs that need odd bytes (trailing blanks, no final newline) go
# under an `Inputs/` directory, which check 1 skips.
#
# Environment: LINT_BASE=<ref> sets the base for "changed" (default:
# origin/main, else HEAD; with no commit yet every C++ file counts).
#
#===------------------------------------------------------------------------===#
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

findings=0
report() { # file:line: message
  echo "$1"
  findings=$((findings + 1))
}

mapfile -t files < <(git ls-files --cached --others --exclude-standard | sort -u)
existing=()
for f in "${files[@]}"; do
  [ -f "$f" ] && existing+=("$f")
done
files=("${existing[@]}")

is_text() { # non-empty and not binary
  [ -s "$1" ] && grep -Iq . "$1"
}

#===--- 1. Whitespace ----------------------------------------------------===#
for f in "${files[@]}"; do
  case "$f" in */Inputs/* | Inputs/*) continue ;; esac
  is_text "$f" || continue
  while IFS=: read -r line _; do
    report "$f:$line: trailing whitespace"
  done < <(grep -nE $'[ \t\r]+$' "$f")
  if [ -n "$(tail -c1 "$f")" ]; then
    report "$f:$(wc -l <"$f" | awk '{print $1 + 1}'): no newline at end of file"
  fi
done

#===--- 2. Deprecated APIs -----------------------------------------------===#
src_files=()
for f in "${files[@]}"; do
  case "$f" in *.cpp | *.h | *.hpp | *.cc | *.td) src_files+=("$f") ;; esac
done
deprecated=(
  '(\.|->)create<'                   # OpTy::create(builder, loc, ...)
  'applyPatternsAndFoldGreedily'     # applyPatternsGreedily
  'let[[:space:]]+constructor'       # impl::XPassBase + using Base::Base
)
if [ ${#src_files[@]} -gt 0 ]; then
  for re in "${deprecated[@]}"; do
    while IFS=: read -r f line _; do
      report "$f:$line: deprecated API (matches '$re'); see STYLE.md §8"
    done < <(grep -nHE -- "$re" "${src_files[@]}")
  done
fi

#===--- 3 + 4. Pass flags ------------------------------------------------===#
check_pass_flags() { # td-file regex
  local td="$1" re="$2"
  [ -f "$td" ] || return 0
  while IFS=: read -r line flag; do
    if ! [[ "$flag" =~ $re ]]; then
      report "$td:$line: pass flag '$flag' does not match $re"
    fi
    if ! grep -rqE -- "(^|[^a-z0-9])$flag([^a-z0-9-]|$)" test; then
      report "$td:$line: no test under test/ mentions pass flag '$flag'"
    fi
  done < <(grep -nE 'Pass<"[^"]*"' "$td" |
    sed -E 's/^([0-9]+):.*Pass<"([^"]*)".*/\1:\2/')
}
check_pass_flags include/attnc/Transforms/Passes.td '^(attn|test-attn)-[a-z0-9-]+$'
check_pass_flags include/attnc/Conversion/Passes.td '^convert-[a-z0-9]+-to-[a-z0-9]+$'

#===--- 5. The parser island stays MLIR-free -----------------------------===#
island=()
for f in "${files[@]}"; do
  case "$f" in grammar/* | lib/Frontend/Parse/*) island+=("$f") ;; esac
done
# Add the project headers the island includes, transitively.
declare -A seen=()
queue=("${island[@]}")
while [ ${#queue[@]} -gt 0 ]; do
  f="${queue[0]}"
  queue=("${queue[@]:1}")
  [ -n "${seen[$f]:-}" ] && continue
  seen[$f]=1
  [ -f "$f" ] || continue
  while read -r inc; do
    for cand in "include/$inc" "$inc"; do
      if [ -f "$cand" ] && [ -z "${seen[$cand]:-}" ]; then
        queue+=("$cand")
        break
      fi
    done
  done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' "$f")
done
for f in "${!seen[@]}"; do
  [ -f "$f" ] || continue
  while IFS=: read -r line _; do
    report "$f:$line: the parser island must not include mlir/ headers"
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]mlir/' "$f")
done

#===--- 6. clang-format --------------------------------------------------===#
if command -v clang-format-22 >/dev/null 2>&1; then
  base="${LINT_BASE:-}"
  if [ -z "$base" ]; then
    if git rev-parse --verify -q origin/main >/dev/null; then
      base=origin/main
    elif git rev-parse --verify -q HEAD >/dev/null; then
      base=HEAD
    fi
  fi
  cxx_re='\.(cpp|h|hpp|cc|c)$'
  whole=() # files checked in full: new ones, or all when there is no base
  if [ -n "$base" ]; then
    mapfile -t whole < <(git ls-files --others --exclude-standard | grep -E "$cxx_re")
    # Changed lines of files git knows: parse the suggested diff's hunks.
    if command -v git-clang-format-22 >/dev/null 2>&1; then
      while IFS= read -r finding; do
        report "$finding"
      done < <(git-clang-format-22 --binary clang-format-22 --diff "$base" 2>/dev/null |
        awk '/^\+\+\+ b\// { file = substr($0, 7) }
             /^@@/ { split($3, a, ","); sub(/^\+/, "", a[1]);
                     print file ":" a[1] ": not clang-formatted (git clang-format-22)" }')
    fi
  else
    for f in "${files[@]}"; do
      [[ "$f" =~ $cxx_re ]] && whole+=("$f")
    done
  fi
  for f in "${whole[@]}"; do
    [ -f "$f" ] || continue
    while IFS= read -r finding; do
      report "$finding"
    done < <(clang-format-22 --dry-run "$f" 2>&1 |
      sed -nE 's/^([^:]+):([0-9]+):[0-9]+: (warning|error): .*/\1:\2: not clang-formatted (clang-format-22 -i \1)/p' |
      sort -u -t: -k1,1 -k2,2n)
  done
else
  echo "lint.sh: note: clang-format-22 is not installed; skipping the format check (scripts/setup.sh installs it)"
fi

if [ "$findings" -ne 0 ]; then
  echo "lint.sh: $findings finding(s)"
  exit 1
fi
echo "lint.sh: ok (${#files[@]} files)"
