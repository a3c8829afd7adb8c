#!/usr/bin/env python3
# ===- utils/randprog/generate.py - Random well-typed attnc programs -------===#
#
# Part of the attnc project, under the Apache License v2.0.
# SPDX-License-Identifier: Apache-2.0
#
# ===-----------------------------------------------------------------------===#
"""Generates random, well-typed attnc programs for differential testing.

Each program is one file with one or two `fn`s (and sometimes a helper fn
that the others call), built from the language's constructs following the
checker's rules (docs/Language.md):

  * element-wise arithmetic and math built-ins (tanh, sigmoid, silu, gelu,
    elu, softplus, exp, log, sqrt, rsqrt, sin, cos, abs, relu, min, max,
    where over input comparisons, powers), whole-tensor and indexed;
  * last-dimension functions (softmax, layernorm, rmsnorm, l2norm), matrix
    products with weights, einsum-style reductions (sum, mean, max, min,
    prod over feature or time indices), conv1d, guarded shifts and
    reversals along the sequence;
  * `attend` with random scores (dot products, feature maps, scales,
    ALiBi-like slopes, relative positions, bias tensors, soft-caps), random
    masks (causal, sliding window, prefix, index-expression comparisons,
    segment ids, i1 data masks, combined with && || !), every normalizer
    (softmax, sigmoid, sigmoid(bias = ...), sum, none) and random values;
  * `scan` with linear updates of the forms the chunkwise lowering
    (attn-chunk-scans) reads (no decay, scalar decay, per-head and
    data-dependent decay, per-key gates, the delta rule and its gated form,
    a normalizer state, key- and value-major states), and non-linear ones
    that run step by step (tanh and matrix RNNs, HGRN, running max, a
    bounded non-linear matrix state, two coupled states, test-time
    regression with grad, chunked grad scans).

Run-time sizes are random (N in 1..150 with extra weight on small odd sizes
and on sizes around the scan chunk of 64; B, M small), and so are the
compile-time constants (head counts, feature widths from 1 to 32, scales,
windows). Every program starts with two comment lines:

  # randprog: seed=S
  # ARGS: --set N=.. --seed .. [--scan-chunk=..]

ARGS are the extra `attnc run` arguments the driver (run.py) passes. The
output is a pure function of the seed.

The programs are kept numerically tame so that a float32 back end can
match the float64 interpreter to a relative 1e-4: recurrences are
contractive or bounded (decays and gates in (0, 1), l2-normalized delta-rule
keys, RNN weights scaled by 0.3/sqrt(D)), `sum` normalizers and
normalizer states get positive features of bounded arguments (no float32
underflow to 0 / 0), sigmoid normalizers of computed tensors get a score
cap of at most 20 (no weights below float32's normal range), no sum reads
features that sum to 0 exactly (layernorm), the bounded matrix state reads
bounded operands, sequence contractions are scaled by 1/N, divisions and
logarithms get arguments bounded away from 0, and discontinuous
operations (comparisons, floor, argmax) read only inputs, never computed
values that float rounding could move across a threshold.

  utils/randprog/generate.py --seed 7            # one program on stdout
  utils/randprog/generate.py --seed 7 --count 5 --out DIR
"""

import argparse
import os
import random
import re
import sys

# Parameter names whose random inputs are uniform in (0, 1) (attnc run --help).
UNIT_NAMES = ["alpha", "beta", "gamma", "eta", "theta", "g", "gate"]

SIZE_CHOICES = ([1, 2, 3, 5, 7, 9, 13, 17, 31, 33] + [63, 64, 65] * 3 +
                [100, 127, 128, 129, 150] + list(range(1, 151)))


def pick_size(rng):
    return rng.choice(SIZE_CHOICES)


def flit(rng, lo=0.1, hi=2.0):
    """A positive float literal."""
    round_ = [x for x in ("0.25", "0.5", "1.0", "2.0") if lo <= float(x) <= hi]
    if round_ and rng.random() < 0.2:
        return rng.choice(round_)
    s = "%.3g" % rng.uniform(lo, hi)
    return s if "." in s or "e" in s else s + ".0"


class Tensor:
    """A tensor in scope: its name and kind.

    pos: the sequence dimension ('N', 'M') or None; feat: a tuple of
    trailing feature dims ('D', 'E'); unit: values in (0, 1); positive:
    values > 0; centered: the features sum to 0 exactly (layernorm,
    x - mean(x)), so a float32 sum of them is rounding noise alone."""

    def __init__(self, name, pos, feat, unit=False, positive=False, dtype="f32",
                 centered=False):
        self.name = name
        self.pos = pos
        self.feat = tuple(feat)
        self.unit = unit
        self.positive = positive
        self.dtype = dtype
        self.centered = centered

    def kind(self):
        return (self.pos, self.feat)


