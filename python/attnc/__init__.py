"""attnc from Python: compile a program, call its entries on numpy arrays
and torch tensors.

    import attnc
    m = attnc.compile("examples/r01_causal_gqa.attn", entry="causal_mha")
    out = m.causal_mha(q, k, v)          # numpy float32 arrays [B, 8, N, 64]

`compile` runs `attnc build` (the binary of $ATTNC, the build tree, or
PATH) into a content-addressed cache, so that compiling the same program
again loads the cached library. `attnc.torch.as_op(m.causal_mha)` makes an
entry a PyTorch operator.
"""

import os

from . import compiler
from .errors import (AttncError, ArgumentError, ArgumentTypeError,
                     CompileError, EntryError, RuntimeCheckError)
from .library import Entry, Module

__all__ = ["compile", "load", "Module", "Entry", "AttncError",
           "ArgumentError", "ArgumentTypeError", "CompileError",
           "EntryError", "RuntimeCheckError"]


def compile(source_or_path, target="cpu", entry=None, *, cpu=None,
            scan_chunk=None, **consts):
    """Compiles an attnc program and loads it.

    `source_or_path` is a path to a .attn file (str or os.PathLike) or the
    program's text (a string with a newline or a brace in it). `entry` limits the library to one
    fn or arch; the keyword arguments set compile-time constants
    (`H=16`, as `--set H=16`); `cpu` and `scan_chunk` are the `--cpu` and
    `--scan-chunk` options. Raises CompileError with the diagnostics when
    the program is rejected."""
    path, text = _read_source(source_or_path)
    directory = compiler.build(path, text, target, entry, cpu, scan_chunk,
                               consts)
    return Module(directory, compiler.LIBRARY_NAME)


def load(directory_or_library):
    """Loads a library that `attnc build -o DIR/libNAME.so` wrote (with
    DIR/NAME.json beside it): the path of the .so or of its directory when
    that holds one library."""
    path = os.fspath(directory_or_library)
    if os.path.isdir(path):
        names = [f[3:-3] for f in os.listdir(path)
                 if f.startswith("lib") and f.endswith(".so") and
                 os.path.isfile(os.path.join(path, f[3:-3] + ".json"))]
        if len(names) != 1:
            raise AttncError("%s holds %d libraries with a description; "
                             "name the .so" % (path, len(names)))
        return Module(path, names[0])
    base = os.path.basename(path)
    if not (base.startswith("lib") and base.endswith(".so")):
        raise AttncError("%s is not a library built by attnc (libNAME.so)" %
                         path)
    name = base[3:-3]
    if not os.path.isfile(os.path.join(os.path.dirname(path) or ".",
                                       name + ".json")):
        raise AttncError("%s has no %s.json beside it; rebuild it with "
                         "'attnc build'" % (path, name))
    return Module(os.path.dirname(path) or ".", name)


def _read_source(source_or_path):
    """(path or None, text) of the program."""
    if isinstance(source_or_path, os.PathLike):
        source_or_path = os.fspath(source_or_path)
    if not isinstance(source_or_path, str):
        raise TypeError("compile() takes a path or the program's text, not "
                        "%s" % type(source_or_path).__name__)
    looks_like_source = "\n" in source_or_path or "{" in source_or_path
    if not looks_like_source:
        try:
            with open(source_or_path, encoding="utf-8") as f:
                return source_or_path, f.read()
        except FileNotFoundError:
            raise AttncError("no such file: %s" % source_or_path) from None
        except UnicodeDecodeError:
            raise AttncError("%s is not UTF-8 text" % source_or_path) from None
        except OSError as error:
            raise AttncError("cannot read %s: %s" % (source_or_path,
                                                     error.strerror)) from None
    return None, source_or_path


def __getattr__(name):
    # attnc.torch imports torch, which takes seconds: only on first use.
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError("module 'attnc' has no attribute %r" % name)
