"""Raw reading of JSON lines (and a ``.json`` array of records) into one wide DataFrame plus a
row -> file-line map.

Fast path: polars' ``read_ndjson``, taken only when provably whole (see ``ndjson.py``). Else
the careful path reads the file in Python, line by line, naming the line at fault: a key given
twice is refused, a line nested deeper than ``MAX_DEPTH`` is never parsed but skipped with a
warning, text that is not UTF-8 is decoded faithfully, with a warning.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from ..errors import InputError, clip
from .encoding import is_marked, transcode
from .ndjson import MAX_KEYS, check_cells, polars_frame
from .scan import MAX_DEPTH, FileScan, too_deep
from .tabular import Source, Table, check_nonempty, opened

QUOTE = b'"'


class Nested(ValueError):
    """A record nests deeper than MAX_DEPTH, or gives a key twice (flattened keys included)."""


def read_jsonl(path: Path, display: str, digest: bool = False) -> Table:
    """Read JSON lines: polars first (checking no key was missed or repeated), else line by
    line."""
    check_nonempty(path, display)
    with open(path, "rb") as f:
        head = f.read(4096).lstrip()
    if not head:
        raise InputError("file is empty (only blank lines)", display)
    if head.startswith(b"["):
        return read_json_array(path, display)
    scanner = FileScan(path, digest=digest, count=QUOTE)
    scanner.start()
    df = None if is_marked(path) else polars_frame(path, display, scanner)
    digest_ = scanner.result().digest
    if df is None:
        records, lines, warnings = parse_json_lines(path, display)
        frame = records_to_frame(records, None, _bound(path, display))
        return Table(frame, lambda idx: [lines[i] for i in idx], digest_, warnings)
    if df.height == 0:
        raise InputError("file has no records", display)
    try:
        df = flatten_structs(df)
    except Nested as exc:
        raise InputError(str(exc), display) from None
    return Table(df, _jsonl_lines(path), digest_)


def _jsonl_lines(source: Source) -> Callable[[Sequence[int]], list[int]]:
    def line_of(rows: Sequence[int]) -> list[int]:
        want, out, k = sorted(set(rows)), {}, 0
        if not want:
            return []
        with opened(source) as f:
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
    """Python's json per line: accepts NaN/Infinity, names the bad line, forgives a cut tail,
    skips (with a warning) a line nested too deep, refuses a key given twice. Text that is not
    UTF-8 is decoded faithfully, with a warning. With ``flat``, nested records are flattened
    (``a/b`` keys) as they are read."""
    check_nonempty(path, display)
    records: list[dict] = []
    lines: list[int] = []
    warnings: list[str] = []
    source: Source = path
    if is_marked(path):
        source, _ = transcode(path, display) or (path, None)
    with opened(source) as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            if too_deep(raw):
                warnings.append(f"{display}: line {n} skipped: JSON nested deeper than "
                                f"{MAX_DEPTH} levels")
                continue
            text = _decode(raw, n, display, warnings)
            try:
                obj = json.loads(text)
            except ValueError as exc:
                if not raw.endswith(b"\n"):  # only the last line can lack one: cut off
                    warnings.append(f"{display}: line {n} is cut off (no newline at the end, "
                                    f"not valid JSON); read the {len(records)} complete lines "
                                    "before it")
                    break
                msg = clip(getattr(exc, "msg", str(exc)), 80)
                raise InputError(f"not valid JSON ({msg})", display, n) from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, found {type(obj).__name__}", display,
                                 n)
            nested = raw.count(b"{") > 1 or b"[" in raw
            if raw.count(b":") > (_keys(obj) if nested else len(obj)):  # a key given twice?
                _refuse_twice(text, display, n)
            if flat and nested:
                try:
                    obj = flatten(obj)
                except Nested as exc:
                    raise InputError(str(exc), display, n) from None
            records.append(obj)
            lines.append(n)
    if not records:
        why = f" ({warnings[0].split(': ', 1)[1]})" if warnings else ""
        raise InputError(f"file has no complete records{why}", display)
    return records, lines, warnings


def _decode(raw: bytes, n: int, display: str, warnings: list[str]) -> str:
    try:
        return raw.decode("utf-8-sig" if n == 1 else "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text, enc = raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        text, enc = raw.decode("latin-1"), "Latin-1"
    if not any(w.startswith(f"{display}: not UTF-8") for w in warnings):
        warnings.append(f"{display}: not UTF-8 (first at line {n}); read as {enc}")
    return text


def _keys(obj: object) -> int:
    """Keys in a parsed JSON value, nested objects and lists included."""
    total, stack = 0, [obj]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            total += len(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return total


def _refuse_twice(text: str, display: str, line: int) -> None:
    """Parse again, keeping every pair: a key given twice in one object is refused."""
    def pairs(items: list[tuple[str, object]]) -> dict:
        seen: dict[str, object] = {}
        for k, v in items:
            if k in seen:
                raise InputError(f"key {clip(k)!r} is given twice in one object ({clip(seen[k])} "
                                 f"and {clip(v)}); which one is meant is not for scalecli to "
                                 "guess", display, line)
            seen[k] = v
        return seen

    json.loads(text, object_pairs_hook=pairs)


def read_json_array(path: Path, display: str) -> Table:
    """A ``.json`` file holding one array of records (``[{...}, {...}]``)."""
    try:
        with open(path, "rb") as f:
            data = json.loads(_text(f.read(), path, display))
    except RecursionError:
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels", display) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON: {clip(exc, 120)}", display) from None
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        raise InputError("expected JSON lines or an array of objects", display)
    try:
        df = records_to_frame(data, "/", _bound(path, display))
    except Nested as exc:
        raise InputError(str(exc), display) from None
    return Table(df, lambda idx: [i + 1 for i in idx])


def _bound(path: Path, display: str) -> Callable[[int, int], None]:
    """The check a table of (rows, columns) must pass before it is built (see ``ndjson.py``)."""
    def check(rows: int, columns: int) -> None:
        if columns > MAX_KEYS:
            raise InputError(f"{columns} different keys; scalecli reads at most {MAX_KEYS} "
                             "columns", display)
        check_cells(rows, columns, path, display)

    return check


def _text(data: bytes, path: Path, display: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        got = transcode(path, display)
        if got is None:
            raise
        return got[0].decode("utf-8")


def flatten(obj: dict, prefix: str = "", sep: str = "/", depth: int = 1) -> dict:
    """``{"model": {"n_params": 1}}`` -> ``{"model/n_params": 1}``; lists become JSON text."""
    if depth > MAX_DEPTH:
        raise Nested(f"a record nests deeper than {MAX_DEPTH} levels")
    out: dict = {}
    for k, v in obj.items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, dict):
            inner = flatten(v, key, sep, depth + 1)
        elif isinstance(v, (list, tuple)):
            try:
                inner = {key: json.dumps(v)}
            except (RecursionError, ValueError):
                raise Nested(f"a record nests deeper than {MAX_DEPTH} levels") from None
        else:
            inner = {key: v}
        if not out.keys().isdisjoint(inner):
            twice = next(iter(out.keys() & inner.keys()))
            raise Nested(f"key {clip(twice)!r} is given twice (once nested)")
        out.update(inner)
    return out


def records_to_frame(records: list[dict], sep: str | None = "/",
                     check: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Build columns from Python records: numbers stay numbers, a mixed column becomes text
    (so the shape step can name the cell that is not a number). ``sep=None``: already flat.
    ``check(rows, columns)`` may refuse the table before it is built."""
    flat = records if sep is None else [flatten(r, sep=sep) for r in records]
    keys = dict.fromkeys(itertools.chain.from_iterable(flat))
    if check is not None:
        check(len(flat), len(keys))
    cols = []
    for k in keys:
        vals = [r.get(k) for r in flat]
        try:  # one type, or ints mixed with floats
            col = pl.Series(k, vals)
        except (TypeError, OverflowError, pl.exceptions.PolarsError):
            try:
                col = pl.Series(k, vals, dtype=pl.Float64)
            except (TypeError, OverflowError, pl.exceptions.PolarsError):
                col = None
        if col is None or not (col.dtype.is_numeric() or col.dtype in (pl.String, pl.Null)):
            col = pl.Series(k, [_cell_text(v) for v in vals], dtype=pl.String)
        cols.append(col)
    return pl.DataFrame(cols)


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, int):
        try:
            float(v)
        except OverflowError:  # beyond any float: as a number it is infinite
            return "inf" if v > 0 else "-inf"
    return str(v)


def flatten_structs(df: pl.DataFrame) -> pl.DataFrame:
    """Nested JSON objects (struct columns) become ``parent/child`` columns; lists are dropped.
    A flattened name that is also a key (``{"a": {"b": 1}, "a/b": 2}``) is a key given twice."""
    if not any(isinstance(t, (pl.Struct, pl.List, pl.Array)) for t in df.dtypes):
        return df
    out: dict[str, pl.Series] = {}

    def walk(s: pl.Series, name: str) -> None:
        if isinstance(s.dtype, pl.Struct):
            for f in s.struct.unnest().iter_columns():
                walk(f, f"{name}/{f.name}")
        elif not isinstance(s.dtype, (pl.List, pl.Array)):
            if name in out:
                raise Nested(f"key {clip(name)!r} is given twice (once nested)")
            out[name] = s.alias(name)

    for s in df.iter_columns():
        walk(s, s.name)
    return pl.DataFrame(list(out.values())) if out else pl.DataFrame()
