"""Rows to text: rich tables for people, JSON, CSV and markdown for pipes.

Every command builds plain rows (dicts) and a column list; this module alone decides how they
look, with one number formatter (:func:`scalecli.report.format.fmt`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from .format import fmt

FORMATS = ("table", "json", "csv", "markdown")
Columns = Sequence[tuple[str, str]]  # (key in row, header)


def render(rows: list[dict[str, Any]], columns: Columns, fmt_name: str, *,
           title: str | None = None, json_value: Any = None, caption: str | None = None) -> str:
    """Text for ``rows`` in one of :data:`FORMATS` (``table`` renders with rich)."""
    if fmt_name == "json":
        return json.dumps(rows if json_value is None else json_value, indent=2) + "\n"
    if fmt_name == "csv":
        return to_csv(rows, columns)
    if fmt_name == "markdown":
        return to_markdown(rows, columns, title)
    return to_rich(rows, columns, title, caption)


def to_csv(rows, columns: Columns) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([key for key, _ in columns])
    for r in rows:
        w.writerow([_raw(r.get(key)) for key, _ in columns])
    return buf.getvalue()


def to_markdown(rows, columns: Columns, title: str | None = None) -> str:
    lines = [title.replace("*", "\\*"), ""] if title else []
    lines.append("| " + " | ".join(h for _, h in columns) + " |")
    lines.append("|" + "|".join("---:" if _numeric(rows, k) else "---" for k, _ in columns) + "|")
    for r in rows:
        lines.append("| " + " | ".join(_cell(r, k).replace("|", "\\|").replace("*", "\\*")
                                       for k, _ in columns) + " |")
    return "\n".join(lines) + "\n"


def to_rich(rows, columns: Columns, title: str | None = None, caption: str | None = None) -> str:
    """The table as rich draws it; without colours (not a terminal), a plain table is drawn
    the same way without importing rich (:mod:`.plain`)."""
    terminal = sys.stdout.isatty()
    headers = [head for _, head in columns]
    right = [_numeric(rows, key) for key, _ in columns]
    cells = [[_cell(r, k) for k, _ in columns] for r in rows]
    width = _width()
    if not terminal and rows:
        from .plain import table as plain_table

        text = plain_table(cells, headers, right, title, caption, width)
        if text is not None:
            return text
    return rich_table(cells, headers, right, title, caption, width, terminal)


def rich_table(cells, headers, right, title: str | None, caption: str | None, width: int,
               terminal: bool) -> str:
    """``cells`` (rows of text) under ``headers`` drawn by rich, ``right``-justified columns
    where true, the title above in bold and the caption below, both wrapped at ``width``."""
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for head, r in zip(headers, right, strict=True):
        table.add_column(head, justify="right" if r else "left")
    for row in cells:
        table.add_row(*row)
    console = Console(file=_Sink(), width=width, highlight=False, force_terminal=terminal,
                      soft_wrap=False)
    with console.capture() as cap:
        if title:
            console.print(title, style="bold", overflow="fold")
        console.print(table)
        if caption:
            console.print(caption, overflow="fold")
    return cap.get()


def _cell(row: dict, key: str) -> str:
    """A value as a person reads it, with its mark (``flops_mark: "*"``: derived) if any."""
    return fmt(row.get(key)) + str(row.get(f"{key}_mark", ""))


def _width() -> int:
    import shutil

    return max(60, shutil.get_terminal_size((100, 24)).columns)


class _Sink:
    def write(self, s):  # rich needs a file even when capturing
        return len(s)

    def flush(self):
        pass


def _raw(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v)
    return "" if v is None else v


def _numeric(rows, key: str) -> bool:
    vals = [r.get(key) for r in rows if r.get(key) is not None]
    return bool(vals) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)


def render_table(table, fmt_name: str) -> str:
    """A :class:`~scalecli.analyses.table.Table` result in one of :data:`FORMATS`."""
    columns = [*table.columns, *table.csv_extra] if fmt_name == "csv" else table.columns
    return render(table.rows, columns, fmt_name, title=table.title, caption=table.caption,
                  json_value=table.json)
