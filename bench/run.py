#!/usr/bin/python3
"""Run the attnc benchmarks against PyTorch and OpenBLAS baselines.

For each workload and N it runs
  attnc bench FILE --entry NAME --set N=.. --set B=1 --threads T --repeat R --json
  bench/torch_baselines.py (PyTorch CPU, one process per shape)
  bench/build/openblas_attention (unfused GEMM-softmax-GEMM, and a plain SGEMM
  of the same useful FLOP count as the "SGEMM peak" reference)
and prints a markdown table (also to --output FILE; raw JSON lines to --json-out).
If a baseline (or `attnc bench`) cannot run, the script lists what failed and exits
with 1 without a table; --allow-missing prints the table with '-' in its columns.

Usage: /usr/bin/python3 bench/run.py [--threads T] [--repeat R] [--quick]
"""
import argparse
import json
import os
import platform
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OPENBLAS_BIN = os.path.join(BENCH, "build", "openblas_attention")
# glibc keeps freed memory in every process measured (attnc and the
# baselines alike) unless --glibc-defaults: by default each call of a
# program with scratch buffers of a few MB page-faults them in afresh, about
# 10 us per 4 KB page on these VMs (bench/general_attend.py says more).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296"}
B, H, D, W = 1, 8, 64, 256
ATTN_NS, REC_NS = [512, 1024, 2048, 4096, 8192], [4096]
QUICK_ATTN_NS, QUICK_REC_NS = [256, 512], [512]


# Useful FLOPs (a multiply-add counts 2; exp/sigmoid/normalization not counted).
def attn_flops(n, m=None):        # S = QK^T and O = PV over all N x M pairs
    return 4 * B * H * n * (m or n) * D


def causal_flops(n):              # pairs j <= i: N (N + 1) / 2
    return 4 * B * H * D * n * (n + 1) // 2


def window_flops(n, w=W):         # pairs i - W < j <= i: sum_i min(i + 1, W)
    pairs = sum(min(i + 1, w) for i in range(n))
    return 4 * B * H * D * pairs


def rec_flops(per_step):          # per (b, h, t): per_step * Dk * Dv
    return lambda n: per_step * B * H * n * D * D


# r07 S += phi(k) v^T (2) + S^T phi(q) (2) = 4 Dk Dv
# r08 S = gamma S (1) + k v^T (2), S^T q (2) = 5 Dk Dv
# r09 S k (2), - beta (S k) k^T (2), alpha * (1), + beta v k^T (2), S q (2) = 9 Dk Dv
WORKLOADS = [
    # name, file, entry, extra --set (per N), torch impl, openblas variant, Ns, flops
    ("mha", "bench/programs/attention.attn", "mha", lambda n: {},
     "sdpa", "full", "attn", attn_flops),
    ("causal_mha", "examples/r01_causal_gqa.attn", "causal_mha", lambda n: {},
     "sdpa_causal", "causal", "attn", causal_flops),
    ("sliding_window W=256", "examples/r02_score_mask_mods.attn", "sliding_window",
     lambda n: {"W": W}, "sdpa_window", "window", "attn", window_flops),
    ("sigmoid_attention M=N", "examples/r03_sigmoid_attention.attn", "sigmoid_attention",
     lambda n: {"M": n}, "sigmoid", "sigmoid", "attn", attn_flops),
    ("linear_attention (r07)", "examples/r07_linear_attention.attn", "linear_attention",
     lambda n: {}, "linear_attention", None, "rec", rec_flops(4)),
    ("retnet (r08)", "examples/r08_gated_linear_attention.attn", "retnet",
     lambda n: {}, "retnet", None, "rec", rec_flops(5)),
    ("gated_delta_rule (r09)", "examples/r09_gated_delta_rule.attn", "gated_delta_rule",
     lambda n: {}, "gated_delta_rule", None, "rec", rec_flops(9)),
]