class FnGen:
    def __init__(self, rng, name, helpers):
        self.rng = rng
        self.name = name
        self.helpers = helpers  # helper fn names available: (name, kind)
        r = rng.random()
        if r < 0.3:
            self.prefix = []
        elif r < 0.6:
            self.prefix = [("b", "B")]
        elif r < 0.75:
            self.prefix = [("h", "H")]
        else:
            self.prefix = [("b", "B"), ("h", "H")]
        self.consts = {}
        if any(p == "h" for p, _ in self.prefix):
            self.consts["H"] = rng.choice([1, 2, 2, 3])
        self.consts["D"] = rng.choice([1, 2, 3, 4, 5, 7, 8, 8, 12, 16, 16, 17, 24, 32])
        self.consts["E"] = self.consts["D"] if rng.random() < 0.4 else \
            rng.choice([1, 2, 3, 4, 6, 8, 9, 16])
        self.cross = rng.random() < 0.2   # keys of length M
        self.params = []                  # (name, type text)
        self.param_names = set()
        self.env = []                     # Tensors in scope
        self.lines = []
        self.counter = 0
        self.states = 0
        self.outputs = []
        self.uses_M = False
        L = "M" if self.cross else "N"
        self.add_param("q", "N", ("D",))
        self.add_param("k", L, ("D",))
        self.add_param("v", L, ("E",))

    # -- names and types ----------------------------------------------------
    def fresh(self, base="y"):
        self.counter += 1
        return "%s%d" % (base, self.counter)

    def fresh_state(self, base="S"):
        self.states += 1
        return "%s%d" % (base, self.states)

    def dims(self, pos, feat):
        d = [dim for _, dim in self.prefix]
        if pos:
            d.append(pos)
        d.extend(feat)
        return d

    def type_text(self, pos, feat, dtype="f32"):
        d = self.dims(pos, feat)
        return "%s[%s]" % (dtype, ", ".join(d)) if d else dtype

    def add_param(self, name, pos, feat, dtype="f32", unit=None, positive=False):
        if pos == "M":
            self.uses_M = True
        self.params.append((name, self.type_text(pos, feat, dtype)))
        self.param_names.add(name)
        t = Tensor(name, pos, feat, unit=(name in UNIT_NAMES) if unit is None else unit,
                   positive=positive or name in UNIT_NAMES, dtype=dtype)
        if dtype == "f32":
            self.env.append(t)
        return t

    def param(self, name, pos, feat, dtype="f32"):
        """A parameter by name, declared on first use."""
        for p, _ in self.params:
            if p == name:
                return name
        self.add_param(name, pos, feat, dtype)
        return name

    def raw_param(self, name, type_text):
        if name not in self.param_names:
            self.params.append((name, type_text))
            self.param_names.add(name)
        return name

    def sub(self, name, *rest):
        idx = [p for p, _ in self.prefix] + list(rest)
        return "%s[%s]" % (name, ", ".join(idx)) if idx else name

    def lhs(self, name, pos_index, pos_dim, extra=()):
        parts = []
        for p, dim in self.prefix:
            parts.append("%s < %s" % (p, dim) if self.rng.random() < 0.3 else p)
        if pos_index:
            parts.append("%s < %s" % (pos_index, pos_dim))
        parts.extend(extra)
        return "%s[%s]" % (name, ", ".join(parts)) if parts else name

    def of_kind(self, pos, feat, unit=None):
        c = [t for t in self.env if t.pos == pos and t.feat == tuple(feat)]
        if unit is not None:
            c = [t for t in c if t.unit == unit]
        return c

    def emit_line(self, text, indent=1):
        self.lines.append("  " * indent + text)

    def define(self, t):
        self.env.append(t)
        self.outputs.append(t)

    # -- element-wise expressions -------------------------------------------
    def ew_expr(self, leaves, depth):
        """A random element-wise float expression that reads a leaf."""
        for _ in range(20):
            ex = self.ew_expr1(leaves, depth)
            if any(re.search(r"\b%s" % re.escape(leaf), ex) for leaf in leaves):
                return ex
        return "tanh(%s)" % self.rng.choice(leaves)

    def ew_expr1(self, leaves, depth):
        rng = self.rng
        if depth <= 0 or rng.random() < 0.3:
            if rng.random() < 0.15:
                return flit(rng)
            return rng.choice(leaves)
        r = rng.random()
        a = self.ew_expr1(leaves, depth - 1)
        if r < 0.35:
            fn = rng.choice(["tanh", "sigmoid", "silu", "gelu", "elu", "softplus",
                             "sin", "cos", "abs", "relu", "exp(tanh", "log(1.0 + abs",
                             "sqrt(1.0 + abs", "rsqrt(1.0 + abs", "-", "sq"])
            if fn == "-":
                return "-(%s)" % a
            if fn == "sq":
                return "(%s) ^ 2" % a
            if "(" in fn:
                return "%s(%s))" % (fn, a)
            return "%s(%s)" % (fn, a)
        b = self.ew_expr1(leaves, depth - 1)
        if r < 0.55:
            return "%s + %s" % (a, b)
        if r < 0.65:
            return "%s - (%s)" % (a, b)
        if r < 0.8:
            return "(%s) * (%s)" % (a, b)
        if r < 0.87:
            return "(%s) / (1.0 + abs(%s))" % (a, b)
        if r < 0.94:
            return "%s(%s, %s)" % (rng.choice(["max", "min"]), a, b)
        return "%s * (%s)" % (flit(rng), a)

    # -- statements -----------------------------------------------------------
    def st_elementwise(self):
        rng = self.rng
        kinds = {}
        for t in self.env:
            if t.pos is not None:
                kinds.setdefault(t.kind(), []).append(t)
        kind = rng.choice(sorted(kinds, key=str))
        ts = kinds[kind]
        pos, feat = kind
        leaves = [t.name for t in ts]
        name = self.fresh()
        if rng.random() < 0.5 or not self.prefix and pos is None:
            # whole-tensor arithmetic, maybe with a broadcast [feat] vector
            ex = self.ew_expr(leaves, 3)
            if feat and rng.random() < 0.3:
                bname = self.raw_param("bias%s" % feat[-1], "f32[%s]" % feat[-1])
                ex = "(%s) + %s" % (ex, bname)
            self.emit_line("%s = %s" % (name, ex))
        else:
            n = "n"
            subs = [self.sub(t.name, n) for t in ts]
            ex = self.ew_expr(subs, 3)
            r = rng.random()
            if r < 0.15:
                ex = "(%s) * float(%s) / %s" % (ex, n, pos)
            elif r < 0.3:
                t = rng.choice(ts)
                ex = "(%s) + where(%s > 0, %s, %s)" % (ex, n, self.sub(t.name, n + " - 1"),
                                                     self.sub(t.name, n))
            elif r < 0.4:
                t = rng.choice(ts)
                ex = "(%s) - %s" % (ex, self.sub(t.name, "%s - 1 - %s" % (pos, n)))
            elif r < 0.5 and feat:
                # a data-dependent choice on an input (never a computed value)
                # one x per kind (seed 7000019 reused x: f32[N, E] for D)
                x = self.param("x%s%s" % (pos, "".join(feat)), pos, feat)
                ex = "where(%s > 0.0, %s, %s)" % (self.sub(x, n), ex, self.sub(rng.choice(ts).name, n))
            self.emit_line("%s = %s" % (self.lhs(name, n, pos), ex))
        self.define(Tensor(name, pos, feat))

    def st_lastdim(self):
        rng = self.rng
        cands = [t for t in self.env if t.pos is not None and len(t.feat) == 1]
        t = rng.choice(cands)
        pos, f = t.pos, t.feat[0]
        x = self.sub(t.name, "n")
        r = rng.random()
        outf = f
        centered = False
        if r < 0.45:
            fn = rng.choice(["softmax", "layernorm", "rmsnorm", "l2norm"])
            ex = "%s(%s)" % (fn, x)
            centered = fn == "layernorm"
        elif r < 0.7:
            outf = rng.choice(["D", "E"])
            w = self.raw_param("w%s%s" % (outf, f), "f32[%s, %s]" % (outf, f))
            ex = "%s @ %s" % (w, x) if rng.random() < 0.5 else \
                "%s @ transpose(%s)" % (x, w)
            if rng.random() < 0.5:
                ex = "%s(%s)" % (rng.choice(["silu", "tanh", "gelu"]), ex)
        elif r < 0.85:
            ex = "%s - mean(%s)" % (x, x)
            centered = True
        else:
            ex = "%s / (1.0 + sum(%s * %s))" % (x, x, x)
        name = self.fresh()
        self.emit_line("%s = %s" % (self.lhs(name, "n", pos), ex))
        self.define(Tensor(name, pos, (outf,), centered=centered))

    def st_reduce(self):
        rng = self.rng
        cands = [t for t in self.env if t.pos is not None and len(t.feat) == 1]
        t = rng.choice(cands)
        pos, f = t.pos, t.feat[0]
        same = [u for u in cands if u.kind() == t.kind()]
        u = rng.choice(same)
        name = self.fresh()
        r = rng.random()
        if r < 0.35:
            # over the feature index: a scalar per position
            op = rng.choice(["sum", "sum", "mean", "max", "min"])
            body = "%s * %s" % (self.sub(t.name, "n", "d"), self.sub(u.name, "n", "d"))
            if op == "max" or op == "min":
                body = self.sub(t.name, "n", "d")
            self.emit_line("%s = %s(d < %s) %s" % (self.lhs(name, "n", pos), op, f, body))
            self.define(Tensor(name, pos, ()))
        elif r < 0.5:
            ex = "prod(d < %s) (1.0 + 0.1 * tanh(%s))" % (f, self.sub(t.name, "n", "d"))
            self.emit_line("%s = %s" % (self.lhs(name, "n", pos), ex))
            self.define(Tensor(name, pos, (), positive=True))
        elif r < 0.75:
            # over the sequence: a vector per prefix, then broadcast back
            op = rng.choice(["sum", "mean", "max"])
            self.emit_line("%s = %s(n < %s) %s" % (self.lhs(name, None, None), op, pos,
                                                  self.sub(t.name, "n")))
            self.define(Tensor(name, None, (f,)))
            name2 = self.fresh()
            self.emit_line("%s = %s + %s" % (self.lhs(name2, "n", pos),
                                             self.sub(t.name, "n"), self.sub(name)))
            self.define(Tensor(name2, pos, (f,)))
        else:
            # einsum: c[d, e] = sum_n x[n, d] y[n, e], then x2 @ c
            others = [w for w in cands if w.pos == pos]
            w = rng.choice(others)
            g = w.feat[0]
            # Scaled by 1/N: unscaled, c grows with N, and x2 @ c has an
            # absolute rounding error that a later tanh of it near 0 keeps
            # (seed 7000788: 2.7e-4 from rounding alone).
            scale = "1.0 / %s" % pos
            self.emit_line("%s = sum(n < %s) %s * %s * %s" % (
                self.lhs(name, None, None, ("d < %s" % f, "e < %s" % g)), pos, scale,
                self.sub(t.name, "n", "d"), self.sub(w.name, "n", "e")))
            self.define(Tensor(name, None, (f, g)))
            qs = [x for x in self.env if x.pos is not None and x.feat == (f,)]
            x = rng.choice(qs)
            name2 = self.fresh()
            self.emit_line("%s = %s @ %s" % (self.lhs(name2, "n", x.pos), self.sub(x.name, "n"),
                                             self.sub(name)))
            self.define(Tensor(name2, x.pos, (g,)))

    def st_conv(self):
        rng = self.rng
        cands = [t for t in self.env if t.pos is not None and len(t.feat) == 1]
        t = rng.choice(cands)
        K = rng.choice([1, 2, 3, 4])
        f = t.feat[0]
        w = self.raw_param("wc%d%s" % (K, f), "f32[%d, %s]" % (K, f))
        name = self.fresh()
        if self.prefix:
            self.emit_line("%s = conv1d(%s, %s)" % (self.lhs(name, None, None), self.sub(t.name), w))
        else:
            self.emit_line("%s = conv1d(%s, %s)" % (name, t.name, w))
        self.define(Tensor(name, t.pos, (f,)))

    def phi(self, x, positive):
        rng = self.rng
        if positive:
            choice = rng.choice(["elu1", "sigmoid", "exp", "sq1", "helper"])
        else:
            choice = rng.choice(["id", "id", "tanh", "l2norm", "elu1", "helper"])
        if choice == "helper":
            h = [n for n, pos_ in self.helpers if pos_ or not positive]
            if not h:
                choice = "elu1"
            else:
                return "%s(%s)" % (rng.choice(h), x)
        return {"id": x, "tanh": "tanh(%s)" % x, "l2norm": "l2norm(%s)" % x,
                "elu1": "elu(%s) + 1" % x, "sigmoid": "sigmoid(%s)" % x,
                "exp": "exp(0.5 * %s)" % x, "sq1": "1.0 + %s ^ 2" % x}[choice]

    def bounded(self, tensor, ex):
        """ex, a read of tensor, bounded when tensor is computed: parameters
        are standard normal, but a computed tensor can be large, and a
        positive feature of a large negative value (elu(x) + 1, exp(x))
        underflows float32 or of a large positive one overflows it."""
        if tensor.name in self.param_names:
            return ex
        return "tanh(%s)" % ex

    def st_attend(self):
        rng = self.rng
        L = "M" if self.cross else "N"
        qs = self.of_kind("N", ("D",))
        ks = self.of_kind(L, ("D",))
        vs = [t for t in self.env if t.pos == L and len(t.feat) <= 1]
        q = rng.choice(qs)
        k = rng.choice(ks)
        v = rng.choice(vs)
        hasH = any(p == "h" for p, _ in self.prefix)
        norm = rng.choice(["softmax", "softmax", "default", "sigmoid", "sigmoidb", "sum", "none"])
        qi, kj = self.sub(q.name, "i"), self.sub(k.name, "j")
        if norm == "sum":
            # Positive features of computed tensors get a bounded argument:
            # elu(x) + 1 and exp(x) of a large negative x underflow float32,
            # and a sum of such weights keeps few digits (seed 4003475).
            score = "dot(%s, %s)" % (self.phi(self.bounded(q, qi), True),
                                     self.phi(self.bounded(k, kj), True))
            if rng.random() < 0.3:
                # A bounded argument: sigmoid of a dot of large computed
                # features underflows float32 (below 1e-38 at -87), and a
                # sum of such weights keeps few digits (seed 4001396).
                score = "sigmoid(4.0 * tanh(dot(%s, %s) / sqrt(D)))" % (qi, kj)
        else:
            score = "dot(%s, %s)" % (self.phi(qi, False), self.phi(kj, False))
            r = rng.random()
            if r < 0.5:
                score += " / sqrt(D)"
            elif r < 0.7:
                score += " * %s" % flit(rng, 0.05, 1.0)
            terms = []
            if rng.random() < 0.3:
                if hasH and rng.random() < 0.7:
                    m = self.fresh("m")
                    self.emit_line("%s[h < H] = 2.0 ^ (-%s * (h + 1) / H)" % (m, flit(rng, 1, 8)))
                    terms.append("%s[h] * (j - i)" % m)
                else:
                    terms.append("-%s * abs(j - i)" % flit(rng, 0.01, 0.5))
            if rng.random() < 0.15:
                terms.append("%s * float(j) / %s" % (flit(rng, 0.1, 1.0), L))
            if rng.random() < 0.2:
                b = self.raw_param("sbias", "f32[N, %s]" % L)
                terms.append("%s[i, j]" % b)
            computed = q.name not in self.param_names or k.name not in self.param_names
            if rng.random() < 0.15:
                kb = self.of_kind(L, ())
                if kb:
                    b = rng.choice(kb)
                    terms.append(self.sub(b.name, "j"))
                    computed = computed or b.name not in self.param_names
            if terms:
                score = " + ".join([score] + terms)
            # A sigmoid of a large negative score of computed tensors is
            # below float32's normal range (9e-41 against 0, seed 6003308):
            # such scores get a cap of at most 20.
            if (norm.startswith("sigmoid") and computed) or rng.random() < 0.2:
                cap = flit(rng, 1, 20)
                score = "%s * tanh((%s) / %s)" % (cap, score, cap)
        mask = self.mask(L)
        value = self.sub(v.name, "j")
        r = rng.random()
        if r < 0.2:
            value = "%s(%s)" % (rng.choice(["tanh", "sigmoid", "silu"]), value)
        elif r < 0.3:
            gs = self.of_kind(L, ())
            if gs:
                value = "%s * %s" % (value, self.sub(rng.choice(gs).name, "j"))
        elif r < 0.4:
            # Scaled by 1/N: unscaled, the result grows with N and cancels
            # (the weights' signed sum of j - i), and a tanh of it then loses
            # float32's relative precision near zero (seed 3002696 was a
            # mismatch of 1.07e-4 from rounding alone).
            value = "%s * float(j - i) / N" % value if rng.random() < 0.5 else \
                "%s + %s" % (value, value)
        name = self.fresh()
        self.emit_line("%s = attend j < %s {" % (self.lhs(name, "i", "N"), L))
        clauses = [("score", score)]
        if mask:
            clauses.append(("mask", mask))
        if norm == "sigmoidb":
            bias = rng.choice(["-log(%s)" % L, "-%s" % flit(rng), flit(rng)])
            clauses.append(("normalize", "sigmoid(bias = %s)" % bias))
        elif norm != "default":
            clauses.append(("normalize", norm))
        clauses.append(("value", value))
        rng.shuffle(clauses)
        if rng.random() < 0.2:
            self.emit_line("; ".join("%s %s" % c for c in clauses), 2)
        else:
            for c in clauses:
                self.emit_line("%-9s %s" % c, 2)
        self.emit_line("}")
        self.define(Tensor(name, "N", v.feat))

    def mask(self, L):
        rng = self.rng
        if rng.random() < 0.25:
            return None
        atoms = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            r = rng.random()
            if r < 0.3:
                atoms.append("j <= i")
            elif r < 0.45:
                w = rng.choice([1, 2, 3, 4, 8, 16, 33, 64])
                atoms.append("i - %d < j && j <= i" % w)
            elif r < 0.55:
                atoms.append("j < %d" % rng.choice([1, 2, 4, 16, 64]))
            elif r < 0.7:
                a = rng.choice(["i", "j", "i + j", "i - j", "2 * i + j", "i * j"])
                atoms.append("(%s) %% %d %s %d" % (a, rng.choice([2, 3, 5]),
                                                   rng.choice(["==", "!="]), 0))
            elif r < 0.8:
                atoms.append("%s %s %s" % (rng.choice(["i", "j", "N - 1 - i"]),
                                           rng.choice(["<", "<=", ">", ">=", "!=", "=="]),
                                           rng.choice(["j", "i", "%s - 1 - j" % L, "j + 1"])))
            elif r < 0.9:
                pb = [p for p, _ in self.prefix if p == "b"]
                segq = self.raw_param("segq", "i32[%s]" % ", ".join(
                    [d for p, d in self.prefix if p == "b"] + ["N"]))
                if L == "N":
                    segk = segq
                else:
                    segk = self.raw_param("segk", "i32[%s]" % ", ".join(
                        [d for p, d in self.prefix if p == "b"] + [L]))
                atoms.append("%s[%s] == %s[%s]" % (segq, ", ".join(pb + ["i"]), segk,
                                                   ", ".join(pb + ["j"])))
            else:
                keep = self.raw_param("keep", "i1[N, %s]" % L)
                atoms.append("keep[i, j]" if keep else "")
            if rng.random() < 0.1:
                atoms[-1] = "!(%s)" % atoms[-1]
        out = atoms[0]
        for a in atoms[1:]:
            op = rng.choice(["&&", "||"])
            out = "(%s) %s (%s)" % (out, op, a) if rng.random() < 0.7 else \
                "%s %s %s" % (out, op, a)
        return out

    # -- scans --------------------------------------------------------------
    def unit_seq(self, t):
        """A per-step scalar in (0, 1)."""
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            return self.sub(self.param(rng.choice(["alpha", "gamma", "eta"]), "N", ()), t)
        if r < 0.6:
            return "exp(-softplus(%s))" % self.sub(self.param("a", "N", ()), t)
        if r < 0.8:
            return "sigmoid(%s)" % self.sub(self.param("a", "N", ()), t)
        # Parenthesized: callers write "%s * h" (seed 4001380 read
        # 1.0 - 0.5 * beta * h, not contractive, and cancelled to 0).
        return "(1.0 - 0.5 * %s)" % self.sub(self.param("beta", "N", ()), t)

    def st_scan_linear(self):
        rng = self.rng
        P = self.prefix
        hasH = any(p == "h" for p, _ in P)
        qs = self.of_kind("N", ("D",))
        vs = self.of_kind("N", ("E",)) + self.of_kind("N", ("D",))
        ks = self.of_kind("N", ("D",))
        q = rng.choice(qs)
        k = rng.choice(ks)
        v = rng.choice(vs)
        Dv = v.feat[0]
        form = rng.choice(["plain", "scalar", "scalar", "head", "gate", "gate", "delta",
                           "delta", "gdelta", "normalizer", "delta2"])
        keymajor = rng.random() < 0.6
        S = self.fresh_state("S")
        t = "t"
        body = []
        pre = []
        qt, kt, vt = self.sub(q.name, t), self.sub(k.name, t), self.sub(v.name, t)
        positive = form == "normalizer"
        delta = form in ("delta", "gdelta", "delta2")
        # the step's query and key, maybe through a feature map
        if delta:
            body.append("kt = l2norm(%s)" % kt)
            kt = "kt"
            if rng.random() < 0.5:
                body.append("qt = l2norm(%s)" % qt)
                qt = "qt"
        elif rng.random() < 0.5 or positive:
            # A normalizer divides by dot(z, qt): its positive features need
            # bounded arguments, or 0 / 0 (seeds 6004524, 6005228, 6003329).
            body.append("kt = %s" % self.phi(self.bounded(k, kt) if positive else kt, positive))
            kt = "kt"
        if not delta and (rng.random() < 0.5 or positive):
            body.append("qt = %s" % self.phi(self.bounded(q, qt) if positive else qt, positive))
            qt = "qt"
        decay = None
        if form in ("scalar", "normalizer") or (form == "gdelta"):
            r = rng.random()
            if r < 0.3:
                decay = flit(rng, 0.5, 0.99)
            else:
                decay = self.unit_seq(t)
        elif form == "head":
            if hasH:
                gname = self.fresh("gam")
                pre.append("%s[h < H] = 1.0 - 2.0 ^ (-%s - h)" % (gname, flit(rng, 1, 5)))
                decay = "%s[h]" % gname
            else:
                decay = flit(rng, 0.5, 0.99)
        init = "0"
        if rng.random() < 0.15:
            init = "%s" % flit(rng, 0.1, 1.0)
        if form == "gate":
            if rng.random() < 0.5:
                gt = self.sub(self.param("g", "N", ("D",)), t, "d")
            else:
                gt = "sigmoid(%s)" % self.sub(self.param("gl", "N", ("D",)), t, "d")
            kd = "kt[d]" if kt == "kt" else self.sub(k.name, t, "d")
            ve = self.sub(v.name, t, "e")
            body.append("%s[d, e] = %s * %s[d, e] + %s * %s" % (S, gt, S, kd, ve))
            stype = "f32[D, %s]" % Dv
            emit = "transpose(%s) @ %s" % (S, qt) if rng.random() < 0.5 else "%s @ %s" % (qt, S)
        elif delta:
            bt = self.sub(self.param("beta", "N", ()), t)
            if rng.random() < 0.3:
                bt = "sigmoid(%s)" % self.sub(self.param("bl", "N", ()), t)
            body.append("bt = %s" % bt)
            if form == "delta2":
                # S - beta * outer(S @ k - v, k), value-major
                body.append("%s = %s - bt * outer(%s @ %s - %s, %s)" % (S, S, S, kt, vt, kt))
                stype = "f32[%s, D]" % Dv
                emit = "%s @ %s" % (S, qt)
            elif keymajor and rng.random() < 0.5:
                mid = "(eye(D) - bt * outer(%s, %s)) @ %s" % (kt, kt, S)
                if decay:
                    mid = ("%s * (%s)" if rng.random() < 0.5 else "%s * %s") % (decay, mid)
                body.append("%s = %s + bt * outer(%s, %s)" % (S, mid, kt, vt))
                stype = "f32[D, %s]" % Dv
                emit = "transpose(%s) @ %s" % (S, qt)
            else:
                a = (decay + " * ") if decay else ""
                body.append("%s = %s%s @ (eye(D) - bt * outer(%s, %s)) + bt * outer(%s, %s)" % (
                    S, a, S, kt, kt, vt, kt))
                stype = "f32[%s, D]" % Dv
                emit = "%s @ %s" % (S, qt)
        else:
            a = (decay + " * ") if decay else ""
            if keymajor:
                body.append("%s = %s%s + outer(%s, %s)" % (S, a, S, kt, vt))
                stype = "f32[D, %s]" % Dv
                emit = "transpose(%s) @ %s" % (S, qt) if rng.random() < 0.6 else "%s @ %s" % (qt, S)
            else:
                body.append("%s = %s%s + outer(%s, %s)" % (S, a, S, vt, kt))
                stype = "f32[%s, D]" % Dv
                emit = "%s @ %s" % (S, qt)
            if form == "normalizer":
                z = self.fresh_state("z")
                body.append("%s = %s%s + %s" % (z, a, z, kt))
                emit = "%s / dot(%s, %s)" % (emit, z, qt)
                pre_z = "state %s: f32[D] = %s" % (z, rng.choice(["0", "1"]))
                body.insert(0, pre_z)
        if rng.random() < 0.15 and form != "normalizer":
            emit = "%s + %s * %s" % (emit, flit(rng, 0.1, 1.0), vt)
        name = self.fresh()
        for line in pre:
            self.emit_line(line)
        self.emit_line("%s = scan t < N {" % self.lhs(name, "t", "N"))
        self.emit_line("state %s: %s = %s" % (S, stype, init), 2)
        for line in body:
            self.emit_line(line, 2)
        self.emit_line("emit %s" % emit, 2)
        self.emit_line("}")
        self.define(Tensor(name, "N", (Dv,)))

    def st_scan_nonlinear(self):
        rng = self.rng
        xs = [t for t in self.env if t.pos == "N" and len(t.feat) == 1]
        x = rng.choice(xs)
        f = x.feat[0]
        t = "t"
        xt = self.sub(x.name, t)
        form = rng.choice(["tanh", "hgrn", "rnn", "max", "bounded", "two", "scalar", "shift",
                           "ttt", "ttt"])
        chunk = ""
        h = self.fresh_state("h")
        body = []
        outf = (f,)
        if form == "tanh":
            states = ["state %s: f32[%s] = 0" % (h, f)]
            body.append("%s = tanh(%s * %s + %s)" % (h, flit(rng, 0.1, 0.9), h, xt))
            emit = h
        elif form == "hgrn":
            fp = self.param("fgate", "N", (f,)) if f == "D" else self.param("fgateE", "N", (f,))
            ft = self.sub(fp, t)
            states = ["state %s: f32[%s] = 0" % (h, f)]
            body.append("%s = sigmoid(%s) * %s + (1 - sigmoid(%s)) * %s" % (h, ft, h, ft, xt))
            emit = h
        elif form == "rnn":
            w = self.raw_param("wr%s" % f, "f32[%s, %s]" % (f, f))
            states = ["state %s: f32[%s] = 0" % (h, f)]
            body.append("%s = tanh(%s @ %s * (0.3 / sqrt(%s)) + %s)" % (h, w, h, f, xt))
            emit = h if rng.random() < 0.5 else "%s * %s" % (h, xt)
        elif form == "max":
            init = rng.choice(["-inf", "0", "-1.0"])
            states = ["state %s: f32[%s] = %s" % (h, f, init)]
            body.append("%s = max(%s, %s)" % (h, h, xt))
            emit = h if init != "-inf" else "%s - %s" % (h, xt)
        elif form == "bounded":
            ks = self.of_kind("N", ("D",))
            k = rng.choice(ks)
            states = ["state %s: f32[D, %s] = 0" % (h, f)]
            # Bounded operands: a state of large computed outer products
            # makes tanh(transpose(h) @ k) a cancelling sum near 0, off by
            # float32 rounding alone (seeds 7000732, 7000788).
            body.append("%s = %s * tanh(%s) + outer(%s, %s)" % (
                h, flit(rng, 0.1, 0.9), h, self.bounded(k, self.sub(k.name, t)),
                self.bounded(x, xt)))
            emit = "tanh(transpose(%s) @ %s)" % (h, self.sub(rng.choice(ks).name, t))
        elif form == "two":
            h2 = self.fresh_state("c")
            states = ["state %s: f32[%s] = 0" % (h, f), "state %s: f32[%s] = 0" % (h2, f)]
            body.append("%s = tanh(%s * %s + %s)" % (h, flit(rng, 0.1, 0.9), h, xt))
            body.append("%s = %s * %s + %s" % (h2, self.unit_seq(t), h2, h))
            emit = "%s + %s" % (h, h2) if rng.random() < 0.5 else "%s * %s" % (h, h2)
        elif form == "scalar":
            states = ["state %s: f32[1] = 0" % h]
            # The sum of a centered x is 0 up to rounding, and the state
            # then accumulates float32 noise alone (seed 6004370).
            total = "mean(%s * %s)" % (xt, xt) if x.centered else "sum(%s)" % xt
            body.append("%s = %s * %s + tanh(%s)" % (h, self.unit_seq(t), h, total))
            emit = "%s[0] * %s" % (h, xt)
        elif form == "shift":
            states = ["state %s: f32[%s] = 0" % (h, f)]
            prev = "where(t > 0, %s, %s)" % (self.sub(x.name, "t - 1"), xt)
            body.append("%s = %s * %s + %s - %s" % (h, flit(rng, 0.1, 0.9), h, xt, prev))
            emit = h
        else:  # test-time regression with grad, maybe chunked
            ks = self.of_kind("N", ("D",))
            k = rng.choice(ks)
            W = h
            states = ["state %s: f32[%s, D] = 0" % (W, f)]
            lr = self.sub(self.param("eta", "N", ()), t)
            body.append("kt = l2norm(%s)" % self.sub(k.name, t))
            body.append("loss = sum((%s @ kt - %s) ^ 2)" % (W, xt))
            body.append("gW = grad(loss, %s)" % W)
            body.append("%s = %s - 0.5 * %s * gW" % (W, W, lr))
            emit = "%s @ kt" % W
            if rng.random() < 0.5:
                chunk = " chunk %d" % rng.choice([2, 3, 4, 8, 16])
        name = self.fresh()
        self.emit_line("%s = scan t < N%s {" % (self.lhs(name, "t", "N"), chunk))
        for s in states:
            self.emit_line(s, 2)
        for line in body:
            self.emit_line(line, 2)
        self.emit_line("emit %s" % emit, 2)
        self.emit_line("}")
        self.define(Tensor(name, "N", outf))

    def generate(self):
        rng = self.rng
        n = rng.choice([1, 2, 2, 3, 3, 4])
        kinds = ["ew", "last", "reduce", "conv", "attend", "attend", "attend", "lin", "lin",
                 "lin", "nonlin", "nonlin"]
        for _ in range(n):
            kind = rng.choice(kinds)
            {"ew": self.st_elementwise, "last": self.st_lastdim, "reduce": self.st_reduce,
             "conv": self.st_conv, "attend": self.st_attend, "lin": self.st_scan_linear,
             "nonlin": self.st_scan_nonlinear}[kind]()
        outs = [self.outputs[-1]] + [t for t in self.outputs[:-1] if rng.random() < 0.5]
        consts = ", ".join("%s = %d" % (c, v) for c, v in self.consts.items())
        groups = []
        for name, ty in self.params:
            if groups and groups[-1][1] == ty and rng.random() < 0.5:
                groups[-1][0].append(name)
            else:
                groups.append(([name], ty))
        params = ", ".join("%s: %s" % (", ".join(ns), ty) for ns, ty in groups)
        head = "fn %s<%s>(%s) {" % (self.name, consts, params)
        return "\n".join([head] + self.lines + ["  return " + ", ".join(t.name for t in outs),
                                                "}"])


