"""Raw reading of tidy CSV and JSONL into one wide DataFrame plus a row -> file-line map.

Fast path: polars' native readers, with the file's content hash (and, for JSONL, a count of
keys) computed in a thread over the same bytes while polars parses. Only when the fast path
fails or looks incomplete do we fall back to a careful, slower path that can say exactly which
line is wrong. Turning the wide table into runs/history frames is ``shape.py``'s job.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import InputError

CHUNK = 1 << 20
# What polars (or the OS) raises on a file it cannot parse; caught to fall back or to explain.
READ_ERRORS = (pl.exceptions.PolarsError, OSError, ValueError)
# polars infers a JSONL schema from the first rows and silently drops keys first seen later
# (an eval metric logged every 1000 steps). Every key and every string value is quoted, so if
# the file's '"' count exceeds 2 x (non-null cells + non-null string cells) polars read, a key
# may be missing (or it is an explicit null or an escaped quote): then polars reads again,
# inferring from every row.
QUOTE = b'"'


@dataclass
class Table:
    """A wide table read from one file; ``line_of`` maps row indices to 1-based file lines."""

    df: pl.DataFrame
    line_of: Callable[[Sequence[int]], list[int]]
    digest: str | None = None
    warnings: list[str] = field(default_factory=list)


class FileScan(threading.Thread):
    """Hash a file and/or count one byte in it, in 1 MiB chunks, while polars parses it."""

    def __init__(self, path: Path, digest: bool = True, count: bytes | None = None):
        super().__init__(daemon=True)
        self.path, self.want, self.byte = path, digest, count
        self.digest: str | None = None
        self.count = 0

    def run(self) -> None:
        # CRC-32 detects a changed file (its size and mtime are compared too) at half SHA-1's
        # cost, which matters here: this thread shares two cores with polars' parser.
        crc = 0
        try:
            with open(self.path, "rb") as f:
                while chunk := f.read(CHUNK):
                    if self.want:
                        crc = zlib.crc32(chunk, crc)
                    if self.byte:
                        self.count += chunk.count(self.byte)
        except OSError:  # reported by the reader's own open
            return
        self.digest = f"crc32:{crc:08x}" if self.want else None

    def result(self) -> FileScan:
        self.join()
        return self


def file_digest(path: Path) -> str:
    """Content hash of a file (the store's change detector)."""
    scan = FileScan(path, digest=True)
    scan.run()
    return scan.digest or ""


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
    ``digest``: also hash the file (for the store)."""
    check_nonempty(path, display)
    scanner = FileScan(path) if digest else None
    if scanner:
        scanner.start()
    try:
        try:
            df = pl.read_csv(path, separator=sep, infer_schema_length=10000)
        except pl.exceptions.NoDataError:
            raise InputError("file is empty (no header)", display) from None
        except READ_ERRORS:  # a cell that does not fit the inferred type: keep text, check later
            try:
                df = pl.read_csv(path, separator=sep, infer_schema=False)
            except READ_ERRORS:
                df = pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8-lossy",
                                 truncate_ragged_lines=True)
    except InputError:
        raise
    except READ_ERRORS as exc:
        raise InputError(f"cannot read as CSV: {polars_message(exc)}", display) from None
    digest = scanner.result().digest if scanner else None
    if df.height == 0:
        raise InputError("has a header but no data rows", display)
    clean = {c: c.strip().lstrip("\ufeff") for c in df.columns}
    if len(set(clean.values())) == len(clean):  # header cells padded with spaces
        df = df.rename({c: n for c, n in clean.items() if c != n})
    return _drop_blank_rows(Table(df, _csv_lines(path, sep), digest), display)


def _csv_lines(path: Path, sep: str) -> Callable[[Sequence[int]], list[int]]:
    """Row i -> line i + 2, unless quoted fields may span lines: then count with ``csv``."""

    def line_of(rows: Sequence[int]) -> list[int]:
        with open(path, "rb") as f:
            simple = b'"' not in f.read()
        if simple:
            return [r + 2 for r in rows]
        want, starts, last = set(rows), {}, max(rows, default=0)
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f, delimiter=sep)
            prev = 0
            for i, _ in enumerate(reader):
                start, prev = prev + 1, reader.line_num
                if i - 1 in want:
                    starts[i - 1] = start
                if i - 1 >= last:
                    break
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


# --- JSONL ----------------------------------------------------------------------------------
def read_jsonl(path: Path, display: str, infer_all: bool = False, digest: bool = False) -> Table:
    """Read JSON lines: polars first (checking no late key was missed), else line by line."""
    check_nonempty(path, display)
    with open(path, "rb") as f:
        head = f.read(4096).lstrip()
    if not head:
        raise InputError("file is empty (only blank lines)", display)
    if head.startswith(b"["):
        return read_json_array(path, display)
    scanner = FileScan(path, digest=digest, count=QUOTE)
    scanner.start()
    df = None
    for length in ((None,) if infer_all else (100, None)):
        try:
            df = pl.read_ndjson(path, infer_schema_length=length)
        except READ_ERRORS:
            df = None
            continue
        if length is not None and not _complete(df, scanner.result()):
            df = None
            continue
        break
    digest = scanner.result().digest
    if df is None:
        records, lines, warnings = parse_json_lines(path, display)
        return Table(records_to_frame(records, None), lambda idx: [lines[i] for i in idx], digest,
                     warnings)
    if df.height == 0:
        raise InputError("file has no records", display)
    df = flatten_structs(df)
    return Table(df, _jsonl_lines(path), digest)


def _complete(df: pl.DataFrame, scan: FileScan) -> bool:
    """True if every key in the file's bytes was read into a column (see QUOTE)."""
    if any(isinstance(t, pl.Struct) for t in df.dtypes):
        return True  # nested keys: counting does not apply
    nulls = df.null_count().row(0)
    cells = df.height * df.width - sum(nulls)
    text = sum(df.height - k for k, t in zip(nulls, df.dtypes, strict=True) if t == pl.String)
    return scan.count <= 2 * (cells + text)


def _jsonl_lines(path: Path) -> Callable[[Sequence[int]], list[int]]:
    def line_of(rows: Sequence[int]) -> list[int]:
        want, out, k = sorted(set(rows)), {}, 0
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                if raw.strip():
                    if k in want:
                        out[k] = n
                    k += 1
                    if k > want[-1]:
                        break
        return [out.get(r, r + 1) for r in rows]

    return line_of


def parse_json_lines(path: Path, display: str, flat: bool = True,
                     ) -> tuple[list[dict], list[int], list[str]]:
    """Python's json per line: accepts NaN/Infinity, names the bad line, forgives a cut tail.
    With ``flat``, nested records are flattened (``a/b`` keys) as they are read."""
    records: list[dict] = []
    lines: list[int] = []
    warnings: list[str] = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8-sig" if n == 1 else "utf-8", "replace"))
            except ValueError as exc:
                if not raw.endswith(b"\n"):  # only the last line can lack one: cut off
                    warnings.append(f"{display}: line {n} is cut off (no newline at the end, "
                                    f"not valid JSON); read the {len(records)} complete lines "
                                    "before it")
                    break
                msg = getattr(exc, "msg", str(exc))
                raise InputError(f"not valid JSON ({msg})", display, n) from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, found {type(obj).__name__}", display,
                                 n)
            if flat and (raw.count(b"{") > 1 or b"[" in raw):  # nested: flatten this one
                obj = flatten(obj)
            records.append(obj)
            lines.append(n)
    if not records:
        raise InputError("file has no complete records", display)
    return records, lines, warnings


