"""Parts: one source file's runs (and history) frame as Parquet, read back only if it is whole.

A part is checked against the frame schema when read (a Parquet file of other columns is as
wrong as a truncated one), and its health is judged cheaply (present, a plain file, the size
the manifest recorded) on every ingest, fully (CRC-32 and schema) when asked to verify.
"""

from __future__ import annotations

import itertools
import os
import secrets
import stat
from pathlib import Path

from . import disk
from .manifest import PARTS, part_path


class PartError(Exception):
    """A part that cannot be used; ``reason`` says why in a few words."""

    def __init__(self, rel: str, reason: str):
        super().__init__(f"{rel}: {reason}")
        self.rel, self.reason = rel, reason


def new_name(key_hash: str, kind: str) -> str:
    """A part name no earlier version of the source used: parts are never rewritten in place,
    so a reader holding an older manifest reads old bytes or finds the file gone, never a mix."""
    return f"{PARTS}/{key_hash[:16]}-{secrets.token_hex(5)}.{kind}.parquet"


def read(root: Path, rel: str, kind: str):
    """The frame in part ``rel`` (``kind`` "runs" or "history"), its columns checked."""
    import polars as pl

    path = _regular(root, rel)
    try:
        df = pl.read_parquet(path)
    except FileNotFoundError:
        raise PartError(rel, "missing") from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise PartError(rel, "unreadable: " + (str(exc).splitlines() or ["?"])[0][:80]) from None
    problem = schema_problem(df.schema, kind)
    if problem:
        raise PartError(rel, problem)
    return df


def schema_problem(schema, kind: str) -> str | None:
    from ..ingest.shape import HISTORY_SCHEMA, RUNS_SCHEMA

    want = RUNS_SCHEMA if kind == "runs" else HISTORY_SCHEMA  # tails: history rows
    for col, dtype in want.items():
        if col not in schema:
            return f"not a {kind} part (no {col!r} column)"
        if schema[col] != dtype and str(schema[col]) != "Null":
            return f"not a {kind} part ({col!r} is {schema[col]}, not {dtype})"
    return None


def problem(root: Path, rel: str, kind: str, sums: dict | None, full: bool = False) -> str | None:
    """What is wrong with a part, or None: cheap (exists, plain file, recorded size; the Parquet
    footer when the manifest predates recorded sizes), or ``full`` (CRC-32, read, schema)."""
    import polars as pl

    try:
        path = _regular(root, rel)
        size = path.stat().st_size
        if sums is not None and size != sums["bytes"]:
            return f"{size} bytes, {sums['bytes']} when written"
        if full and sums is not None and disk.crc_file(path)["crc"] != sums["crc"]:
            return "its content changed since it was written (CRC-32)"
        if full:
            read(root, rel, kind)
        elif sums is None:
            schema = pl.read_parquet_schema(path)
            return schema_problem(schema, kind)
    except PartError as exc:
        return exc.reason
    except FileNotFoundError:
        return "missing"
    except (OSError, pl.exceptions.PolarsError) as exc:
        return "unreadable: " + (str(exc).splitlines() or ["?"])[0][:80]
    return None


def _regular(root: Path, rel: str) -> Path:
    """The part's path, refusing a link or anything but a plain file (never followed)."""
    path = part_path(root, rel)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise PartError(rel, "missing") from None
    if not stat.S_ISREG(st.st_mode):
        raise PartError(rel, "a link or special file, not a part")
    return path


def entry_problems(root: Path, entry: dict, full: bool = False) -> list[tuple[str, str]]:
    """(part, problem) for each of an entry's parts that is not whole."""
    sums = entry.get("sums") or {}
    out = []
    for kind in ("runs", "history", "tails"):
        rel = entry.get(kind)
        if rel:
            p = problem(root, rel, kind, sums.get(kind), full)
            if p:
                out.append((rel, p))
    return out


def frames_of(root: Path, e: dict, history: bool = True):
    """One manifest entry's frames from its parts (``PartError`` if one is missing or not whole)."""
    return load(root, [e], history)


