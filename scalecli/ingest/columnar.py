"""Parquet and Arrow IPC (Feather v2) tables, read with polars (no pyarrow): one wide table,
shaped like a tidy CSV by ``shape.build``.

These files have rows, not lines: messages name ``row N`` (1-based, in file order). A struct
column is flattened to dotted names (``model.n_params``); a list column is refused naming it,
because a cell of a sweep table holds one value, and which element was meant is not ours to
guess. A file that polars cannot read to the end (cut short, damaged) is a DamagedSource.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import DamagedSource, InputError, clip
from .tabular import READ_ERRORS, Table, check_nonempty, polars_message

NAMES = {"parquet": "Parquet", "arrow": "Arrow IPC"}
MAGIC = {"parquet": b"PAR1", "arrow": b"ARROW1"}
STREAM = b"\xff\xff\xff\xff"  # how an Arrow IPC stream (not file) begins


def read_columnar(path: Path, display: str, fmt: str) -> Table:
    """A Parquet (``fmt="parquet"``) or Arrow IPC file (file or stream form) as a Table."""
    check_nonempty(path, display)
    with open(path, "rb") as f:
        head = f.read(8)
    stream = head.startswith(STREAM)
    if not (head.startswith(MAGIC[fmt]) or (fmt == "arrow" and stream)):
        raise InputError(f"not a {NAMES[fmt]} file (it does not begin with "
                         f"{MAGIC[fmt].decode()}); choose its reader with --reader", display)
    try:  # the format's mark is there: what cannot be read now is a damaged file
        if fmt == "parquet":
            df = pl.read_parquet(path)
        else:
            df = pl.read_ipc_stream(path) if stream else pl.read_ipc(path)
    except READ_ERRORS as exc:
        raise DamagedSource(f"cannot be read as {NAMES[fmt]}: {polars_message(exc)}",
                            display) from None
    if df.height == 0:
        raise InputError("has columns but no rows", display)
    df = flat(df, display)
    return Table(df, lambda rows: [r + 1 for r in rows], unit="row")


def flat(df: pl.DataFrame, display: str) -> pl.DataFrame:
    """Structs become ``parent.child`` columns; a list or array column is refused, and so are
    bytes that are not UTF-8 text (dates and categories become text in ``cells.coerce``)."""
    if not any(isinstance(t, (pl.Struct, pl.List, pl.Array)) or t in (pl.Binary, pl.Object)
               for t in df.dtypes):
        return df
    out: dict[str, pl.Series] = {}

    def walk(s: pl.Series, name: str) -> None:
        if isinstance(s.dtype, pl.Struct):
            for f in s.struct.unnest().iter_columns():
                walk(f, f"{name}.{f.name}")
            return
        if s.dtype == pl.Binary:  # text some writers store without its UTF-8 annotation
            try:
                s = s.cast(pl.String)
            except pl.exceptions.PolarsError:
                pass
        if isinstance(s.dtype, (pl.List, pl.Array)) or s.dtype in (pl.Binary, pl.Object):
            what = "bytes that are not text" if s.dtype == pl.Binary else f"lists ({s.dtype})"
            raise InputError(f"column {clip(name)!r} holds {what}; scalecli reads one number or "
                             "text per cell: drop the column or write one value per cell",
                             display)
        if name in out:
            raise InputError(f"column {clip(name)!r} is given twice (once as a struct field)",
                             display)
        out[name] = s.alias(name)

    for s in df.iter_columns():
        walk(s, s.name)
    return pl.DataFrame(list(out.values()))
