#!/usr/bin/env python3
"""Writes small 1-d or 2-d .npy files (v1.0, C order) without numpy.

  write_npy.py OUT.npy DTYPE SHAPE VALUES...    e.g. b.npy i4 3 2 0 4

DTYPE is i4 (int32) or f4 (float32); SHAPE is "3" or "3x4".
"""

import struct
import sys


def main():
    path, dtype, shape = sys.argv[1], sys.argv[2], tuple(int(d) for d in sys.argv[3].split("x"))
    values = sys.argv[4:]
    count = 1
    for d in shape:
        count *= d
    if len(values) != count or dtype not in ("i4", "f4"):
        sys.exit("write_npy.py: %d values for shape %s, dtype %s" % (len(values), shape, dtype))
    header = "{'descr': '<%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, "".join("%d, " % d for d in shape) if len(shape) == 1 else ", ".join(map(str, shape)))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    fmt, conv = ("<%di" % count, int) if dtype == "i4" else ("<%df" % count, float)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack(fmt, *(conv(v) for v in values)))


if __name__ == "__main__":
    main()
