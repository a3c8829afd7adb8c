#!/usr/bin/env python3
# ===- utils/randprog/run.py - Differential testing on random programs ------===#
#
# Part of the attnc project, under the Apache License v2.0.
# SPDX-License-Identifier: Apache-2.0
#
# ===-----------------------------------------------------------------------===#
"""Runs random attnc programs on the CPU back end and the interpreter.

For each of --count programs (generate.py, program I of a run with --seed S
has the generator seed S * 1000000 + I), runs

  attnc run --backend=cpu --compare=interp --tolerance T ARGS prog.attn

which compiles every fn for the CPU, runs it and the float64 interpreter on
the same seeded random inputs and fails when a result's max_rel_err (the
max abs error over the largest magnitude of the interpreter's result)
exceeds T (default 1e-4, as the CPU integration tests). Each finding (a
mismatch, a crash or internal error, a hang past --timeout, a program that
`attnc check` rejects, a usage error, any other failed run) is reduced
with reduce.py and saved under --out as KIND-SEED.attn (the reproducer,
its '# ARGS:' line has the run arguments), KIND-SEED.orig.attn and
KIND-SEED.log (attnc's output). Prints one summary line and exits with 1
when there is a finding, 0 otherwise. "not supported yet" is counted and
listed, not a failure.

--self-test first checks that findings are found: three programs must be
mismatches at a tolerance of 1e-12 (and one is reduced), and a
stand-in attnc that aborts, and one that hangs, must be reported as a crash
and a hang.

  utils/randprog/run.py --attnc build/bin/attnc --count 200 --seed 1
  nice -n 10 utils/randprog/run.py --count 10000 --seed 2 --jobs 1 --out randprog-out
"""

import argparse
import concurrent.futures
import os
import signal
import stat
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402
import reduce  # noqa: E402

FAILING = ("mismatch", "crash", "hang", "error", "usage")


def program_seed(seed, i):
    return seed * 1000000 + i


