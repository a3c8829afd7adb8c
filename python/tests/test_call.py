"""Calling entries: r01 against the interpreter, strides, out=, scalars,
size inference and the errors that name the argument."""

import os
import unittest

import numpy

import support

support.use_private_cache()

import attnc  # noqa: E402

SCALARS = os.path.join(support.ROOT, "test", "Target", "CPU", "Inputs",
                       "scalars.attn")

CHECKS = """
fn next(q: f32[N]) {
  out[i < N] = q[i + 1]
  return out
}
fn pairs(x: f32[M], y: f32[M, 3]) {
  z[m, c] = x[m] * y[m, c]
  return z, sum(m < M) x[m]
}
"""


def _random(shape, seed):
    return numpy.random.default_rng(seed).standard_normal(
        shape).astype(numpy.float32)


class R01Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = attnc.compile(support.R01)

    def test_causal_mha_matches_the_interpreter(self):
        for n in (1, 37, 128):
            q, k, v = (_random((2, 8, n, 64), s) for s in range(3))
            got = self.module.causal_mha(q, k, v)
            self.assertEqual(got.shape, (2, 8, n, 64))
            self.assertEqual(got.dtype, numpy.float32)
            expected = support.interpret(support.R01, "causal_mha",
                                         {"q": q, "k": k, "v": v})["out"]
            self.assertLess(support.relative_error(got, expected),
                            support.TOLERANCE, "N=%d" % n)

    def test_gqa_and_decode_match_the_interpreter(self):
        q = _random((1, 32, 20, 128), 1)
        k, v = _random((1, 8, 20, 128), 2), _random((1, 8, 20, 128), 3)
        got = self.module.causal_gqa(q, k, v)
        expected = support.interpret(support.R01, "causal_gqa",
                                     {"q": q, "k": k, "v": v})["out"]
        self.assertLess(support.relative_error(got, expected),
                        support.TOLERANCE)
        qd = _random((1, 32, 128), 4)
        got = self.module.gqa_decode(qd, k_cache=k, v_cache=v)
        self.assertEqual(got.shape, (1, 32, 128))
        expected = support.interpret(support.R01, "gqa_decode",
                                     {"q": qd, "k_cache": k,
                                      "v_cache": v})["out"]
        self.assertLess(support.relative_error(got, expected),
                        support.TOLERANCE)

    def test_strided_inputs_and_out(self):
        # [B, N, H, D] storage viewed as [B, H, N, D]: no copy is made.
        base = [_random((2, 50, 8, 64), s) for s in range(3)]
        q, k, v = (b.transpose(0, 2, 1, 3) for b in base)
        self.assertFalse(q.flags.c_contiguous)
        dense = self.module.causal_mha(*(numpy.ascontiguousarray(t)
                                         for t in (q, k, v)))
        numpy.testing.assert_allclose(self.module.causal_mha(q, k, v), dense,
                                      rtol=1e-6, atol=1e-6)
        # out= into a strided view of a larger array.
        storage = numpy.full((2, 50, 8, 64), numpy.nan, numpy.float32)
        out = storage.transpose(0, 2, 1, 3)
        self.assertIs(self.module.causal_mha(q, k, v, out=out), out)
        numpy.testing.assert_allclose(out, dense, rtol=1e-6, atol=1e-6)
        # A broadcast input (stride 0) is read, never written.
        row = _random((1, 8, 1, 64), 7)
        wide = numpy.broadcast_to(row, (1, 8, 50, 64))
        numpy.testing.assert_allclose(
            self.module.causal_mha(wide, wide, wide),
            self.module.causal_mha(*(numpy.ascontiguousarray(wide),) * 3),
            rtol=1e-6, atol=1e-6)

    def test_argument_errors_name_the_argument(self):
        q = _random((1, 8, 16, 64), 0)
        mha = self.module.causal_mha
        cases = [
            ((q.astype(numpy.float64), q, q), {},
             attnc.ArgumentTypeError, "input 'q' has dtype float64, "
             r"expected float32 \(q: f32\[B, 8, N, 64\]\)"),
            ((q, q[0], q), {}, attnc.ArgumentError,
             "input 'k' has rank 3"),
            ((q, q, _random((1, 8, 17, 64), 1)), {}, attnc.ArgumentError,
             r"input 'v' \(shape \[1, 8, 17, 64\]\) gives N = 17, but N = 16 "
             r"from input 'q'"),
            ((q, q, _random((1, 4, 16, 64), 1)), {}, attnc.ArgumentError,
             r"input 'v' has shape \[1, 4, 16, 64\], expected "
             r"\[B, 8, N, 64\] = \[1, 8, 16, 64\]"),
            ((q, q), {}, attnc.ArgumentTypeError, "missing the input 'v"),
            ((q, q, q, q), {}, attnc.ArgumentTypeError, "takes 3 inputs"),
            ((q, q, q), {"w": q}, attnc.ArgumentTypeError,
             "no input or size named 'w'"),
            ((q, q, [1.0]), {}, attnc.ArgumentTypeError,
             "input 'v' is a list"),
            ((q, q, q[:, :, :, ::2]), {}, attnc.ArgumentError,
             "input 'v' has shape"),
            ((q, q, q[:, :, ::-1]), {}, attnc.ArgumentError,
             "input 'v' has a negative stride"),
            ((q, q, q), {"out": numpy.empty((1, 8, 16, 64))},
             attnc.ArgumentTypeError, "output 'out' has dtype float64"),
            ((q, q, q), {"out": q}, attnc.ArgumentError,
             "output 'out' overlaps input 'q'"),
            ((q, q, q), {"N": 3}, attnc.ArgumentError,
             r"gives N = 16, but N = 3 from N=3"),
        ]
        for args, kwargs, error, pattern in cases:
            with self.subTest(pattern=pattern):
                with self.assertRaisesRegex(error, pattern):
                    mha(*args, **kwargs)
        wide_rows = numpy.zeros((1, 8, 16, 128), numpy.float32)[..., ::2]
        with self.assertRaisesRegex(attnc.ArgumentError,
                                    "input 'q' has the innermost stride 2"):
            mha(wide_rows, q, q)


