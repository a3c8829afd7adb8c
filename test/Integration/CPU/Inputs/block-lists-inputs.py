#!/usr/bin/env python3
"""Inputs for block-lists.test: block-lists-inputs.py DIR B H N D DOCS BS SEED.

Writes DIR/{q,k,v}.npy (f32 [B, H, N, D]) and, for each batch row, DOCS
documents of random lengths (some empty, so ids skip values):
  doc.npy    i32 [B, N]     sorted document ids
  docf.npy   f32 [B, N]     the same as floats, with a NaN, -0.0 and +0.0
  docmax.npy i32 [B, N]     ids next to INT_MIN and INT_MAX (doc + 1 wraps)
  valid.npy  bool [B, N]    about 80% true
  seg.npy    i32 [B, H, N]  sorted per head, different per head
  keep.npy   bool [B, H, M, M], M = ceil(N / BS), about 10% true
"""

import os
import sys

import numpy as np


def ids(r, n, docs):
    cuts = np.sort(r.integers(0, n + 1, size=docs - 1))
    out = np.zeros(n, dtype=np.int64)
    for c in cuts:
        out[c:] += 1
    return out


def main():
    d = sys.argv[1]
    B, H, N, D, docs, BS, seed = (int(x) for x in sys.argv[2:9])
    r = np.random.default_rng(seed)
    os.makedirs(d, exist_ok=True)
    for n in "qkv":
        np.save(os.path.join(d, n + ".npy"), r.standard_normal((B, H, N, D)).astype(np.float32))
    doc = np.stack([ids(r, N, docs) for _ in range(B)])
    np.save(os.path.join(d, "doc.npy"), doc.astype(np.int32))
    docf = doc.astype(np.float32)
    if N > 3:
        docf[0, N // 2] = np.nan
        docf[-1, :N // 3] = np.where(np.arange(N // 3) % 2 == 0, -0.0, 0.0)
    np.save(os.path.join(d, "docf.npy"), docf)
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    docmax = np.where(doc % 2 == 0, hi - (doc // 2) % 2, lo + doc % 3)
    np.save(os.path.join(d, "docmax.npy"), docmax.astype(np.int32))
    np.save(os.path.join(d, "valid.npy"), r.random((B, N)) < 0.8)
    seg = np.stack([np.stack([ids(r, N, docs + h) for h in range(H)]) for _ in range(B)])
    np.save(os.path.join(d, "seg.npy"), seg.astype(np.int32))
    M = -(-N // BS)
    np.save(os.path.join(d, "keep.npy"), r.random((B, H, M, M)) < 0.1)


if __name__ == "__main__":
    main()
