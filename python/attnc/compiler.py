"""Running `attnc build`, with a content-addressed cache of its libraries.

The cache key is a SHA-256 over everything that decides the library: the
source text and the files it imports (transitively), the constants, the
entry, the target, the CPU (its name and, for the default `native`, the
host's model and feature flags), the scan chunk, and the compiler itself
(the bytes of the binary, so that a rebuilt compiler misses). A hit loads
the cached library without running the compiler.

The cache lives in $ATTNC_CACHE_DIR, else $XDG_CACHE_HOME/attnc, else
~/.cache/attnc. Each library is built in a fresh temporary directory and
renamed into place, so that concurrent compiles of the same program and an
interrupted one never leave a half-written entry.
"""

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile

from .errors import AttncError, CompileError

# The library name inside every cache entry: libattnc_module.so and
# attnc_module.json, attnc_module.h.
LIBRARY_NAME = "attnc_module"

_IMPORT = re.compile(r'^\s*import\s+"([^"]*)"', re.MULTILINE)


def find_compiler():
    """The attnc binary: $ATTNC, else the build tree beside this package
    ($BUILD_DIR or build/, as scripts/build.sh makes it), else `attnc` on
    PATH."""
    explicit = os.environ.get("ATTNC")
    if explicit:
        return explicit
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    build_dir = os.environ.get("BUILD_DIR", "build")
    candidate = os.path.join(root, build_dir, "bin", "attnc")
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("attnc")
    if found:
        return found
    raise AttncError("cannot find the attnc compiler: set ATTNC to its path, "
                     "build it with scripts/build.sh, or put it on PATH")


def cache_dir():
    explicit = os.environ.get("ATTNC_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "attnc")


_compiler_digests = {}


def _compiler_digest(path):
    """The SHA-256 of the compiler binary, once per (path, size, mtime)."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    digest = _compiler_digests.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = _compiler_digests[key] = h.hexdigest()
    return digest


def _host_cpu():
    """What `--cpu=native` compiles for: the model and the feature flags."""
    model, flags = "", ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                field = line.split(":", 1)
                if len(field) != 2:
                    continue
                name = field[0].strip()
                if name == "model name" and not model:
                    model = field[1].strip()
                elif name in ("flags", "Features") and not flags:
                    flags = field[1].strip()
                if model and flags:
                    break
    except OSError:
        pass
    return "%s|%s|%s" % (platform.machine(), model, flags)


def _imported_texts(path, text, seen):
    """(path, text) of every file `text` imports, transitively, in order;
    an import that cannot be read is left to the compiler to report."""
    out = []
    for spelling in _IMPORT.findall(text):
        target = spelling if os.path.isabs(spelling) or path is None else \
            os.path.join(os.path.dirname(path), spelling)
        target = os.path.realpath(target)
        if target in seen:
            continue
        seen.add(target)
        try:
            with open(target, encoding="utf-8", errors="replace") as f:
                imported = f.read()
        except OSError:
            continue
        out.append((target, imported))
        out.extend(_imported_texts(target, imported, seen))
    return out


def _format_constant(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("the constant %s must be an int or a float, not %r" %
                        (name, value))
    return "%s=%s" % (name, repr(value))


def build(source_path, source_text, target, entry, cpu, scan_chunk, consts):
    """The directory of a library of the program (built now or cached)."""
    if target != "cpu":
        raise AttncError("not supported yet: target %r (the targets are: "
                         "'cpu')" % (target,))
    compiler = find_compiler()
    settings = [_format_constant(k, v) for k, v in sorted(consts.items())]
    imports = _imported_texts(source_path, source_text, set())
    key_material = {
        "source": source_text,
        "path": os.path.realpath(source_path) if source_path else None,
        "imports": imports,
        "constants": settings,
        "entry": entry,
        "target": target,
        "cpu": cpu or "native",
        "host": _host_cpu() if cpu in (None, "native") else None,
        "scan_chunk": scan_chunk,
        "compiler": _compiler_digest(compiler),
    }
    key = hashlib.sha256(json.dumps(key_material, sort_keys=True)
                         .encode()).hexdigest()
    root = cache_dir()
    final = os.path.join(root, key[:2], key)
    if os.path.isfile(os.path.join(final, LIBRARY_NAME + ".json")):
        return final

    os.makedirs(os.path.dirname(final), exist_ok=True)
    work = tempfile.mkdtemp(prefix="build-", dir=os.path.dirname(final))
    try:
        if source_path is None:
            source_path = os.path.join(work, "source.attn")
            with open(source_path, "w", encoding="utf-8") as f:
                f.write(source_text)
        command = [compiler, "build", "--target=" + target,
                   "-o", os.path.join(work, "lib%s.so" % LIBRARY_NAME)]
        if entry is not None:
            command += ["--entry", entry]
        command += ["--set=" + s for s in settings]
        if cpu is not None:
            command.append("--cpu=" + cpu)
        if scan_chunk is not None:
            command.append("--scan-chunk=%s" % scan_chunk)
        command.append(source_path)
        done = subprocess.run(command, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            diagnostics = done.stderr.strip()
            raise CompileError("attnc build failed (exit %d):\n%s" %
                               (done.returncode, diagnostics), diagnostics)
        if os.path.exists(os.path.join(work, "source.attn")):
            os.remove(os.path.join(work, "source.attn"))
        try:
            os.rename(work, final)
        except OSError:
            # Another process put the same library there first: use it.
            if not os.path.isfile(os.path.join(final, LIBRARY_NAME + ".json")):
                raise
        else:
            work = None
        return final
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
