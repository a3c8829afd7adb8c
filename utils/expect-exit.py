#!/usr/bin/env python3
# ===- utils/expect-exit.py - Assert a command's exact exit code -----------===#
#
# Part of the attnc project, under the Apache License v2.0.
# SPDX-License-Identifier: Apache-2.0
#
# ===-----------------------------------------------------------------------===#
"""Runs CMD and succeeds only when it exits with exactly CODE.

lit's `not` only tells zero from non-zero; the driver contract tells 1 (an
error in the input) from 2 (a usage error), so tests say which they expect:

  # RUN: %python %attnc_src/utils/expect-exit.py 2 attnc bogus 2>&1 | FileCheck %s

The command's stdout and stderr pass through unchanged. A crash (a signal)
never matches.
"""

import subprocess
import sys


def main(argv):
    if len(argv) < 3 or not argv[1].lstrip("-").isdigit():
        sys.stderr.write("usage: expect-exit.py CODE CMD [ARG]...\n")
        return 2
    want = int(argv[1])
    sys.stdout.flush()
    try:
        got = subprocess.call(argv[2:])
    except OSError as err:
        sys.stderr.write(f"expect-exit.py: cannot run {argv[2]}: {err}\n")
        return 1
    if got != want:
        sys.stderr.write(f"expect-exit.py: expected exit code {want}, got {got}: "
                         f"{' '.join(argv[2:])}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
