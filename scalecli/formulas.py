"""Targets and variables that are formulas over columns: ``--y "0.215*mmlu_stem + 0.335*
mmlu_humanities + ..."`` or ``--y "mean(1 - acc_*)"``.

A formula is parsed by the law formula language (:mod:`scalecli.laws.expression`: numbers,
names, ``+ - * / **``, exp, log, sqrt, min, max; never ``eval``). ``mean(...)`` is added here:
``mean(a, b, c)`` is their average, and ``mean(EXPR)`` whose EXPR names a glob (``acc_*``,
``mmlu_*_acc``: a name with ``*`` and no space around it) is EXPR averaged over every column
the glob matches, in sorted order (inside ``mean``, write a product with spaces: ``a * b``).

The formula is evaluated on every logged row that has all its columns (the history, a row per
step) and on the runs' final values, and becomes a metric of that text, so ``--reduce``,
``--points``, ``--skip-fraction`` and ``--smooth`` treat it as any logged metric.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from . import schema as S
from .errors import ColumnError, ConfigError, clip

if TYPE_CHECKING:
    from .ingest import Frames

_TOKEN = re.compile(r"(?<![\w.)*])[A-Za-z_*][\w*]*")
_SIGNS = " ()*+"


def is_formula(text: str | None) -> bool:
    """A ``--y``/``--x`` text that is a formula rather than a column name: it has a space, a
    parenthesis, ``*`` or ``+`` (column names such as ``train/loss`` or ``c4_en-validation``
    stay names)."""
    return isinstance(text, str) and any(c in text for c in _SIGNS)


def available(frames: Frames) -> list[str]:
    """Every name a formula may use: logged metrics and the runs' own columns."""
    hist = frames.history
    metrics = set(hist[S.METRIC].unique().to_list()) if hist is not None and hist.height else set()
    cols = {c for c in frames.runs.columns if c not in (S.RUN_ID, S.SOURCE, S.FORMAT, S.NAME)}
    return sorted(metrics | cols)


def expand(text: str, names: list[str], option: str, where: str) -> str:
    """``text`` with each ``mean(...)`` written out: globs expanded over ``names``."""
    out, i = [], 0
    for m in re.finditer(r"\bmean\s*\(", text):
        if m.start() < i:
            continue
        start = m.end()
        depth, j = 1, start
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        if depth:
            raise ConfigError(f"{option} {clip(text, 80)!r}: mean( is not closed")
        inner = expand(text[start : j - 1], names, option, where)  # a mean inside a mean
        out.append(text[i : m.start()])
        out.append(_mean(inner, names, option, where))
        i = j
    out.append(text[i:])
    return "".join(out)


def _mean(inner: str, names: list[str], option: str, where: str) -> str:
    globs = sorted({t for t in (g.group() for g in _TOKEN.finditer(inner))
                    if "*" in t and "**" not in t and t.strip("*")})
    if not globs:
        args = _split_args(inner)
        if any(not a.strip() for a in args):
            raise ConfigError(f"{option}: mean({clip(inner, 60)}) has an empty argument; give "
                              "columns or expressions, e.g. mean(acc_*) or mean(a, b)")
        return "(((" + ") + (".join(args) + f")) / {len(args)})"
    if len(globs) > 1:
        raise ConfigError(f"{option}: mean({clip(inner, 60)}) names {len(globs)} globs "
                          f"({', '.join(globs)}); use one")
    (glob,) = globs
    hits = [n for n in names if fnmatch.fnmatchcase(n, glob)]
    if not hits:
        raise ColumnError(f"no column matching {glob!r} named in {option} is in {where} "
                          "(inside mean(), write a product with spaces: a * b)")
    pat = re.compile(r"(?<![\w*])" + re.escape(glob) + r"(?![\w*])")
    terms = [pat.sub(h, inner) for h in hits]
    return "(((" + ") + (".join(terms) + f")) / {len(hits)})"


