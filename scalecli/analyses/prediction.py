"""Predictions of any law at chosen points, from a fit or from the law's published values.

Points name variables by formula symbol (``N=7e9``) or by column (``n_params=7e9``). Pure
:mod:`math`: predicting a few points never imports NumPy.
"""

from __future__ import annotations

import math

from ..errors import ConfigError
from .table import Table


def parse_at(text: str) -> dict[str, float]:
    """``N=7e9,D=1.4e12`` -> ``{"N": 7e9, "D": 1.4e12}``."""
    from ..pairs import parse_numbers

    return parse_numbers(text, "--at", example="NAME=NUMBER (e.g. N=7e9)")


def to_symbols(law, point: dict[str, float], where: str = "", *,
               strict: bool = True) -> dict[str, float]:
    """Map a point's names (symbols or column names, any case) to the law's symbols.

    ``strict`` refuses a name that is none of the law's variables, and a name given twice
    (``N`` and ``n_params``); a points file (``strict=False``) may carry other columns. Every
    value must be a positive, finite number: scaling laws are laws of positive quantities."""
    from ..errors import clip

    by_name: dict[str, str] = {}
    for sym, col in law.variables.items():
        by_name[sym.lower()] = sym
        by_name[col.lower()] = sym
    out: dict[str, float] = {}
    for name, value in point.items():
        sym = by_name.get(str(name).lower())
        if sym is None:
            if strict:
                known = ", ".join(f"{s} ({c})" for s, c in law.variables.items())
                raise ConfigError(f"{where}{clip(name)!r} is not a variable of {law.name} "
                                  f"(its variables: {known})")
            continue
        if sym in out:
            raise ConfigError(f"{where}{sym} is given twice")
        v = float(value)
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(f"{where}{name} must be a positive, finite number, got "
                              f"{clip(f'{v:g}')}")
        out[sym] = v
    missing = [s for s in law.variables if s not in out]
    if missing:
        names = ", ".join(f"{s} ({law.variables[s]})" for s in missing)
        raise ConfigError(f"{where}{law.name} needs {names}; got {', '.join(point) or 'nothing'}")
    return out


def predict_points(law, params: dict[str, float], points: list[dict[str, float]],
                   where: str = "", *, strict: bool = True) -> list[dict]:
    """One row per point: the law's variables (by symbol) and ``prediction``."""
    rows = []
    for i, point in enumerate(points):
        values = to_symbols(law, point, f"{where}point {i + 1}: " if where else "",
                            strict=strict)
        try:
            pred = law.value(params, values)
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ConfigError(f"point {i + 1} ({values}): the law cannot be evaluated: {exc}")
        rows.append({**values, "prediction": pred})
    return rows


def read_points(path) -> list[dict[str, float]]:
    """Points from a CSV file with a header (one row per point, numeric cells)."""
    import csv
    from pathlib import Path

    from ..errors import InputError

    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise InputError("no such file", p) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read as CSV: {exc}", p) from None
    if not rows:
        raise InputError("no points (a header and at least one row are needed)", p)
    out = []
    for line, row in enumerate(rows, start=2):
        point = {}
        for k, v in row.items():
            if k is None or v is None or v.strip() == "":
                continue
            try:
                point[k.strip()] = float(v)
            except ValueError:
                continue  # a text column (a name) is carried along, not a variable
        out.append(point)
        if not point:
            raise InputError(f"no numeric cells in {row}", p, line)
    return out


def chain(rows: list[dict], law, params: dict[str, float], where: str) -> list[dict]:
    """Feed each row's prediction into a one-variable law, as Gadre et al. (2024) chain
    downstream error on predicted loss: the previous prediction is kept under the chained
    law's variable (``L``), ``prediction`` becomes the chained law's value."""
    if len(law.variables) != 1:
        raise ConfigError(f"--then needs a law of one variable (the previous prediction); "
                          f"{law.name} has {', '.join(law.variables)}")
    (sym,) = law.variables
    out = []
    for i, row in enumerate(rows):
        try:
            value = law.value(params, {sym: row["prediction"]})
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ConfigError(f"point {i + 1}: {law.name} cannot be evaluated: {exc}") from None
        out.append({**row, sym: row["prediction"], "prediction": value})
    return out


def prediction_table(source=None, law: str | None = None, *, at=(), points_file=None,
                     n: float | None = None, d: float | None = None, then=()) -> Table:
    """What ``scalecli predict`` prints: the law (a fit, or published values) at the points
    given as ``at`` (``"N=7e9,D=1.4e12"`` texts or dicts), in a CSV file, or as ``n``/``d``;
    each ``then`` fit (a one-variable law) applied to the previous prediction in turn."""
    from .allocation import resolve_params

    wanted = [parse_at(a) if isinstance(a, str) else dict(a) for a in at or ()]
    from_file = read_points(points_file) if points_file is not None else []
    if n is not None or d is not None:
        wanted.append({k: v for k, v in (("N", n), ("D", d)) if v is not None})
    if not wanted and not from_file:
        raise ConfigError("give points: --at N=7e9,D=1.4e12, --points FILE.csv, or --n/--d")
    params, law_obj, where = resolve_params(source, law)
    rows = (predict_points(law_obj, params, wanted, "--at " if wanted else "")
            + predict_points(law_obj, params, from_file, f"{points_file} ", strict=False))
    symbols = list(law_obj.variables)
    for r in rows:
        if law_obj.target == "loss":
            r["loss"] = r["prediction"]
        if "N" in r and "D" in r:
            r["n_params"], r["tokens"], r["flops"] = r["N"], r["D"], 6.0 * r["N"] * r["D"]
        r["params_source"] = where
    columns = [(s, f"{s} ({law_obj.variables[s]})") for s in symbols]
    if "N" in symbols and "D" in symbols:
        columns.append(("flops", "C = 6ND"))
    columns.append(("prediction", law_obj.target))
    title = f"{law_obj.name} prediction"
    for step in then or ():  # a chain: loss from (N, D), then error from loss, ...
        p2, law2, where2 = resolve_params(step)
        rows = chain(rows, law2, p2, where2)
        (sym,) = law2.variables
        columns[-1] = (sym, columns[-1][1])
        columns.append(("prediction", law2.target))
        title += f" -> {law2.name}"
        where += f"; then {where2}"
    return Table(rows, columns, title, f"parameters: {where}",
                 csv_extra=[("params_source", "params_source")])
