#!/usr/bin/python3
"""Masked causal attention (issue 12): block-sparse r05 and document masks.

  /usr/bin/python3 bench/masks.py [--threads 1 2] [--N 8192 16384] [--repeat 3]
                                  [--gammas 0.085 0.29] [--docs 8 64]
                                  [--only causal flexprefill doc_mask]
                                  [--no-torch] [--output FILE] [--json-out FILE]

At each N (B = 1, H = 8, D = 64, fp32) and each thread count T, in one
invocation, it runs `attnc bench ... --threads T --repeat R --json` on
  causal      examples/r01_causal_gqa.attn causal_mha (dense causal, the reference)
  flexprefill examples/r05_flexprefill.attn flexprefill --set gamma=G, per --gammas
  doc_mask    bench/programs/doc_mask.attn doc_mask --set L=N/docs (ids i / L from
              the position), per --docs; and doc_mask_table (the same ids read
              from a tensor, as a mask over an input of ids does)
and the PyTorch baselines (bench/torch_baselines.py, one process per shape):
  sdpa_flexprefill_mask  SDPA with r05's token mask (its selection on torch's
                         inputs), one head at a time
  sdpa_doc_mask          SDPA with the boolean document mask, one head at a time
  sdpa_doc_blocks        causal SDPA on each document's slice (no mask)
with the masks built once outside the timed region; plus the same-FLOP
OpenBLAS SGEMM. The torch calls take 10-100 s each at these sizes, so they
run once (--torch-repeat 1) with no warm-up (--torch-warmup 0) by default.

The fraction of r05's causal blocks kept is computed on attnc bench's own
inputs: `attnc run bench/programs/flexprefill_keep.attn --entry block_mass
--backend=cpu` (same seed and sizes, so the same q and k) gives r05's block
masses, and torch_baselines.keep_from_mass applies topp(gamma) to them.

Useful FLOPs = 4 B H D x (visible (i, j) pairs) (bench/README.md); GFLOP/s =
GFLOP / median time; x causal = dense causal attnc ms / attnc ms; x torch =
torch ms / attnc ms (> 1: attnc faster). A failed run reads '-' and is listed
under "Failures".
"""
import argparse
import os
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import run as common  # noqa: E402  (bench/run.py: shared helpers)

ROOT = common.ROOT
B, H, D, BS = 1, 8, 64, 64
NS = [8192, 16384]
# gamma 0.085 keeps ~10 % and 0.29 ~30 % of r05's causal blocks on attnc
# bench's inputs at N = 8192 and 16384 (the table prints the fractions).
GAMMAS = [0.085, 0.29]
DOCS = [8, 64]


def causal_pairs(n):
    return n * (n + 1) // 2


