"""Raw reading of tidy CSV into one wide DataFrame plus a row -> file-line map (JSON lines:
``jsonl.py``).

Fast path: polars' native reader, with the file's content hash computed in a thread over the
same bytes while polars parses. Only when the fast path fails or looks incomplete do we fall
back to a careful, slower path that can say exactly which line is wrong. A row whose field
count differs from the header's is refused, never padded or cut (``2,5`` written with a decimal
comma is two fields, and reading it as 2 would be a silent wrong number). Turning the wide table
into runs/history frames is ``shape.py``'s job.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import InputError
from .encoding import is_marked, transcode
from .scan import CHUNK, FileScan, file_digest

__all__ = ["CHUNK", "READ_ERRORS", "FileScan", "Table", "check_nonempty", "file_digest",
           "polars_message", "read_csv"]

# What polars (or the OS) raises on a file it cannot parse; caught to fall back or to explain.
READ_ERRORS = (pl.exceptions.PolarsError, OSError, ValueError, OverflowError)
Source = Path | bytes  # a file, or its text transcoded to UTF-8


@dataclass
class Table:
    """A wide table read from one file; ``line_of`` maps row indices to 1-based file lines
    (or, where ``unit`` says so, to what else messages count: the rows of a Parquet file)."""

    df: pl.DataFrame
    line_of: Callable[[Sequence[int]], list[int]]
    digest: str | None = None
    warnings: list[str] = field(default_factory=list)
    unit: str = "line"


def opened(source: Source):
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def check_nonempty(path: Path, display: str) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("no such file or directory", display) from None
    if size == 0:
        raise InputError("file is empty (0 bytes)", display)


def polars_message(exc: BaseException) -> str:
    """First line of a polars/json error, for a one-line message."""
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


# --- CSV ------------------------------------------------------------------------------------
def read_csv(path: Path, display: str, sep: str = ",", digest: bool = False) -> Table:
    """Read a CSV with polars; if typed inference fails, read every cell as text instead.
    Text that is not UTF-8 is transcoded (with a warning). ``digest``: also hash the file."""
    check_nonempty(path, display)
    scanner = FileScan(path) if digest else None
    if scanner:
        scanner.start()
    source: Source = path
    warnings: list[str] = []
    if is_marked(path):  # UTF-16/32: polars reads UTF-8 only
        source = _transcoded(path, display, warnings)
    try:
        df = _polars_csv(source, sep, display)
    except _NotUTF8:
        source = _transcoded(path, display, warnings)
        df = _polars_csv(source, sep, display)
    digest_ = scanner.result().digest if scanner else None
    if df.height == 0:
        raise InputError("has a header but no data rows", display)
    if df.width > 1 and df[df.columns[-1]].null_count():  # polars pads a short row with nulls
        _check_fields(source, sep, display)
    clean = {c: c.strip().lstrip("\ufeff") for c in df.columns}
    if len(set(clean.values())) == len(clean):  # header cells padded with spaces
        df = df.rename({c: n for c, n in clean.items() if c != n})
    return _drop_blank_rows(Table(df, _csv_lines(source, sep), digest_, warnings), display)


class _NotUTF8(Exception):
    pass


def _transcoded(path: Path, display: str, warnings: list[str]) -> Source:
    got = transcode(path, display)
    if got is None:
        return path
    data, warning = got
    if warning:
        warnings.append(warning)
    return data


def _polars_csv(source: Source, sep: str, display: str) -> pl.DataFrame:
    """Typed first; if a cell does not fit the inferred type, all text (checked later)."""
    def read(**kw):
        src = io.BytesIO(source) if isinstance(source, bytes) else source
        return pl.read_csv(src, separator=sep, **kw)

    try:
        try:
            return read(infer_schema_length=10000)
        except pl.exceptions.NoDataError:
            raise InputError("file is empty (no header)", display) from None
        except READ_ERRORS:
            return read(infer_schema=False)
    except InputError:
        raise
    except READ_ERRORS as exc:
        if isinstance(source, Path) and _not_utf8(source):
            raise _NotUTF8 from None
        _check_fields(source, sep, display)
        raise InputError(f"cannot read as CSV: {polars_message(exc)}", display) from None


def _not_utf8(path: Path) -> bool:
    with open(path, "rb") as f:
        tail = b""
        while chunk := f.read(CHUNK):
            data = tail + chunk
            try:
                data.decode("utf-8")
                tail = b""
            except UnicodeDecodeError as exc:
                if exc.start < len(data) - 3:  # not just a character cut by the chunk
                    return True
                tail = data[exc.start:]
    return bool(tail)


def _check_fields(source: Source, sep: str, display: str) -> None:
    """Refuse the first row whose field count differs from the header's, naming its line."""
    with opened(source) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=sep)
        try:
            width = len(next(reader))
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != width:
                    hint = (" (a decimal comma, like 2,5? quote such numbers or write 2.5)"
                            if len(row) > width and sep == "," else "")
                    raise InputError(f"has {len(row)} fields where the header has {width}{hint}",
                                     display, start)
                start = reader.line_num + 1
        except csv.Error as exc:
            raise InputError(f"cannot read as CSV: {exc}", display, reader.line_num) from None
        except StopIteration:
            return


def _csv_lines(source: Source, sep: str) -> Callable[[Sequence[int]], list[int]]:
    """Row i -> line i + 2, unless quoted fields may span lines: then count with ``csv``."""

    def line_of(rows: Sequence[int]) -> list[int]:
        with opened(source) as f:
            simple = b'"' not in f.read()
        if simple:
            return [r + 2 for r in rows]
        want, starts, last = set(rows), {}, max(rows, default=0)
        with opened(source) as raw:
            f = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
            reader = csv.reader(f, delimiter=sep)
            prev = 0
            try:
                for i, _ in enumerate(reader):
                    start, prev = prev + 1, reader.line_num
                    if i - 1 in want:
                        starts[i - 1] = start
                    if i - 1 >= last:
                        break
            except csv.Error:
                pass
        return [starts.get(r, r + 2) for r in rows]

    return line_of


def _drop_blank_rows(table: Table, display: str) -> Table:
    """Blank lines read as all-null rows; drop them but keep the line numbers right."""
    df = table.df
    blank = pl.all_horizontal(pl.all().is_null())
    if not df.select(blank.any()).item():
        return table
    kept = df.with_row_index("__row").filter(~blank)
    rows = kept["__row"].to_list()
    inner = table.line_of
    table.df = kept.drop("__row")
    table.line_of = lambda idx: inner([rows[i] for i in idx])
    if table.df.height == 0:
        raise InputError("has a header but no data rows", display)
    return table
