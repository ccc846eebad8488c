"""Tables drawn without rich, exactly as rich draws them, where that is simple.

Importing rich costs about 60 ms, as much as the rest of ``scalecli optimal``. Written to a
pipe or a file (no colours), a table whose text is plain and whose columns fit the width is
drawn the same way every time: rich's heavy-head box, each column as wide as its widest cell
plus one space either side, a title and caption word-wrapped at the width. This module draws
that case and says ``None`` to anything else (markup, emoji codes, wide or combining
characters, control characters, a table wider than the width, a word longer than it); rich
draws those. ``tests/test_plain_tables.py`` checks the output against rich's, byte for byte.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_MARKUP = re.compile(r"\[|:[^\s:]+:")  # rich markup opens with "[", emoji codes are :name:
_WORD = re.compile(r"\s*\S+\s*")  # a word and the white space after it, as rich splits text
_NARROW: dict[str, bool] = {}


def _narrow(ch: str) -> bool:
    """One cell wide with nothing rich would treat specially: letters, punctuation and symbols
    up to Greek and Cyrillic, and general punctuation to the maths operators, where rich's
    width table agrees with Unicode's (a test checks every such character)."""
    ok = _NARROW.get(ch)
    if ok is None:
        ok = _NARROW[ch] = (
            (ord(ch) < 0x1100 or 0x2000 <= ord(ch) < 0x2300)
            and unicodedata.east_asian_width(ch) in ("N", "Na", "A")
            and not unicodedata.combining(ch)
            and unicodedata.category(ch)[0] not in ("C", "M", "Z")
        )
    return ok


def plain(text: str) -> bool:
    """Whether rich would print ``text`` as it is: printable, one cell a character, no markup."""
    return not _MARKUP.search(text) and all((" " <= c <= "~") or _narrow(c) for c in text)


def wrap(text: str, width: int) -> list[str] | None:
    """``text`` word-wrapped at ``width`` as rich wraps it (a line keeps the space after its
    last word where that space still fits), or None if a word is longer than the width."""
    lines: list[str] = []
    line, used = "", 0
    for match in _WORD.finditer(text):
        word = match.group(0)
        bare = len(word.rstrip())
        if bare > width:
            return None
        if width - used >= bare:
            line += word
            used += len(word)
        elif used and match.start():
            lines.append(line)
            line, used = word, len(word)
    lines.append(line)
    return [ln[:width] if len(ln) > width and not ln[width:].strip() else ln for ln in lines]


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], right: Sequence[bool],
          title: str | None, caption: str | None, width: int) -> str | None:
    """The text rich prints for this table (title above, caption below), or None where this
    module does not draw it."""
    cells = [*headers, *(c for row in rows for c in row)]
    if not headers or not all(plain(c) and c == c.strip() for c in cells):
        return None  # (rich trims a cell's outer spaces: ours have none)
    if any(t is not None and (not t.strip() or not plain(t)) for t in (title, caption)):
        # (rich keeps a blank title or caption as its spaces; wrapping would drop them)
        return None
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    if sum(widths) + 3 * len(widths) + 1 > width or 0 in widths:
        return None
    above = [] if title is None else wrap(title, width)
    below = [] if caption is None else wrap(caption, width)
    if above is None or below is None:
        return None

    def rule(left: str, fill: str, mid: str, end: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + end

    def line(values: Sequence[str], bar: str) -> str:
        padded = (v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right,
                                                                     strict=True))
        return bar + bar.join(f" {p} " for p in padded) + bar

    out = [*above, rule("┏", "━", "┳", "┓"), line(headers, "┃"), rule("┡", "━", "╇", "┩"),
           *(line(row, "│") for row in rows), rule("└", "─", "┴", "┘"), *below]
    return "\n".join(out) + "\n"