class ScalarsAndCodesTest(unittest.TestCase):
    def test_scalar_inputs_and_outputs(self):
        m = attnc.compile(SCALARS)
        x = numpy.arange(4, dtype=numpy.float32)
        s, t = m.mix(x, 0.5, 3, False, 0.25)
        s0, _ = m.mix(x, numpy.float32(0.5), numpy.array(3), True, 0.25)
        self.assertEqual(float(s0), float(s))
        self.assertEqual(float(s), 6 * 0.5 + 3)
        self.assertEqual(float(t), -(6 * 0.5 + 3) + 0.25)
        self.assertEqual(s.shape, ())
        with self.assertRaisesRegex(attnc.ArgumentTypeError,
                                    r"input 'n' is a float, expected a scalar \(n: i32\)"):
            m.mix(x, 0.5, 3.5, False, 0.25)

    def test_codes_and_sizes(self):
        m = attnc.compile(CHECKS)
        with self.assertRaisesRegex(attnc.RuntimeCheckError,
                                    "the compiled 'next' failed a run-time "
                                    r"check \(code 3\)") as caught:
            m.next(numpy.ones(4, numpy.float32))
        self.assertEqual(caught.exception.code, 3)
        self.assertEqual(caught.exception.reason, "check_failed")
        x = numpy.arange(3, dtype=numpy.float32)
        y = numpy.ones((3, 3), numpy.float32)
        z, total = m.pairs(x, y)
        numpy.testing.assert_array_equal(z, x[:, None] * y)
        self.assertEqual(float(total), 3.0)
        self.assertEqual(m.pairs.output_shapes(x, y), [(3, 3), ()])
        # Empty inputs are fine: M = 0.
        z, total = m.pairs(x[:0], y[:0])
        self.assertEqual(z.shape, (0, 3))
        self.assertEqual(float(total), 0.0)


    def test_each_layout_is_checked(self):
        # A repeated call reuses what the first learnt of its layout; a new
        # shape, or an array subclass, is checked again.
        m = attnc.compile(CHECKS)

        class Sub(numpy.ndarray):
            pass

        for n in (2, 5, 2):
            x = numpy.arange(n, dtype=numpy.float32).view(Sub)
            z, total = m.pairs(x, numpy.ones((n, 3), numpy.float32))
            self.assertEqual(z.shape, (n, 3))
            self.assertEqual(float(total), n * (n - 1) / 2)
        with self.assertRaisesRegex(attnc.ArgumentError, "input 'y' has shape"):
            m.pairs(numpy.ones(2, numpy.float32),
                    numpy.ones((2, 4), numpy.float32))

if __name__ == "__main__":
    unittest.main()