def doc_pairs(n, docs):
    bounds = [d * n // docs for d in range(docs + 1)]
    return sum(causal_pairs(hi - lo) for lo, hi in zip(bounds, bounds[1:]))


def flexprefill_stats(attnc, n, gammas, env, timeout):
    """{gamma: (kept fraction of causal blocks, visible pairs over B*H)}, or an error."""
    import numpy as np
    import torch
    import torch_baselines as tb
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [attnc, "run", "bench/programs/flexprefill_keep.attn", "--entry", "block_mass",
               "--backend=cpu", "--set", "B=%d" % B, "--set", "N=%d" % n, "--set", "H=%d" % H,
               "--set", "BS=%d" % BS, "--output-dir", tmp]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                               timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, str(e)
        if r.returncode != 0:
            return None, (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        a = torch.from_numpy(np.load(os.path.join(tmp, "a.npy")))
    nb = a.shape[-1]
    out = {}
    for g in gammas:
        keep = tb.keep_from_mass(a, g)
        diag = keep.diagonal(dim1=-2, dim2=-1).sum().item()
        kept = keep.sum().item()
        pairs = (kept - diag) * BS * BS + diag * BS * (BS + 1) // 2
        out[g] = (kept / (a.shape[0] * a.shape[1] * nb * (nb + 1) / 2), pairs / (B * H))
    return out, None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="thread counts, one table each (default: 1 2)")
    ap.add_argument("--N", type=int, nargs="+", default=NS, help="default: %s" % NS)
    ap.add_argument("--repeat", type=int, default=3, help="attnc and SGEMM repeats")
    ap.add_argument("--torch-repeat", type=int, default=1)
    ap.add_argument("--torch-warmup", type=int, default=0)
    ap.add_argument("--gammas", type=float, nargs="+", default=GAMMAS,
                    help="r05's gamma values (default: %s)" % GAMMAS)
    ap.add_argument("--docs", type=int, nargs="+", default=DOCS,
                    help="document counts (default: %s); N must be a multiple" % DOCS)
    ap.add_argument("--only", nargs="+", choices=["causal", "flexprefill", "doc_mask"],
                    help="row kinds to run")
    ap.add_argument("--no-torch", action="store_true", help="attnc (and SGEMM) only")
    ap.add_argument("--no-table", action="store_true", help="skip attnc doc_mask_table")
    ap.add_argument("--attnc", default=os.path.join(ROOT, "build", "bin", "attnc"))
    ap.add_argument("--output", help="also write the markdown report here")
    ap.add_argument("--json-out", help="write every raw JSON record here")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per command")
    ap.add_argument("--glibc-defaults", action="store_true",
                    help="glibc's default malloc thresholds (see bench/README.md)")
    a = ap.parse_args()
    env = dict(os.environ, **({} if a.glibc_defaults else common.MALLOC_ENV))
    log = lambda *m: print(*m, file=sys.stderr, flush=True)
    kinds = a.only or ["causal", "flexprefill", "doc_mask"]
    for n in a.N:
        if n % BS or any(n % d for d in a.docs):
            sys.exit("N = %d must be a multiple of %d and of every --docs" % (n, BS))

    load0 = os.getloadavg()[0]
    attnc_missing = common.attnc_bench_available(a.attnc)
    if attnc_missing:
        log("NOTE: attnc bench unavailable (%s); running the baselines only." % attnc_missing)
    ob_err = common.build_openblas()
    if ob_err:
        log("NOTE: OpenBLAS SGEMM reference unavailable: " + ob_err)

    def torch_cmd(impl, n, T, *extra):
        return [sys.executable, os.path.join(BENCH, "torch_baselines.py"), "--in-process",
                "--impl", impl, "--N", str(n), "--B", str(B), "--threads", str(T),
                "--repeat", str(a.torch_repeat), "--warmup", str(a.torch_warmup)] + list(extra)

    def attnc_cmd(path, entry, n, T, **sets):
        cmd = [a.attnc, "bench", path, "--entry", entry, "--set", "N=%d" % n,
               "--set", "B=%d" % B]
        for k, v in sets.items():
            cmd += ["--set", "%s=%s" % (k, v)]
        return cmd + ["--threads", str(T), "--repeat", str(a.repeat), "--json"]

    # The kept fractions depend on N only (the inputs are seeded).
    stats, failures = {}, []
    if "flexprefill" in kinds:
        for n in a.N:
            if attnc_missing:
                failures.append("N=%d r05 kept fraction: %s" % (n, attnc_missing))
                continue
            s, err = flexprefill_stats(a.attnc, n, a.gammas, env, a.timeout)
            if err:
                failures.append("N=%d r05 kept fraction: %s" % (n, err))
            else:
                stats[n] = s
                log("N=%d r05 kept blocks: %s" % (n, ", ".join(
                    "gamma %g: %.1f%%" % (g, 100 * f) for g, (f, _) in s.items())))

    tables, raw = {}, []
    for T in a.threads:
        rows = []
        for n in a.N:
            specs = []   # (row name, kept %, pairs, {column: command})
            if "causal" in kinds:
                specs.append(("causal (r01 causal_mha)", None, causal_pairs(n), {
                    "attnc": attnc_cmd("examples/r01_causal_gqa.attn", "causal_mha", n, T)}))
            if "flexprefill" in kinds:
                for g in a.gammas:
                    kept, pairs = stats.get(n, {}).get(g, (None, None))
                    jobs = {"attnc": attnc_cmd("examples/r05_flexprefill.attn", "flexprefill",
                                               n, T, gamma=g)}
                    if not a.no_torch:
                        jobs["torch_mask"] = torch_cmd("sdpa_flexprefill_mask", n, T,
                                                       "--gamma", str(g))
                    specs.append(("r05 flexprefill gamma=%g" % g, kept, pairs, jobs))
            if "doc_mask" in kinds:
                for d in a.docs:
                    path = "bench/programs/doc_mask.attn"
                    jobs = {"attnc": attnc_cmd(path, "doc_mask", n, T, L=n // d)}
                    if not a.no_table:
                        jobs["attnc_table"] = attnc_cmd(path, "doc_mask_table", n, T, L=n // d)
                    if not a.no_torch:
                        jobs["torch_mask"] = torch_cmd("sdpa_doc_mask", n, T, "--docs", str(d))
                        jobs["torch_docs"] = torch_cmd("sdpa_doc_blocks", n, T, "--docs", str(d))
                    pairs = doc_pairs(n, d)
                    specs.append(("doc_mask %d docs" % d, pairs / causal_pairs(n), pairs, jobs))
            for name, kept, pairs, jobs in specs:
                log("== T=%d %s N=%d" % (T, name, n))
                fl = pairs and 4 * B * H * D * pairs
                if attnc_missing:
                    jobs = {k: v for k, v in jobs.items() if not k.startswith("attnc")}
                if fl and not ob_err:
                    jobs["sgemm"] = [common.OPENBLAS_BIN, "--variant", "sgemm", "--flops",
                                     str(fl), "--threads", str(T), "--repeat", str(a.repeat)]
                records = []
                res = common.run_jobs(jobs, a.timeout, env, "T=%d %s N=%d" % (T, name, n),
                                      records, failures, width=11)
                raw.extend(dict(r, workload=name) for r in records)
                rows.append((name, n, kept, fl, res))
        tables[T] = rows

    model, cores = common.machine_info()
    load1 = os.getloadavg()[0]
    fmt = common.fmt
    out = ["# attnc masked causal attention: block-sparse r05 and document masks (issue 12)", "",
           "- machine: %s, %s cores; load average before/after: %.2f / %.2f%s"
           % (model, cores, load0, load1,
              " (WARNING: machine busy, timings unreliable)"
              if max(load0, load1) > 0.5 * (os.cpu_count() or 1) else ""),
           "- fp32, B=%d, H=%d, D=%d; attnc: median of %d repeats; torch: %d run(s) after %d "
           "warm-up(s); malloc: %s; attnc: %s"
           % (B, H, D, a.repeat, a.torch_repeat, a.torch_warmup,
              "glibc defaults" if a.glibc_defaults else "freed memory kept",
              "not run (%s)" % attnc_missing if attnc_missing else a.attnc),
           "- kept = fraction of the causal (i, j) pairs attended (r05: of the causal 64x64 "
           "blocks, on attnc bench's inputs); GFLOP = 4 B H D x attended pairs "
           "(bench/README.md); %SGEMM = attnc GFLOP/s / same-FLOP OpenBLAS SGEMM GFLOP/s",
           "- attnc ids-in-tensor = doc_mask_table (the document ids read from a tensor); "
           "torch masked = SDPA with the boolean mask, one head at a time; torch per-doc = "
           "causal SDPA per document slice; x causal = dense causal attnc ms / attnc ms; "
           "x torch = torch ms / attnc ms"]
    for T, rows in tables.items():
        out += ["", "## %d thread%s" % (T, "" if T == 1 else "s"), "",
                "| workload | N | kept | GFLOP | attnc ms | GFLOP/s | %SGEMM | x causal "
                "| attnc ids-in-tensor ms | torch masked ms | torch per-doc ms | SGEMM GFLOP/s "
                "| x torch masked | x torch per-doc |",
                "|" + "---|" * 14]
        causal_ms = {n: r["attnc"]["median_s"] * 1e3 for nm, n, _, _, r in rows
                     if nm.startswith("causal") and "attnc" in r}
        for name, n, kept, fl, res in rows:
            t = {k: r["median_s"] * 1e3 for k, r in res.items() if k != "sgemm"}
            at = t.get("attnc")
            gf = fl and at and fl / (at * 1e-3) / 1e9
            sg = res.get("sgemm", {}).get("gflops")
            ratio = lambda k: at and t.get(k) and t[k] / at
            out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                       % (name, n, fmt(kept and 100 * kept, "%.1f%%") if kept is not None
                          else "100%" if name.startswith("causal") else "-",
                          fmt(fl and fl / 1e9), fmt(at), fmt(gf, "%.1f"),
                          fmt(gf and sg and 100 * gf / sg, "%.0f%%"),
                          fmt(at and causal_ms.get(n) and causal_ms[n] / at),
                          fmt(t.get("attnc_table")), fmt(t.get("torch_mask")),
                          fmt(t.get("torch_docs")), fmt(sg, "%.1f"),
                          fmt(ratio("torch_mask")), fmt(ratio("torch_docs"))))
    if failures:
        out += ["", "Failures:"] + ["- " + f for f in failures]
    common.write_report(out, a.output, a.json_out, raw)


if __name__ == "__main__":
    main()
