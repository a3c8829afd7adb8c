#!/usr/bin/env python3
"""Compare `attnc run --backend=interp` with an independent numpy reference.

  interp_check.py FILE.attn --entry NAME [--set K=V]... [--size S=V]...
                  [--seed N] [--tol T] [--attnc PATH] [--float-dtype f32|f64]
  interp_check.py --self-test

For one entry point of one example it
  1. reads the entry's parameters and their types from the program text,
     and generates seeded random inputs of small sizes: constants are the
     program's defaults overridden by --set (as `attnc --set` does), size
     symbols (B, N, M, and H, Dh where they are not constants) default to
     SIZES below and are overridden by --size;
  2. writes them as .npy (v1.0, C order) into a temporary directory -- for an
     arch, also every weight the reference reads, by its attn.param path;
  3. runs `attnc run FILE --entry NAME --backend=interp --set ... --input
     name=path.npy ... --output-dir DIR`;
  4. compares DIR/<output>.npy with test/Integration/Interp/reference.py:
     `ok ENTRY max_abs=...`, or `MISMATCH ENTRY at index (...): got X
     expected Y (abs diff D)` and exit code 1. An element passes when
     |got - expected| <= tol * (1 + |expected|) (tol 1e-9 by default).

Input distributions: float tensors standard normal; integer ids uniform over
their valid range (document ids in [0, 3), token ids in [0, V)); i1
tensors fair coins; gates (alpha, beta in R9; eta, theta, alpha in R10)
uniform in a sub-interval of (0, 1) (see GATES). Every float is rounded to
float32 first, so the reference and the interpreter see identical values
whichever dtype the .npy files use.

--self-test checks the reference itself, without attnc: every analytic
gradient against central finite differences (relative 1e-6), the Titans
program with finite-difference gradients against the analytic one, and a
few equivalences between the recurrent and parallel forms.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:  # e.g. a pyenv python3 first on PATH: use Debian's python3-numpy
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "Integration", "Interp"))
import reference as ref  # noqa: E402
import attend_reference as aref  # noqa: E402

# Size symbols (run-time dimensions) and their default extents.
SIZES = {"B": 2, "N": 7, "M": 5, "H": 2, "Dh": 3}

# Gates that must lie in (0, 1): entry -> {name: (low, high)}.
GATES = {
    "gated_delta_rule": {"alpha": (0.05, 0.95), "beta": (0.05, 0.95)},
    "titans": {"eta": (0.5, 0.95), "theta": (0.01, 0.3), "alpha": (0.01, 0.3)},
}

# Integer inputs: entry -> {name: function(consts) -> exclusive upper bound}.
ID_RANGES = {
    "document_mask": {"seg": lambda c: 3},
    "tiny_lm": {"tokens": lambda c: c["V"]},
}

# Float inputs drawn with a scale other than 1 (fan-in scaling keeps the
# Titans memory from blowing up over a few steps).
SCALES = {
    "titans": {"w1": lambda c: c["D"] ** -0.5, "w2": lambda c: c["Hid"] ** -0.5},
}


# ---------------------------------------------------------------------------
# Reading the entry's signature from the program text
# ---------------------------------------------------------------------------

def parse_entry(text, entry):
    """Returns (kind, constants, params) for `fn entry<...>(...)` or
    `arch entry<...>(...)`: constants {name: default}, params [(name,
    elem, dims)] with dims a list of dimension expressions (strings)."""
    m = re.search(r"\b(fn|arch)\s+%s\b\s*(<([^>]*)>)?\s*\(" % re.escape(entry), text)
    if not m:
        sys.exit("error: no fn or arch named '%s'" % entry)
    consts = {}
    for part in (m.group(3) or "").split(","):
        if "=" in part:
            name, value = (s.strip() for s in part.split("=", 1))
            consts[name] = float(value) if re.search(r"[.eE]", value) else int(value)
    # The parameter list: up to the matching ')'.
    depth, i = 1, m.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    plist = re.sub(r"#[^\n]*", "", text[m.end():i - 1])
    params = []
    for names, elem, dims in re.findall(r"((?:\w+\s*,\s*)*\w+)\s*:\s*(\w+)\s*(?:\[([^\]]*)\])?", plist):
        shape = [d.strip() for d in dims.split(",")] if dims else []
        for name in names.split(","):
            params.append((name.strip(), elem, shape))
    return m.group(1), consts, params


def eval_dim(expr, env):
    # Dimension expressions use + - * and exact/floor `/`.
    return int(eval(expr.replace("/", "//"), {"__builtins__": {}}, dict(env)))


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def f32(a):
    """Round to float32 values, kept as float64 for the reference."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def make_inputs(entry, consts, params, sizes, rng):
    env = dict(sizes)
    env.update(consts)
    inputs = {}
    for name, elem, dims in params:
        shape = tuple(eval_dim(d, env) for d in dims)
        if elem.startswith("i") and elem != "i1":
            hi = ID_RANGES.get(entry, {}).get(name)
            if hi is None:
                sys.exit("error: no id range for integer input '%s'" % name)
            inputs[name] = rng.integers(0, hi(consts), size=shape).astype(np.int32)
        elif elem == "i1":
            a = rng.integers(0, 2, size=shape).astype(bool)
            if a.size >= 2:  # make sure both values occur
                a.flat[0], a.flat[1] = True, False
            inputs[name] = a
        elif name in GATES.get(entry, {}):
            lo, hi = GATES[entry][name]
            inputs[name] = f32(rng.uniform(lo, hi, size=shape))
        else:
            scale = SCALES.get(entry, {}).get(name, lambda c: 1.0)(consts)
            inputs[name] = f32(scale * rng.standard_normal(shape))
    return inputs


