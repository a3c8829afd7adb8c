#!/usr/bin/python3
"""Linear recurrences (issue 12): attnc's chunkwise scans against the rest.

  /usr/bin/python3 bench/recurrences.py [--threads 1 2] [--N 1024 4096 16384]
                                        [--repeat 5] [--only retnet ...]
                                        [--output FILE] [--json-out FILE]

For r07 (linear_attention), r08 (retnet) and r09 (gated_delta_rule) at each
N (B = 1, H = 8, Dk = Dv = 64, fp32) and each thread count T, in one
invocation, it runs
  attnc chunked   attnc bench FILE --entry NAME --set N=.. --set B=1 --threads T
                  --repeat R --json  (the default lowering: attn-chunk-scans;
                  --attnc-chunk C adds --scan-chunk=C)
  attnc seq       the same with --scan-chunk=off (every scan step by step)
  torch loop      bench/torch_baselines.py --impl NAME (a loop over t)
  torch chunked   bench/torch_baselines.py --impl NAME_chunked (fla's chunk
                  formulation in plain torch, --chunk steps per chunk)
  SGEMM           bench/build/openblas_attention --variant sgemm with the
                  same FLOP count (the "machine peak" reference)
and prints, per thread count, a markdown table: ms, GFLOP/s of the useful
FLOPs of the chunked form with C = --chunk (bench/README.md), %SGEMM and the
ratios x seq = attnc seq / attnc chunked and x torch = torch / attnc chunked
(> 1: attnc chunked is faster); then the time per token at the largest N over
that at the smallest, (ms(Nmax) / (Nmax / Nmin)) / ms(Nmin): 1.00 is linear.
A run that fails (an attnc without --scan-chunk, say) reads '-' and is listed
under "Failures".
"""
import argparse
import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import run as common  # noqa: E402  (bench/run.py: shared helpers)

ROOT = common.ROOT
B, H, D = 1, 8, 64
NS = [1024, 4096, 16384]

# name, file, entry (= torch loop impl), FLOP kind
WORKLOADS = [
    ("r07 linear_attention", "examples/r07_linear_attention.attn", "linear_attention", "linear"),
    ("r08 retnet", "examples/r08_gated_linear_attention.attn", "retnet", "linear"),
    ("r09 gated_delta_rule", "examples/r09_gated_delta_rule.attn", "gated_delta_rule", "delta"),
]
COLUMNS = ["attnc", "attnc_seq", "torch_loop", "torch_chunked"]


