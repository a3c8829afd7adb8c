#!/usr/bin/python3
"""PyTorch CPU baselines for the attnc benchmarks (fp32, torch 1.13).

Each (impl, N) runs in its own child process so that the reported peak RSS
(resource.getrusage ru_maxrss) belongs to that shape alone. Output: one JSON
object per line with the keys of `attnc bench --json` plus "impl":

  {"impl": "torch_sdpa", "entry": "mha", "sizes": {"B": 1, "N": 1024},
   "threads": 2, "median_s": ..., "min_s": ..., "peak_rss_mb": ...}

Examples:
  /usr/bin/python3 bench/torch_baselines.py --impl sdpa_causal --N 1024 2048
  /usr/bin/python3 bench/torch_baselines.py --impl all --N 512 --threads 2
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

# Debian's torch runs OpenMP next to OpenBLAS's own pthreads; OpenMP's default
# spin-waiting starves the BLAS threads (up to 8x slower on 2 cores). libgomp
# reads this when torch is imported, so it must be set first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch
import torch.nn.functional as F

H, D, WINDOW = 8, 64, 256


# --- attention (softmax / sigmoid) ------------------------------------------

def sdpa(q, k, v, mask=None, causal=False):
    # torch 1.13 private API: (q, k, v, attn_mask, dropout_p,
    # need_attn_weights, is_causal) -> (out, weights). attn_mask is boolean,
    # True = takes part.
    return F._scaled_dot_product_attention(q, k, v, mask, 0.0, False, causal)[0]


def window_mask(n, w):
    i = torch.arange(n).unsqueeze(1)
    j = torch.arange(n).unsqueeze(0)
    return (j <= i) & (j > i - w)  # i - W < j <= i, as in r02 sliding_window


def sigmoid_attention(q, k, v):
    m = k.shape[-2]
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) - math.log(m)
    return torch.matmul(torch.sigmoid(s), v)


# --- recurrences: straightforward loops over time -----------------------------

def linear_attention(q, k, v):  # r07: phi = elu + 1, normalized by z . phi(q)
    pq, pk = F.elu(q) + 1, F.elu(k) + 1
    b, h, n, dk = q.shape
    S = q.new_zeros(b, h, dk, v.shape[-1])
    z = q.new_zeros(b, h, dk)
    out = torch.empty_like(v)
    for t in range(n):
        kt, qt = pk[:, :, t], pq[:, :, t]
        S += kt.unsqueeze(-1) * v[:, :, t].unsqueeze(-2)
        z += kt
        num = torch.matmul(qt.unsqueeze(-2), S).squeeze(-2)          # S^T phi(q)
        out[:, :, t] = num / (z * qt).sum(-1, keepdim=True)
    return out


def retnet(q, k, v):  # r08: S = gamma_h S + k v^T, o = S^T q
    b, h, n, dk = q.shape
    gamma = (1.0 - 2.0 ** (-5.0 - torch.arange(h, dtype=q.dtype))).view(1, h, 1, 1)
    S = q.new_zeros(b, h, dk, v.shape[-1])
    out = torch.empty_like(v)
    for t in range(n):
        S = gamma * S + k[:, :, t].unsqueeze(-1) * v[:, :, t].unsqueeze(-2)
        out[:, :, t] = torch.matmul(q[:, :, t].unsqueeze(-2), S).squeeze(-2)
    return out


def gated_delta_rule(q, k, v, alpha, beta):
    # r09: S = alpha (S - beta (S k) k^T) + beta v k^T, o = S q (k, q l2-normed)
    q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    b, h, n, dk = q.shape
    S = q.new_zeros(b, h, v.shape[-1], dk)
    out = torch.empty_like(v)
    for t in range(n):
        kt, a, bt = k[:, :, t], alpha[:, :, t, None, None], beta[:, :, t, None, None]
        Sk = torch.matmul(S, kt.unsqueeze(-1))                       # [b,h,Dv,1]
        S = a * (S - bt * Sk * kt.unsqueeze(-2)) + bt * v[:, :, t].unsqueeze(-1) * kt.unsqueeze(-2)
        out[:, :, t] = torch.matmul(S, q[:, :, t].unsqueeze(-1)).squeeze(-1)
    return out


# impl name -> (attnc entry it is compared with, make(B, N) -> thunk)
def _qkv(b, n):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(b, H, n, D, generator=g) for _ in range(3)]


def _make_sdpa(b, n, **kw):
    q, k, v = _qkv(b, n)
    return lambda: sdpa(q, k, v, **kw)


def _make_window(b, n):
    q, k, v = _qkv(b, n)
    mask = window_mask(n, WINDOW)
    return lambda: sdpa(q, k, v, mask=mask)


def _make(fn, gates=False):
    def make(b, n):
        args = _qkv(b, n)
        if gates:  # alpha, beta in (0, 1)
            g = torch.Generator().manual_seed(1)
            args += [torch.rand(b, H, n, generator=g) * 0.5 + 0.5,
                     torch.rand(b, H, n, generator=g)]
        return lambda: fn(*args)
    return make


IMPLS = {
    "sdpa": ("mha", lambda b, n: _make_sdpa(b, n)),
    "sdpa_causal": ("causal_mha", lambda b, n: _make_sdpa(b, n, causal=True)),
    "sdpa_window": ("sliding_window", _make_window),
    "sigmoid": ("sigmoid_attention", _make(sigmoid_attention)),
    "linear_attention": ("linear_attention", _make(linear_attention)),
    "retnet": ("retnet", _make(retnet)),
    "gated_delta_rule": ("gated_delta_rule", _make(gated_delta_rule, gates=True)),
}


def measure(impl, b, n, threads, repeat, warmup):
    """Time one shape in this process; returns the JSON record."""
    torch.set_num_threads(threads)
    entry, make = IMPLS[impl]
    fn = make(b, n)
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return {"impl": "torch_" + impl, "entry": entry, "sizes": {"B": b, "N": n},
            "threads": threads, "median_s": statistics.median(times),
            "min_s": min(times), "peak_rss_mb": round(rss_mb, 1),
            "torch": torch.__version__, "omp_wait_policy": os.environ["OMP_WAIT_POLICY"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", nargs="+", default=["all"],
                    help="one or more of %s, or all" % ", ".join(IMPLS))
    ap.add_argument("--N", nargs="+", type=int, default=[1024])
    ap.add_argument("--B", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--in-process", action="store_true",
                    help="measure in this process (used by the per-shape child)")
    a = ap.parse_args()
    impls = list(IMPLS) if a.impl == ["all"] else a.impl
    for impl in impls:
        if impl not in IMPLS:
            sys.exit("unknown impl %r; choose from %s" % (impl, ", ".join(IMPLS)))
        for n in a.N:
            if a.in_process:
                print(json.dumps(measure(impl, a.B, n, a.threads, a.repeat, a.warmup)),
                      flush=True)
                continue
            cmd = [sys.executable, __file__, "--in-process", "--impl", impl,
                   "--N", str(n), "--B", str(a.B), "--threads", str(a.threads),
                   "--repeat", str(a.repeat), "--warmup", str(a.warmup)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(json.dumps({"impl": "torch_" + impl, "entry": IMPLS[impl][0],
                                  "sizes": {"B": a.B, "N": n}, "threads": a.threads,
                                  "error": r.stderr.strip().splitlines()[-1:]}),
                      flush=True)
            else:
                sys.stdout.write(r.stdout)
                sys.stdout.flush()


if __name__ == "__main__":
    main()
