# Independent float64 numpy implementations of the reference programs in
# examples/r01..r12_*.attn, written from the papers' equations and the
# language semantics in docs/Language.md -- never from the compiler's code.
#
# One function per entry point (`fn` or `arch`). Each takes
#   x:  a dict {parameter name: numpy array} (arch weights by their
#       `attn.param` path, see ArchGen.cpp's header comment), and
#   c:  a dict of compile-time constants (the program's defaults, overridden
#       by --set; see DEFAULTS below),
# and returns {output name: float64 array}. An output is named after the
# variable the program returns (`out`, `y`); an arch's single output, which
# has no name in the program, is `out0`.
#
# Plain loops on purpose: shapes are small, and a loop reads like the
# equation it implements. Integer `/` in the programs is floor division
# (`h / G`, `i / BS`), written `//` here.

import math

import numpy as np

# ---------------------------------------------------------------------------
# Built-ins (docs/Language.md, "Built-in functions")
# ---------------------------------------------------------------------------

# Constants the programs state are f32 literals (the language's floats are
# f32), so they are the f32 values nearest to the written ones.
def f32(v):
    return float(np.float32(v))


EPS = f32(1e-5)  # layernorm and rmsnorm


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def silu(x):
    return x * sigmoid(x)


def elu(x):  # alpha = 1
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def gelu(x):  # exact: x/2 (1 + erf(x / sqrt 2))
    erf = np.vectorize(math.erf)
    # 1/sqrt(2) is an f32 constant in the generated code.
    return 0.5 * x * (1.0 + erf(x * f32(1.0 / math.sqrt(2.0))))


def leakyrelu(x):  # slope 0.01
    return np.where(x > 0, x, f32(0.01) * x)


def softmax(x):  # over the last dim: exp(x - max) / sum(exp(x - max))
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)


def layernorm(x):  # (x - mean) / sqrt(var + eps), biased variance
    m = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - m) ** 2, axis=-1, keepdims=True)
    return (x - m) / np.sqrt(var + EPS)


def rmsnorm(x):  # x / sqrt(mean(x^2) + eps)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS)


def l2norm(x):  # x / ||x||_2
    return x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True))


def pool(x, bs):  # mean of each block of bs rows along axis 0
    n = x.shape[0] // bs
    return np.stack([x[I * bs:(I + 1) * bs].mean(axis=0) for I in range(n)])


def argmax(values):  # the largest; the lowest index on ties
    best = 0
    for c in range(1, len(values)):
        if values[c] > values[best]:
            best = c
    return best


def topk(values, k):
    """Indices of the k largest values, largest first; ties to the lower index."""
    order = sorted(range(len(values)), key=lambda c: (-values[c], c))
    return np.array(order[:k], dtype=np.int64)


def topp(values, mass):
    """i1 mask: the smallest set of entries, taken largest first (ties to the
    lower index), whose values sum to at least `mass`; all of them when the
    total is below `mass`."""
    keep = np.zeros(len(values), dtype=bool)
    total = 0.0
    for c in sorted(range(len(values)), key=lambda c: (-values[c], c)):
        if total >= mass:
            break
        keep[c] = True
        total += values[c]
    return keep


def attend(scores, mask, values, normalize="softmax", bias=0.0):
    """One row of `attend j < M { score s; mask C; normalize ...; value V }`.

    A = { j : mask[j] } are the kept keys.
      softmax:    sum_A exp(s_j - m) V_j / sum_A exp(s_j - m), m = max_A s_j;
                  0 when A is empty
      sigmoid(b): sum_A sigmoid(s_j + b) V_j
      sum:        sum_A s_j V_j / sum_A s_j; 0 when A is empty
      none:       sum_A s_j V_j
    """
    kept = [j for j in range(len(scores)) if mask[j]]
    out = np.zeros(values.shape[1:])
    if normalize == "softmax":
        if not kept:
            return out
        m = max(scores[j] for j in kept)
        den = 0.0
        for j in kept:
            w = math.exp(scores[j] - m)
            out = out + w * values[j]
            den += w
        return out / den
    if normalize == "sigmoid":
        for j in kept:
            out = out + (1.0 / (1.0 + math.exp(-(scores[j] + bias)))) * values[j]
        return out
    if normalize == "sum":
        if not kept:
            return out
        den = 0.0
        for j in kept:
            out = out + scores[j] * values[j]
            den += scores[j]
        return out / den
    if normalize == "none":
        for j in kept:
            out = out + scores[j] * values[j]
        return out
    raise ValueError(normalize)


