#!/usr/bin/env python3
# ===- utils/mutate.py - Robustness test of the front end ------------------===#
#
# Part of the attnc project, under the Apache License v2.0.
# SPDX-License-Identifier: Apache-2.0
#
# ===-----------------------------------------------------------------------===#
"""Feeds `attnc check` many broken variants of the example programs.

Every examples/*.attn is cut short at many points and damaged by random
byte edits (insertions, deletions and replacements with random bytes,
NUL, 0xff, brackets and keywords, duplicated or dropped spans, deep
nesting). Each variant is written to a temporary directory (next to copies
of the examples, so imports still resolve) and checked with a timeout.

A variant fails the test when `attnc check`:
  * exits with anything but 0 or 1 (a crash, an abort, a usage error),
  * runs longer than the timeout,
  * exits 1 with nothing on stderr, or
  * reports an internal error or an LLVM stack dump.

The run is deterministic for a given --seed. On failure it prints each
failing variant with its mutation, keeps the temporary directory, and
exits 1.

  utils/mutate.py --attnc build/bin/attnc --examples examples
"""

import argparse
import concurrent.futures
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

KEYWORDS = [
    b"fn", b"block", b"arch", b"const", b"type", b"import", b"state", b"emit",
    b"return", b"attend", b"scan", b"chunk", b"score", b"mask", b"value",
    b"normalize", b"softmax", b"sigmoid", b"sum", b"none", b"bias",
    b"residual", b"repeat", b"seq", b"branch", b"route", b"linear", b"inf",
    b"true", b"false", b"f32", b"i1", b"i32", b"bf16", b"grad", b"topk",
    b"argmax", b"attend j < N {", b"scan t < N {", b"->", b"@", b"^", b"..",
    b"=", b"==", b"<=", b"&&", b"||", b"!", b"%", b"/ 0", b"% 0", b"0",
    b"-1", b"99999999999999999999", b"1e999", b"0.0", b".5", b'"',
    b'import "missing.attn"', b"#", b"//", b"\n", b"\r", b"\t",
    "\u00e9".encode(), "\u2028".encode(), b"\xc3", b"\xed\xa0\x80",
]
PUNCT = b"{}[]<>(),;:=.-+*/"


def _byte(rng):
    """A random byte sequence to insert or replace with."""
    pick = rng.random()
    if pick < 0.15:
        return bytes([rng.randrange(256)])
    if pick < 0.25:
        return rng.choice([b"\x00", b"\xff"])
    if pick < 0.55:
        return bytes([rng.choice(PUNCT)])
    return rng.choice(KEYWORDS)


def _mutate_once(rng, data):
    """Applies one random edit to `data`; returns (new data, description)."""
    n = len(data)
    pos = rng.randrange(n + 1)
    kind = rng.choice(["insert", "insert", "delete", "replace", "replace",
                       "drop-span", "dup-span", "swap-lines", "nest"])
    if kind == "insert" or n == 0:
        s = _byte(rng)
        return data[:pos] + s + data[pos:], f"insert {s!r} at {pos}"
    pos = min(pos, n - 1)
    if kind == "delete":
        return data[:pos] + data[pos + 1:], f"delete byte {pos}"
    if kind == "replace":
        s = _byte(rng)
        return data[:pos] + s + data[pos + 1:], f"replace byte {pos} by {s!r}"
    if kind in ("drop-span", "dup-span"):
        end = min(n, pos + rng.randrange(1, 80))
        if kind == "drop-span":
            return data[:pos] + data[end:], f"delete bytes {pos}..{end}"
        return data[:end] + data[pos:end] + data[end:], f"duplicate bytes {pos}..{end}"
    if kind == "swap-lines":
        lines = data.split(b"\n")
        if len(lines) < 2:
            return data + data, "double the file"
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines), f"swap lines {i + 1} and {j + 1}"
    # Deep nesting: the parser and checker recurse on it.
    depth = rng.choice([64, 512, 2000])
    opener = rng.choice([b"(", b"[", b"{", b"-", b"!", b"f(", b"x[", b"residual {"])
    return data[:pos] + opener * depth + data[pos:], f"insert {opener!r} x {depth} at {pos}"


