"""What the tests of the attnc package share: a private cache, the
compiler, the examples, and the float64 interpreter as the oracle."""

import os
import shutil
import subprocess
import tempfile

import numpy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
R01 = os.path.join(EXAMPLES, "r01_causal_gqa.attn")

# The tolerance of the CPU back end against the float64 interpreter in the
# integration tests (test/Integration/CPU): relative to the largest
# magnitude of the reference.
TOLERANCE = 1e-4

_cache = None


def use_private_cache():
    """Points the package at a fresh cache directory, removed at exit."""
    global _cache
    if _cache is None:
        _cache = tempfile.mkdtemp(prefix="attnc-pytest-cache-")
        import atexit
        atexit.register(shutil.rmtree, _cache, True)
    os.environ["ATTNC_CACHE_DIR"] = _cache
    return _cache


def compiler():
    import attnc.compiler
    return attnc.compiler.find_compiler()


def interpret(path, entry, inputs, sizes=None):
    """The results of `attnc run --backend=interp` on named numpy inputs,
    by result name."""
    work = tempfile.mkdtemp(prefix="attnc-pytest-run-")
    try:
        command = [compiler(), "run", "--backend=interp", path,
                   "--entry", entry, "--output-dir", os.path.join(work, "out")]
        for name, array in inputs.items():
            file = os.path.join(work, name + ".npy")
            numpy.save(file, array)
            command += ["--input", "%s=%s" % (name, file)]
        for name, value in (sizes or {}).items():
            command += ["--set", "%s=%d" % (name, value)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        out = os.path.join(work, "out")
        return {f[:-4]: numpy.load(os.path.join(out, f))
                for f in os.listdir(out)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def relative_error(got, expected):
    scale = float(numpy.max(numpy.abs(expected))) if expected.size else 0.0
    diff = float(numpy.max(numpy.abs(got.astype(numpy.float64) - expected))) \
        if expected.size else 0.0
    return diff / scale if scale > 0 else diff