def read_json_array(path: Path, display: str) -> Table:
    """A ``.json`` file holding one array of records (``[{...}, {...}]``)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            data = json.load(f)
    except ValueError as exc:
        raise InputError(f"not valid JSON: {exc}", display) from None
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        raise InputError("expected JSON lines or an array of objects", display)
    return Table(records_to_frame(data), lambda idx: [i + 1 for i in idx])


def flatten(obj: dict, prefix: str = "", sep: str = "/") -> dict:
    """``{"model": {"n_params": 1}}`` -> ``{"model/n_params": 1}``; lists become JSON text."""
    out: dict = {}
    for k, v in obj.items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key, sep))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v)
        else:
            out[key] = v
    return out


def records_to_frame(records: list[dict], sep: str | None = "/") -> pl.DataFrame:
    """Build columns from Python records: numbers stay numbers, a mixed column becomes text
    (so the shape step can name the cell that is not a number). ``sep=None``: already flat."""
    flat = records if sep is None else [flatten(r, sep=sep) for r in records]
    cols = []
    for k in dict.fromkeys(itertools.chain.from_iterable(flat)):
        vals = [r.get(k) for r in flat]
        try:  # one type, or ints mixed with floats
            col = pl.Series(k, vals)
        except (TypeError, pl.exceptions.PolarsError):
            try:
                col = pl.Series(k, vals, dtype=pl.Float64)
            except (TypeError, pl.exceptions.PolarsError):
                col = None
        if col is None or not (col.dtype.is_numeric() or col.dtype in (pl.String, pl.Null)):
            col = pl.Series(k, [_text(v) for v in vals], dtype=pl.String)
        cols.append(col)
    return pl.DataFrame(cols)


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return str(v)


def flatten_structs(df: pl.DataFrame) -> pl.DataFrame:
    """Nested JSON objects (struct columns) become ``parent/child`` columns; lists are dropped."""
    while True:
        structs = [c for c, t in df.schema.items() if isinstance(t, pl.Struct)]
        if not structs:
            break
        df = df.with_columns(
            pl.col(c).struct.field(f.name).alias(f"{c}/{f.name}")
            for c in structs for f in df.schema[c].fields
        ).drop(structs)
    lists = [c for c, t in df.schema.items() if isinstance(t, (pl.List, pl.Array))]
    return df.drop(lists) if lists else df