def weight_store(rng, made):
    """params(path, shape) for the archs: a fresh random weight per path,
    remembered in `made`. linear weights ~ N(0, 1/Din), biases ~ N(0, 0.1^2),
    norm scales 1 + N(0, 0.1^2), embed tables N(0, 1)."""
    def params(path, shape):
        if path not in made:
            if path.endswith(".scale"):
                a = 1.0 + 0.1 * rng.standard_normal(shape)
            elif path.endswith("bias"):
                a = 0.1 * rng.standard_normal(shape)
            elif ".embed" in path:
                a = rng.standard_normal(shape)
            else:
                a = rng.standard_normal(shape) / np.sqrt(shape[0])
            made[path] = f32(a)
        assert made[path].shape == tuple(shape), path
        return made[path]
    return params


def emitted_params(attnc, file, entry, sets):
    """The attn.param paths of `entry` in `attnc emit --emit=mlir`, or None."""
    cmd = [attnc, "emit", "--emit=mlir"]
    for s in sets:
        cmd += ["--set", s]
    cmd.append(file)
    try:
        mlir = subprocess.run(cmd, capture_output=True, text=True).stdout
    except OSError:
        return None
    m = re.search(r"func\.func @%s\((.*)" % re.escape(entry), mlir)
    return re.findall(r'attn\.param = "([^"]*)"', m.group(1)) if m else None


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

def compare(entry, name, got, expected, tol):
    if got.shape != expected.shape:
        print("MISMATCH %s output %s: shape %s, expected %s" % (entry, name, got.shape, expected.shape))
        return False
    got = got.astype(np.float64)
    diff = np.abs(got - expected)
    bad = ~(diff <= tol * (1.0 + np.abs(expected)))  # NaN counts as bad
    max_abs = float(np.nanmax(diff)) if diff.size else 0.0
    if bad.any():
        idx = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(diff, nan=np.inf), -1.0)), diff.shape)
        print("MISMATCH %s %s at index %s: got %r expected %r (abs diff %.3g; %d of %d elements off)"
              % (entry, name, tuple(int(i) for i in idx), float(got[idx]), float(expected[idx]),
                 float(diff[idx]), int(bad.sum()), bad.size))
        return False
    print("ok %s %s max_abs=%.3g" % (entry, name, max_abs))
    return True