def chunked_flops(n, kind, chunk, k=D, v=D):
    """Useful FLOPs of the chunked form (bench/README.md), B * H sequences of n
    steps in chunks of `chunk` (the last one may be shorter)."""
    total, t = 0, 0
    while t < n:
        c = min(chunk, n - t)
        f = c * (c + 1) * (k + v) + 4 * c * k * v     # (QK^T, masked) V + Q S + K^T V
        if kind == "delta":                            # + KK^T, the UT forward
            f += c * (c - 1) * k + c * (c - 1) * (k + v) + 2 * c * k * v   # substitution, W S
        total += f
        t += c
    return B * H * total


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="thread counts, one table each (default: 1 2)")
    ap.add_argument("--N", type=int, nargs="+", default=NS, help="default: %s" % NS)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", nargs="+", help="entries to run (linear_attention retnet "
                    "gated_delta_rule)")
    ap.add_argument("--chunk", type=int, default=64,
                    help="chunk size of torch chunked and of the FLOP count (default 64)")
    ap.add_argument("--attnc-chunk", type=int,
                    help="pass --scan-chunk=C to attnc chunked (default: attnc's default)")
    ap.add_argument("--attnc", default=os.path.join(ROOT, "build", "bin", "attnc"))
    ap.add_argument("--no-attnc", action="store_true", help="baselines only")
    ap.add_argument("--no-torch-loop", action="store_true", help="skip the torch loops")
    ap.add_argument("--output", help="also write the markdown report here")
    ap.add_argument("--json-out", help="write every raw JSON record here")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per command")
    ap.add_argument("--glibc-defaults", action="store_true",
                    help="glibc's default malloc thresholds (see bench/README.md)")
    a = ap.parse_args()
    env = dict(os.environ, **({} if a.glibc_defaults else common.MALLOC_ENV))
    log = lambda *m: print(*m, file=sys.stderr, flush=True)

    load0 = os.getloadavg()[0]
    attnc_missing = "--no-attnc given" if a.no_attnc else common.attnc_bench_available(a.attnc)
    if attnc_missing:
        log("NOTE: attnc bench unavailable (%s); running the baselines only." % attnc_missing)
    ob_err = common.build_openblas()
    if ob_err:
        log("NOTE: OpenBLAS SGEMM reference unavailable: " + ob_err)

    tables, raw, failures = {}, [], []
    for T in a.threads:
        rows = []
        for name, path, entry, kind in WORKLOADS:
            if a.only and entry not in a.only:
                continue
            for n in a.N:
                log("== T=%d %s N=%d" % (T, name, n))
                fl = chunked_flops(n, kind, a.chunk)
                torch_cmd = lambda impl: [sys.executable, os.path.join(BENCH, "torch_baselines.py"),
                                          "--in-process", "--impl", impl, "--N", str(n),
                                          "--B", str(B), "--threads", str(T), "--repeat",
                                          str(a.repeat), "--chunk", str(a.chunk)]
                jobs = {}
                if not attnc_missing:
                    base = [a.attnc, "bench", path, "--entry", entry, "--set", "N=%d" % n,
                            "--set", "B=%d" % B, "--threads", str(T), "--repeat", str(a.repeat),
                            "--json"]
                    jobs["attnc"] = base + (["--scan-chunk=%d" % a.attnc_chunk]
                                            if a.attnc_chunk else [])
                    jobs["attnc_seq"] = base + ["--scan-chunk=off"]
                if not a.no_torch_loop:
                    jobs["torch_loop"] = torch_cmd(entry)
                jobs["torch_chunked"] = torch_cmd(entry + "_chunked")
                if not ob_err:
                    jobs["sgemm"] = [common.OPENBLAS_BIN, "--variant", "sgemm", "--flops", str(fl),
                                     "--threads", str(T), "--repeat", str(a.repeat)]
                records = []
                res = common.run_jobs(jobs, a.timeout, env, "T=%d %s N=%d" % (T, name, n),
                                      records, failures, width=13)
                raw.extend(dict(r, workload=name) for r in records)
                rows.append((name, n, fl, res))
        tables[T] = rows

    model, cores = common.machine_info()
    load1 = os.getloadavg()[0]
    fmt = common.fmt
    out = ["# attnc linear recurrences: chunkwise-parallel scans (issue 12)", "",
           "- machine: %s, %s cores; load average before/after: %.2f / %.2f%s"
           % (model, cores, load0, load1,
              " (WARNING: machine busy, timings unreliable)"
              if max(load0, load1) > 0.5 * (os.cpu_count() or 1) else ""),
           "- fp32, B=%d, H=%d, Dk=Dv=%d; median of %d repeats; malloc: %s; attnc: %s%s"
           % (B, H, D, a.repeat, "glibc defaults" if a.glibc_defaults else "freed memory kept",
              "not run (%s)" % attnc_missing if attnc_missing else a.attnc,
              " --scan-chunk=%d" % a.attnc_chunk if a.attnc_chunk else ""),
           "- GFLOP = useful FLOPs of the chunked form with C = %d (bench/README.md), the same "
           "for every column; GFLOP/s = GFLOP / median time; %%SGEMM = attnc chunked GFLOP/s / "
           "GFLOP/s of a same-FLOP square OpenBLAS SGEMM on as many threads" % a.chunk,
           "- attnc seq = `--scan-chunk=off`; torch chunked = fla's chunk formulation in plain "
           "torch (bench/torch_baselines.py); x seq = attnc seq ms / attnc chunked ms, "
           "x torch = torch ms / attnc chunked ms (> 1: attnc chunked faster)"]
    for T, rows in tables.items():
        out += ["", "## %d thread%s" % (T, "" if T == 1 else "s"), "",
                "| workload | N | GFLOP | attnc chunked ms | GFLOP/s | %SGEMM | attnc seq ms "
                "| torch loop ms | torch chunked ms | torch chunked GFLOP/s | SGEMM GFLOP/s "
                "| x seq | x torch chunked | x torch loop |",
                "|" + "---|" * 14]
        for name, n, fl, res in rows:
            t = {k: r["median_s"] * 1e3 for k, r in res.items() if k != "sgemm"}
            gf = {k: fl / (v * 1e-3) / 1e9 for k, v in t.items()}
            sg = res.get("sgemm", {}).get("gflops")
            at = t.get("attnc")
            ratio = lambda k: at and t.get(k) and t[k] / at
            out.append("| %s | %d | %.3f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                       % (name, n, fl / 1e9, fmt(at), fmt(gf.get("attnc"), "%.1f"),
                          fmt(at and sg and 100 * gf["attnc"] / sg, "%.0f%%"),
                          fmt(t.get("attnc_seq")), fmt(t.get("torch_loop")),
                          fmt(t.get("torch_chunked")), fmt(gf.get("torch_chunked"), "%.1f"),
                          fmt(sg, "%.1f"), fmt(ratio("attnc_seq")), fmt(ratio("torch_chunked")),
                          fmt(ratio("torch_loop"))))
        ns = sorted({n for _, n, _, _ in rows})
        if len(ns) > 1:
            lo, hi = ns[0], ns[-1]
            out += ["", "Time per token at N = %d over N = %d: (ms(%d) / %g) / ms(%d); "
                    "1.00 = linear" % (hi, lo, hi, hi / lo, lo), "",
                    "| workload | attnc chunked | attnc seq | torch loop | torch chunked |",
                    "|---|---|---|---|---|"]
            for name in dict.fromkeys(r[0] for r in rows):
                ms = {(n, k): r["median_s"] for nm, n, _, res in rows if nm == name
                      for k, r in res.items()}
                lin = lambda k: (ms.get((hi, k)) and ms.get((lo, k))
                                 and ms[(hi, k)] / (hi / lo) / ms[(lo, k)])
                out.append("| %s | %s |" % (name, " | ".join(fmt(lin(k)) for k in COLUMNS)))
    if failures:
        out += ["", "Failures:"] + ["- " + f for f in failures]
    common.write_report(out, a.output, a.json_out, raw)


if __name__ == "__main__":
    main()
