"""Checks tempered's out.npy against numpy: softmax(q k^T * g) v in float64.

usage: scalars_check.py DIR   (DIR holds q.npy, k.npy, v.npy, g.npy, out.npy)
"""

import sys

import numpy

d = sys.argv[1]
q, k, v, g = (numpy.load(f"{d}/{n}.npy").astype(numpy.float64) for n in "qkvg")
assert g.shape == (), g.shape
s = q @ k.T * g
p = numpy.exp(s - s.max(axis=1, keepdims=True))
want = p / p.sum(axis=1, keepdims=True) @ v
got = numpy.load(f"{d}/out.npy")
err = numpy.abs(got - want).max()
print(f"numpy: max abs error {'<= 1e-5' if err <= 1e-5 else err}")
