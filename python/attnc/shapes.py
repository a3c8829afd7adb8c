"""The shape formulas of NAME.json: parse them and evaluate them.

An extent is an integer, or a formula over the run-time sizes written as
attnc's DimExpr prints it: `N`, `2*N + 1`, `B*N - 3`, `(N / 64)` (floor
division by a constant). Sizes are bound from the extents that are one
symbol alone; every other extent is then evaluated and checked.
"""

import re

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(.))")


class _Parser:
    def __init__(self, text):
        self.tokens = [m.groups() for m in _TOKEN.finditer(text)
                       if m.group(0).strip()]
        self.pos = 0
        self.text = text

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, op=None):
        token = self._peek()
        if token is None or (op is not None and token[2] != op):
            raise ValueError("malformed shape formula %r" % self.text)
        self.pos += 1
        return token

    def parse(self):
        node = self._sum()
        if self._peek() is not None:
            raise ValueError("malformed shape formula %r" % self.text)
        return node

    def _sum(self):
        node = self._product()
        while self._peek() is not None and self._peek()[2] in ("+", "-"):
            op = self._take()[2]
            node = (op, node, self._product())
        return node

    def _product(self):
        node = self._factor()
        while self._peek() is not None and self._peek()[2] == "*":
            self._take()
            node = ("*", node, self._factor())
        return node

    def _factor(self):
        number, name, op = self._take()
        if number is not None:
            return ("int", int(number))
        if name is not None:
            return ("sym", name)
        if op == "-":
            return ("neg", self._factor())
        if op == "(":
            numerator = self._sum()
            self._take("/")
            divisor = self._factor()
            self._take(")")
            return ("/", numerator, divisor)
        raise ValueError("malformed shape formula %r" % self.text)


def _compile(node):
    """A function of a dict of sizes that evaluates `node`."""
    kind = node[0]
    if kind == "int":
        value = node[1]
        return lambda sizes: value
    if kind == "sym":
        name = node[1]
        return lambda sizes: sizes[name]
    if kind == "neg":
        inner = _compile(node[1])
        return lambda sizes: -inner(sizes)
    lhs, rhs = _compile(node[1]), _compile(node[2])
    if kind == "+":
        return lambda sizes: lhs(sizes) + rhs(sizes)
    if kind == "-":
        return lambda sizes: lhs(sizes) - rhs(sizes)
    if kind == "*":
        return lambda sizes: lhs(sizes) * rhs(sizes)
    return lambda sizes: lhs(sizes) // rhs(sizes)


def _symbols(node, out):
    if node[0] == "sym":
        out.add(node[1])
    for child in node[1:]:
        if isinstance(child, tuple):
            _symbols(child, out)
    return out


class Extent:
    """One dimension of a declared shape."""

    def __init__(self, spelling):
        self.spelling = str(spelling)
        if isinstance(spelling, int):
            self.constant, self.symbol = spelling, None
            self.symbols = frozenset()
            self._evaluate = lambda sizes: spelling
            return
        node = _Parser(spelling).parse()
        self.constant = None
        # The size this extent binds when it is one symbol alone.
        self.symbol = node[1] if node[0] == "sym" else None
        self.symbols = frozenset(_symbols(node, set()))
        self._evaluate = _compile(node)

    def evaluate(self, sizes):
        return self._evaluate(sizes)


def format_shape(extents):
    """`[B, 8, N, 64]`, as the checker prints types."""
    return "[" + ", ".join(e.spelling for e in extents) + "]"
