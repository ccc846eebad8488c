"""How a comparison of sweeps is shown: the groups' parameters side by side, the budgets with
each group's compute-optimal loss and compute multiplier, where the frontiers cross; or a
terminal plot of the frontiers (with each group's runs) in the house style of
:mod:`scalecli.report.plots`."""

from __future__ import annotations

from typing import Any

from . import plots as P
from .fit import rmse_label
from .format import fmt
from .tables import render

__all__ = ["compare_output", "compare_plot"]

_LINES = ("·", "+", "~", "=", ":", "-")  # one line glyph per group, told apart without colour
_POINTS = "ox*#%@"  # and one marker for its runs
_CROSS = "X"
_SAMPLES = 240


def compare_output(res: Any, fmt_name: str, *, plot: bool = False, color: bool = False) -> str:
    """A :class:`~scalecli.analyses.compare.Comparison` as tables, JSON, CSV or a plot."""
    import json

    if plot:
        return compare_plot(res, color=color)
    if fmt_name == "json":
        return json.dumps(res.to_dict(), indent=2) + "\n"
    if fmt_name == "csv":
        return render(_long_rows(res), [(k, k) for k in ("kind", "group", "name", "flops",
                                                         "value", "low", "high")], "csv")
    sep = "\n" if fmt_name == "markdown" else ""
    return sep.join([_params_table(res, fmt_name), _budgets_table(res, fmt_name)])


def _cell(value, interval=None):
    """A value, with its interval when there is one (then as text)."""
    if not interval:
        return value
    return f"{fmt(value)} [{fmt(interval[0])}, {fmt(interval[1])}]"


def _param(group: dict, name: str):
    cell = _cell(group["params"].get(name), group["intervals"].get(name))
    return f"{fmt(cell)} (fixed)" if name in group["fixed"] else cell


def _params_table(res, fmt_name: str) -> str:
    from ..laws import equation

    names = list(res.groups)
    d = {n: g.to_dict() for n, g in res.groups.items()}
    rows = [{"q": p, **{n: _param(d[n], p) for n in names}} for p in d[names[0]]["params"]]
    for key, head in (("n_runs", "runs"), ("rmse_log", rmse_label(res.law)), ("r2", "R²"),
                      ("converged", "converged")):
        rows.append({"q": head, **{n: d[n][key] for n in names}})
    rows.append({"q": "compute of the runs", **{
        n: f"{fmt(d[n]['flops_range'][0])}..{fmt(d[n]['flops_range'][1])}" for n in names}})
    cols = [("q", "parameter")] + [(n, res.label(n)) for n in names]
    return render(rows, cols, fmt_name,
                  title=f"{res.law}: {equation(res.law, res.formula)}, fitted to each group",
                  caption=f"baseline: {res.label(res.baseline)}")


def _budgets_table(res, fmt_name: str) -> str:
    names, base = list(res.groups), res.baseline
    others = names[1:]
    rows = []
    for r in res.budgets:
        row = {"flops": r["flops"], "beyond": r["extrapolated"]}
        for n in names:
            row[f"L:{n}"] = _cell(r["loss"][n], r["loss_interval"].get(n))
        for n in others:
            row[f"m:{n}"] = r["multiplier"][n]
            if n in r["ranking"]:
                row[f"r:{n}"] = r["ranking"][n]
        rows.append(row)
    cols = [("flops", "C (FLOPs)")] + [(f"L:{n}", f"L* {res.label(n)}") for n in names]
    cols += [(f"m:{n}", f"× C for {res.label(n)}") for n in others]
    cols += [(f"r:{n}", f"ranking {res.label(n)}") for n in others
             if any(f"r:{n}" in row for row in rows)]
    cols.append(("beyond", "extrapolated"))
    caption = [(f"× C for G: the compute G needs to reach {res.label(base)}'s compute-optimal "
                "loss at C, as a multiple of C (above 1: "
                f"{res.label(base)} is the more compute-efficient); extrapolated: outside "
                f"{fmt(res.shared_flops[0])}..{fmt(res.shared_flops[1])} FLOPs, the compute "
                "every group's runs span")]
    caption += [p["note"] for p in res.pairs]
    if res.crossover_flops is not None:
        caption.append(f"crossover_flops: {fmt(res.crossover_flops)}")
    text = render(rows, cols, fmt_name, title="compute-optimal loss L*(C) by budget",
                  caption="\n".join(caption))
    if fmt_name == "markdown":  # a markdown table has no caption: the findings follow it
        text += "\n" + "\n\n".join(c.replace("*", "\\*") for c in caption) + "\n"
    return text


