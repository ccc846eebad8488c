"""How a fit's residuals are shown: one row per run, and residuals against compute in the
terminal (drawn like :mod:`scalecli.report.plots`: log10 compute, our own ticks).

Both read the rows a fit carries (``result.residuals``, see
:mod:`scalecli.analyses.residuals`), so a saved fit renders the same as a fresh one.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from . import plots as P

__all__ = ["residual_plot", "residual_table"]

_FIXED = ("run", "C", "observed", "predicted", "residual", "outlier")
_OUTLIER_MARKER = "X"


def _names(rows: list[dict[str, Any]]) -> list[str]:
    """The law's variables, as the rows name them (N, D, or a column)."""
    return [k for k in (rows[0] if rows else {}) if k not in _FIXED]


def residual_table(result, fmt_name: str) -> str:
    """The residuals as a table: run, the law's variables, observed, predicted, residual (in
    the fit's space), a flag for outliers; csv keeps the flag as true/false and adds C."""
    from .tables import render

    rows = list(result.residuals or [])
    space = (result.fit or {}).get("space", "log")
    cols = [("run", "run"), *((k, k) for k in _names(rows)), ("observed", "observed"),
            ("predicted", "predicted"), ("residual", f"residual ({space})")]
    if fmt_name == "csv":
        return render(rows, [*cols[:-3], ("C", "C"), *cols[-3:], ("outlier", "outlier")], "csv")
    shown = [{**r, "flag": "yes" if r.get("outlier") else ""} for r in rows]
    flagged = sum(1 for r in rows if r.get("outlier"))
    caption = (f"{flagged} of {len(rows)} runs flagged: residual beyond 3 robust standard "
               "deviations of the median")
    return render(shown, [*cols, ("flag", "outlier")], fmt_name, caption=caption,
                  title=f"residuals of the {result.law} fit ({space} space: observed - "
                        "predicted)")


def residual_plot(result, *, width: int = 80, height: int = 24, color: bool = False) -> str:
    """Residuals (the fit's space, linear axis) against compute (log axis), or against the
    law's one variable: points marked by model size, outliers as X, the zero line and the
    outlier band (dotted)."""
    import numpy as np

    if width < 40 or height < 12:
        from ..errors import ConfigError

        raise ConfigError(f"a plot needs at least 40 columns and 12 rows, got {width}x{height}")
    rows = list(result.residuals or [])
    names = _names(rows)
    key, xlabel = ("C", "compute C (FLOPs)")
    if len(names) == 1 and names[0] not in ("N", "D"):
        key, xlabel = names[0], names[0]
    x, r = (np.array([np.nan if v.get(k) is None else v[k] for v in rows], dtype=float)
            for k in (key, "residual"))
    flag = np.array([bool(v.get("outlier")) for v in rows], dtype=bool)
    ok = np.isfinite(x) & (x > 0) & np.isfinite(r)
    if not ok.any():
        raise InputError(f"nothing to plot: no run has a positive, finite {key} and a residual")
    from ..analyses.residuals import robust_band

    n_free = len(result.params) - len(result.fixed or {})
    center, threshold = robust_band(r[np.isfinite(r)], n_free)  # the rule the flags came from
    lx, r, flag = np.log10(x[ok]), r[ok], flag[ok]
    sizes = np.array([v.get("N") or np.nan for v in rows], dtype=float)[ok]
    groups = (P._groups(sizes, P._MAX_GROUPS) if np.isfinite(sizes).all() and "N" in names
              else [("runs", 0.0, np.arange(r.size))])
    pad = max(0.04 * (lx.max() - lx.min()), 0.1)
    xlim = (lx.min() - pad, lx.max() + pad)
    band = (center - threshold, center + threshold)
    lo, hi = min(r.min(), band[0], 0.0), max(r.max(), band[1], 0.0)
    ylim = (lo - 0.05 * (hi - lo or 1e-9), hi + 0.05 * (hi - lo or 1e-9))
    entries = [(f"{P._MARKERS[k]} {label}", P._COLORS[k]) for k, (label, _, _) in
               enumerate(groups)]
    entries += [(f"{_OUTLIER_MARKER} outlier", P._FRONTIER_COLOR),
                (f"{P._FRONTIER_MARKER * 2} median ± 3 robust sd", None)]
    legend = P.wrap_legend(entries, width, color)
    plot_h = height - 1 - len(legend)
    space = (result.fit or {}).get("space", "log")
    header = P._header(f"{result.law} fit: residuals vs {xlabel.split(' (')[0]}", width, color,
                       left=f"residual ({space})")

    import plotext as plt

    with P.figure(width, plot_h) as fig:
        grid = np.linspace(*xlim, 2 * P._SAMPLES)
        for level, mark in ((band[0], P._FRONTIER_MARKER), (band[1], P._FRONTIER_MARKER),
                            (0.0, P._CURVE_MARKER)):
            P._draw_line(fig, plt.marker(mark, plt.pixel()), grid, np.full(grid.size, level),
                         ylim)
        for k, (_, _, idx) in enumerate(groups):
            idx = idx[~flag[idx]]
            if idx.size:
                pix = plt.pixel(foreground=P._COLORS[k], style="bold")
                fig.draw(fig.signal(lx[idx].tolist(), r[idx].tolist(),
                                    marker=plt.marker(P._MARKERS[k], pix)))
        if flag.any():
            pix = plt.pixel(foreground=P._FRONTIER_COLOR, style="bold")
            fig.draw(fig.signal(lx[flag].tolist(), r[flag].tolist(),
                                marker=plt.marker(_OUTLIER_MARKER, pix)))
        body = P.finish(fig, xlim, ylim, P._x_ticks, xlabel, width, plot_h, color,
                        yticks=linear_ticks)
    return P.assemble(header, body, legend, color)


def linear_ticks(lo: float, hi: float, max_ticks: int) -> tuple[list[float], list[str]]:
    """Ticks on a linear axis at round steps (1, 2, 2.5 or 5 times a power of ten), as many as fit;
    0 among them when the axis crosses it."""
    import math

    span = hi - lo
    if not span > 0:
        return [lo], [str(lo)]
    step = 10.0 ** math.floor(math.log10(span / max(max_ticks, 1)))
    for m in (1, 2, 2.5, 5, 10, 20, 25, 50):
        if span / (m * step) <= max_ticks:
            step *= m
            break
    first = math.ceil(lo / step)
    vals = [k * step for k in range(first, math.floor(hi / step) + 1)]
    digits = max(0, 1 - math.floor(math.log10(step)))
    from .format import fmt

    return vals, [fmt(round(v, digits) + 0.0) for v in vals]
