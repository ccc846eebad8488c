"""Formulas from user text, parsed from a whitelist and evaluated without ``eval``.

A config's ``law.formula`` is untrusted, so it never reaches ``eval``, ``exec``, ``compile`` or
:mod:`ast`: a tokenizer and a recursive-descent parser accept numbers (``1e-3``), names,
``+ - * / **`` (``**`` right-associative, binding tighter than unary minus as in Python),
unary ``-``/``+``, parentheses and calls to exp, log, sqrt, min, max; anything else is a
one-line :class:`ConfigError` naming the 1-based position (``exc.caret``: formula and caret).

:meth:`Expression.bind` names the parameters and variables and returns the evaluators of
:mod:`scalecli.laws.evaluate`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ..errors import ConfigError

FUNCTIONS = {"exp": (1, 1), "log": (1, 1), "sqrt": (1, 1), "min": (2, None), "max": (2, None)}
MAX_LENGTH = 10_000
MAX_DEPTH = 64  # tree and parser nesting: keeps every recursive evaluator far from the limit

_TOKEN = re.compile(
    r"(?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|[-+*/(),])"
)
_BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


class Node:
    """A tree node: ``kind`` is num, name, neg, add, sub, mul, div, pow or a function name;
    ``value`` the number or the name; ``kids`` the operands."""

    __slots__ = ("depth", "kids", "kind", "value")

    def __init__(self, kind: str, value=None, kids: tuple = ()):
        self.kind, self.value, self.kids = kind, value, kids
        self.depth = 1 + max((k.depth for k in kids), default=0)

    def __repr__(self) -> str:
        if self.kind in ("num", "name"):
            return repr(self.value)
        return f"{self.kind}({', '.join(map(repr, self.kids))})"


def _fail(text: str, pos: int, message: str):
    """Raise the one-line error for ``text`` at 0-based ``pos`` (``len(text)``: the end)."""
    end = " (end of formula)" if pos >= len(text) else ""
    shown = text if len(text) <= 120 else f"...{text[max(0, pos - 50) : pos + 50]}..."
    exc = ConfigError(f'formula "{shown}" at position {pos + 1}{end}: {message}')
    exc.caret = f"{text}\n{' ' * pos}^"
    raise exc


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    out, i = [], 0
    while i < len(text):
        if text[i] in " \t\r\n":
            i += 1
            continue
        m = _TOKEN.match(text, i)
        if m is None:
            _fail(text, i, f"unexpected character {text[i]!r}")
        if m.lastgroup == "num":
            nxt = text[m.end() : m.end() + 1]
            if nxt and (nxt.isalnum() or nxt in "._"):
                _fail(text, i, f"malformed number {text[i : m.end() + 1]!r}")
            if not math.isfinite(float(m.group())):
                _fail(text, i, f"number {m.group()} is too large")
        out.append((m.lastgroup, m.group(), i))
        i = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    """expr := term (+|- term)*;  term := unary (*|/ unary)*;  unary := (-|+) unary | power;
    power := atom [** unary];  atom := number | name | function(expr, ...) | (expr)."""

    def __init__(self, text: str):
        self.text, self.toks, self.i, self.depth = text, _tokenize(text), 0, 0

    def node(self, kind, value=None, kids=(), pos=0) -> Node:
        node = Node(kind, value, kids)
        self.deep(node.depth, pos)
        return node

    def deep(self, depth: int, pos: int) -> None:
        if depth > MAX_DEPTH:
            _fail(self.text, pos, f"the formula nests more than {MAX_DEPTH} levels deep")

    def op(self, *ops: str) -> bool:
        kind, text, _ = self.toks[self.i]
        return kind == "op" and text in ops

    def parse(self) -> Node:
        if self.toks[0][0] == "end":
            _fail(self.text, 0, "the formula is empty")
        tree = self.expr()
        kind, text, pos = self.toks[self.i]
        if kind != "end":
            _fail(self.text, pos, f"expected an operator or the end of the formula, found {text!r}")
        return tree

    def binary(self, ops, operand) -> Node:
        left = operand()
        while self.op(*ops):
            _, op, pos = self.toks[self.i]
            self.i += 1
            left = self.node(_BINARY[op], kids=(left, operand()), pos=pos)
        return left

    def expr(self) -> Node:
        return self.binary(("+", "-"), self.term)

    def term(self) -> Node:
        return self.binary(("*", "/"), self.unary)

    def unary(self) -> Node:
        pos = self.toks[self.i][2]
        self.depth += 1
        self.deep(self.depth, pos)
        if self.op("-", "+"):
            sign = self.toks[self.i][1]
            self.i += 1
            out = self.unary()
            if sign == "-":
                out = self.node("neg", kids=(out,), pos=pos)
        else:
            out = self.atom()
            if self.op("**"):
                self.i += 1
                out = self.node("pow", kids=(out, self.unary()), pos=pos)
        self.depth -= 1
        return out

    def atom(self) -> Node:
        kind, text, pos = self.toks[self.i]
        self.i += 1
        if kind == "num":
            return self.node("num", float(text))
        if kind == "name":
            if self.op("("):
                return self.call(text, pos)
            if text in FUNCTIONS:
                _fail(self.text, pos, f"{text} is a function: write {text}(...)")
            return self.node("name", text)
        if kind == "op" and text == "(":
            inner = self.expr()
            self.expect(pos)
            return inner
        found = "" if kind == "end" else f", found {text!r}"
        _fail(self.text, pos, f"expected a number, name or '('{found}")

    def call(self, name: str, pos: int) -> Node:
        if name not in FUNCTIONS:
            _fail(self.text, pos, f"unknown function {name!r}; the functions allowed are "
                  + ", ".join(FUNCTIONS))
        self.i += 1  # the '('
        args = [self.expr()]
        while self.op(","):
            self.i += 1
            args.append(self.expr())
        self.expect(pos + len(name))
        lo, hi = FUNCTIONS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo} argument" if hi == lo else f"{lo} or more arguments"
            _fail(self.text, pos, f"{name} takes {want}, got {len(args)}")
        return self.node(name, kids=tuple(args), pos=pos)

    def expect(self, opened: int) -> None:
        kind, text, pos = self.toks[self.i]
        if not (kind == "op" and text == ")"):
            found = "the end" if kind == "end" else repr(text)
            _fail(self.text, pos, f"expected ')' to close the '(' at position {opened + 1}, "
                                  f"found {found}")
        self.i += 1


class Expression:
    """A parsed formula: ``tree``, ``names`` (in order of first appearance) and ``text``."""

    def __init__(self, text: str, tree: Node):
        self.text, self.tree = text, tree
        names: list[str] = []
        stack = [tree]
        while stack:  # pre-order, left to right
            node = stack.pop()
            if node.kind == "name" and node.value not in names:
                names.append(node.value)
            stack.extend(reversed(node.kids))
        self.names = names
        self._bound: dict[tuple, object] = {}

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def bind(self, params: Sequence[str], variables: Sequence[str]):
        """Evaluators taking ``params`` in this order (theta's columns) and ``variables`` (keys
        of the data dict); every name in the formula must be one or the other."""
        key = (tuple(params), tuple(variables))
        if key not in self._bound:
            unknown = [n for n in self.names if n not in key[0] and n not in key[1]]
            if unknown:
                raise ConfigError(f'formula "{self.text}": {", ".join(unknown)} is neither a '
                                  "parameter nor a variable")
            from .evaluate import Bound

            self._bound[key] = Bound(self.tree, key[0], key[1])
        return self._bound[key]


def parse(text: str) -> Expression:
    """Parse ``text``; :class:`ConfigError` for anything outside the whitelist."""
    if not isinstance(text, str):
        raise ConfigError(f"a formula must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"the formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    return Expression(text, _Parser(text).parse())
