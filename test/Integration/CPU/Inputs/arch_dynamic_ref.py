"""float64 numpy references for arch-dynamic.test (argument: its %t)."""
import os
import sys

import numpy as np

t = sys.argv[1]


def load(name):
    return np.load(os.path.join(t, name)).astype(np.float64)


def report(what, got, want, tol=1e-5):
    err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
    print("%s %s (%.3g)" % (what, "ok" if err <= tol else "FAILED", err))


# pos_enc: x + sin(p w(f)) for even f, cos(p w(f - 1)) for odd f,
# w(f) = 10000^(-f / D).
x = load("x3.npy")
_, n, d = x.shape
p = np.arange(n)[:, None]
f = np.arange(d)[None, :]
angle = p * 10000.0 ** (-(f - f % 2) / d)
report("pe", load("pe/output.npy"), x + np.where(f % 2 == 0, np.sin(angle),
                                                  np.cos(angle)))

# scaled_dot_product of x and x^T over the last two dimensions.
x = load("x4.npy")
report("scores", load("scores/output.npy"),
       x @ np.swapaxes(x, 2, 3) / np.sqrt(x.shape[-1]))

# im2col(2): [B, C, H, W] -> [B, (H/2)(W/2), C*2*2], patches row-major.
img = load("img.npy")
b, c, h, w = img.shape
want = img.reshape(b, c, h // 2, 2, w // 2, 2).transpose(0, 2, 4, 1, 3, 5)
report("patches", load("patches/output.npy"),
       want.reshape(b, (h // 2) * (w // 2), c * 4))
report("roundtrip", load("roundtrip/output.npy"), img, 0)