def attention(q, k, v, mask_fn, score_fn=None, normalize="softmax", bias=0.0):
    """out[b, h, i] = attend j < M over q: [B, Hq, N, D], k: [B, Hkv, M, D],
    v: [B, Hkv, M, Dv]; query head h reads key/value head h // (Hq / Hkv).
    score_fn(b, h, i, j, dot) -> score (default: dot / sqrt(D));
    mask_fn(b, h, i, j) -> bool."""
    B, Hq, N, D = q.shape
    Hkv, M = k.shape[1], k.shape[2]
    G = Hq // Hkv
    out = np.zeros((B, Hq, N, v.shape[3]))
    for b in range(B):
        for h in range(Hq):
            for i in range(N):
                s = np.zeros(M)
                m = np.zeros(M, dtype=bool)
                for j in range(M):
                    d = float(np.dot(q[b, h, i], k[b, h // G, j]))
                    s[j] = d / math.sqrt(D) if score_fn is None else score_fn(b, h, i, j, d)
                    m[j] = mask_fn(b, h, i, j)
                out[b, h, i] = attend(s, m, v[b, h // G], normalize, bias)
    return out


def causal(b, h, i, j):
    return j <= i


# ---------------------------------------------------------------------------
# R1: causal MHA, GQA, decode (Vaswani et al. 2017; Ainslie et al. 2023)
#   o_i = sum_{j <= i} softmax_j(q_i . k_j / sqrt(D)) v_j
# ---------------------------------------------------------------------------

def causal_mha(x, c):  # returns out: [B, H, N, D]
    return {"out": attention(x["q"], x["k"], x["v"], causal)}


def causal_gqa(x, c):  # query head h reads kv head h / (Hq / Hkv)
    return {"out": attention(x["q"], x["k"], x["v"], causal)}


def gqa_decode(x, c):
    """q: [B, Hq, D] is one new token; the caches [B, Hkv, M, D] already hold
    its key and value, so every cached key is visible (no mask)."""
    q = x["q"][:, :, None, :]  # a query length of 1
    out = attention(q, x["k_cache"], x["v_cache"], lambda b, h, i, j: True)
    return {"out": out[:, :, 0, :]}


# ---------------------------------------------------------------------------
# R2: score and mask modifiers
# ---------------------------------------------------------------------------

def alibi(x, c):
    """s_ij + m_h (j - i), head h (0-based) slope m_h = 2^(-8 (h + 1) / H)."""
    H, D = c["H"], x["q"].shape[3]
    slope = [2.0 ** (-8.0 * (h + 1) / H) for h in range(H)]
    score = lambda b, h, i, j, d: d / math.sqrt(D) + slope[h] * (j - i)
    return {"out": attention(x["q"], x["k"], x["v"], causal, score)}


def softcap(x, c):
    """Cap * tanh(s / Cap) (Gemma 2)."""
    D, cap = x["q"].shape[3], c["Cap"]
    score = lambda b, h, i, j, d: cap * math.tanh(d / math.sqrt(D) / cap)
    return {"out": attention(x["q"], x["k"], x["v"], causal, score)}


def sliding_window(x, c):
    """i - W < j <= i."""
    W = c["W"]
    return {"out": attention(x["q"], x["k"], x["v"],
                             lambda b, h, i, j: i - W < j <= i)}


def prefix_lm(x, c):
    """j <= i or j < P: the first P keys are visible to every query, even
    to queries before them."""
    P = c["P"]
    return {"out": attention(x["q"], x["k"], x["v"],
                             lambda b, h, i, j: j <= i or j < P)}


def document_mask(x, c):
    """seg[b, i] == seg[b, j] and j <= i."""
    seg = x["seg"]
    return {"out": attention(x["q"], x["k"], x["v"],
                             lambda b, h, i, j: seg[b, i] == seg[b, j] and j <= i)}


def softcap_window(x, c):
    D, cap, W = x["q"].shape[3], c["Cap"], c["W"]
    score = lambda b, h, i, j, d: cap * math.tanh(d / math.sqrt(D) / cap)
    return {"out": attention(x["q"], x["k"], x["v"],
                             lambda b, h, i, j: i - W < j <= i, score)}


# ---------------------------------------------------------------------------
# R3: sigmoid attention (Ramapuram et al. 2025)
#   o_i = sum_j sigmoid(q_i . k_j / sqrt(D) + b) v_j,  b = -log M
# ---------------------------------------------------------------------------

def sigmoid_attention(x, c):  # q: [B, H, N, D], k, v: [B, H, M, D]
    M = x["k"].shape[2]
    return {"out": attention(x["q"], x["k"], x["v"], lambda b, h, i, j: True,
                             normalize="sigmoid", bias=-math.log(M))}


def causal_sigmoid_attention(x, c):  # j <= i, b = -log N
    N = x["k"].shape[2]
    return {"out": attention(x["q"], x["k"], x["v"], causal,
                             normalize="sigmoid", bias=-math.log(N))}


# ---------------------------------------------------------------------------
# R4: DuoAttention (Xiao et al. 2025)
#   retrieval head: j <= i;  streaming head: j <= i and (j < S0 or i - W < j)
# ---------------------------------------------------------------------------

def duo_attention(x, c):
    S0, W, retrieval = c["S0"], c["W"], x["retrieval"]
    mask = lambda b, h, i, j: j <= i and (bool(retrieval[h]) or j < S0 or i - W < j)
    return {"out": attention(x["q"], x["k"], x["v"], mask)}


# ---------------------------------------------------------------------------
# R5: FlexPrefill, query-aware block selection (Lai et al. 2025)
#   qp, kp = block means of q, k (BS rows)
#   a_I = softmax_J(qp_I . kp_J / sqrt(D)) over J <= I
#   keep_I = topp(a_I, gamma), plus the diagonal block
#   o_i = sum_{j <= i, keep[i/BS, j/BS] or same block} softmax_j(...) v_j
# ---------------------------------------------------------------------------

def flexprefill(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, D = q.shape
    BS, gamma = c["BS"], c["gamma"]
    NB = N // BS
    keep = np.zeros((B, H, NB, NB), dtype=bool)
    for b in range(B):
        for h in range(H):
            qp, kp = pool(q[b, h], BS), pool(k[b, h], BS)
            for I in range(NB):
                # Blocks J > I have score -inf, so weight exactly 0.
                s = np.array([np.dot(qp[I], kp[J]) / math.sqrt(D) if J <= I else -np.inf
                              for J in range(NB)])
                keep[b, h, I] = topp(softmax(s), gamma)
    mask = lambda b, h, i, j: j <= i and (keep[b, h, i // BS, j // BS] or i // BS == j // BS)
    return {"out": attention(q, k, v, mask)}


# ---------------------------------------------------------------------------
# R6: routing attention (Roy et al. 2021)
#   c(x) = argmax_c LayerNorm(x) . mu_c  (no learned scale; lowest c on ties)
#   o_i = sum_{j <= i, c(k_j) = c(q_i)} softmax_j(...) v_j; empty row -> 0
# ---------------------------------------------------------------------------

def routing_attention(x, c):
    q, k, v, mu = x["q"], x["k"], x["v"], x["mu"]
    B, H, N, D = q.shape
    C = mu.shape[1]
    cq = np.zeros((B, H, N), dtype=np.int64)
    ck = np.zeros((B, H, N), dtype=np.int64)
    for b in range(B):
        for h in range(H):
            for i in range(N):
                cq[b, h, i] = argmax([np.dot(layernorm(q[b, h, i]), mu[h, cc]) for cc in range(C)])
                ck[b, h, i] = argmax([np.dot(layernorm(k[b, h, i]), mu[h, cc]) for cc in range(C)])
    mask = lambda b, h, i, j: j <= i and cq[b, h, i] == ck[b, h, j]
    return {"out": attention(q, k, v, mask)}


# ---------------------------------------------------------------------------
# R7: linear attention (Katharopoulos et al. 2020)
#   phi(x) = elu(x) + 1
#   S_t = S_{t-1} + phi(k_t) v_t^T,  z_t = z_{t-1} + phi(k_t)
#   o_t = S_t^T phi(q_t) / (z_t . phi(q_t))
# ---------------------------------------------------------------------------

def phi(x):
    return elu(x) + 1.0


def linear_attention(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, Dk = q.shape
    Dv = v.shape[3]
    out = np.zeros((B, H, N, Dv))
    for b in range(B):
        for h in range(H):
            S = np.zeros((Dk, Dv))
            z = np.zeros(Dk)
            for t in range(N):
                S = S + np.outer(phi(k[b, h, t]), v[b, h, t])
                z = z + phi(k[b, h, t])
                out[b, h, t] = S.T @ phi(q[b, h, t]) / np.dot(z, phi(q[b, h, t]))
    return {"out": out}


# ---------------------------------------------------------------------------
# R8: RetNet (Sun et al. 2023) and GLA (Yang et al. 2024)
#   RetNet: S_t = gamma_h S_{t-1} + k_t v_t^T, o_t = S_t^T q_t,
#           gamma_h = 1 - 2^(-5 - h)  (h 0-based, as in the program)
#   GLA:    S_t = diag(alpha_t) S_{t-1} + k_t v_t^T, o_t = S_t^T q_t,
#           alpha_t = sigmoid(g_t)^(1 / tau)
# ---------------------------------------------------------------------------

def retnet(x, c):
    q, k, v = x["q"], x["k"], x["v"]
    B, H, N, Dk = q.shape
    Dv = v.shape[3]
    out = np.zeros((B, H, N, Dv))
    for b in range(B):
        for h in range(H):
            gamma = 1.0 - 2.0 ** (-5.0 - h)
            S = np.zeros((Dk, Dv))
            for t in range(N):
                S = gamma * S + np.outer(k[b, h, t], v[b, h, t])
                out[b, h, t] = S.T @ q[b, h, t]
    return {"out": out}


def gla(x, c):
    q, k, v, g = x["q"], x["k"], x["v"], x["g"]
    B, H, N, Dk = q.shape
    Dv = v.shape[3]
    alpha = sigmoid(g) ** (1.0 / c["tau"])
    out = np.zeros((B, H, N, Dv))
    for b in range(B):
        for h in range(H):
            S = np.zeros((Dk, Dv))
            for t in range(N):
                S = np.diag(alpha[b, h, t]) @ S + np.outer(k[b, h, t], v[b, h, t])
                out[b, h, t] = S.T @ q[b, h, t]
    return {"out": out}


# ---------------------------------------------------------------------------
# R9: gated delta rule (Yang, Kautz, Hatamizadeh 2025)
#   S_t = alpha_t S_{t-1} (I - beta_t k_t k_t^T) + beta_t v_t k_t^T
#   o_t = S_t q_t, with k_t and q_t L2-normalized; S: [Dv, Dk]
# ---------------------------------------------------------------------------

def gated_delta_rule(x, c):
    q, k, v, alpha, beta = x["q"], x["k"], x["v"], x["alpha"], x["beta"]
    B, H, N, Dk = q.shape
    Dv = v.shape[3]
    out = np.zeros((B, H, N, Dv))
    for b in range(B):
        for h in range(H):
            S = np.zeros((Dv, Dk))
            for t in range(N):
                kt, qt = l2norm(k[b, h, t]), l2norm(q[b, h, t])
                a, be = alpha[b, h, t], beta[b, h, t]
                S = a * S @ (np.eye(Dk) - be * np.outer(kt, kt)) + be * np.outer(v[b, h, t], kt)
                out[b, h, t] = S @ qt
    return {"out": out}


# ---------------------------------------------------------------------------
# R10: Titans' neural memory (Behrouz et al. 2024)
#   M(x) = W2 silu(W1 x)
#   l(W; k, v) = || M(k) - v ||^2
#   S_t = eta_t S_{t-1} - theta_t grad_W l(W_c; k_t, v_t)
#   W_t = (1 - alpha_t) W_{t-1} + S_t
#   y_t = M_t(q_t)
# with W_c the weights at the start of t's chunk (chunk C).
# ---------------------------------------------------------------------------

def mem(W1, W2, x):
    return W2 @ silu(W1 @ x)


def titans_loss(W1, W2, k, v):
    r = mem(W1, W2, k) - v
    return float(np.sum(r * r))


def titans_grad(W1, W2, k, v):
    """Analytic gradient of l = ||W2 silu(W1 k) - v||^2 (checked against
    central finite differences by utils/interp_check.py --self-test):
      z = W1 k, a = silu(z), r = W2 a - v
      dl/dW2 = 2 r a^T
      dl/dz  = (W2^T 2 r) * silu'(z),  silu'(z) = s(z) (1 + z (1 - s(z)))
      dl/dW1 = dl/dz k^T
    """
    z = W1 @ k
    a = silu(z)
    r = W2 @ a - v
    gW2 = 2.0 * np.outer(r, a)
    s = sigmoid(z)
    dz = (W2.T @ (2.0 * r)) * (s * (1.0 + z * (1.0 - s)))
    gW1 = np.outer(dz, k)
    return gW1, gW2


def titans(x, c, grad_fn=None):
    """y: [B, H, N, D]. grad_fn(W1, W2, k, v) -> (gW1, gW2) defaults to the
    analytic gradient; the self-test passes a finite-difference one."""
    grad_fn = grad_fn or titans_grad
    q, k, v = x["q"], x["k"], x["v"]
    eta, theta, alpha = x["eta"], x["theta"], x["alpha"]
    w1, w2 = x["w1"], x["w2"]
    B, H, N, D = q.shape
    C = c["C"]
    y = np.zeros((B, H, N, D))
    for b in range(B):
        for h in range(H):
            W1, W2 = w1[h].copy(), w2[h].copy()
            S1, S2 = np.zeros_like(W1), np.zeros_like(W2)
            for t in range(N):
                if t % C == 0:  # the weights at the start of t's chunk
                    W1c, W2c = W1.copy(), W2.copy()
                g1, g2 = grad_fn(W1c, W2c, k[b, h, t], v[b, h, t])
                S1 = eta[b, h, t] * S1 - theta[b, h, t] * g1
                S2 = eta[b, h, t] * S2 - theta[b, h, t] * g2
                W1 = (1.0 - alpha[b, h, t]) * W1 + S1
                W2 = (1.0 - alpha[b, h, t]) * W2 + S2
                y[b, h, t] = mem(W1, W2, q[b, h, t])
    return {"y": y}


# ---------------------------------------------------------------------------
# R11: mixture-of-head attention (Jin et al. 2024)
#   o = sum_h g_h H_h W_O^h
#   shared h < Hs:  g_h = a_1 softmax(W_s x)_h
#   routed r:       g_r = a_2 softmax(W_r x)_r if r in topK, else 0
#   [a_1, a_2] = softmax(W_a x)
# ---------------------------------------------------------------------------

def moh(x, c):
    xin, q, k, v = x["x"], x["q"], x["k"], x["v"]
    Ws, Wr, Wa, Wo = x["Ws"], x["Wr"], x["Wa"], x["Wo"]
    B, H, N, D = q.shape
    Hs, K = c["Hs"], c["K"]
    R = H - Hs
    Dm = xin.shape[2]
    heads = attention(q, k, v, causal)  # [B, H, N, D]
    out = np.zeros((B, N, Dm))
    for b in range(B):
        for i in range(N):
            a = softmax(Wa @ xin[b, i])
            ps = softmax(Ws @ xin[b, i])
            pr = softmax(Wr @ xin[b, i])
            on = set(int(r) for r in topk(pr, K))
            o = np.zeros(Dm)
            for s in range(Hs):
                o += a[0] * ps[s] * (heads[b, s, i] @ Wo[s])
            for r in range(R):
                if r in on:
                    o += a[1] * pr[r] * (heads[b, Hs + r, i] @ Wo[Hs + r])
            out[b, i] = o
    return {"out": out}


# ---------------------------------------------------------------------------
# R12: einspace architectures (Ericsson et al. 2024)
#
# Weights are read by their attn.param path (ArchGen.cpp): ARCH, then one
# scope per block use / `repeat.i` / `branch.i` / `residual`, then the
# terminal and `weight`/`bias`/`scale`; repeated names in one scope get _1,
# _2, ... . linear: y = x W + b with W [Din, Dout]; layernorm (= norm):
# (x - mean)/sqrt(var + eps) * scale + bias; rmsnorm: x/sqrt(mean x^2 +
# eps) * scale; embed table [V, D]; project_qkv(H): q = x Wq + bq reshaped
# [B, N, H, Dh] -> [B, H, N, Dh] (same for k, v); merge_heads the inverse.
# ---------------------------------------------------------------------------

class Scope:
    """A weight-naming scope: `child(base)` is base, then base_1, base_2..."""

    def __init__(self, params, path):
        self.params, self.path, self.counts = params, path, {}

    def child(self, base):
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else "%s_%d" % (base, n)

    def sub(self, *names):
        return Scope(self.params, ".".join((self.path,) + names))

    def get(self, term, weight, shape):
        return self.params(self.path + "." + term + "." + weight, shape)


def linear(s, x, dout=None):
    """y = x W + b, W: [Din, Dout]."""
    dout = x.shape[-1] if dout is None else dout
    t = s.child("linear")
    W = s.get(t, "weight", (x.shape[-1], dout))
    b = s.get(t, "bias", (dout,))
    return x @ W + b


def norm(s, x, name="norm"):  # `norm` is layernorm with scale and bias
    t = s.child(name)
    D = x.shape[-1]
    return layernorm(x) * s.get(t, "scale", (D,)) + s.get(t, "bias", (D,))


def rmsnorm_layer(s, x):
    t = s.child("rmsnorm")
    return rmsnorm(x) * s.get(t, "scale", (x.shape[-1],))


def sdpa_head(s, x, dh=None):
    """branch(clone(2), [seq(branch(clone(2), [linear, route(identity,
    linear, permute(0, 2, 1))], scaled_dot_product), softmax), linear],
    dot_product): softmax(Q K^T / sqrt(Dq)) V, Q K V linear maps of x."""
    outer = s.sub(s.child("branch"))
    arm0 = outer.sub("0")
    inner = arm0.sub(arm0.child("branch"))
    Q = linear(inner.sub("0"), x, dh)                          # [B, N, Dh]
    Kt = np.transpose(linear(inner.sub("1"), x, dh), (0, 2, 1))  # [B, Dh, N]
    # The scale 1/sqrt(Dq) is an f32 constant of the program.
    A = softmax(Q @ Kt * f32(1.0 / math.sqrt(Q.shape[-1])))   # [B, N, N]
    V = linear(outer.sub("1"), x, dh)
    return A @ V


def mhsa8(s, x, D):
    """8 heads of width D/8 on the same input, concatenated on features, then
    linear(D)."""
    br = s.sub(s.child("branch"))
    heads = [sdpa_head(br.sub(str(n), "sdpa_head"), x, D // 8) for n in range(8)]
    return linear(s, np.concatenate(heads, axis=2), D)


def ffn(s, x, D):  # linear(D), leakyrelu, linear(D)
    return linear(s, leakyrelu(linear(s, x, D)), D)


def sdpa_seed(x, c, params):
    s = Scope(params, "sdpa_seed")
    return {"out0": sdpa_head(s.sub("sdpa"), x["x"])}


def prenorm_transformer(s, x, D):  # explicit branch(clone(2), [..., identity], add)
    b0 = s.sub(s.child("branch"), "0")
    x = x + mhsa8(b0.sub("mhsa8"), norm(b0, x), D)
    b1 = s.sub(s.child("branch"), "0")
    return x + ffn(b1.sub("ffn"), norm(b1, x), D)


def prenorm_transformer_sugar(s, x, D):  # the same with `residual`
    r0 = s.sub(s.child("residual"))
    x = x + mhsa8(r0.sub("mhsa8"), norm(r0, x), D)
    r1 = s.sub(s.child("residual"))
    return x + ffn(r1.sub("ffn"), norm(r1, x), D)


def mlp_mixer(s, x, N, D):
    """x + channel_mix(token_mix(norm(x))): token mixing is linear(4N),
    leakyrelu, linear(N) over the token axis (between permutes); channel
    mixing linear(D/2), leakyrelu, linear(D)."""
    b0 = s.sub(s.child("branch"), "0")
    y = norm(b0, x)
    y = np.transpose(y, (0, 2, 1))                    # [B, D, N]
    y = leakyrelu(linear(b0, y, 4 * N))               # [B, D, 4N]
    y = np.transpose(linear(b0, y, N), (0, 2, 1))     # [B, N, D]
    y = linear(b0, leakyrelu(linear(b0, y, D // 2)), D)
    return x + y


def einspace_stack(x, c, params):
    N, D = c["N"], c["D"]
    s = Scope(params, "einspace_stack")
    y = prenorm_transformer(s.sub(s.child("prenorm_transformer")), x["x"], D)
    y = prenorm_transformer_sugar(s.sub(s.child("prenorm_transformer_sugar")), y, D)
    y = mlp_mixer(s.sub(s.child("mlp_mixer")), y, N, D)
    return {"out0": y}


def causal_attention(x, c):  # r12's fn: out[b, h, i], softmax over j <= i
    return {"out": attention(x["q"], x["k"], x["v"], causal)}


def decoder_layer(s, x, D, H):
    """x + linear(merge(causal_attention(project_qkv(rmsnorm(x)))))
       x + linear(gelu(linear(rmsnorm(x), 4D)), D)"""
    r0 = s.sub(s.child("residual"))
    y = rmsnorm_layer(r0, x)
    t = r0.child("project_qkv")
    B, N, _ = y.shape
    Dh = D // H
    qkv = []
    for which in ("q", "k", "v"):
        W = r0.get(t, which + ".weight", (D, H * Dh))
        b = r0.get(t, which + ".bias", (H * Dh,))
        qkv.append(np.transpose((y @ W + b).reshape(B, N, H, Dh), (0, 2, 1, 3)))
    o = causal_attention({"q": qkv[0], "k": qkv[1], "v": qkv[2]}, {})["out"]
    o = np.transpose(o, (0, 2, 1, 3)).reshape(B, N, H * Dh)  # merge_heads
    x = x + linear(r0, o, D)
    r1 = s.sub(s.child("residual"))
    return x + linear(r1, gelu(linear(r1, rmsnorm_layer(r1, x), 4 * D)), D)


def tiny_lm(x, c, params):
    V, D, H, L = c["V"], c["D"], c["H"], c["L"]
    s = Scope(params, "tiny_lm")
    table = s.get(s.child("embed"), "weight", (V, D))
    y = table[x["tokens"]]                          # [B, N, D]
    rep = s.child("repeat")
    for l in range(L):
        y = decoder_layer(s.sub(rep, str(l), "decoder_layer"), y, D, H)
    y = rmsnorm_layer(s, y)
    return {"out0": linear(s, y, V)}


# Architectures take their weights through `params(path, shape) -> array`.
ARCHS = {"sdpa_seed", "einspace_stack", "tiny_lm"}

ENTRIES = {
    "r01_causal_gqa": ["causal_mha", "causal_gqa", "gqa_decode"],
    "r02_score_mask_mods": ["alibi", "softcap", "sliding_window", "prefix_lm",
                            "document_mask", "softcap_window"],
    "r03_sigmoid_attention": ["sigmoid_attention", "causal_sigmoid_attention"],
    "r04_duo_attention": ["duo_attention"],
    "r05_flexprefill": ["flexprefill"],
    "r06_routing_attention": ["routing_attention"],
    "r07_linear_attention": ["linear_attention"],
    "r08_gated_linear_attention": ["retnet", "gla"],
    "r09_gated_delta_rule": ["gated_delta_rule"],
    "r10_titans": ["titans"],
    "r11_mixture_of_heads": ["moh"],
    "r12_einspace": ["sdpa_seed", "einspace_stack", "tiny_lm", "causal_attention"],
}
