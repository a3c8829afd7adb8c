"""The exceptions of the attnc package.

Every exception it raises on purpose derives from AttncError, so that a
caller can catch them all; the argument errors are also ValueError or
TypeError, as Python's own are.
"""


class AttncError(Exception):
    """An error from attnc: compiling, loading or calling a library."""


class CompileError(AttncError):
    """`attnc build` rejected the program; the message holds its
    diagnostics (file:line:col, the line and a caret)."""

    def __init__(self, message, diagnostics=""):
        super().__init__(message)
        self.diagnostics = diagnostics


class ArgumentError(AttncError, ValueError):
    """An argument of an entry does not fit its declared type: the message
    names the argument and says what was expected."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of an entry has the wrong kind or element type."""


class EntryError(AttncError):
    """A compiled entry returned a non-zero error code (NAME.json's
    `error_codes`): `code` is the number, `reason` its name."""

    def __init__(self, message, code, reason):
        super().__init__(message)
        self.code = code
        self.reason = reason


class RuntimeCheckError(EntryError):
    """Code 3: a run-time check of the compiled code failed (an index out
    of range, a top-k count above its extent, ...). The outputs hold
    unspecified values."""
