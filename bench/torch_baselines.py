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
  /usr/bin/python3 bench/torch_baselines.py --impl retnet retnet_chunked --N 4096
  /usr/bin/python3 bench/torch_baselines.py --impl sdpa_doc_mask --docs 64 --N 8192

The *_chunked impls are the chunkwise-parallel forms of the loops (fla's
`chunk` formulation in plain torch, --chunk steps per chunk); the masked
attention impls (sdpa_doc_mask, sdpa_doc_blocks, sdpa_flexprefill_mask) run
SDPA one head at a time so that its N x N weights fit in memory.
bench/check_torch_chunked.py checks the chunked forms against the loops.
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


# --- recurrences: chunkwise-parallel forms (fla's `chunk` formulation) --------
#
# The same computations as the loops above, C time steps at a time: within a
# chunk, decay-weighted (and causally masked) Q K^T products times the values;
# across chunks, a recurrence on the state at chunk boundaries only. Decays
# enter as cumulative logs g (g_t - g_s <= 0 for s <= t): nothing overflows.
# The sequence is padded at its end to a multiple of C (padding never reaches
# earlier steps) and the padded rows are dropped.

CHUNK = 64


def _chunks(x, c, value=0.0):
    """[b, h, n, ...] -> [b, h, ceil(n / c), c, ...], padded with `value`."""
    n = x.shape[2]
    nc = -(-n // c)
    if nc * c != n:
        shape = list(x.shape)
        shape[2] = nc * c - n
        x = torch.cat([x, x.new_full(shape, value)], 2)
    return x.reshape(x.shape[:2] + (nc, c) + x.shape[3:])


def _unchunk(x, n):
    """[b, h, nc, c, V] -> [b, h, n, V]."""
    return x.reshape(x.shape[:2] + (-1,) + x.shape[4:])[:, :, :n]


def _tril(c, diagonal=0):
    return torch.ones(c, c, dtype=torch.bool).tril(diagonal)


def _exclusive_cumsum(x, dim):
    """States before each chunk: sum of the chunks before it."""
    z = torch.zeros_like(x.narrow(dim, 0, 1))
    return torch.cat([z, x.narrow(dim, 0, x.shape[dim] - 1).cumsum(dim)], dim)


def linear_attention_chunked(q, k, v, chunk=CHUNK):  # r07, chunkwise
    n = q.shape[2]
    Q, K, V = (_chunks(x, chunk) for x in (F.elu(q) + 1, F.elu(k) + 1, v))
    A = (Q @ K.transpose(-1, -2)).masked_fill(~_tril(chunk), 0.0)    # [b,h,nc,C,C]
    # State recurrence S_{c+1} = S_c + K_c^T V_c (identity transition: a prefix sum).
    S = _exclusive_cumsum(K.transpose(-1, -2) @ V, 2)                 # [b,h,nc,Dk,Dv]
    z = _exclusive_cumsum(K.sum(-2), 2)                               # [b,h,nc,Dk]
    num = A @ V + Q @ S
    den = A.sum(-1) + (Q * z.unsqueeze(-2)).sum(-1)
    return _unchunk(num / den.unsqueeze(-1), n)


def retnet_chunked(q, k, v, chunk=CHUNK):  # r08, chunkwise
    b, h, n, dk = q.shape
    Q, K, V = (_chunks(x, chunk) for x in (q, k, v))
    log_gamma = torch.log1p(-(2.0 ** (-5.0 - torch.arange(h, dtype=q.dtype))))  # [h]
    g = log_gamma[:, None] * torch.arange(1, chunk + 1, dtype=q.dtype)   # [h, C]: g_t
    diff = (g[:, :, None] - g[:, None, :]).masked_fill(~_tril(chunk), -math.inf)
    A = (Q @ K.transpose(-1, -2)) * diff.exp()[None, :, None]            # gamma^(t-s), s <= t
    Qd = Q * g.exp()[None, :, None, :, None]                             # gamma^(t+1) q_t
    Kd = K * (g[:, -1:] - g).exp()[None, :, None, :, None]               # gamma^(C-1-s) k_s
    KV = Kd.transpose(-1, -2) @ V                                        # [b,h,nc,Dk,Dv]
    decay = g[:, -1].exp().view(1, h, 1, 1)                              # gamma^C
    S = q.new_zeros(b, h, dk, v.shape[-1])
    states = []
    for c in range(KV.shape[2]):                                         # state recurrence
        states.append(S)
        S = decay * S + KV[:, :, c]
    out = A @ V + Qd @ torch.stack(states, 2)
    return _unchunk(out, n)


def gated_delta_rule_chunked(q, k, v, alpha, beta, chunk=CHUNK):  # r09, chunkwise (WY / UT)
    # Key-major state M = S^T: M_t = a_t (I - b_t k_t k_t^T) M_{t-1} + b_t k_t v_t^T,
    # o_t = M_t^T q_t. Writing M_t = a_t M_{t-1} + k_t u_t^T, within a chunk
    # (g_t = sum_{s <= t} log a_s, M_0 the state before the chunk)
    #   (I + A) U = beta V - beta e^g K M_0,  A_ts = b_t e^(g_t - g_s) k_t . k_s (s < t)
    # so with T = (I + A)^-1: U = T (beta V) - T (beta e^g K) M_0 = U' - W M_0,
    #   O   = (e^g Q) M_0 + (Q K^T * e^(g_t - g_s), s <= t) U
    #   M_C = e^(g_C) M_0 + (e^(g_C - g_s) K)^T U
    q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    b, h, n, dk = q.shape
    dv = v.shape[-1]
    Q, K, V = (_chunks(x, chunk) for x in (q, k, v))
    g = _chunks(torch.log(alpha), chunk).cumsum(-1)                   # [b,h,nc,C]
    Bt = _chunks(beta, chunk).unsqueeze(-1)                           # [b,h,nc,C,1]
    diff = g.unsqueeze(-1) - g.unsqueeze(-2)                          # g_t - g_s
    A = Bt * (K @ K.transpose(-1, -2)) * diff.masked_fill(~_tril(chunk, -1), -math.inf).exp()
    eye = torch.eye(chunk, dtype=q.dtype)
    rhs = torch.cat([Bt * V, Bt * g.exp().unsqueeze(-1) * K], -1)     # [beta V | beta e^g K]
    sol = torch.linalg.solve_triangular(eye + A, rhs, upper=False, unitriangular=True)
    U0, W = sol[..., :dv], sol[..., dv:]
    P = (Q @ K.transpose(-1, -2)) * diff.masked_fill(~_tril(chunk), -math.inf).exp()
    Qd = Q * g.exp().unsqueeze(-1)
    Kd = K * (g[..., -1:] - g).exp().unsqueeze(-1)
    decay = g[..., -1].exp()[..., None, None]                         # [b,h,nc,1,1]
    M = q.new_zeros(b, h, dk, dv)
    out = torch.empty_like(U0)
    for c in range(K.shape[2]):                                       # state recurrence
        U = U0[:, :, c] - W[:, :, c] @ M
        out[:, :, c] = Qd[:, :, c] @ M + P[:, :, c] @ U
        M = decay[:, :, c] * M + Kd[:, :, c].transpose(-1, -2) @ U
    return _unchunk(out, n)


# --- masked attention: document masks and FlexPrefill's block selection -------
#
# torch 1.13's SDPA materializes the N x N weights (1 GB per head at
# N = 16384), so the masked baselines call it one head at a time; the masks
# are built once, outside the timed region.

def doc_ids(n, docs):
    """Equal-length documents, as bench/programs/doc_mask.attn: i / (N / docs)."""
    return torch.arange(n) // (n // docs)


def doc_mask(n, docs):
    d = doc_ids(n, docs)
    return (d[:, None] == d[None, :]) & _tril(n)


def sdpa_per_head(q, k, v, masks):
    """masks: one boolean [N, N] mask (all heads) or one per head."""
    out = torch.empty_like(q)
    for h in range(q.shape[1]):
        m = masks if masks.dim() == 2 else masks[h]
        out[:, h:h + 1] = sdpa(q[:, h:h + 1], k[:, h:h + 1], v[:, h:h + 1], mask=m)
    return out


def sdpa_doc_blocks(q, k, v, docs):
    """The same result without a mask: causal SDPA over each document's slice."""
    n = q.shape[2]
    out = torch.empty_like(q)
    for d in range(docs):
        s = slice(d * n // docs, (d + 1) * n // docs)
        out[:, :, s] = sdpa(q[:, :, s], k[:, :, s], v[:, :, s], causal=True)
    return out


def flexprefill_keep(q, k, gamma, bs=64):
    """r05's selection: [B, H, N/BS, N/BS] kept key blocks, the diagonal included."""
    b, h, n, d = q.shape
    nb = n // bs
    qp = q.reshape(b, h, nb, bs, d).mean(3)
    kp = k.reshape(b, h, nb, bs, d).mean(3)
    causal = _tril(nb)
    s = (qp @ kp.transpose(-1, -2) / math.sqrt(d)).masked_fill(~causal, -math.inf)
    return keep_from_mass(torch.softmax(s, -1), gamma)


def keep_from_mass(a, gamma):
    """topp(J, gamma) a[..., I, J] | (I == J), restricted to J <= I: the
    smallest set of blocks, largest mass first (lowest J on ties), whose mass
    reaches gamma; a block is taken while the mass before it is short of gamma."""
    nb = a.shape[-1]
    sa, order = a.sort(stable=True, dim=-1, descending=True)
    before = sa.cumsum(-1) - sa
    keep = torch.zeros(a.shape, dtype=torch.bool).scatter(-1, order, before < gamma)
    return (keep | torch.eye(nb, dtype=torch.bool)) & _tril(nb)


def flexprefill_mask(q, k, gamma, bs=64):
    """[H, N, N] token masks for batch 0: j <= i and block (i, j) kept."""
    keep = flexprefill_keep(q, k, gamma, bs)[0]
    n = q.shape[2]
    return keep.repeat_interleave(bs, 1).repeat_interleave(bs, 2) & _tril(n)


# impl name -> (attnc entry it is compared with, make(B, N, opts) -> thunk);
# opts holds --chunk, --docs and --gamma.
def _qkv(b, n):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(b, H, n, D, generator=g) for _ in range(3)]


def _make_sdpa(b, n, o, **kw):
    q, k, v = _qkv(b, n)
    return lambda: sdpa(q, k, v, **kw)


def _make_window(b, n, o):
    q, k, v = _qkv(b, n)
    mask = window_mask(n, WINDOW)
    return lambda: sdpa(q, k, v, mask=mask)


def _gates(b, n):  # alpha, beta in (0, 1)
    g = torch.Generator().manual_seed(1)
    return [torch.rand(b, H, n, generator=g) * 0.5 + 0.5, torch.rand(b, H, n, generator=g)]


def _make(fn, gates=False, chunked=False):
    def make(b, n, o):
        args = _qkv(b, n) + (_gates(b, n) if gates else [])
        if chunked:
            return lambda: fn(*args, chunk=o.chunk)
        return lambda: fn(*args)
    return make


def _make_doc_mask(b, n, o):
    q, k, v = _qkv(b, n)
    mask = doc_mask(n, o.docs)
    return lambda: sdpa_per_head(q, k, v, mask)


def _make_doc_blocks(b, n, o):
    q, k, v = _qkv(b, n)
    return lambda: sdpa_doc_blocks(q, k, v, o.docs)


def _make_flexprefill(b, n, o):
    if b != 1:
        raise SystemExit("sdpa_flexprefill_mask: B = 1 only")
    q, k, v = _qkv(b, n)
    masks = flexprefill_mask(q, k, o.gamma)
    return lambda: sdpa_per_head(q, k, v, masks)


IMPLS = {
    "sdpa": ("mha", lambda b, n, o: _make_sdpa(b, n, o)),
    "sdpa_causal": ("causal_mha", lambda b, n, o: _make_sdpa(b, n, o, causal=True)),
    "sdpa_window": ("sliding_window", _make_window),
    "sigmoid": ("sigmoid_attention", _make(sigmoid_attention)),
    "linear_attention": ("linear_attention", _make(linear_attention)),
    "retnet": ("retnet", _make(retnet)),
    "gated_delta_rule": ("gated_delta_rule", _make(gated_delta_rule, gates=True)),
    "linear_attention_chunked": ("linear_attention",
                                 _make(linear_attention_chunked, chunked=True)),
    "retnet_chunked": ("retnet", _make(retnet_chunked, chunked=True)),
    "gated_delta_rule_chunked": ("gated_delta_rule",
                                 _make(gated_delta_rule_chunked, gates=True, chunked=True)),
    "sdpa_doc_mask": ("doc_mask", _make_doc_mask),
    "sdpa_doc_blocks": ("doc_mask", _make_doc_blocks),
    "sdpa_flexprefill_mask": ("flexprefill", _make_flexprefill),
}


# The options each impl reads (recorded in its JSON line as "params").
PARAMS = {"chunk": ("linear_attention_chunked", "retnet_chunked", "gated_delta_rule_chunked"),
          "docs": ("sdpa_doc_mask", "sdpa_doc_blocks"),
          "gamma": ("sdpa_flexprefill_mask",)}


def measure(impl, b, n, threads, repeat, warmup, opts):
    """Time one shape in this process; returns the JSON record."""
    torch.set_num_threads(threads)
    entry, make = IMPLS[impl]
    fn = make(b, n, opts)
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
            "params": {p: getattr(opts, p) for p, users in PARAMS.items() if impl in users},
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
    ap.add_argument("--chunk", type=int, default=CHUNK,
                    help="time steps per chunk of the *_chunked impls (default %(default)s)")
    ap.add_argument("--docs", type=int, default=8,
                    help="documents (of N / docs tokens) of sdpa_doc_mask / sdpa_doc_blocks "
                    "(default %(default)s)")
    ap.add_argument("--gamma", type=float, default=0.9,
                    help="r05's block-mass threshold of sdpa_flexprefill_mask "
                    "(default %(default)s)")
    ap.add_argument("--in-process", action="store_true",
                    help="measure in this process (used by the per-shape child)")
    a = ap.parse_args()
    impls = list(IMPLS) if a.impl == ["all"] else a.impl
    for impl in impls:
        if impl not in IMPLS:
            sys.exit("unknown impl %r; choose from %s" % (impl, ", ".join(IMPLS)))
        for n in a.N:
            if a.in_process:
                print(json.dumps(measure(impl, a.B, n, a.threads, a.repeat, a.warmup, a)),
                      flush=True)
                continue
            cmd = [sys.executable, __file__, "--in-process", "--impl", impl,
                   "--N", str(n), "--B", str(a.B), "--threads", str(a.threads),
                   "--repeat", str(a.repeat), "--warmup", str(a.warmup),
                   "--chunk", str(a.chunk), "--docs", str(a.docs), "--gamma", str(a.gamma)]
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