def check(args):
    text = open(args.file).read()
    kind, consts, params = parse_entry(text, args.entry)
    sets = []
    for s in args.set:
        name, value = s.split("=", 1)
        consts[name] = float(value) if re.search(r"[.eE]", value) else int(value)
        sets.append(s)
    sizes = dict(SIZES)
    for s in args.size:
        name, value = s.split("=", 1)
        sizes[name] = int(value)
    if kind == "arch":  # an arch's dimensions that are constants, e.g. N
        sizes.update({k: v for k, v in consts.items() if k in sizes})

    rng = np.random.default_rng(args.seed)
    inputs = make_inputs(args.entry, consts, params, sizes, rng)
    # The programs under test/Integration/Interp/Inputs/ have their own
    # reference module; the examples have reference.py.
    stem = os.path.splitext(os.path.basename(args.file))[0]
    fn = getattr(aref if stem in aref.ENTRIES else ref, args.entry)
    if args.entry in ref.ARCHS:
        weights = {}
        expected = fn(inputs, consts, weight_store(rng, weights))
        emitted = emitted_params(args.attnc, args.file, args.entry, sets)
        if emitted is not None and set(emitted) != set(weights):
            print("MISMATCH %s weight names: only in attnc: %s; only in the reference: %s"
                  % (args.entry, sorted(set(emitted) - set(weights)), sorted(set(weights) - set(emitted))))
            return 1
        inputs.update(weights)
    else:
        expected = fn(inputs, consts)

    with tempfile.TemporaryDirectory(prefix="interp_check.") as tmp:
        cmd = [args.attnc, "run", args.file, "--entry", args.entry, "--backend=interp"]
        for s in sets:
            cmd += ["--set", s]
        for name, a in inputs.items():
            path = os.path.join(tmp, "in.%s.npy" % name)
            if a.dtype == np.float64 and args.float_dtype == "f32":
                a = a.astype(np.float32)
            np.save(path, np.ascontiguousarray(a), allow_pickle=False)
            cmd += ["--input", "%s=%s" % (name, path)]
        outdir = os.path.join(tmp, "out")
        os.mkdir(outdir)
        cmd += ["--output-dir", outdir]
        if args.verbose:
            print(" ".join(cmd))
        try:
            run = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            print("FAIL %s: cannot run %s: %s" % (args.entry, args.attnc, e))
            return 1
        if run.returncode != 0:
            print("FAIL %s: attnc run exited with %d\n%s%s"
                  % (args.entry, run.returncode, run.stdout, run.stderr))
            return 1
        produced = sorted(f[:-4] for f in os.listdir(outdir) if f.endswith(".npy"))
        ok = True
        for i, (name, exp) in enumerate(expected.items()):
            # By name; an unnamed single result may be out0 or the one file.
            found = name if name in produced else "out%d" % i if "out%d" % i in produced else \
                produced[0] if len(produced) == 1 and len(expected) == 1 else None
            if found is None:
                print("MISMATCH %s: no output %s.npy (attnc wrote %s)" % (args.entry, name, produced))
                ok = False
                continue
            got = np.load(os.path.join(outdir, found + ".npy"), allow_pickle=False)
            ok = compare(args.entry, name, got, exp, args.tol) and ok
    return 0 if ok else 1


# ---------------------------------------------------------------------------
# Self-test of the reference (no attnc needed)
# ---------------------------------------------------------------------------

