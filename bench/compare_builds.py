#!/usr/bin/python3
"""Compare two attnc builds on the same workloads, interleaved (an A/B of a compiler change).

For each workload it runs `attnc bench ... --json` with the baseline binary and the
candidate, alternating which goes first, --rounds times, and prints the median of each
build's medians and their ratio (candidate / baseline: above 1 is slower). Interleaving
makes a shared, noisy machine slow both builds alike; the ratios are what to report.

Build the baseline from another commit in a worktree, e.g.
  git worktree add /tmp/base 84461ee
  cmake -G Ninja -S /tmp/base -B /tmp/base/build -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \\
        -DCMAKE_BUILD_TYPE=Release && ninja -C /tmp/base/build -j2 attnc
  /usr/bin/python3 bench/compare_builds.py --baseline /tmp/base/build/bin/attnc --threads 1 2

Usage: /usr/bin/python3 bench/compare_builds.py --baseline BIN [--candidate BIN] [--only NAME...]
"""
import argparse
import os
import statistics
import sys

from run import MALLOC_ENV, ROOT, run_json

# name -> (file, entry, --set values): the masked workloads, where partial tiles matter.
WORKLOADS = {
    "sliding_window": ("examples/r02_score_mask_mods.attn", "sliding_window",
                       [dict(N=n, B=1, W=256) for n in (2048, 4096, 8192)]),
    "causal_mha": ("examples/r01_causal_gqa.attn", "causal_mha", [dict(N=4096, B=1)]),
    "flexprefill": ("examples/r05_flexprefill.attn", "flexprefill",
                    [dict(N=8192, B=1, gamma=g) for g in (0.085, 0.29)]),
    "doc_mask": ("bench/programs/doc_mask.attn", "doc_mask", [dict(N=8192, B=1, L=1024)]),
    "mha": ("bench/programs/attention.attn", "mha", [dict(N=4096, B=1)]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="the attnc binary to compare against")
    ap.add_argument("--candidate", default=os.path.join(ROOT, "build", "bin", "attnc"))
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--rounds", type=int, default=4, help="runs of each build per workload")
    ap.add_argument("--repeat", type=int, default=5, help="attnc bench --repeat")
    ap.add_argument("--only", nargs="+", choices=sorted(WORKLOADS))
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per command")
    a = ap.parse_args()
    env = dict(os.environ, **MALLOC_ENV)
    builds = [("baseline", os.path.abspath(a.baseline)), ("candidate", os.path.abspath(a.candidate))]
    for _, path in builds:
        if not os.access(path, os.X_OK):
            sys.exit("compare_builds.py: no attnc binary at %s" % path)
    print("baseline %s, candidate %s, load %.1f" % (builds[0][1], builds[1][1], os.getloadavg()[0]))
    print()
    print("| workload | threads | baseline ms | candidate ms | candidate / baseline |")
    print("|---|---:|---:|---:|---:|")
    failed = False
    for name in a.only or WORKLOADS:
        path, entry, sizes = WORKLOADS[name]
        for sets, t in ((sets, t) for sets in sizes for t in a.threads):
            cmd = ["bench", path, "--entry", entry, "--threads", str(t), "--repeat", str(a.repeat),
                   "--json"] + [x for k, v in sets.items() for x in ("--set", "%s=%s" % (k, v))]
            times = {label: [] for label, _ in builds}
            try:
                for r in range(a.rounds):
                    for label, binary in builds if r % 2 == 0 else builds[::-1]:
                        recs, err = run_json([binary] + cmd, a.timeout, env)
                        if err:
                            raise RuntimeError("%s %s: %s" % (label, " ".join([binary] + cmd), err))
                        times[label].append(recs[0]["median_s"])
            except RuntimeError as e:
                print(e, file=sys.stderr)
                failed = True
                continue
            base, cand = (statistics.median(times[label]) for label, _ in builds)
            row = "%s %s" % (entry, " ".join("%s=%s" % kv for kv in sets.items() if kv[0] != "B"))
            print("| %s | %d | %.2f | %.2f | %.3f |" % (row, t, base * 1e3, cand * 1e3, cand / base),
                  flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
