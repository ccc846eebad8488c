"""Predictions of any law at chosen points, from a fit or from the law's published values.

Points name variables by formula symbol (``N=7e9``) or by column (``n_params=7e9``). Pure
:mod:`math`: predicting a few points never imports NumPy.
"""

from __future__ import annotations

from .errors import ConfigError


def parse_at(text: str) -> dict[str, float]:
    """``N=7e9,D=1.4e12`` -> ``{"N": 7e9, "D": 1.4e12}``."""
    out: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--at entry {part.strip()!r} is not NAME=NUMBER (e.g. N=7e9)") from None
    return out


def to_symbols(law, point: dict[str, float], where: str = "") -> dict[str, float]:
    """Map a point's names (symbols or column names, any case) to the law's symbols."""
    by_name: dict[str, str] = {}
    for sym, col in law.variables.items():
        by_name[sym.lower()] = sym
        by_name[col.lower()] = sym
    out: dict[str, float] = {}
    for name, value in point.items():
        sym = by_name.get(str(name).lower())
        if sym is None:
            continue
        out[sym] = float(value)
    missing = [s for s in law.variables if s not in out]
    if missing:
        names = ", ".join(f"{s} ({law.variables[s]})" for s in missing)
        raise ConfigError(f"{where}{law.name} needs {names}; got {', '.join(point) or 'nothing'}")
    return out


def predict_points(law, params: dict[str, float], points: list[dict[str, float]],
                   where: str = "") -> list[dict]:
    """One row per point: the law's variables (by symbol) and ``prediction``."""
    rows = []
    for i, point in enumerate(points):
        values = to_symbols(law, point, f"{where}point {i + 1}: " if where else "")
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

    from .errors import InputError

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