def run_json(cmd, timeout, env=None):
    """Run cmd; return (list of JSON records, error string or None)."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                           env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [], str(e)
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not recs:
        tail = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        return recs, tail
    return recs, None


def run_jobs(jobs, timeout, env, label, raw, failures, width=11):
    """Runs each command of `jobs` (column -> argv) and returns column ->
    its first JSON record; the raw records go to `raw` (tagged with the
    column), a failed column to `failures` as "LABEL COLUMN: why"."""
    res = {}
    for key, cmd in jobs.items():
        recs, err = run_json(cmd, timeout, env)
        raw.extend(dict(r, column=key) for r in recs)
        if err or not recs or "median_s" not in recs[0]:
            msg = err or (recs and recs[0].get("error"))
            failures.append("%s %s: %s" % (label, key, msg))
            print("   %-*s FAILED: %s" % (width, key, msg), file=sys.stderr, flush=True)
        else:
            res[key] = recs[0]
            print("   %-*s %.4f s" % (width, key, recs[0]["median_s"]),
                  file=sys.stderr, flush=True)
    return res


def attnc_bench_available(attnc):
    if not os.path.exists(attnc):
        return "no attnc binary at %s" % attnc
    r = subprocess.run([attnc, "--help"], capture_output=True, text=True)
    if "attnc bench" not in r.stdout + r.stderr:
        return "'%s --help' lists no 'bench' command" % attnc
    return None


def build_openblas():
    os.makedirs(os.path.dirname(OPENBLAS_BIN), exist_ok=True)
    src = os.path.join(BENCH, "openblas_attention.cpp")
    if os.path.exists(OPENBLAS_BIN) and os.path.getmtime(OPENBLAS_BIN) > os.path.getmtime(src):
        return None
    cmd = ["g++", "-O3", "-march=native", "-ffast-math", "-fopenmp", src,
           "-o", OPENBLAS_BIN, "-lopenblas"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return None if r.returncode == 0 else "build failed: " + r.stderr.strip()[-300:]


def machine_info():
    """(lscpu model name, physical cores)."""
    model, cores = platform.processor() or "?", os.cpu_count()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        f = {k.strip(): v.strip() for k, v in
             (l.split(":", 1) for l in lscpu.splitlines() if ":" in l)}
        model = f.get("Model name", model)
        cores = int(f["Core(s) per socket"]) * int(f.get("Socket(s)", 1))
    except (OSError, KeyError, ValueError):
        pass
    return model, cores


def fmt(x, spec="%.2f"):
    return "-" if x is None else spec % x


def write_report(lines, output, json_out, raw):
    """Prints the report `lines`; writes it to `output` and the raw JSON
    records to `json_out` when given."""
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    if output:
        with open(output, "w") as f:
            f.write(report)
    if json_out:
        with open(json_out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in raw)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small N only (%s; recurrences %s)"
                    % (QUICK_ATTN_NS, QUICK_REC_NS))
    ap.add_argument("--N", nargs="+", type=int, help="override every workload's N list")
    ap.add_argument("--only", nargs="+", help="entry names to run (e.g. mha retnet)")
    ap.add_argument("--attnc", default=os.path.join(ROOT, "build", "bin", "attnc"))
    ap.add_argument("--no-attnc", action="store_true", help="baselines only")
    ap.add_argument("--output", help="also write the markdown report here")
    ap.add_argument("--json-out", help="write every raw JSON record here")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per command")
    ap.add_argument("--allow-missing", action="store_true",
                    help="print the table even when a baseline or attnc failed ('-')")
    ap.add_argument("--glibc-defaults", action="store_true",
                    help="glibc's default malloc thresholds (see MALLOC_ENV)")
    a = ap.parse_args()
    T, R = a.threads, a.repeat
    env = dict(os.environ, **({} if a.glibc_defaults else MALLOC_ENV))
    log = lambda *m: print(*m, file=sys.stderr, flush=True)

    load0 = os.getloadavg()[0]
    attnc_missing = "--no-attnc given" if a.no_attnc else attnc_bench_available(a.attnc)
    if attnc_missing:
        log("NOTE: attnc bench unavailable (%s); running the baselines only." % attnc_missing)
    ob_err = build_openblas()
    if ob_err:
        log("NOTE: OpenBLAS baseline unavailable: " + ob_err)

    ns = {"attn": QUICK_ATTN_NS if a.quick else ATTN_NS,
          "rec": QUICK_REC_NS if a.quick else REC_NS}
    if a.N:
        ns = {"attn": a.N, "rec": a.N}
    rows, raw = [], []
    for name, path, entry, extra, torch_impl, ob_variant, nkind, flops in WORKLOADS:
        if a.only and entry not in a.only:
            continue
        for n in ns[nkind]:
            log("== %s N=%d" % (name, n))
            res, errs = {}, []
            sets = dict(N=n, B=B, **extra(n))
            jobs = {"torch": [sys.executable, os.path.join(BENCH, "torch_baselines.py"),
                              "--in-process", "--impl", torch_impl, "--N", str(n),
                              "--B", str(B), "--threads", str(T), "--repeat", str(R)]}
            if not attnc_missing:
                jobs["attnc"] = [a.attnc, "bench", path, "--entry", entry] + \
                    [x for k, v in sets.items() for x in ("--set", "%s=%s" % (k, v))] + \
                    ["--threads", str(T), "--repeat", str(R), "--json"]
            if not ob_err:
                ob = [OPENBLAS_BIN, "--B", str(B), "--H", str(H), "--N", str(n), "--D", str(D),
                      "--threads", str(T), "--repeat", str(R)]
                if ob_variant:
                    jobs["openblas"] = ob + ["--variant", ob_variant, "--W", str(W)]
                jobs["sgemm"] = ob + ["--variant", "sgemm", "--flops", str(flops(n))]
            for key, cmd in jobs.items():
                recs, err = run_json(cmd, a.timeout, env)
                raw += [dict(r, workload=name) for r in recs]
                recs = [r for r in recs if r.get("entry") in (entry, "sgemm")] or recs
                if err or not recs or "median_s" not in recs[0]:
                    errs.append("%s: %s" % (key, err or recs and recs[0].get("error")))
                    log("   %s FAILED: %s" % (key, errs[-1]))
                else:
                    res[key] = recs[0]
                    log("   %-8s %.4f s" % (key, recs[0]["median_s"]))
            rows.append((name, n, flops(n), res, errs))

    model, cores = machine_info()
    try:
        import torch
        tv = torch.__version__
    except ImportError:
        tv = "?"
    out = ["# attnc CPU benchmarks", "",
           "- machine: %s, %s cores; threads used: %d (attnc, torch.set_num_threads, "
           "openblas_set_num_threads)" % (model, cores, T),
           "- load average before/after: %.2f / %.2f%s; OMP_WAIT_POLICY for the baselines: %s"
           % (load0, os.getloadavg()[0],
              " (WARNING: machine busy, timings unreliable)" if max(load0, os.getloadavg()[0])
              > 0.5 * (os.cpu_count() or 1) else "", os.environ.get("OMP_WAIT_POLICY", "PASSIVE")),
           "- fp32, B=%d, H=%d, D=%d; median of %d repeats; torch %s; malloc: %s; attnc: %s"
           % (B, H, D, R, tv, "glibc defaults" if a.glibc_defaults else "freed memory kept", "not run (%s)" % attnc_missing if attnc_missing else a.attnc),
           "- GFLOP/s = useful FLOPs / median time (see bench/README.md); "
           "xTorch / xBLAS = baseline time / attnc time (>1: attnc faster); "
           "%SGEMM = attnc GFLOP/s / SGEMM GFLOP/s of a same-FLOP square SGEMM", "",
           "| workload | N | GFLOP | attnc ms | attnc GFLOP/s | %SGEMM | torch ms "
           "| torch GFLOP/s | OpenBLAS unfused ms | SGEMM GFLOP/s | xTorch | xBLAS "
           "| peak RSS MB attnc/torch/BLAS |",
           "|" + "---|" * 13]
    for name, n, fl, res, errs in rows:
        t = {k: r["median_s"] for k, r in res.items()}
        gf = {k: fl / v / 1e9 for k, v in t.items() if k != "sgemm"}
        sg = res.get("sgemm", {}).get("gflops")
        at = t.get("attnc")
        rss = "/".join(fmt(res.get(k, {}).get("peak_rss_mb"), "%.0f")
                       for k in ("attnc", "torch", "openblas"))
        out.append("| %s | %d | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, n, fl / 1e9, fmt(at and at * 1e3), fmt(gf.get("attnc"), "%.1f"),
            fmt(at and sg and 100 * gf["attnc"] / sg, "%.0f%%"),
            fmt(t.get("torch") and t["torch"] * 1e3), fmt(gf.get("torch"), "%.1f"),
            fmt(t.get("openblas") and t["openblas"] * 1e3), fmt(sg, "%.1f"),
            fmt(at and t.get("torch") and t["torch"] / at),
            fmt(at and t.get("openblas") and t["openblas"] / at), rss))
    failures = ["%s N=%d: %s" % (name, n, e) for name, n, _, _, errs in rows for e in errs]
    if attnc_missing and not a.no_attnc:
        failures.insert(0, "attnc bench: " + attnc_missing)
    if ob_err:
        failures.insert(0, "OpenBLAS baseline: " + ob_err)
    if failures and not a.allow_missing:
        log("run.py: no table, since these did not run (scripts/setup.sh --bench "
            "installs the baselines; --allow-missing prints the table anyway):")
        for f in failures:
            log("- " + f)
        sys.exit(1)
    if failures:
        out += ["", "Failures:"] + ["- " + f for f in failures]
    write_report(out, a.output, a.json_out, raw)


if __name__ == "__main__":
    main()