class Driver:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.counts = {}
        self.findings = []
        self.unsupported = {}
        self.done = 0
        self.t0 = time.time()

    def log(self, msg):
        with self.lock:
            print(msg, flush=True)

    def one(self, i):
        a = self.a
        seed = program_seed(a.seed, i)
        text, _ = generate.generate(seed)
        r = reduce.run_program(a.attnc, text, a.tolerance, a.timeout)
        with self.lock:
            self.counts[r.kind] = self.counts.get(r.kind, 0) + 1
            self.done += 1
            if r.kind == "unsupported":
                self.unsupported.setdefault(r.signature, []).append(seed)
            if a.verbose or (a.progress and self.done % a.progress == 0):
                print("randprog: %d programs, %.0f s, %s" % (
                    self.done, time.time() - self.t0, self.count_text()), flush=True)
        if r.kind in FAILING:
            self.report(seed, text, r)
        return r

    def report(self, seed, text, r):
        a = self.a
        name = "%s-%d" % (r.kind, seed)
        self.log("randprog: FINDING %s: %s (%.1f s)%s" % (
            name, r.signature, r.seconds,
            "" if r.worst_rel() is None else ", max_rel_err %g" % r.worst_rel()))
        minimized = text
        if not a.no_reduce:
            pred = reduce.same_failure(a.attnc, r, a.tolerance, a.timeout)
            minimized = reduce.reduce_program(text, pred, a.reduce_budget)
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, name + ".attn"), "w") as f:
            f.write(minimized)
        with open(os.path.join(a.out, name + ".orig.attn"), "w") as f:
            f.write(text)
        with open(os.path.join(a.out, name + ".log"), "w") as f:
            f.write(r.output)
        with self.lock:
            self.findings.append((name, r.signature, os.path.join(a.out, name + ".attn")))
        self.log("randprog: saved %s (%d -> %d bytes)" % (
            os.path.join(a.out, name + ".attn"), len(text), len(minimized)))

    def count_text(self):
        return ", ".join("%s %d" % (k, v) for k, v in sorted(self.counts.items()))

    def run(self):
        a = self.a
        deadline = self.t0 + a.time_limit if a.time_limit else None
        stop = []
        # SIGTERM: start no new program, finish the running ones, summarize.
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
        started = 0
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
            pending = set()
            while started < a.count or pending:
                while started < a.count and len(pending) < a.jobs * 2 and not stop and (
                        deadline is None or time.time() < deadline):
                    pending.add(ex.submit(self.one, started))
                    started += 1
                if not pending:
                    break
                done, pending = concurrent.futures.wait(
                    pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for f in done:
                    f.result()
                if (stop or deadline is not None and time.time() >= deadline) and started < a.count:
                    a.count = started  # stop starting new programs
        secs = time.time() - self.t0
        c = self.counts
        print("randprog: programs %d, mismatches %d, crashes %d, hangs %d, rejected/errors %d, "
              "usage %d, unsupported %d, seconds %.0f (seed %d, tolerance %g)" % (
                  self.done, c.get("mismatch", 0), c.get("crash", 0), c.get("hang", 0),
                  c.get("error", 0), c.get("usage", 0), c.get("unsupported", 0), secs,
                  a.seed, a.tolerance), flush=True)
        for sig, seeds in sorted(self.unsupported.items()):
            print("randprog: unsupported (%d): %s, e.g. seed %d" % (len(seeds), sig, seeds[0]))
        for name, sig, path in self.findings:
            print("randprog: finding %s: %s -> %s" % (name, sig, path))
        return 1 if self.findings else 0


def write_stub(d, name, body):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def self_test(a):
    """Findings must be found: returns an error message or None."""
    ok = True
    # 1. A tolerance far below float32's precision (1e-12) makes every
    # program with rounding in it a mismatch.
    tiny = 1e-12
    seeds = [program_seed(a.seed, i) for i in range(8)]
    failing = []
    for s in seeds:
        text, _ = generate.generate(s)
        r = reduce.run_program(a.attnc, text, tiny, a.timeout)
        if r.kind == "mismatch":
            failing.append((s, text, r))
        elif r.kind != "pass":
            print("randprog: self-test: seed %d with --tolerance=%g gave '%s':\n%s" % (
                s, tiny, r.kind, r.output))
            ok = False
        if len(failing) == 3:
            break
    if len(failing) < 3:
        print("randprog: self-test: only %d of %d programs are mismatches at --tolerance=%g" % (
            len(failing), len(seeds), tiny))
        ok = False
    # ... and the reduction keeps one failing while it shrinks it.
    if failing:
        s, text, first = failing[0]
        small = reduce.reduce_program(text, reduce.same_failure(a.attnc, first, tiny, a.timeout),
                                      budget=20)
        if not (len(small) < len(text) and
                reduce.run_program(a.attnc, small, tiny, a.timeout).kind == "mismatch"):
            print("randprog: self-test: the reduction did not shrink a failing program")
            ok = False
        else:
            print("randprog: self-test: seed %d reduced from %d to %d bytes" % (
                s, len(text), len(small)))
    # 2. A compiler that aborts, and one that hangs, on 'run'.
    d = tempfile.mkdtemp(prefix="randprog-self-")
    real = os.path.abspath(a.attnc) if os.sep in a.attnc else a.attnc
    crash = write_stub(d, "attnc-crash", 'if [ "$1" = run ]; then echo "internal error: self-test" >&2; '
                       'kill -ABRT $$; fi\nexec "%s" "$@"' % real)
    hang = write_stub(d, "attnc-hang", 'if [ "$1" = run ]; then exec sleep 30; fi\nexec "%s" "$@"' % real)
    text, _ = generate.generate(seeds[1])
    for stub, want in ((crash, "crash"), (hang, "hang")):
        r = reduce.run_program(stub, text, a.tolerance, timeout=2)
        if r.kind != want:
            print("randprog: self-test: a stand-in attnc gave '%s', expected '%s'" % (r.kind, want))
            ok = False
    print("randprog: self-test %s" % ("passed" if ok else "FAILED"), flush=True)
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--attnc", default="attnc")
    ap.add_argument("--out", default="randprog-findings")
    ap.add_argument("--time-limit", type=float, default=0,
                    help="start no new program after this many seconds (0: no limit)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per program")
    ap.add_argument("--tolerance", type=float, default=reduce.DEFAULT_TOLERANCE)
    ap.add_argument("--reduce-budget", type=float, default=600, help="seconds per reduction")
    ap.add_argument("--no-reduce", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--progress", type=int, default=100, help="a status line every N programs")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.self_test and not self_test(a):
        return 1
    return Driver(a).run()


if __name__ == "__main__":
    sys.exit(main())
