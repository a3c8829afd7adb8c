"""Prints an attnc build's NAME.json in a line-oriented form for FileCheck,
and checks that every function it names is declared in NAME.h."""
import json
import re
import sys

description = json.load(open(sys.argv[1]))
header = open(sys.argv[2]).read()
print("format %d, library %s" % (description["format"], description["library"]))
codes = description["error_codes"]
print("codes " + " ".join("%s=%s" % (k, codes[k]) for k in sorted(codes)))
for entry in description["entries"]:
    functions = entry["functions"]
    print("%s: sizes %s; functions %s" % (
        entry["name"], " ".join(entry["sizes"]),
        " ".join(functions[k] for k in ("dense", "strided", "packed", "packed_strided"))))
    for kind in ("inputs", "outputs"):
        for t in entry[kind]:
            print("  %s %s %s %s" % (kind[:-4] if kind == "inputs" else "out",
                                     t["name"], t["dtype"], t["shape"]))
    for f in functions.values():
        if not re.search(r"\bint32_t %s\(" % re.escape(f), header):
            sys.exit("%s is not declared in %s" % (f, sys.argv[2]))
print("every entry and function is declared in the header")