def load(root: Path, entries: list[dict], history: bool | str = True):
    """The frames of many entries at once: each part is read once, however many small sources
    share it, and only the rows of these entries are kept (``PartError`` as ``frames_of``).
    ``history``: True (all of it), False (none), or "tails" (only :func:`tails`)."""
    import polars as pl

    from ..ingest import FileInfo, Frames
    from ..ingest.shape import RUNS_SCHEMA, empty_history

    kinds = ("runs", "history") if history is True else ("runs", "tails") if history else ("runs",)
    frames = {}
    for kind in kinds:
        groups: dict[str, list[list[int] | None]] = {}
        derive: dict[str, list[list[int] | None]] = {}  # no tails part (older): from history
        for e in entries:
            rel = e.get(kind)
            if kind == "tails" and not rel and e["history"]:
                derive.setdefault(e["history"], []).append((e.get("slice") or {}).get("history"))
            elif rel:
                groups.setdefault(rel, []).append((e.get("slice") or {}).get(kind))
        got = [_rows(read(root, rel, kind), rel, spans) for rel, spans in groups.items()]
        got += [tails(_rows(read(root, rel, "history"), rel, spans))
                for rel, spans in derive.items()]
        got = [df for df in got if df.height or kind == "runs"]
        if not got:
            frames[kind] = pl.DataFrame(schema=RUNS_SCHEMA) if kind == "runs" else empty_history()
        else:
            frames[kind] = got[0] if len(got) == 1 else pl.concat(got, how="diagonal_relaxed")
    info = {e["display"]: FileInfo(e["reader"], e["found"], e["hash"], e["rows"]) for e in entries}
    return Frames(frames["runs"], frames.get("history", frames.get("tails", empty_history())), [],
                  [c for e in entries for c in e["columns"]], info)


def _rows(df, rel: str, spans: list):
    """The rows of ``df`` the entries' spans name (None: the whole part), in their order."""
    if any(s is None for s in spans):
        return df
    if any(a + n > df.height for a, n in spans):
        raise PartError(rel, f"{df.height} rows, fewer than the manifest's slices name")
    spans = sorted(spans)
    if spans[0][0] == 0 and all(a + n == b for (a, n), (b, _) in itertools.pairwise(spans)) and \
            spans[-1][0] + spans[-1][1] == df.height:
        return df  # every source of the part: the whole part
    import numpy as np

    idx = np.concatenate([np.arange(a, a + n) for a, n in spans]) if spans else []
    return df[idx] if len(idx) else df.clear()


def tails(history):
    """The history rows that decide each run's reduced value under ``--reduce last`` and
    ``min``: per run and metric, the rows at its last (step, tokens), ties included, and the
    rows of its smallest value. A fit of one point per run reads these, not the whole history
    (the store keeps them as a part of their own)."""
    import polars as pl

    from .. import schema as S

    if not history.height:
        return history
    # "last" is the largest (step, tokens), nulls first: the largest step, then the largest
    # tokens among the rows at it (all null: the null). The windows group one integer per
    # (run, metric), the two keys' category codes: over the strings themselves (or their
    # struct) they took twice the time and 145 MB more on a 1M-row history.
    def code(col: str):
        return pl.col(col).cast(pl.Categorical).to_physical().cast(pl.UInt64)

    # One lazy query: polars plans the windows and filters together (faster on 1M rows).
    key = "__k"
    numbered = history.lazy().with_columns(
        (code(S.RUN_ID) * (1 << 32) + code(S.METRIC)).alias(key))
    at_step = pl.col(S.STEP).eq_missing(pl.col(S.STEP).max().over(key))
    smallest = pl.col(S.VALUE) == pl.col(S.VALUE).min().over(key)
    # the rows at the last step or of the smallest value, then the last tokens among them
    # (the candidates hold every row at the largest step, so their maxima are the run's)
    cand = (numbered.filter(at_step | smallest)
            .with_columns(at_step.alias("__a"), smallest.alias("__m")))
    last_d = pl.col(S.D).filter("__a").max().over(key)
    return (cand.filter((pl.col("__a") & pl.col(S.D).eq_missing(last_d)) | pl.col("__m"))
            .drop(key, "__a", "__m").collect())
