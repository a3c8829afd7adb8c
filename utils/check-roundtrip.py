#!/usr/bin/env python3
# ===- check-roundtrip.py - Emitted IR reads back unchanged -----------------===#
#
# Part of the attnc project, under the Apache License v2.0.
# SPDX-License-Identifier: Apache-2.0
#
# ===------------------------------------------------------------------------===#
"""For each .attn file: `attnc emit --emit=mlir`, then `attnc-opt
--verify-roundtrip` on the result; the two texts must be byte for byte the
same. Prints `round-trips: NAME` per file, or what differs, and exits 1 on the
first failure. attnc and attnc-opt are found on PATH."""

import difflib
import os
import subprocess
import sys


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True)


def main(files):
    for path in files:
        name = os.path.splitext(os.path.basename(path))[0]
        emitted = run(["attnc", "emit", "--emit=mlir", path])
        if emitted.returncode != 0:
            print(f"{name}: attnc emit failed:\n{emitted.stderr}")
            return 1
        reread = run(["attnc-opt", "--verify-roundtrip"], emitted.stdout)
        if reread.returncode != 0:
            print(f"{name}: attnc-opt failed:\n{reread.stderr}")
            return 1
        if reread.stdout != emitted.stdout:
            diff = difflib.unified_diff(
                emitted.stdout.splitlines(), reread.stdout.splitlines(),
                "emitted", "attnc-opt", lineterm="")
            print(f"{name}: the IR changed through attnc-opt:")
            print("\n".join(list(diff)[:40]))
            return 1
        print(f"round-trips: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
