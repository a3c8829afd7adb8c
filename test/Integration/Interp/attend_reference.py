# Independent float64 numpy implementations of the `attend` forms in
# Inputs/attend_forms.attn (issue 11), written from docs/Language.md's
# definition of `attend` -- never from the compiler's code:
#
#   A = { j < M : mask(j) },  o = normalize_{j in A}(score_j) . value_j
#
# with reference.attend's four normalizers (softmax, sigmoid(b), sum, none).
# The calling convention is reference.py's: f(x, c) -> {output: array}, x the
# inputs by parameter name, c the constants (defaults overridden by --set).
# utils/interp_check.py uses this module for the programs named in ENTRIES.
#
# Every loop is spelled out per output element, one score per (row, key),
# so the code reads like the program it checks.

import math

import numpy as np

import reference as ref


def phi(x):  # elu(x) + 1
    return ref.elu(x) + 1.0


def rows(shape, M, score, value, mask=None, normalize="softmax", bias=0.0):
    """out[o] = attend j < M {score(o, j); mask(o, j); value(o, j)} for
    every output index tuple o of `shape` (the value's dims follow)."""
    out = None
    for o in np.ndindex(*shape):
        s = np.array([score(*o, j) for j in range(M)])
        m = [True if mask is None else bool(mask(*o, j)) for j in range(M)]
        vals = np.array([np.asarray(value(*o, j), dtype=np.float64) for j in range(M)])
        r = ref.attend(s, m, vals, normalize, bias)
        if out is None:
            out = np.zeros(tuple(shape) + r.shape)
        out[o] = r
    return out


def causal(*o):  # the row index is the last output index before j
    return o[-1] <= o[-2]


def two_dots(x, c):
    q, k, q2, k2, v = (x[n] for n in ("q", "k", "q2", "k2", "v"))
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(q[b, h, i], k[b, h, j]) / math.sqrt(D) - 0.5 * np.dot(q2[b, h, i], k2[b, h, j])
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, j], causal)}


def reversed_dot(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(k[b, h, j], q[b, h, i]) / math.sqrt(D)
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, j])}


def feature_softmax(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(phi(q[b, h, i]), phi(k[b, h, j])) / math.sqrt(D)
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, j])}


def feature_sum(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(phi(q[b, h, i]), phi(k[b, h, j]))
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, j], causal, "sum")}


def taylor(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape

    def s(b, h, i, j):
        d = np.dot(q[b, h, i], k[b, h, j]) / math.sqrt(D)
        return 1.0 + d + d * d / 2.0
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, j], causal, "sum")}


def reversed_keys(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(q[b, h, i], k[b, h, N - 1 - j]) / math.sqrt(D)
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, N - 1 - j], causal)}


def shifted_keys(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(q[b, h, i], k[b, (h + 1) % H, min(j + 1, N - 1)]) / math.sqrt(D)
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, (h + 1) % H, j])}


def value_expr(x, c):
    q, k, v, u, g = (x[n] for n in ("q", "k", "v", "u", "g"))
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(q[b, h, i], k[b, h, j]) / math.sqrt(D)
    return {"lin": rows((B, H, N), N, s, lambda b, h, i, j: 2 * v[b, h, j] + u[b, h, j], causal),
            "gated": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, j] * ref.sigmoid(g[b, h, j]))}


def kv_groups(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, Hq, N, D = q.shape
    Gk, Gv = Hq // k.shape[1], Hq // v.shape[1]
    s = lambda b, h, i, j: np.dot(q[b, h, i], k[b, h // Gk, j]) / math.sqrt(D)
    return {"out": rows((B, Hq, N), N, s, lambda b, h, i, j: v[b, h // Gv, j], causal)}


def learned_query(x, c):
    ql, k, v = x["ql"], x["k"], x["v"]
    B, H, N, D = k.shape
    return {"pooled": rows((B, H), N, lambda b, h, j: np.dot(ql[h], k[b, h, j]) / math.sqrt(D),
                           lambda b, h, j: v[b, h, j]),
            "causal": rows((B, H, N), N, lambda b, h, i, j: np.dot(ql[h], k[b, h, j]) / math.sqrt(D),
                           lambda b, h, i, j: v[b, h, j], causal)}


def rank2(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    N, D = q.shape
    M = k.shape[0]
    return {"out": rows((N,), M, lambda i, j: np.dot(q[i], k[j]) / math.sqrt(D), lambda i, j: v[j])}


def rank3(x, c):  # out[i, b]: the row index first
    q, k, v = x["q"], x["k"], x["v"]
    B, N, D = q.shape
    return {"out": rows((N, B), N, lambda i, b, j: np.dot(q[b, i], k[b, j]) / math.sqrt(D),
                        lambda i, b, j: v[b, j], lambda i, b, j: j <= i)}


def normalizers(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape
    s = lambda b, h, i, j: np.dot(q[b, h, i], k[b, h, j]) / math.sqrt(D)
    val = lambda b, h, i, j: v[b, h, j]
    return {"soft": rows((B, H, N), N, s, val, causal, "softmax"),
            "sig": rows((B, H, N), N, s, val, None, "sigmoid"),
            "sigb": rows((B, H, N), N, s, val, None, "sigmoid", -math.log(N)),
            "lin": rows((B, H, N), N, lambda *o: math.exp(s(*o)), val, causal, "sum"),
            "raw": rows((B, H, N), N, lambda b, h, i, j: np.dot(q[b, h, i], k[b, h, j]), val, causal, "none")}


def no_dot(x, c):
    a, cc, w, v = x["a"], x["c"], x["w"], x["v"]
    B, H, N = a.shape
    s = lambda b, h, i, j: a[b, h, i] * cc[b, h, j] - w[h] * abs(float(i - j))
    return {"out": rows((B, H, N), N, s, lambda b, h, i, j: v[b, h, j], causal)}


# Programs under Inputs/ and their entries (interp_check.py --self-test
# checks that every entry of each file has a function here).
ENTRIES = {
    "attend_forms": ["two_dots", "reversed_dot", "feature_softmax", "feature_sum", "taylor",
                     "reversed_keys", "shifted_keys", "value_expr", "kv_groups", "learned_query",
                     "rank2", "rank3", "normalizers", "no_dot"],
}