def _split_args(inner: str) -> list[str]:
    args, depth, cur = [], 0, []
    for ch in inner:
        if ch == "," and depth == 0:
            args.append("".join(cur))
            cur = []
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        cur.append(ch)
    args.append("".join(cur))
    return args


def _sources(frames: Frames) -> str:
    runs = frames.runs
    if S.SOURCE not in runs.columns or not runs.height:
        return "the data"
    found = sorted(set(runs[S.SOURCE].cast(str).to_list()))
    return ", ".join(found[:3]) + (f" (and {len(found) - 3} more)" if len(found) > 3 else "")


def add_formula(frames: Frames, text: str, option: str = "--y") -> Frames:
    """``frames`` with the formula ``text`` as one more metric (named ``text``): a history row
    wherever every column it names is logged at that step, and a runs column (the run's final
    value: its last such row, else the formula of its final values)."""
    import polars as pl

    from .ingest import Frames
    from .laws.evaluate import data_values
    from .laws.expression import parse

    names = available(frames)
    where = _sources(frames)
    expr = parse(expand(text, names, option, where))
    if not expr.names:
        raise ConfigError(f"{option} {clip(text, 80)!r} names no column: give a column, or a "
                          "formula over columns (e.g. 0.5*acc_a + 0.5*acc_b)")
    missing = [n for n in expr.names if n not in names]
    if missing:
        shown = ", ".join(clip(n) for n in names[:12]) + (" ..." if len(names) > 12 else "")
        raise ColumnError(f"column {clip(missing[0])!r} named in {option} is not in {where} "
                          f"(columns found: {shown})")
    hist, runs = frames.history, frames.runs
    used = list(expr.names)
    rows = hist.filter(pl.col(S.METRIC).is_in(used)) if hist is not None and hist.height else None
    new_hist = hist
    final = None
    if rows is not None and rows.height:
        keys = [S.RUN_ID, S.STEP, S.D]
        wide = rows.pivot(on=S.METRIC, index=keys, values=S.VALUE, aggregate_function="first")
        constant = [n for n in used if n not in wide.columns and n in runs.columns]
        if constant:  # a run's own column (n_params, a config value) on each of its rows
            wide = wide.join(runs.select(S.RUN_ID, *(pl.col(n).cast(pl.Float64, strict=False)
                                                     for n in constant)),
                             on=S.RUN_ID, how="left")
        wide = wide.drop_nulls([n for n in used if n in wide.columns])
        if all(n in wide.columns for n in used) and wide.height:
            values = data_values(expr.tree, {n: wide[n].to_numpy() for n in used})
            derived = wide.select(keys).with_columns(pl.lit(text).alias(S.METRIC),
                                                     pl.Series(S.VALUE, values))
            derived = derived.filter(pl.col(S.VALUE).is_finite())
            new_hist = pl.concat([hist, derived], how="diagonal_relaxed")
            final = (derived.sort([S.RUN_ID, S.STEP, S.D], nulls_last=False)
                     .group_by(S.RUN_ID).agg(pl.col(S.VALUE).last().alias("_final")))
    if all(n in runs.columns for n in used):
        summary = data_values(expr.tree, {n: runs[n].cast(pl.Float64, strict=False).to_numpy()
                                          for n in used})
        runs = runs.with_columns(pl.Series(text, summary))
        if final is not None:
            runs = (runs.join(final, on=S.RUN_ID, how="left")
                    .with_columns(pl.coalesce("_final", text).alias(text)).drop("_final"))
    elif final is not None:
        runs = runs.join(final.rename({"_final": text}), on=S.RUN_ID, how="left")
    else:
        raise ColumnError(f"{option} {clip(text, 80)!r}: no run logs all of "
                          f"{', '.join(clip(n) for n in used)} together in {where}")
    note = f"{option} {text}: a formula over the columns {', '.join(used)}"
    return Frames(runs, new_hist, frames.warnings, frames.columns, frames.files,
                  [*frames.notes, note], frames.dropped)
