"""``--where`` filters on run-level columns, parsed from a whitelist: never ``eval``.

    n_params >= 100M and dataset == 'rpj'
    not (name in ['gpt-3B', 'gpt-1B'] or lr > 1e-3)

A tokenizer and a recursive-descent parser accept comparisons (``== != < <= > >=``), ``in`` /
``not in`` a list (``[..]`` or ``(..)``), ``and``, ``or``, ``not``, parentheses, numbers with
unit suffixes (``125M``, read by :mod:`scalecli.units`), quoted strings, ``true``/``false`` and
column names (``model/n_params`` and ``lr-max`` are names; backquotes take any other:
```odd name```). ``and`` binds tighter than ``or``, ``not`` tighter than both. The role names
N, D, C, loss and run stand for the runs frame's n_params, tokens, flops, final loss and name.

A filter becomes one polars expression over the runs frame. A comparison with a missing
value (null, NaN) is false; ``not`` of it is true. Errors name the 1-based position
(``exc.caret`` holds the text and a caret line); an unknown column names the known ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import schema as S
from .errors import ConfigError, InputError, clip

MAX_LENGTH = 10_000
MAX_DEPTH = 64
COMPARE = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = ("and", "or", "not", "in")
LITERALS = {"true": True, "false": False}

_TOKEN = re.compile(
    r"(?P<num>[-+]?(?:[0-9][0-9_]*\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[A-Za-z]*)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_./:-]*)"
    r"|(?P<quoted>`[^`]*`)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>==|!=|<=|>=|<|>|[()\[\],])"
)


@dataclass(frozen=True)
class Node:
    """``kind``: or/and (``kids``), not (``kids[0]``), cmp (``op``, ``kids`` = two operands),
    in (``kids[0]`` and the literal values in ``value``; ``op`` = "in" or "not in"),
    col (``value`` = name) or lit (``value`` = number, text or bool). ``span``: its text."""

    kind: str
    value: object = None
    kids: tuple = ()
    op: str = ""
    span: tuple[int, int] = (0, 0)


class Where:
    """A parsed filter: ``text`` as given, ``tree`` its :class:`Node`."""

    def __init__(self, text: str):
        self.text = text
        self.tree = _Parser(text).parse()

    def __repr__(self) -> str:
        return f"Where({self.text!r})"

    def clauses(self) -> list[str]:
        """The texts of the top-level ``and`` clauses (the whole filter when there is one)."""
        nodes = self.tree.kids if self.tree.kind == "and" else (self.tree,)
        return [self.text[a:b].strip() for a, b in (n.span for n in nodes)]

    def mask(self, runs) -> list[bool]:
        """Which rows of the runs frame ``runs`` the filter keeps."""
        return runs.select(expression(self.tree, runs, self.text).alias("keep")
                           ).get_column("keep").to_list()

    def explain_empty(self, runs) -> str:
        """Why nothing was kept: the first clause that keeps no run alone, or the counts."""
        total = runs.height
        nodes = self.tree.kids if self.tree.kind == "and" else (self.tree,)
        counts = [sum(runs.select(expression(n, runs, self.text).alias("k")).get_column("k"))
                  for n in nodes]
        texts = self.clauses()
        if len(nodes) == 1:
            return f"--where {texts[0]} keeps no run (of {total})"
        empty = [i for i, c in enumerate(counts) if c == 0]
        others = [f"{texts[i]} alone keeps {counts[i]}" for i in range(len(nodes))
                  if i not in empty]
        if empty:
            head = f"--where: {texts[empty[0]]} keeps no run (of {total})"
            return head + ("; " + "; ".join(others) if others else "")
        return (f"--where: its clauses together keep no run (of {total}); "
                + "; ".join(others))


def parse(text: str) -> Where:
    """A :class:`Where` from filter text; ConfigError naming the position when it is not one."""
    if not isinstance(text, str):
        raise ConfigError(f"--where: {clip(text)!r} is not a filter")
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"--where: longer than {MAX_LENGTH} characters: not a filter")
    return Where(text)


def _fail(text: str, pos: int, message: str, cls=ConfigError):
    end = " (end of filter)" if pos >= len(text) else ""
    shown = text if len(text) <= 120 else f"...{text[max(0, pos - 50):pos + 50]}..."
    exc = cls(f'--where "{shown}": position {pos + 1}{end}: {message}')
    exc.caret = f"{text}\n{' ' * pos}^"
    raise exc


def _tokenize(text: str) -> tuple[list[tuple[str, object, int]], list[int]]:
    """The tokens (kind, value, start) and where each ends."""
    from .units import UnitError, parse_quantity

    out: list[tuple[str, object, int]] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        m = _TOKEN.match(text, i)
        if m is None:
            _fail(text, i, _unexpected(text, i))
        kind, raw = m.lastgroup, m.group()
        value: object = raw
        if kind == "num":
            try:
                value = parse_quantity(raw)
            except (UnitError, OverflowError) as exc:
                _fail(text, i, str(exc))
            if not math.isfinite(value):
                _fail(text, i, f"{raw} is not a finite number")
        elif kind == "name" and raw in KEYWORDS:
            kind = "kw"
        elif kind == "name" and raw.lower() in LITERALS:
            kind, value = "lit", LITERALS[raw.lower()]
        elif kind == "quoted":
            kind, value = "name", raw[1:-1]
            if not value:
                _fail(text, i, "empty column name ``")
        elif kind == "str":
            value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if kind in ("num", "str"):
            kind = "lit"
        out.append((kind, value, i))
        ends.append(m.end())
        i = m.end()
    out.append(("end", "", len(text)))
    ends.append(len(text))
    return out, ends


class _Parser:
    """or := and ('or' and)*;  and := not ('and' not)*;  not := 'not' not | test;
    test := '(' or ')' | operand (cmp operand | ['not'] 'in' list);
    operand := name | literal;  list := ('[' | '(') [literal (',' literal)* [',']] (']' | ')')."""

    def __init__(self, text: str):
        self.text, self.i, self.depth = text, 0, 0
        self.toks, self.ends = _tokenize(text)

    def peek(self):
        return self.toks[self.i]

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, value=None) -> bool:
        k, v, _ = self.toks[self.i]
        return k == kind and (value is None or v == value)

    def end_of(self) -> int:
        """Where the last token taken ends."""
        return self.ends[self.i - 1]

    def parse(self) -> Node:
        if self.at("end"):
            _fail(self.text, 0, "the filter is empty (e.g. n_params >= 100M)")
        tree = self.disjunction()
        kind, value, pos = self.peek()
        if kind != "end":
            _fail(self.text, pos, f"expected 'and', 'or' or the end, found {_show(kind, value)}")
        return tree

    def nested(self, pos: int):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            _fail(self.text, pos, f"the filter nests more than {MAX_DEPTH} levels deep")

    def chain(self, word: str, operand) -> Node:
        start = self.peek()[2]
        kids = [operand()]
        while self.at("kw", word):
            self.take()
            kids.append(operand())
        if len(kids) == 1:
            return kids[0]
        return Node(word, kids=tuple(kids), span=(start, self.end_of()))

    def disjunction(self) -> Node:
        return self.chain("or", self.conjunction)

    def conjunction(self) -> Node:
        return self.chain("and", self.negation)

    def negation(self) -> Node:
        if self.at("kw", "not"):
            _, _, pos = self.take()
            self.nested(pos)
            kid = self.negation()
            self.depth -= 1
            return Node("not", kids=(kid,), span=(pos, self.end_of()))
        return self.test()

    def test(self) -> Node:
        kind, value, pos = self.peek()
        if kind == "op" and value == "(":
            self.take()
            self.nested(pos)
            inner = self.disjunction()
            self.depth -= 1
            self.expect(")", "to close the '(' at position " + str(pos + 1))
            return Node(inner.kind, inner.value, inner.kids, inner.op, (pos, self.end_of()))
        left = self.operand("a column or a value")
        kind, value, at = self.peek()
        if kind == "op" and value in COMPARE:
            self.take()
            right = self.operand(f"a value after {value!r}")
            if left.kind == "lit" and right.kind == "lit":
                _fail(self.text, pos, "a comparison needs a column on one side")
            return Node("cmp", op=str(value), kids=(left, right), span=(pos, self.end_of()))
        negated = kind == "kw" and value == "not"
        if negated:
            self.take()
            if not self.at("kw", "in"):
                _fail(self.text, self.peek()[2], "expected 'in' after 'not'")
        if self.at("kw", "in"):
            self.take()
            if left.kind != "col":
                _fail(self.text, pos, "'in' needs a column on its left")
            values = self.values()
            return Node("in", values, (left,), "not in" if negated else "in",
                        (pos, self.end_of()))
        _fail(self.text, at, f"expected a comparison (==, !=, <, <=, >, >=, in) after "
                             f"{self.text[pos:self.end_of()]!r}, found {_show(kind, value)}")
        raise AssertionError  # unreachable: _fail raises

    def operand(self, what: str) -> Node:
        kind, value, pos = self.peek()
        if kind == "name":
            self.take()
            return Node("col", value, span=(pos, self.end_of()))
        if kind == "lit":
            self.take()
            return Node("lit", value, span=(pos, self.end_of()))
        _fail(self.text, pos, f"expected {what}, found {_show(kind, value)}")
        raise AssertionError

    def values(self) -> tuple:
        kind, value, pos = self.peek()
        if not (kind == "op" and value in ("[", "(")):
            _fail(self.text, pos, f"expected a list after 'in' ([...] or (...)), found "
                                  f"{_show(kind, value)}")
        close = "]" if value == "[" else ")"
        self.take()
        out = []
        while not self.at("op", close):
            kind, value, at = self.peek()
            if kind != "lit":
                _fail(self.text, at, f"expected a value or {close!r} in the list, found "
                                     f"{_show(kind, value)}")
            self.take()
            out.append(value)
            if not self.at("op", ","):
                break
            self.take()
        self.expect(close, "to close the list")
        return tuple(out)

    def expect(self, op: str, why: str) -> None:
        kind, value, pos = self.peek()
        if not (kind == "op" and value == op):
            _fail(self.text, pos, f"expected {op!r} {why}, found {_show(kind, value)}")
        self.take()


def _unexpected(text: str, i: int) -> str:
    char = text[i]
    if char in "'\"`":
        return f"the quote {char} is never closed"
    hints = {"=": "compare with ==", "&": "write and", "|": "write or", "!": "write not"}
    hint = hints.get(char, "text values are quoted: 'rpj'")
    return f"unexpected character {char!r} ({hint})"


def _show(kind: str, value) -> str:
    if kind == "end":
        return "the end"
    if kind == "lit":
        return repr(value) if isinstance(value, str) else _plain(value)
    return repr(value)


# ---- evaluation ---------------------------------------------------------------------------
def column_of(name: str, columns: list[str], text: str = "", pos: int = 0) -> str:
    """The runs-frame column ``name`` means: itself, a role (N, D, C, loss, run), or the same
    name in another case; else ConfigError naming the nearest ones."""
    if name in columns:
        return name
    role = S.ROLE_NAMES.get(name.lower())
    canon = {"N": S.N, "D": S.D, "C": S.C, "run": S.NAME}.get(role or "")
    if role == "loss":
        canon = S.resolve("loss", [c for c in columns if c not in S.RUN_COLUMNS])
    if canon in columns:
        return canon
    lower = {c.lower(): c for c in columns}
    if name.lower() in lower:
        return lower[name.lower()]
    import difflib

    near = difflib.get_close_matches(name, columns, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    shown = ", ".join(clip(c) for c in columns[:30]) + (" ..." if len(columns) > 30 else "")
    _fail(text, pos, f"no column {clip(name)!r}; {hint}columns: {shown} (and N, D, C, loss)",
          cls=InputError)
    raise AssertionError


def expression(node: Node, runs, text: str = ""):
    """The polars boolean expression of ``node`` over ``runs`` (nulls already false)."""
    import polars as pl

    if node.kind in ("and", "or"):
        parts = [expression(k, runs, text) for k in node.kids]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if node.kind == "and" else (out | p)
        return out
    if node.kind == "not":
        return ~expression(node.kids[0], runs, text)
    if node.kind == "in":
        col, kind = _operand(node.kids[0], runs, text)
        values = [_literal(v, kind, node, text, node.kids[0]) for v in node.value]
        test = (col.is_null() & col.is_not_null() if not values  # false, one per row
                else pl.any_horizontal([col == pl.lit(v) for v in values]))
        test = test.fill_null(False)
        return (~test & col.is_not_null()) if node.op == "not in" else test
    left, right = node.kids
    if left.kind == "lit":  # 100M <= n_params: the column on the left
        left, right = right, left
        op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(node.op, node.op)
    else:
        op = node.op
    a, kind = _operand(left, runs, text)
    if right.kind == "col":
        b, kind_b = _operand(right, runs, text)
        if kind != kind_b and "any" not in (kind, kind_b):
            _fail(text, node.span[0], f"{_what(left)} holds {kind}s and {_what(right)} "
                                      f"{kind_b}s: they do not compare", cls=InputError)
    else:
        b = pl.lit(_literal(right.value, kind, node, text, left))
    if kind == "text" and op not in ("==", "!="):
        _fail(text, node.span[0], f"{_what(left)} holds text: compare it with == or !=",
              cls=InputError)
    test = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
            ">=": a >= b}[op]
    return test.fill_null(False)


def _what(node: Node) -> str:
    return f"column {node.value}"


def _operand(node: Node, runs, text: str):
    """(expression, kind) of a column: kind is number, text or bool; NaN reads as null."""
    import polars as pl

    name = column_of(str(node.value), runs.columns, text, node.span[0])
    dtype = runs.schema[name]
    if dtype == pl.Null:  # no run has a value: every comparison is false
        return pl.col(name), "any"
    if dtype == pl.Boolean:
        return pl.col(name), "bool"
    if dtype.is_numeric():
        return pl.col(name).cast(pl.Float64).fill_nan(None), "number"
    return pl.col(name).cast(pl.String), "text"


def _literal(value, kind: str, node: Node, text: str, column: Node):
    """A literal as the column's kind wants it; a quoted number against a number column, or a
    number against a text column, refused with what to write instead."""
    if kind == "any":
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, float):
            _fail(text, node.span[0], f"{_what(column)} holds numbers: write the value "
                                      f"without quotes (e.g. 100M)", cls=InputError)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            _fail(text, node.span[0], f"{_what(column)} holds true/false", cls=InputError)
        return value
    if not isinstance(value, str):
        _fail(text, node.span[0], f"{_what(column)} holds text: quote the value "
                                  f"('{_plain(value)}')", cls=InputError)
    return value


def _plain(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}"
