#!/usr/bin/env python3
"""Checks every example program in a Markdown document: check, emit and run.

Each ```attn fenced block must be a complete program that `attnc check`
accepts (exit code 0), that `attnc emit --emit=mlir` lowers, and that
`attnc run --backend=interp` runs on seeded inputs: what the checker accepts
must compile and run. A comment line right before the fence such as

  <!-- attnc run: --set N=128 -->

adds arguments to the run (sizes an example needs). Each ```attn-invalid
block must be rejected by `check` with a diagnostic (exit code 1, something
on stderr); a crash or any other exit code fails.

Every block is written to its own file in a scratch directory laid out like
the repository: the file sits in <tmp>/<dir of the document>/, and the other
top-level entries of the repository are linked next to it, so an
`import "../examples/x.attn"` in docs/Language.md works as it would from
docs/. Run by test/Frontend/docs/doc-examples.test:

  check-doc-examples.py --attnc attnc docs/Language.md
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(attn(?:-invalid)?)[ \t]*\n(.*?)^```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
RUN_ARGS = re.compile(r"<!--\s*attnc run:(.*?)-->\s*\n$")


def run_steps(attnc, path, kind, run_args, out_dir):
    """Yields (command, wanted exit code) for the steps a block must pass."""
    if kind != "attn":
        yield [attnc, "check", path], 1
        return
    yield [attnc, "check", path], 0
    yield [attnc, "emit", "--emit=mlir", "-o", os.devnull, path], 0
    yield [attnc, "run", "--backend=interp", "--output-dir", out_dir] + \
        run_args + [path], 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attnc", default="attnc", help="the attnc binary")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every block's name and result")
    parser.add_argument("docs", nargs="+", help="Markdown files")
    args = parser.parse_args()

    failures = 0
    total = 0
    for doc in args.docs:
        doc = os.path.abspath(doc)
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        doc_dir = os.path.dirname(doc)
        root = os.path.dirname(doc_dir)
        with tempfile.TemporaryDirectory(prefix="attnc-doc-") as tmp:
            work = os.path.join(tmp, os.path.basename(doc_dir))
            os.makedirs(work)
            for entry in os.listdir(root):
                if entry != os.path.basename(doc_dir):
                    os.symlink(os.path.join(root, entry),
                               os.path.join(tmp, entry))
            for match in FENCE.finditer(text):
                total += 1
                kind, body = match.group(1), match.group(2)
                line = text.count("\n", 0, match.start()) + 2
                where = "%s:%d" % (os.path.relpath(doc, root), line)
                path = os.path.join(work, "example-line%d.attn" % line)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(body)
                args_match = RUN_ARGS.search(text, 0, match.start())
                run_args = args_match.group(1).split() if args_match and \
                    args_match.end() == match.start() else []
                out_dir = os.path.join(tmp, "out-line%d" % line)
                os.makedirs(out_dir)
                for cmd, want in run_steps(args.attnc, path, kind, run_args,
                                           out_dir):
                    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
                    ok = proc.returncode == want and (want == 0 or
                                                      proc.stderr)
                    if not ok:
                        break
                step = cmd[1]
                if args.verbose or not ok:
                    print("%s: %s (%s block, attnc %s: exit code %d, "
                          "expected %d)" % (where, "ok" if ok else "FAILED",
                                            kind, step, proc.returncode,
                                            want))
                if not ok:
                    failures += 1
                    # Point diagnostics at the document, not the scratch file.
                    sys.stdout.write(re.sub(
                        re.escape(path) + r":(\d+):",
                        lambda m: "%s:%d:" % (os.path.relpath(doc, root),
                                              line + int(m.group(1)) - 1),
                        proc.stderr))
    print("%d of %d example blocks passed" % (total - failures, total))
    if total == 0:
        print("error: no ```attn blocks found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
