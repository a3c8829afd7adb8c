"""attnc.compile: sources and paths, constants, diagnostics, the cache."""

import os
import subprocess
import unittest
from unittest import mock

import numpy

import support

support.use_private_cache()

import attnc  # noqa: E402

SCALE = """
fn scale<C = 2>(x: f32[N]) {
  y[i] = x[i] * C
  return y
}
"""


class CompileTest(unittest.TestCase):
    def test_source_text_and_constants(self):
        m = attnc.compile(SCALE)
        x = numpy.arange(5, dtype=numpy.float32)
        numpy.testing.assert_array_equal(m.scale(x), x * 2)
        m3 = attnc.compile(SCALE, C=3)
        numpy.testing.assert_array_equal(m3.scale(x), x * 3)
        self.assertNotEqual(m.directory, m3.directory)

    def test_second_compile_is_a_cache_hit(self):
        first = attnc.compile(support.R01, entry="causal_mha")
        # A hit runs no compiler at all.
        with mock.patch.object(subprocess, "run",
                               side_effect=AssertionError("ran attnc")):
            second = attnc.compile(support.R01, entry="causal_mha")
        self.assertEqual(first.directory, second.directory)
        # Another entry, CPU or chunk size is another library.
        other = attnc.compile(support.R01, entry="gqa_decode")
        self.assertNotEqual(first.directory, other.directory)
        self.assertEqual(list(other.entries), ["gqa_decode"])

    def test_imports_are_part_of_the_key(self):
        work = os.path.join(support.use_private_cache(), "imports")
        os.makedirs(work, exist_ok=True)
        main = os.path.join(work, "main.attn")
        with open(main, "w") as f:
            f.write('import "lib.attn"\nfn g(x: f32[N]) {\n'
                    '  y[i] = x[i] * K\n  return y\n}\n')
        lib = os.path.join(work, "lib.attn")
        x = numpy.ones(3, dtype=numpy.float32)
        with open(lib, "w") as f:
            f.write("const K = 2\n")
        self.assertEqual(attnc.compile(main).g(x).tolist(), [2, 2, 2])
        with open(lib, "w") as f:
            f.write("const K = 5\n")
        self.assertEqual(attnc.compile(main).g(x).tolist(), [5, 5, 5])

    def test_diagnostics(self):
        with self.assertRaises(attnc.CompileError) as caught:
            attnc.compile("fn f(x: f32[N]) {\n  return x[i, j]\n}\n")
        message = str(caught.exception)
        self.assertIn("source.attn:2:", message)
        self.assertIn("error:", message)
        self.assertIn("^", message)  # the caret under the column

    def test_bad_arguments(self):
        with self.assertRaisesRegex(attnc.AttncError, "no such file"):
            attnc.compile("/nonexistent/program.attn")
        with self.assertRaisesRegex(attnc.AttncError, "not supported yet"):
            attnc.compile(SCALE, target="cuda")
        with self.assertRaisesRegex(TypeError, "must be an int or a float"):
            attnc.compile(SCALE, C="two")
        with self.assertRaises(attnc.CompileError):
            attnc.compile(SCALE, NoSuchConstant=1)

    def test_load_a_built_library(self):
        work = os.path.join(support.use_private_cache(), "built")
        os.makedirs(work, exist_ok=True)
        subprocess.run([support.compiler(), "build", "--target=cpu", "-o",
                        os.path.join(work, "libr01.so"), support.R01],
                       check=True)
        m = attnc.load(os.path.join(work, "libr01.so"))
        self.assertEqual(sorted(m.entries),
                         ["causal_gqa", "causal_mha", "gqa_decode"])
        self.assertEqual(attnc.load(work).library_path, m.library_path)
        with self.assertRaisesRegex(AttributeError, "no entry 'nope'"):
            m.nope


if __name__ == "__main__":
    unittest.main()
