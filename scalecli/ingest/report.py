"""The column report, said once per kind of file rather than once per file.

A sweep of 5,000 one-run CSV files read the same way would otherwise print 5,000 identical
``columns:`` lines on stderr; files whose report differs only in the file's name are said in
one line, naming the first file and how many more read the same way.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"^(?P<path>.*?) (?P<rest>\[[^\]]*\]: .*)$", re.DOTALL)
SHOWN = 3  # a kind of file with more files than this is said in one line


def summarize(lines: list[str]) -> list[str]:
    """``lines`` with each group of more than SHOWN reports alike but for the path merged."""
    groups: dict[str, list[str]] = {}
    order: list[tuple[str, str]] = []  # (key, line) in first-seen order
    for line in lines:
        m = _LINE.match(line)
        key = m.group("rest") if m else "\0" + line
        if key not in groups:
            groups[key] = []
            order.append((key, line))
        groups[key].append(m.group("path") if m else line)
    out: list[str] = []
    for key, line in order:
        paths = groups[key]
        if key.startswith("\0") or len(paths) <= SHOWN:
            out += [f"{p} {key}" for p in paths] if not key.startswith("\0") else [line] * len(paths)
        else:
            out.append(f"{paths[0]} (and {len(paths) - 1:,} more files read the same way) {key}")
    return out
