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


def target_of(source, law) -> str:
    """The column a fit was made on (``loss_c4_val``), else the law's target (``loss``)."""
    from ..fitting.result import FitResult

    if source is None:
        return law.target
    res = source if isinstance(source, FitResult) else FitResult.load(source)
    return res.target or law.target


def prediction_table(source=None, law: str | None = None, *, at=(), points_file=None,
                     n=None, d=None, then=(), steps: int = 5) -> Table:
    """What ``scalecli predict`` prints: the law (a fit, or published values) at the points
    given as ``at`` (``"N=7e9,D=1.4e12"`` texts or dicts), over the grid of ``n`` and ``d``
    (numbers, lists, or texts such as ``1e9,3e9`` and ``1B..70B`` with ``steps`` log-spaced
    values; see :mod:`scalecli.analyses.grid`), and in a points file (CSV or JSONL, see
    :mod:`scalecli.analyses.points`: run names, and observed against predicted where the file
    has the observed value); each ``then`` fit (a one-variable law) applied to the previous
    prediction in turn."""
    from .allocation import resolve_params
    from .grid import PredictionTable, axes_where, grid_rows, parse_axes
    from .points import compare, read_points

    wanted = [parse_at(a) if isinstance(a, str) else dict(a) for a in at or ()]
    axes = parse_axes(n, d, steps) if n is not None or d is not None else {}
    if not wanted and not axes and points_file is None:
        raise ConfigError("give points: --at N=7e9,D=1.4e12, --points FILE.csv, or --n/--tokens")
    params, law_obj, where = resolve_params(source, law)
    chained = [resolve_params(step) for step in then or ()]
    rows = predict_points(law_obj, params, wanted, "--at " if wanted else "")
    grid, observed = None, None
    if axes:
        to_symbols(law_obj, {k: v[0] for k, v in axes.items()}, axes_where(axes))
        cells, grid = grid_rows(law_obj, params, axes)
        grid.start = len(rows)
        rows += cells
    if points_file is not None:
        target = target_of(then[-1], chained[-1][1]) if chained else target_of(source, law_obj)
        points, observed = read_points(points_file, law_obj, target)
        for p in points:
            row = predict_points(law_obj, params, [p.values], f"{points_file}:{p.line}: ")[0]
            rows.append({**({"name": p.name} if p.name is not None else {}), **row,
                         **({"observed": p.observed} if p.observed is not None else {})})
    symbols = list(law_obj.variables)
    for r in rows:
        if law_obj.target == "loss":
            r["loss"] = r["prediction"]
        if "N" in r and "D" in r:
            r["n_params"], r["tokens"], r["flops"] = r["N"], r["D"], 6.0 * r["N"] * r["D"]
        r["params_source"] = where
    columns = [(s, f"{s} ({law_obj.variables[s]})") for s in symbols]
    if any(r.get("name") for r in rows):
        columns.insert(0, ("name", "run"))
    if "N" in symbols and "D" in symbols:
        columns.append(("flops", "C = 6ND"))
    columns.append(("prediction", law_obj.target))
    title = f"{law_obj.name} prediction"
    for p2, law2, where2 in chained:  # a chain: loss from (N, D), then error from loss, ...
        rows = chain(rows, law2, p2, where2)
        (sym,) = law2.variables
        columns[-1] = (sym, columns[-1][1])
        columns.append(("prediction", law2.target))
        title += f" -> {law2.name}"
        where += f"; then {where2}"
    table = PredictionTable(rows, columns, title, f"parameters: {where}",
                            csv_extra=[("params_source", "params_source")], grid=grid)
    summary = compare(rows, observed)
    if summary:
        table.columns += [("observed", "observed"), ("residual", "residual"),
                          ("rel_error_pct", "rel. error %")]
        table.csv_extra += [("rel_error", "rel_error")]
        table.notes.append(summary)
    return table