def _long_rows(res) -> list[dict]:
    """One row per value, for a pipe: parameters, losses, multipliers, crossings."""
    rows = []
    for n, g in res.groups.items():
        for p, v in g.fit.params.items():
            lo, hi = g.intervals.get(p, (None, None))
            rows.append({"kind": "param", "group": n, "name": p, "value": v, "low": lo,
                         "high": hi})
    for r in res.budgets:
        for n, v in r["loss"].items():
            lo, hi = r["loss_interval"].get(n, (None, None))
            rows.append({"kind": "loss", "group": n, "flops": r["flops"], "value": v,
                         "low": lo, "high": hi})
        for n, v in r["multiplier"].items():
            rows.append({"kind": "multiplier", "group": n, "flops": r["flops"], "value": v})
    for p in res.pairs:
        for c in p["crossings"]:
            rows.append({"kind": "crossover", "group": p["group"], "flops": c})
    return rows


def compare_plot(res: Any, *, width: int = 80, height: int = 24, color: bool = False,
                 title: str = "") -> str:
    """Log-log compute-optimal loss against compute: each group's frontier (its own line
    glyph and colour), its runs' points, and the crossings marked X."""
    import numpy as np

    from .isoplots import _render

    names = list(res.groups)
    lows = [g.flops_range[0] for g in res.groups.values()]
    highs = [g.flops_range[1] for g in res.groups.values()]
    crosses = [(c, p) for p in res.pairs for c in p["crossings"]]
    lo = np.log10(min(lows) / 1.5)
    hi = np.log10(max([max(highs) * 1.5, *(r["flops"] for r in res.budgets),
                       *(c * 1.5 for c, _ in crosses)]))
    lo = min(lo, np.log10(min(r["flops"] for r in res.budgets)))
    grid = np.linspace(lo, hi, _SAMPLES)
    layers, entries, ys = [], [], []
    for k, n in enumerate(names):
        fy = P._log10(np.asarray(res.frontier(n, 10.0**grid), float))
        layers.append(("line", grid, fy, _LINES[k], P._COLORS[k]))
        ys.append(fy)
        entries.append((f"{_LINES[k] * 2} {res.label(n)} ({_POINTS[k]} its runs)", P._COLORS[k]))
        pts = res.groups[n].fit.points
        if pts is not None and "flops" in pts.columns and pts.height:
            px = P._log10(pts["flops"].cast(float).to_numpy())
            py = P._log10(pts["y"].cast(float).to_numpy())
            layers.append(("points", px, py, _POINTS[k], P._COLORS[k]))
            ys.append(py[np.isfinite(px)])
    if crosses:
        cx = np.log10([c for c, _ in crosses])
        cy = np.array([P._log10(np.asarray(res.frontier(p["baseline"], [c]), float))[0]
                       for c, p in crosses])
        layers.append(("points", cx, cy, _CROSS, P._FRONTIER_COLOR))
        entries.append((f"{_CROSS} crossover " + ", ".join(fmt(c) for c, _ in crosses),
                        P._FRONTIER_COLOR))
    return _render(layers, grid, np.concatenate(ys), entries, P._x_ticks, "compute C (FLOPs)",
                   width, height, color, title or f"compute-optimal loss ({res.law} per group)")
