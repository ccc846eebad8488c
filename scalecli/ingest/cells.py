"""Which cells of a wide table are refused, warned about or converted, before it is shaped.

A non-number where a number must be, N <= 0, negative tokens or FLOPs and a step beyond 64 bits
are refused naming the line; NaN/inf are dropped with a warning; a run's final loss that is not
positive is refused (a loss is fitted in log space, so 0 would end as -inf deep in the fit).
All of it vectorized; Python only touches the few bad rows it must name. Messages cut what they
quote (``clip``): a cell may hold a megabyte.
"""

from __future__ import annotations

import math

import polars as pl

from ..errors import InputError, StrictError, clip
from .tabular import Table

STEP_LIMIT = 2.0 ** 63  # steps are Int64


def lines_text(nums: list[int], total: int | None = None) -> str:
    total = len(nums) if total is None else total
    head = ", ".join(map(str, nums[:8]))
    return head + (f", ... ({total - 8} more)" if total > 8 else "")


def num_text(v: float | None) -> str:
    if v is None:
        return "nothing"
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else clip(repr(v))


def rows_of(mask: pl.Series) -> list[int]:
    return mask.arg_true().to_list()


def warn(spec, text: str) -> None:
    if spec.strict:
        raise StrictError(text + " (refused: --strict)")
    spec.warnings.append(text)


def coerce(table: Table, spec, numeric: set[str], text: set[str],
           step: str | None) -> pl.DataFrame:
    """Numbers as Float64 (the step as Int64), text as String. A non-number in a column that
    must be numeric (a role, a loss, or a column that is mostly numbers) is refused with its
    line and text; so is a step beyond 64 bits. Columns in ``text`` (run names) are never
    taken for numbers; a column with no value at all is numeric (it holds nothing)."""
    df = table.df
    if step is not None and df.schema[step].is_numeric():
        _check_step(df[step], table, spec, step)
    casts = []
    for c, t in df.schema.items():
        if c == step and t.is_integer():
            if t != pl.Int64:
                casts.append(pl.col(c).cast(pl.Int64))
        elif t.is_numeric():
            if t != pl.Float64:
                casts.append(pl.col(c).cast(pl.Float64))
        elif t == pl.Null:
            casts.append(pl.col(c).cast(pl.Float64))
        elif t != pl.String:
            casts.append(pl.col(c).cast(pl.String))
    if casts:
        df = df.with_columns(casts)
    for c, t in df.schema.items():
        if t != pl.String or c in text:
            continue
        text_ = df[c].str.strip_chars()
        num = text_.cast(pl.Float64, strict=False)
        bad = text_.is_not_null() & (text_ != "") & num.is_null()
        if c in numeric and bad.any():  # sizes written as 125M, 2.5B, 1.4T
            num = _with_suffixes(text_, num)
            bad = text_.is_not_null() & (text_ != "") & num.is_null()
        n_bad, n_ok = int(bad.sum()), int(num.is_not_null().sum())
        if c in numeric or (n_ok and n_bad <= 0.1 * (n_ok + n_bad)) or not (n_ok or n_bad):
            if n_bad:
                rows = rows_of(bad)
                lines = table.line_of(rows[:9])
                also = (f"; also {table.unit} {lines_text(lines[1:], n_bad - 1)}"
                        if n_bad > 1 else "")
                raise InputError(f"column {clip(c)!r} holds {clip(df[c][rows[0]])!r}, which is "
                                 f"not a number ({n_bad} such cell{'s' if n_bad > 1 else ''}"
                                 f"{also})", spec.display, lines[0], table.unit)
            if c == step:
                _check_step(num, table, spec, step)
            df = df.with_columns(num.alias(c))
    return df