def fd_grad(f, arrays, h=1e-5):
    """Central differences of scalar f(*arrays) w.r.t. every element of each."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + h
            up = f(*arrays)
            a[idx] = old - h
            down = f(*arrays)
            a[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def close(what, got, expected, rel):
    err = float(np.max(np.abs(got - expected)))
    scale = max(1.0, float(np.max(np.abs(expected))))
    good = err <= rel * scale
    print("%s %s: max error %.3g (scale %.3g)" % ("ok" if good else "FAIL", what, err, scale))
    return good


def self_test():
    rng = np.random.default_rng(0)
    ok = True

    # Titans: analytic gradient of ||W2 silu(W1 k) - v||^2 against FD.
    for trial in range(3):
        D, Hid = 4, 6
        W1 = rng.standard_normal((Hid, D))
        W2 = rng.standard_normal((D, Hid))
        k, v = rng.standard_normal(D), rng.standard_normal(D)
        g1, g2 = ref.titans_grad(W1, W2, k, v)
        f1, f2 = fd_grad(lambda a, b: ref.titans_loss(a, b, k, v), [W1, W2])
        ok &= close("titans grad W1 vs FD (trial %d)" % trial, g1, f1, 1e-6)
        ok &= close("titans grad W2 vs FD (trial %d)" % trial, g2, f2, 1e-6)

    # The whole Titans program with FD gradients inside the scan.
    B, H, N, D, Hid = 1, 2, 7, 4, 6
    c = {"C": 3}
    x = {n: rng.standard_normal((B, H, N, D)) for n in ("q", "k", "v")}
    x.update({n: rng.uniform(*r, size=(B, H, N)) for n, r in GATES["titans"].items()})
    x["w1"] = rng.standard_normal((H, Hid, D)) / 2
    x["w2"] = rng.standard_normal((H, D, Hid)) / 2
    fd = lambda W1, W2, k, v: fd_grad(lambda a, b: ref.titans_loss(a, b, k, v), [W1.copy(), W2.copy()])
    ok &= close("titans program, analytic vs FD grad", ref.titans(x, c)["y"],
                ref.titans(x, c, grad_fn=fd)["y"], 1e-6)
    # chunk C >= N: every gradient at the initial weights; C = 1: plain SGD.
    ok &= close("titans C=N differs from C=1 (sanity)",
                np.array(float(np.max(np.abs(ref.titans(x, {"C": N})["y"] - ref.titans(x, {"C": 1})["y"])) > 1e-6)),
                np.array(1.0), 0)

    # R7: the recurrent form equals attend normalize sum with phi(q).phi(k).
    B, H, N, Dk, Dv = 2, 2, 6, 3, 4
    q, k = rng.standard_normal((B, H, N, Dk)), rng.standard_normal((B, H, N, Dk))
    v = rng.standard_normal((B, H, N, Dv))
    par = ref.attention(q, k, v, ref.causal, lambda b, h, i, j, d: float(np.dot(ref.phi(q[b, h, i]), ref.phi(k[b, h, j]))),
                        normalize="sum")
    ok &= close("linear attention recurrent vs parallel", ref.linear_attention({"q": q, "k": k, "v": v}, {})["out"], par, 1e-12)

    # R8: RetNet recurrent vs parallel o_i = sum_{j<=i} gamma_h^(i-j) (q_i.k_j) v_j.
    par = ref.attention(q, k, v, ref.causal, lambda b, h, i, j, d: (1 - 2.0 ** (-5 - h)) ** (i - j) * d,
                        normalize="none")
    ok &= close("retnet recurrent vs parallel", ref.retnet({"q": q, "k": k, "v": v}, {})["out"], par, 1e-12)
    # GLA with alpha = gamma_h everywhere is RetNet: sigmoid(g)^(1/tau) = gamma.
    tau = 4.0
    gam = np.array([1 - 2.0 ** (-5 - h) for h in range(H)])
    g = np.broadcast_to(np.log(gam ** tau / (1 - gam ** tau))[None, :, None, None], (B, H, N, Dk))
    ok &= close("gla with constant gates vs retnet", ref.gla({"q": q, "k": k, "v": v, "g": g}, {"tau": tau})["out"],
                ref.retnet({"q": q, "k": k, "v": v}, {})["out"], 1e-12)

    # R9 with alpha = 1, beta = 0 keeps S = 0; with beta = 1 and one step,
    # S = v k^T, so o = v (k . q) for unit k, q.
    one = np.ones((B, H, N))
    o = ref.gated_delta_rule({"q": q, "k": k, "v": v, "alpha": one, "beta": 0 * one}, {})["out"]
    ok &= close("gated delta rule, beta = 0", o, np.zeros_like(o), 0)
    o = ref.gated_delta_rule({"q": q, "k": k, "v": v, "alpha": one, "beta": one}, {})["out"]
    kn, qn = ref.l2norm(k[:, :, 0]), ref.l2norm(q[:, :, 0])
    ok &= close("gated delta rule, first step", o[:, :, 0], v[:, :, 0] * np.sum(kn * qn, -1)[..., None], 1e-12)

    # attend conventions: empty softmax/sum rows are 0.
    vals = rng.standard_normal((3, 2))
    for norm in ("softmax", "sum", "sigmoid", "none"):
        ok &= close("attend %s, empty row" % norm, ref.attend(np.ones(3), [False] * 3, vals, norm), np.zeros(2), 0)

    # Selections.
    sel = [
        (ref.topp([0.5, 0.3, 0.2], 0.7), [True, True, False]),
        (ref.topp([0.25, 0.25, 0.25, 0.25], 0.5), [True, True, False, False]),  # ties: lower first
        (ref.topp([0.2, 0.1], 0.9), [True, True]),                            # total below mass
        (ref.topp([0.1, 0.6, 0.3], 0.6), [False, True, False]),                # exactly reached
        (ref.topk([1.0, 3.0, 3.0, 2.0], 3), [1, 2, 3]),
        (np.array([ref.argmax([2.0, 5.0, 5.0])]), [1]),
    ]
    for n, (got, want) in enumerate(sel):
        good = list(np.asarray(got).tolist()) == want
        print("%s selection case %d: %s" % ("ok" if good else "FAIL", n, np.asarray(got).tolist()))
        ok &= good

    # Every example's entries exist in the reference.
    examples = os.path.join(HERE, "..", "examples")
    for stem, entries in ref.ENTRIES.items():
        text = open(os.path.join(examples, stem + ".attn")).read()
        found = re.findall(r"^(?:fn|arch)\s+(\w+)", text, re.M)
        found = [f for f in found if f != "phi" and f != "mem"]  # helpers
        good = sorted(found) == sorted(entries) and all(hasattr(ref, e) for e in entries)
        print("%s entries of %s: %s" % ("ok" if good else "FAIL", stem, found))
        ok &= good

    # ... and every program under Inputs/ in attend_reference.py.
    inputs = os.path.join(HERE, "..", "test", "Integration", "Interp", "Inputs")
    for stem, entries in aref.ENTRIES.items():
        text = open(os.path.join(inputs, stem + ".attn")).read()
        found = [f for f in re.findall(r"^(?:fn|arch)\s+(\w+)", text, re.M) if f != "phi"]
        good = sorted(found) == sorted(entries) and all(hasattr(aref, e) for e in entries)
        print("%s entries of %s: %s" % ("ok" if good else "FAIL", stem, found))
        ok &= good

    print("self-test %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", nargs="?")
    p.add_argument("--entry")
    p.add_argument("--set", action="append", default=[], metavar="K=V",
                   help="override a constant (passed on to attnc)")
    p.add_argument("--size", action="append", default=[], metavar="S=V",
                   help="extent of a size symbol (defaults: %s)" % SIZES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=1e-9)
    p.add_argument("--attnc", default="attnc")
    p.add_argument("--float-dtype", choices=["f32", "f64"], default="f32",
                   help=".npy dtype of float inputs (values are float32-exact either way)")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    if args.self_test:
        return self_test()
    if not args.file or not args.entry:
        p.error("FILE and --entry are required (or --self-test)")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
