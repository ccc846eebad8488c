"""The fast path for JSON lines: polars' ``read_ndjson``, accepted only when provably whole.

polars infers a schema from the first rows and silently drops keys first seen later, and of a
key given twice in one object it keeps one without a word. Every key is quoted, so the quote
count (taken in a thread while polars parses) proves that neither happened: if the file holds
more quotes than the cells polars read account for (explicit nulls and escaped quotes aside),
the caller reads the file line by line instead.

What an input may claim is bounded before polars is asked: nesting (schema inference grows much
faster than the depth; past FAST_DEPTH the Python path is cheaper), the number of different keys
(inference grows with their square) and the cells of the table (a million rows, each with a new
key, would make a table of 10^12 cells from a few megabytes).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from ..errors import InputError
from .scan import FileScan, count_all, deep_lines, head_too_deep
from .tabular import READ_ERRORS

FAST_DEPTH = 4
MAX_KEYS = 5000
KEY = re.compile(rb'"((?:[^"\\]++|\\.)*+)"\s*:')


def polars_frame(path: Path, display: str, scanner: FileScan) -> pl.DataFrame | None:
    """polars' frame if it provably holds every key of the file once; else None.

    The first read infers the schema from the first 100 lines (none deeper than FAST_DEPTH);
    later lines are read into that schema, cheaply however deep they nest. If that misses
    keys, the second read takes its schema from lines sampled across the file."""
    if head_too_deep(path, limit=FAST_DEPTH):
        return None
    try:
        df = pl.read_ndjson(path, infer_schema_length=100)
    except READ_ERRORS:
        df = None
    if df is not None and _whole(df, path, scanner):
        return df
    if deep_lines(path, limit=FAST_DEPTH):
        return None
    schema = _sampled_schema(path, display, df.height if df is not None else None)
    if schema is None:
        return None
    try:
        df = pl.read_ndjson(path, schema=schema)
    except READ_ERRORS:
        return None
    return df if _whole(df, path, scanner) else None


def _whole(df: pl.DataFrame, path: Path, scanner: FileScan) -> bool:
    excess = scanner.result().count - 2 * cells(df)
    return excess <= 0 or _explained(path, excess)


def cells(df: pl.DataFrame | pl.Series) -> int:
    """Keys and string values polars read (each stands for two quotes in the file): non-null
    cells, twice for strings; a nested object counts its own key and those inside it."""
    total = 0
    for s in df.iter_columns() if isinstance(df, pl.DataFrame) else (df,):
        n = s.len() - s.null_count()
        total += 2 * n if s.dtype == pl.String else n
        if isinstance(s.dtype, pl.Struct):
            total += cells(s.struct.unnest())
    return total


def _explained(path: Path, excess: int) -> bool:
    """Whether explicit nulls (``"k": null``: a key polars keeps no cell for) and escaped quotes
    account for every quote beyond the cells read, exactly. Anything else is a key missed or
    given twice, or a string in a list: the careful path decides."""
    spaced, tight, escaped = count_all(path, (b": null", b":null", b'\\"'))
    return excess == 2 * (spaced + tight) + escaped


def _sampled_schema(path: Path, display: str, rows: int | None) -> pl.Schema | None:
    """The file's schema, inferred from lines sampled across it: inferring from every line
    costs a whole read. Refuses a file with too many different keys or too sparse a table."""
    sample = _sample(path)
    names = len(set(KEY.findall(sample)))
    if names > MAX_KEYS:
        raise InputError(f"more than {MAX_KEYS} different keys ({names} in a sample of "
                         f"{len(sample)} bytes); scalecli reads at most {MAX_KEYS} columns",
                         display)
    rows = rows or sample.count(b"\n")
    check_cells(rows, names, path, display)  # before polars is asked
    try:
        schema = pl.scan_ndjson(io.BytesIO(sample), infer_schema_length=None).collect_schema()
    except READ_ERRORS:
        return None
    check_cells(rows, leaves(schema), path, display)
    return schema


def _sample(path: Path, probes: int = 64, window: int = 1 << 14) -> bytes:
    """Whole lines from ``probes`` places spread over the file (all of a small file)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size <= probes * window:
            return f.read()
        out = []
        for k in range(probes):
            f.seek(k * size // probes)
            block = f.read(window)
            if k:
                block = block[block.find(b"\n") + 1:]
            out.append(block[:block.rfind(b"\n") + 1])
    return b"".join(out)


def leaves(schema) -> int:
    """Columns a schema flattens to (fields of nested objects each a column)."""
    return sum(leaves({f.name: f.dtype for f in t.fields}) if isinstance(t, pl.Struct)
               else 1 for t in schema.values())


def check_cells(rows: int, columns: int, path: Path, display: str) -> None:
    """Refuse a table far larger than its file: more cells than 4 per byte (past 2^22).
    A dense log has about one cell per 10 bytes; a sparse one (metrics logged apart) a few."""
    size = path.stat().st_size
    if rows * columns > max(1 << 22, 4 * size):
        raise InputError(f"{rows} rows x {columns} columns is too sparse a table for a file of "
                         f"{size} bytes (most keys appear in few lines); scalecli reads tables "
                         "of at most 4 cells per byte of file", display)