def make_variants(name, data, cuts, edits, seed):
    """The variants of one file: truncations, then random edits."""
    rng = random.Random(seed ^ zlib.crc32(name.encode()))
    out = []
    n = len(data)
    # Truncations: evenly spread cut points, each nudged by a random offset,
    # plus the empty file and the file less its last byte.
    points = {0, max(0, n - 1)}
    for k in range(cuts):
        base = (k * n) // max(1, cuts)
        points.add(min(n - 1, max(0, base + rng.randrange(-3, 4))))
    for p in sorted(points):
        out.append((data[:p], f"truncate to {p} of {n} bytes"))
    for _ in range(edits):
        mutated, steps = data, []
        for _ in range(rng.choice([1, 1, 1, 2, 3, 6])):
            mutated, what = _mutate_once(rng, mutated)
            steps.append(what)
        out.append((mutated, "; ".join(steps)))
    return out


def run_one(attnc, command, path, timeout):
    """Runs `attnc COMMAND` on one variant; returns None or why it failed."""
    try:
        proc = subprocess.run([attnc, *command, path], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s"
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode not in (0, 1):
        return f"exit code {proc.returncode}\n{err[-2000:]}"
    if proc.returncode == 1 and not err.strip():
        return "exit code 1 with nothing on stderr"
    if "internal error" in err or "Stack dump" in err:
        return f"internal error\n{err[-2000:]}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attnc", default="attnc", help="the attnc binary")
    parser.add_argument("--examples", required=True, help="directory of *.attn")
    parser.add_argument("--command", default="check",
                        help="the attnc command and options to run on each "
                             "variant (default: check)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--cuts", type=int, default=40,
                        help="truncation points per file")
    parser.add_argument("--edits", type=int, default=60,
                        help="most randomly edited variants per file")
    parser.add_argument("--total", type=int, default=700,
                        help="fewer edited variants per file (at least 10) "
                             "to keep about this many variants in all")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds per attnc run")
    parser.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1),
                        help="parallel attnc runs (start-up is I/O bound)")
    parser.add_argument("--keep", help="write the variants here and keep them")
    args = parser.parse_args()

    attnc = shutil.which(args.attnc) or args.attnc
    if not os.access(attnc, os.X_OK):
        print(f"mutate.py: cannot run attnc: {args.attnc}", file=sys.stderr)
        return 2
    examples = sorted(f for f in os.listdir(args.examples) if f.endswith(".attn"))
    if not examples:
        print(f"mutate.py: no *.attn files in {args.examples}", file=sys.stderr)
        return 1

    # Keep the run time bounded (about 60 ms per variant on two busy cores)
    # as examples are added; the choice depends only on the file count.
    edits = max(10, min(args.edits, args.total // len(examples) - args.cuts - 2))

    start = time.monotonic()
    workdir = args.keep or tempfile.mkdtemp(prefix="attnc-mutate-")
    os.makedirs(workdir, exist_ok=True)
    jobs = []  # (path, source name, description)
    for name in examples:
        with open(os.path.join(args.examples, name), "rb") as f:
            data = f.read()
        # The originals sit next to the variants, so imports resolve.
        with open(os.path.join(workdir, name), "wb") as f:
            f.write(data)
        stem = name[:-len(".attn")]
        for i, (variant, what) in enumerate(
                make_variants(name, data, args.cuts, edits, args.seed)):
            path = os.path.join(workdir, f"{stem}.mut{i:03d}.attn")
            with open(path, "wb") as f:
                f.write(variant)
            jobs.append((path, name, what))

    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, attnc, args.command.split(), p,
                               args.timeout): (p, n, w)
                   for p, n, w in jobs}
        for fut in concurrent.futures.as_completed(futures):
            reason = fut.result()
            if reason:
                failures.append((futures[fut], reason))

    elapsed = time.monotonic() - start
    for (path, name, what), reason in sorted(failures):
        print(f"FAIL: {path} (from {name}: {what}): {reason}")
    print(f"mutate.py: {len(jobs)} variants of {len(examples)} files, "
          f"{len(failures)} failures, {elapsed:.1f} s")
    if failures:
        print(f"mutate.py: the variants are kept in {workdir}")
        return 1
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
