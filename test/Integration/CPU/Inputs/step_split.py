"""Inputs and checks for step.test: a step entry run over N1 + N2 tokens
equals a run over N1 tokens and then, from the states it returned, over N2.

  step_split.py make DIR SEED NAME=SHAPE[:normal|:half|:gate|:rate|:zero] ...
      writes DIR/NAME.npy (float32): standard normal (half: divided by 2),
      uniform in (0.05, 0.95) (gates) or in (0.01, 0.3) (learning rates and
      decays), or zeros; SHAPE is like 1x2x9x64.
  step_split.py split DIR N1 NAME:AXIS ...
      writes DIR/a/NAME.npy (the first N1 steps along AXIS) and DIR/b/NAME.npy
      (the rest); a NAME without AXIS (an initial state) goes to a/ whole.
  step_split.py compare FULL A B NAME:AXIS ...
      checks that FULL/NAME.npy equals A/NAME.npy and B/NAME.npy concatenated
      along AXIS, or, for a NAME without AXIS (a final state), B/NAME.npy;
      prints the largest relative difference and exits 1 above 1e-9.
"""
import os
import sys

import numpy as np


def make(args):
    out, seed, specs = args[0], int(args[1]), args[2:]
    rng = np.random.default_rng(seed)
    os.makedirs(out, exist_ok=True)
    for spec in specs:
        name, rest = spec.split("=")
        shape, _, kind = rest.partition(":")
        shape = tuple(int(s) for s in shape.split("x"))
        if kind == "gate":
            x = rng.uniform(0.05, 0.95, shape)
        elif kind == "rate":
            x = rng.uniform(0.01, 0.3, shape)
        elif kind == "half":
            x = rng.standard_normal(shape) / 2
        elif kind == "zero":
            x = np.zeros(shape)
        else:
            x = rng.standard_normal(shape)
        np.save(os.path.join(out, name + ".npy"), x.astype(np.float32))


def split(args):
    d, n1, specs = args[0], int(args[1]), args[2:]
    for part in "ab":
        os.makedirs(os.path.join(d, part), exist_ok=True)
    for spec in specs:
        name, _, axis = spec.partition(":")
        x = np.load(os.path.join(d, name + ".npy"))
        if not axis:
            np.save(os.path.join(d, "a", name + ".npy"), x)
            continue
        a, b = np.split(x, [n1], axis=int(axis))
        np.save(os.path.join(d, "a", name + ".npy"), a)
        np.save(os.path.join(d, "b", name + ".npy"), b)


def compare(args):
    full, a, b, specs = args[0], args[1], args[2], args[3:]
    worst = 0.0
    for spec in specs:
        name, _, axis = spec.partition(":")
        expected = np.load(os.path.join(full, name + ".npy"))
        got = np.load(os.path.join(b, name + ".npy"))
        if axis:
            got = np.concatenate(
                [np.load(os.path.join(a, name + ".npy")), got], axis=int(axis))
        if got.shape != expected.shape:
            print("%s: shape %s, expected %s" % (name, got.shape,
                                                 expected.shape))
            return 1
        scale = max(np.abs(expected).max(), 1e-30)
        rel = np.abs(got - expected).max() / scale
        print("%s: resumed equals one run, max rel diff %.3g" % (name, rel))
        worst = max(worst, rel)
    return 0 if worst <= 1e-9 else 1


if __name__ == "__main__":
    command = {"make": make, "split": split, "compare": compare}[sys.argv[1]]
    sys.exit(command(sys.argv[2:]))
