#!/usr/bin/env python3
"""Issue 13's target: what calling r01 from Python through attnc.compile
adds over the C call, at N = 128 (B = 1, H = 8, D = 64).

Every variant calls the same compiled causal_mha, interleaved in blocks, and
the medians of single-call times are compared:

  c_packed      the C function causal_mha_packed through a bare ctypes call
                with prebuilt arguments: the C call, plus one ctypes crossing
  ctypes_noop   a bare ctypes call of a C function that does nothing (libc
                `labs`): the cost of that crossing
  numpy         module.causal_mha(q, k, v): checks, size binding, a new output
  numpy_out     module.causal_mha(q, k, v, out=o)
  torch         the same on torch CPU tensors, a torch output
  torch_op      torch.ops.attnc.causal_mha (attnc.torch.as_op)

overhead = median(variant) - median(c_packed) + median(ctypes_noop): the
time a Python caller spends beyond the C function itself.

    /usr/bin/python3 bench/python_call.py [--calls 4000] [--threads 1]
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=4000,
                        help="timed calls per variant (default 4000)")
    parser.add_argument("--block", type=int, default=50,
                        help="calls per variant before switching (50)")
    parser.add_argument("--N", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads of the library (default 1)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of a table")
    args = parser.parse_args()
    # Read by the OpenMP runtime when the library starts it.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import numpy
    import attnc
    try:
        import torch
        import attnc.torch  # noqa: F401
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None

    module = attnc.compile(os.path.join(ROOT, "examples",
                                        "r01_causal_gqa.attn"),
                           entry="causal_mha")
    entry = module.causal_mha
    rng = numpy.random.default_rng(0)
    shape = (1, 8, args.N, 64)
    q, k, v = (rng.standard_normal(shape, dtype=numpy.float32)
               for _ in range(3))
    out = numpy.empty(shape, numpy.float32)

    packed = module._cdll.causal_mha_packed
    packed.restype = ctypes.c_int32
    packed.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    pointers = (ctypes.c_void_p * 4)(q.ctypes.data, k.ctypes.data,
                                     v.ctypes.data, out.ctypes.data)
    sizes = (ctypes.c_int64 * 2)(1, args.N)
    labs = ctypes.CDLL(None).labs
    labs.restype = ctypes.c_long
    labs.argtypes = [ctypes.c_long]

    variants = {
        "c_packed": lambda: packed(pointers, sizes),
        "ctypes_noop": lambda: labs(-1),
        "numpy": lambda: entry(q, k, v),
        "numpy_out": lambda: entry(q, k, v, out=out),
    }
    if torch is not None:
        tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
        op = attnc.torch.as_op(entry)
        variants["torch"] = lambda: entry(tq, tk, tv)
        variants["torch_op"] = lambda: op(tq, tk, tv)

    reference = entry(q, k, v)
    packed(pointers, sizes)
    assert numpy.array_equal(out, reference), "the variants disagree"

    samples = {name: [] for name in variants}
    clock = time.perf_counter_ns
    for fn in variants.values():  # warm-up
        for _ in range(args.block):
            fn()
    for _ in range(max(1, args.calls // args.block)):
        for name, fn in variants.items():
            times = samples[name]
            for _ in range(args.block):
                start = clock()
                fn()
                times.append(clock() - start)
    medians = {name: statistics.median(t) / 1e3 for name, t in samples.items()}
    base = medians["c_packed"] - medians["ctypes_noop"]
    overheads = {name: medians[name] - base for name in medians
                 if name not in ("c_packed", "ctypes_noop")}
    if args.json:
        print(json.dumps({"N": args.N, "threads": args.threads,
                          "median_us": medians, "c_call_us": base,
                          "overhead_us": overheads}))
        return
    print("r01 causal_mha, B=1 H=8 N=%d D=64, %d thread(s), %d calls per "
          "variant" % (args.N, args.threads, len(samples["c_packed"])))
    print("| variant | median µs/call | overhead over the C call (µs) |")
    print("|---|---:|---:|")
    print("| C call (c_packed - ctypes_noop) | %.1f | - |" % base)
    for name in variants:
        print("| %s | %.1f | %s |" % (name, medians[name],
                                      "%.1f" % overheads[name]
                                      if name in overheads else "-"))


if __name__ == "__main__":
    main()
