#!/usr/bin/env python3
# ===- utils/randprog/reduce.py - Delta reduction of a failing program ------===#
#
# Part of the attnc project, under the Apache License v2.0.
# SPDX-License-Identifier: Apache-2.0
#
# ===-----------------------------------------------------------------------===#
"""Shrinks an attnc program while `attnc run --compare=interp` still fails.

Also the oracle that run.py uses: run_program() runs a program as

  attnc run --backend=cpu --compare=interp --tolerance T ARGS FILE

(ARGS from the program's '# ARGS:' line) with a timeout, and classify()
names the outcome:

  pass         exit 0
  mismatch     exit 1, "differs from the interpreter" (above the tolerance)
  crash        a signal, an exit code other than 0, 1 and 2, or an internal
               error / LLVM error / assertion / stack dump in the output
  hang         the timeout expired
  usage        exit 2 (a usage error: a bug of the generator or the driver)
  unsupported  exit 1 with "not supported yet" (reported, not a failure)
  error        any other exit 1: `attnc check` rejects the program (a
               generator bug) or a run-time check failed in one back end

The reduction keeps a candidate when it fails the same way (the same kind;
for a crash or an error, the same first error message with positions and
numbers masked). It repeats these passes until none makes progress:
remove a block (a fn, a scan, an attend) or a line, drop a returned value,
drop a parameter, drop an operand of + - * && || or unwrap a one-argument
call, lower integer constants, the run-time sizes of ARGS and float
literals, and drop --scan-chunk.

  utils/randprog/reduce.py --attnc build/bin/attnc FAILING.attn -o MIN.attn
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

DEFAULT_TOLERANCE = 1e-4


def parse_args_line(text):
    for line in text.splitlines():
        if line.startswith("# ARGS:"):
            return shlex.split(line[len("# ARGS:"):])
    return []


def with_args_line(text, args):
    lines = [ln for ln in text.splitlines() if not ln.startswith("# ARGS:")]
    return "# ARGS: %s\n" % " ".join(args) + "\n".join(lines) + "\n"


class Result:
    def __init__(self, kind, rc, output, seconds, signature=""):
        self.kind = kind
        self.rc = rc
        self.output = output
        self.seconds = seconds
        self.signature = signature

    def worst_rel(self):
        errs = [float("inf") if m == "nan" else float(m)
                for m in re.findall(r"max_rel_err (\S+)", self.output)]
        return max(errs) if errs else None


CRASH_PATTERNS = ["internal error", "Stack dump", "LLVM ERROR", "Assertion",
                  "PLEASE submit", "UNREACHABLE", "Segmentation fault", "terminate called"]


def signature_of(output):
    """The first error line, with positions, numbers and names masked."""
    for line in output.splitlines():
        if "error" in line or any(p in line for p in CRASH_PATTERNS):
            s = re.sub(r"^\S*:\d+:\d+: ", "", line)
            s = re.sub(r"'[^']*'", "'_'", s)
            s = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", s)
            return s.strip()
    return ""


def run_attnc(attnc, argv, timeout, cwd):
    # A relative path (--attnc build/bin/attnc) is the caller's, not cwd's.
    if os.sep in attnc:
        attnc = os.path.abspath(attnc)
    t0 = time.time()
    try:
        p = subprocess.run([attnc] + argv, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout.decode("utf-8", "replace"), time.time() - t0
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return None, out, time.time() - t0


def run_program(attnc, text, tolerance=DEFAULT_TOLERANCE, timeout=60, workdir=None,
                args=None):
    """Runs the comparison on a program text; returns a Result."""
    own = workdir is None
    d = tempfile.mkdtemp(prefix="randprog-") if own else workdir
    try:
        path = os.path.join(d, "prog.attn")
        with open(path, "w") as f:
            f.write(text)
        if args is None:
            args = parse_args_line(text)
        argv = ["run", "--backend=cpu", "--compare=interp", "--tolerance=%g" % tolerance,
                "--output-dir", os.path.join(d, "out")] + args + [path]
        rc, out, secs = run_attnc(attnc, argv, timeout, d)
        return classify(attnc, rc, out, secs, path, timeout, d)
    finally:
        if own:
            subprocess.run(["rm", "-rf", d])


def classify(attnc, rc, out, secs, path, timeout, cwd):
    if rc is None:
        return Result("hang", rc, out, secs, "timeout")
    crashed = rc < 0 or rc not in (0, 1, 2) or any(p in out for p in CRASH_PATTERNS)
    if crashed:
        sig = signature_of(out) or ("signal %d" % -rc if rc < 0 else "exit %d" % rc)
        # A crash counts only on a program that `attnc check` accepts.
        crc, cout, _ = run_attnc(attnc, ["check", path], timeout, cwd)
        if crc == 1 and not any(p in cout for p in CRASH_PATTERNS):
            return Result("error", rc, out + "\n[check]\n" + cout, secs, "check: " + signature_of(cout))
        return Result("crash", rc, out, secs, sig)
    if rc == 0:
        return Result("pass", rc, out, secs)
    if rc == 2:
        return Result("usage", rc, out, secs, signature_of(out))
    if "differs from the interpreter" in out:
        return Result("mismatch", rc, out, secs, "mismatch")
    if "not supported yet" in out:
        return Result("unsupported", rc, out, secs, signature_of(out))
    crc, cout, _ = run_attnc(attnc, ["check", path], timeout, cwd)
    if crc != 0:
        return Result("error", rc, out, secs, "check: " + signature_of(cout))
    return Result("error", rc, out, secs, signature_of(out))


# -- candidate edits ------------------------------------------------------------

OPEN = "([{"
CLOSE = ")]}"


def top_level_splits(s, ops=(" + ", " - ", " * ", " && ", " || ", " / ")):
    """Positions (start, end) of the binary operators of s outside brackets."""
    out = []
    depth = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth -= 1
        elif depth == 0:
            for op in ops:
                if s.startswith(op, i):
                    out.append((i, i + len(op)))
                    i += len(op) - 1
                    break
        i += 1
    return out


def rhs_span(line):
    """The expression part of a statement or clause line."""
    m = re.match(r"^(\s*(?:score|mask|value|emit|return)\s+)(.*)$", line)
    if m:
        return len(m.group(1)), len(line)
    depth = 0
    for i, c in enumerate(line):
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth -= 1
        elif c == "=" and depth == 0 and line[i - 1:i] not in "<>!=" and line[i + 1:i + 2] != "=":
            return i + 1, len(line)
    return None


def expr_edits(expr):
    """Smaller variants of an expression string."""
    out = []
    # drop one operand (with its operator) at every nesting level
    def walk(s, base):
        splits = top_level_splits(s)
        if splits:
            bounds = [0] + [x for sp in splits for x in sp] + [len(s)]
            operands = [(bounds[2 * k], bounds[2 * k + 1]) for k in range(len(splits) + 1)]
            for k, (a, b) in enumerate(operands):
                if k == 0:
                    cut = (a, splits[0][1])
                else:
                    cut = (splits[k - 1][0], b)
                out.append((base + cut[0], base + cut[1], ""))
        # recurse into parentheses
        depth = 0
        start = None
        for i, c in enumerate(s):
            if c == "(":
                if depth == 0:
                    start = i
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0 and start is not None:
                    walk(s[start + 1:i], base + start + 1)
    walk(expr, 0)
    # unwrap one-argument calls and parentheses
    for m in re.finditer(r"\b([a-z_][a-z_0-9]*)?\(", expr):
        start = m.start()
        depth = 0
        j = m.end() - 1
        comma = False
        for j in range(m.end() - 1, len(expr)):
            c = expr[j]
            if c in OPEN:
                depth += 1
            elif c in CLOSE:
                depth -= 1
                if depth == 0:
                    break
            elif c == "," and depth == 1:
                comma = True
        if depth != 0 or comma:
            continue
        inner = expr[m.end():j]
        out.append((start, j + 1, "(%s)" % inner if m.group(1) else inner))
    res = []
    for a, b, rep in out:
        cand = (expr[:a] + rep + expr[b:]).strip()
        if cand and cand != expr.strip():
            res.append(expr[:a] + rep + expr[b:])
    return res


def block_spans(lines):
    """(first, last) line spans of brace blocks and of single statements."""
    spans = []
    for i, ln in enumerate(lines):
        opens = ln.count("{") - ln.count("}")
        if opens > 0:
            depth = 0
            for j in range(i, len(lines)):
                depth += lines[j].count("{") - lines[j].count("}")
                if depth <= 0:
                    spans.append((i, j))
                    break
    return spans


def candidates(text, args):
    """Yields (text, args) candidates, the largest reductions first."""
    lines = text.splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")]
    def mk(b, a=args):
        return with_args_line("\n".join([h for h in header if not h.startswith("# ARGS:")] + b), a)
    # blocks, largest first, then single lines from the end
    spans = sorted(block_spans(body), key=lambda s: s[0] - s[1])
    for a, b in spans:
        yield mk(body[:a] + body[b + 1:])
    for i in reversed(range(len(body))):
        if body[i].strip() in ("", "}") or body[i].rstrip().endswith("{"):
            if body[i].strip() == "":
                yield mk(body[:i] + body[i + 1:])
            continue
        yield mk(body[:i] + body[i + 1:])
    # returned values
    for i, ln in enumerate(body):
        m = re.match(r"^(\s*return\s+)(.*)$", ln)
        if m:
            items = [x.strip() for x in m.group(2).split(",")]
            if len(items) > 1:
                for k in range(len(items)):
                    rest = items[:k] + items[k + 1:]
                    yield mk(body[:i] + [m.group(1) + ", ".join(rest)] + body[i + 1:])
    # parameters
    for i, ln in enumerate(body):
        m = re.match(r"^(fn\s+\w+(?:<[^>]*>)?\()(.*)(\)\s*(?:\{|=).*)$", ln)
        if not m:
            continue
        groups = split_params(m.group(2))
        for g in range(len(groups)):
            names, ty = groups[g]
            for n in range(len(names)):
                ng = [(list(ns), t) for ns, t in groups]
                del ng[g][0][n]
                if not ng[g][0]:
                    del ng[g]
                ptxt = ", ".join("%s: %s" % (", ".join(ns), t) for ns, t in ng)
                yield mk(body[:i] + [m.group(1) + ptxt + m.group(3)] + body[i + 1:])
    # expressions
    for i, ln in enumerate(body):
        span = rhs_span(ln)
        if not span or ln.lstrip().startswith(("fn ", "return", "state ")):
            continue
        a, b = span
        for e in expr_edits(ln[a:b]):
            yield mk(body[:i] + [ln[:a] + e] + body[i + 1:])
    # integer constants in <...> and in extents/windows
    for i, ln in enumerate(body):
        for m in re.finditer(r"\b(\w+) = (\d+)\b", ln) if ln.startswith("fn ") else []:
            v = int(m.group(2))
            for nv in sorted({1, 2, v // 2, v - 1}):
                if 0 < nv < v:
                    yield mk(body[:i] + [ln[:m.start(2)] + str(nv) + ln[m.end(2):]] + body[i + 1:])
    # sizes in ARGS
    for k, a in enumerate(args):
        m = re.match(r"^(\w+)=(\d+)$", a)
        if m and k > 0 and args[k - 1] == "--set":
            v = int(m.group(2))
            for nv in sorted({1, 2, 3, v // 2, v - 1, 63, 64, 65}):
                if 0 < nv < v:
                    na = list(args)
                    na[k] = "%s=%d" % (m.group(1), nv)
                    yield mk(body, na)
        if a.startswith("--scan-chunk"):
            yield mk(body, args[:k] + args[k + 1:])
    # float literals
    for i, ln in enumerate(body):
        for m in re.finditer(r"(?<![\w.])(\d+\.\d+|\d+\.\d*e[-+]?\d+)(?![\w.])", ln):
            if m.group(1) not in ("1.0", "0.5"):
                yield mk(body[:i] + [ln[:m.start()] + "1.0" + ln[m.end():]] + body[i + 1:])


def split_params(s):
    """'q, k: f32[N, D], a: f32' -> [(['q', 'k'], 'f32[N, D]'), (['a'], 'f32')]."""
    parts = []
    depth = 0
    cur = ""
    for c in s:
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur.strip())
    groups = []
    pending = []
    for p in parts:
        if ":" in p:
            name, ty = p.split(":", 1)
            groups.append((pending + [name.strip()], ty.strip()))
            pending = []
        else:
            pending.append(p)
    return groups


def reduce_program(text, still_fails, budget=300.0, log=None):
    """Greedy delta reduction: returns the smallest failing text found."""
    t0 = time.time()
    args = parse_args_line(text)
    cur = with_args_line(text, args)
    tries = 0
    seen = set()   # candidates that did not fail
    progress = True
    while progress and time.time() - t0 < budget:
        # one round: walk the candidates; after a success, go on at the same
        # position in the new program's list (ddmin's complement order)
        progress = False
        cands = list(candidates(cur, parse_args_line(cur)))
        i = 0
        while i < len(cands) and time.time() - t0 < budget:
            cand = cands[i]
            i += 1
            if cand == cur or cand in seen:
                continue
            tries += 1
            if not still_fails(cand):
                seen.add(cand)
            else:
                if log:
                    log("reduce: %d -> %d bytes (%d tries)" % (len(cur), len(cand), tries))
                cur = cand
                progress = True
                cands = list(candidates(cur, parse_args_line(cur)))
                i = max(0, i - 1)
    return cur


def same_failure(attnc, first, tolerance, timeout):
    def finite(r):
        w = r.worst_rel()
        return w is not None and w != float("inf")

    def pred(text):
        r = run_program(attnc, text, tolerance, timeout)
        if r.kind != first.kind:
            return False
        if r.kind == "mismatch":
            # an error of the same order: a finite error must not turn into
            # an infinite one (a different failure, such as a new 0 / 0)
            return finite(r) == finite(first)
        return r.kind == "hang" or r.signature == first.signature
    return pred


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--attnc", default="attnc")
    ap.add_argument("-o", "--output", help="the minimized program (default: stdout)")
    ap.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--budget", type=float, default=600, help="seconds of reduction")
    a = ap.parse_args(argv)
    with open(a.file) as f:
        text = f.read()
    first = run_program(a.attnc, text, a.tolerance, a.timeout)
    if first.kind in ("pass", "unsupported"):
        print("reduce.py: %s does not fail (%s)" % (a.file, first.kind), file=sys.stderr)
        return 1
    print("reduce.py: %s: %s %s" % (a.file, first.kind, first.signature), file=sys.stderr)
    out = reduce_program(text, same_failure(a.attnc, first, a.tolerance, a.timeout),
                         a.budget, lambda m: print(m, file=sys.stderr))
    if a.output:
        with open(a.output, "w") as f:
            f.write(out)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