HELPERS = [
    ("phi_elu", True, "fn phi_elu(x: f32[D]) = elu(x) + 1"),
    ("phi_sig", True, "fn phi_sig(x: f32[D]) = sigmoid(x) * 2.0"),
    ("feat_norm", False, "fn feat_norm<Eps = 0.001>(x: f32[D]) = x / (sqrt(sum(x * x)) + Eps)"),
    ("feat_tanh", False, "fn feat_tanh(x: f32[D]) {\n  y = tanh(x) * 1.5\n  return y\n}"),
]


def generate(seed):
    """Returns (program text, run arguments) for a seed."""
    rng = random.Random(seed)
    helpers = []
    text = []
    if rng.random() < 0.25:
        for name, positive, src in rng.sample(HELPERS, rng.choice([1, 2])):
            helpers.append((name, positive))
            text.append(src)
    nfn = 1 if rng.random() < 0.8 else 2
    fns = [FnGen(rng, "f%d" % i, helpers) for i in range(nfn)]
    for fn in fns:
        text.append(fn.generate())
    args = ["--set", "N=%d" % pick_size(rng)]
    if any(any(p == "b" for p, _ in fn.prefix) for fn in fns):
        args += ["--set", "B=%d" % rng.choice([1, 1, 2, 3])]
    if any(fn.uses_M for fn in fns):
        args += ["--set", "M=%d" % pick_size(rng)]
    args += ["--seed", str(rng.randrange(1 << 31))]
    r = rng.random()
    if r < 0.15:
        args.append("--scan-chunk=%s" % rng.choice(["16", "32", "128", "off"]))
    header = "# randprog: seed=%d\n# ARGS: %s\n" % (seed, " ".join(args))
    return header + "\n\n".join(text) + "\n", args


def parse_args_line(text):
    """The ARGS of a program (the '# ARGS:' line), as a list."""
    for line in text.splitlines():
        if line.startswith("# ARGS:"):
            return line[len("# ARGS:"):].split()
    return []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--out", help="write SEED.attn files here instead of stdout")
    a = ap.parse_args(argv)
    for i in range(a.count):
        text, _ = generate(a.seed + i)
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            with open(os.path.join(a.out, "p%d.attn" % (a.seed + i)), "w") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
