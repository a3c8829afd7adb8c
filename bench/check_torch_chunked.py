#!/usr/bin/python3
"""Check bench/torch_baselines.py's chunked recurrences and masked attention.

  /usr/bin/python3 bench/check_torch_chunked.py [--N 200] [--H 2] [--tol 1e-9]
                                                [--attnc build/bin/attnc | --no-attnc]

In float64 on seeded inputs (B = 1):
  - linear_attention_chunked, retnet_chunked, gated_delta_rule_chunked against
    their loops (linear_attention, retnet, gated_delta_rule), for chunk sizes
    64 and 16 and at N, N rounded to a multiple of 64, and N < chunk;
  - sdpa_doc_blocks against sdpa_doc_mask, and flexprefill_keep's topp against
    a plain loop over the sorted block masses;
  - with attnc (unless --no-attnc or missing): the loops and the masked
    baselines against `attnc run --backend=interp` on the same inputs
    (--input NAME=FILE.npy): r07, r08 (retnet), r09,
    bench/programs/doc_mask.attn and r05 (flexprefill).
Prints the max abs error of each check (relative to the largest magnitude of
the reference where that is larger than 1) and exits with 1 if one exceeds
--tol (1e-9 for the float64 torch checks; attnc's interpreter comparisons
use 1e-9 too, both sides being float64).
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import torch_baselines as tb  # noqa: E402

torch.set_default_dtype(torch.float64)
failures = []


def report(name, ref, got, tol):
    ref, got = torch.as_tensor(ref, dtype=torch.float64), torch.as_tensor(got, dtype=torch.float64)
    if ref.shape != got.shape:
        print("%-58s shape %s vs %s  FAIL" % (name, tuple(got.shape), tuple(ref.shape)))
        failures.append(name)
        return
    err = (ref - got).abs().max().item() if ref.numel() else 0.0
    scale = max(1.0, ref.abs().max().item() if ref.numel() else 0.0)
    ok = math.isfinite(err) and err / scale <= tol
    print("%-58s max_abs_err %.3g (max |ref| %.3g)  %s" % (name, err, scale, "ok" if ok else "FAIL"))
    if not ok:
        failures.append(name)


def inputs(n, h, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(1, h, n, tb.D, generator=g) for _ in range(3))
    # gates uniform in (0, 1), as attnc bench draws them (kept away from 0).
    alpha = torch.rand(1, h, n, generator=g).clamp_min(1e-3)
    beta = torch.rand(1, h, n, generator=g)
    return q, k, v, alpha, beta


def check_chunked(n, h, tol):
    for nn in sorted({n, max(64, n // 64 * 64), 40}):
        q, k, v, alpha, beta = inputs(nn, h)
        ref = {"linear_attention": tb.linear_attention(q, k, v),
               "retnet": tb.retnet(q, k, v),
               "gated_delta_rule": tb.gated_delta_rule(q, k, v, alpha, beta)}
        for c in (64, 16):
            report("linear_attention_chunked C=%d N=%d H=%d" % (c, nn, h), ref["linear_attention"],
                   tb.linear_attention_chunked(q, k, v, chunk=c), tol)
            report("retnet_chunked C=%d N=%d H=%d" % (c, nn, h), ref["retnet"],
                   tb.retnet_chunked(q, k, v, chunk=c), tol)
            report("gated_delta_rule_chunked C=%d N=%d H=%d" % (c, nn, h),
                   ref["gated_delta_rule"],
                   tb.gated_delta_rule_chunked(q, k, v, alpha, beta, chunk=c), tol)


def topp_reference(a, gamma):
    """keep[I, J]: per row, blocks by decreasing mass until the mass reaches gamma."""
    keep = torch.zeros(a.shape, dtype=torch.bool)
    for idx in np.ndindex(*a.shape[:-1]):
        row, mass = a[idx], 0.0
        for j in sorted(range(row.numel()), key=lambda j: -row[j].item()):
            if mass >= gamma:
                break
            keep[idx + (j,)] = True
            mass += row[j].item()
    return keep


def check_masks(h, tol):
    n = 512
    q, k, v, _, _ = inputs(n, h, seed=3)
    for docs in (1, 4, 8):
        report("sdpa_doc_blocks vs sdpa_doc_mask docs=%d N=%d" % (docs, n),
               tb.sdpa_per_head(q, k, v, tb.doc_mask(n, docs)), tb.sdpa_doc_blocks(q, k, v, docs),
               tol)
    for gamma in (0.1, 0.3, 0.9):
        keep = tb.flexprefill_keep(q, k, gamma)
        qp, kp = q.reshape(1, h, n // 64, 64, -1).mean(3), k.reshape(1, h, n // 64, 64, -1).mean(3)
        s = (qp @ kp.transpose(-1, -2) / math.sqrt(tb.D)).masked_fill(
            ~tb._tril(n // 64), -math.inf)
        ref = topp_reference(torch.softmax(s, -1), gamma) | torch.eye(n // 64, dtype=torch.bool)
        report("flexprefill_keep vs a topp loop gamma=%g N=%d" % (gamma, n),
               ref.double(), keep.double(), 0.0)


def attnc_interp(attnc, path, entry, arrays, sets, tmp):
    args = [attnc, "run", path, "--entry", entry, "--backend=interp", "--output-dir", tmp]
    for name, x in arrays.items():
        f = os.path.join(tmp, "in_%s.npy" % name)
        np.save(f, x.numpy().astype(np.float64))
        args += ["--input", "%s=%s" % (name, f)]
    for kv in sets.items():
        args += ["--set", "%s=%s" % kv]
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        return None, (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
    return np.load(os.path.join(tmp, "out.npy")), None


def check_attnc(attnc, h, tol):
    n = 200
    q, k, v, alpha, beta = inputs(n, h, seed=5)
    qkv = {"q": q, "k": k, "v": v}
    cases = [
        ("r07 linear_attention", "examples/r07_linear_attention.attn", "linear_attention", qkv,
         {"H": h}, tb.linear_attention(q, k, v)),
        ("r08 retnet", "examples/r08_gated_linear_attention.attn", "retnet", qkv, {"H": h},
         tb.retnet(q, k, v)),
        ("r09 gated_delta_rule", "examples/r09_gated_delta_rule.attn", "gated_delta_rule",
         dict(qkv, alpha=alpha, beta=beta), {"H": h}, tb.gated_delta_rule(q, k, v, alpha, beta)),
    ]
    nm = 256
    q, k, v, _, _ = inputs(nm, h, seed=7)
    qkv = {"q": q, "k": k, "v": v}
    for docs in (4, 8):
        cases.append(("doc_mask docs=%d" % docs, "bench/programs/doc_mask.attn", "doc_mask", qkv,
                      {"H": h, "L": nm // docs}, tb.sdpa_per_head(q, k, v, tb.doc_mask(nm, docs))))
    for gamma in (0.3, 0.9):
        cases.append(("r05 flexprefill gamma=%g" % gamma, "examples/r05_flexprefill.attn",
                      "flexprefill", qkv, {"H": h, "gamma": gamma},
                      tb.sdpa_per_head(q, k, v, tb.flexprefill_mask(q, k, gamma))))
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, entry, arrays, sets, ref in cases:
            got, err = attnc_interp(attnc, path, entry, arrays, sets, tmp)
            if err:
                print("%-58s attnc run failed: %s  FAIL" % ("torch vs attnc interp: " + name, err))
                failures.append(name)
                continue
            report("torch vs attnc interp: %s N=%d H=%d" % (name, ref.shape[2], h), ref, got, tol)
        # bench/masks.py's kept fractions: keep_from_mass on attnc's block masses
        # against attnc's own topp (compiled, seeded inputs, N = 2048, H = 8).
        sets = ["--set", "B=1", "--set", "N=2048"]
        prog = "bench/programs/flexprefill_keep.attn"
        r = subprocess.run([attnc, "run", prog, "--entry", "block_mass", "--backend=cpu",
                            "--output-dir", tmp] + sets, capture_output=True, text=True, cwd=ROOT)
        a = torch.from_numpy(np.load(os.path.join(tmp, "a.npy"))) if r.returncode == 0 else None
        for gamma in (0.085, 0.29, 0.9):
            r = subprocess.run([attnc, "run", prog, "--entry", "flexprefill_keep", "--backend=cpu",
                                "--set", "gamma=%g" % gamma, "--output-dir", tmp] + sets,
                               capture_output=True, text=True, cwd=ROOT)
            name = "keep_from_mass vs attnc topp gamma=%g N=2048" % gamma
            if a is None or r.returncode != 0:
                print("%-58s attnc run failed  FAIL" % name)
                failures.append(name)
                continue
            got = tb.keep_from_mass(a, gamma)
            report(name, np.load(os.path.join(tmp, "kept.npy")).astype(np.float64),
                   got.double(), 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=int, default=200)
    ap.add_argument("--H", type=int, default=2)
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--attnc", default=os.path.join(ROOT, "build", "bin", "attnc"))
    ap.add_argument("--no-attnc", action="store_true", help="torch-only checks")
    a = ap.parse_args()
    with torch.no_grad():
        check_chunked(a.N, a.H, a.tol)
        check_masks(a.H, a.tol)
        if a.no_attnc or not os.path.exists(a.attnc):
            print("(attnc interpreter checks skipped: %s)"
                  % ("--no-attnc" if a.no_attnc else "no " + a.attnc))
        else:
            check_attnc(a.attnc, a.H, a.tol)
    if failures:
        print("%d check(s) failed: %s" % (len(failures), ", ".join(failures)))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