def _with_suffixes(text: pl.Series, num: pl.Series) -> pl.Series:
    """``num`` with the cells written with a unit suffix (``125M``, ``2.5B``: see
    :mod:`scalecli.units`) read; any other text stays null."""
    from ..units import SUFFIXES

    parts = text.str.extract_groups(
        r"^([+-]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z])$")
    digits = parts.struct.field("1").str.replace_all("_", "")
    power = parts.struct.field("2").str.to_lowercase().replace_strict(
        list(SUFFIXES), [f"e{round(math.log10(v))}" for v in SUFFIXES.values()], default=None)
    # "2.3" + "e9" is read as 2.3e9 exactly (2.3 * 1e9 is not); "1e3k" multiplies
    exact = (digits + power).cast(pl.Float64, strict=False)
    scale = ("1" + power).cast(pl.Float64, strict=False)
    return num.fill_null(exact.fill_null(digits.cast(pl.Float64, strict=False) * scale))


def _check_step(col: pl.Series, table: Table, spec, step: str) -> None:
    if col.dtype in (pl.Int64, pl.Int32, pl.Int16, pl.Int8, pl.UInt32, pl.UInt16, pl.UInt8):
        return
    wide = col.cast(pl.Float64, strict=False)
    big = ((wide >= STEP_LIMIT) | (wide < -STEP_LIMIT)).fill_null(False)
    if big.any():
        row = rows_of(big)[0]
        raise InputError(f"step {clip(col[row])} in column {clip(step)!r} does not fit in 64 "
                         "bits", spec.display, table.line_of([row])[0], table.unit)


def check_values(df: pl.DataFrame, table: Table, spec, roles: dict) -> pl.DataFrame:
    """Refuse N <= 0, negative tokens or FLOPs; drop non-finite values with one warning each."""
    n, d, c = roles["N"], roles["D"], roles["C"]
    tests = []
    if n:
        why = "model size must be a positive number"
        tests.append((n, (pl.col(n) <= 0) | ~pl.col(n).is_finite(), why))
    if d:
        tests.append((d, pl.col(d) < 0, "tokens must not be negative"))
    if c:
        tests.append((c, pl.col(c) < 0, "FLOPs must not be negative"))
    floats = [k for k, t in df.schema.items() if t == pl.Float64 and k != n]
    exprs = [e.fill_null(False).any().alias(f"t{i}") for i, (_, e, _) in enumerate(tests)]
    exprs += [(~pl.col(k).is_finite()).fill_null(False).sum().alias(f"f{i}")
              for i, k in enumerate(floats)]
    if not exprs:
        return df
    hits = df.select(exprs).row(0)
    for i, (col, expr, why) in enumerate(tests):
        if hits[i]:
            row = rows_of(df.select(expr.fill_null(False)).to_series())[0]
            raise InputError(f"{why}: column {clip(col)!r} holds {num_text(df[col][row])}",
                             spec.display, table.line_of([row])[0], table.unit)
    fixes = []
    for i, k in enumerate(floats):
        if hits[len(tests) + i]:
            rows = rows_of((~df[k].is_finite()).fill_null(False))
            many = "s" if len(rows) > 1 else ""
            warn(spec, f"{spec.display}: dropped {len(rows)} non-finite {clip(k)} value{many} "
                       f"({table.unit}{many} {lines_text(table.line_of(rows[:8]), len(rows))})")
            fixes.append(pl.when(pl.col(k).is_finite()).then(pl.col(k)).alias(k))
    return df.with_columns(fixes) if fixes else df


def check_loss(runs: pl.DataFrame, df: pl.DataFrame, table: Table, spec, run: str,
               loss: str | None, final: str | None, step: str | None, key_of) -> None:
    """A run's final loss (``final``, the runs column of the loss role ``loss``) must be
    positive; the refusal names the line the final value was read from."""
    if loss is None or final not in runs.columns or runs.schema[final] != pl.Float64:
        return
    bad = runs.filter(pl.col(final) <= 0)
    if not bad.height:
        return
    name, value = bad["name"][0], bad[final][0]
    rows = df.with_row_index("__row").filter(
        (pl.col(run) == key_of(bad)) & pl.col(loss).is_not_null())
    if step is not None and rows.height > 1:
        rows = rows.sort(step, maintain_order=True)
    line = table.line_of([rows["__row"][-1]])[0] if rows.height else None
    raise InputError(f"run {clip(name)!r}: final {clip(loss)} is {value:g}; a loss must be "
                     "positive (it is fitted in log space)", spec.display, line, table.unit)
