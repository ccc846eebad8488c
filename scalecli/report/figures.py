"""Figures for a paper: what the terminal plots show, drawn with matplotlib to PNG or SVG.

matplotlib is an optional extra (``pip install 'scalecli[plots]'``), imported only here and only
when a figure is asked for; figures are built on a bare :class:`matplotlib.figure.Figure` (the
Agg canvas, never pyplot's global state, never shown), so threads and servers are safe. Each
series has its own marker and line style as well as its colour, so a figure printed in black
and white still tells them apart. Files are written atomically, their folder made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..laws import equation
from . import plots as P

__all__ = ["available", "figure_bytes", "figures_for", "require", "write_figures"]

MARKERS = ("o", "s", "^", "D", "v", "P", "*", "h")
LINES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 3)))
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f")
_RED = "#d62728"
_SIZE = (6.4, 4.6)


def available() -> bool:
    """Whether matplotlib can be imported (the ``plots`` extra is installed)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require(png: Any = None, svg: Any = None) -> None:
    """Refuse, in one line, a ``--png``/``--svg`` that cannot be honoured: checked before the
    work, so a long fit is not run for nothing."""
    if (png is not None or svg is not None) and not available():
        flag = "--png" if png is not None else "--svg"
        raise ConfigError(f"{flag} needs matplotlib: pip install 'scalecli[plots]'")


def _figure(ncols: int = 1):
    """A new figure on the Agg canvas, and its axes."""
    require(png=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_SIZE[0] * (1 + 0.85 * (ncols - 1)), _SIZE[1]), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _style(ax, xlabel: str, ylabel: str, *, logy: bool = True) -> None:
    ax.set_xscale("log")
    if logy:
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.set_yscale("log")
        plain = FuncFormatter(_tick)  # 2.5, not 2.5×10⁰
        ax.yaxis.set_major_formatter(plain)
        lo, hi = ax.get_ylim()
        if hi / lo < 10:  # within a decade the minor ticks are the only ones: label them
            ax.yaxis.set_minor_locator(LogLocator(subs=(1.5, 2, 2.5, 3, 4, 5, 6, 7, 8)))
            ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)


def _tick(v: float, _pos=None) -> str:
    """A log-axis tick: plain between 0.001 and 10000 (2.5), else a power of ten."""
    import math

    if v <= 0:
        return ""
    if 1e-3 <= v < 1e4:
        return f"{v:g}"
    k = math.log10(v)
    return f"$10^{{{round(k)}}}$" if abs(k - round(k)) < 1e-9 else f"{v:.2g}"


def _legend(ax) -> None:
    ax.legend(fontsize="small", framealpha=0.85, loc="best")


def figure_bytes(fig, kind: str) -> bytes:
    """The figure as ``png`` (150 dpi) or ``svg`` bytes. An SVG keeps its text as text (to
    search, and edit for a paper) and carries no date, so the same data give the same file."""
    import io

    from matplotlib import rc_context

    buf = io.BytesIO()
    meta = {"Date": None} if kind == "svg" else {}
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "scalecli"}):
        fig.savefig(buf, format=kind, dpi=150, metadata=meta)
    return buf.getvalue()


def write_figures(fig, png: str | Path | None = None, svg: str | Path | None = None
                  ) -> list[Path]:
    """Write the figure to each path given (atomically, folders made); the paths written."""
    from ..atomic import write_bytes

    return [write_bytes(path, figure_bytes(fig, kind))
            for kind, path in (("png", png), ("svg", svg)) if path is not None]


def figures_for(kind: str, result: Any, frame: Any = None):
    """The figure of a command's result: ``fit`` (with ``frame``, the points), ``residuals``,
    ``isoflop``, ``frontier``, ``compare`` or ``optimal`` (its table)."""
    draw = {"fit": lambda: fit_figure(result, frame), "residuals": lambda: residual_figure(result),
            "isoflop": lambda: isoflop_figure(result), "frontier": lambda: frontier_figure(result),
            "compare": lambda: compare_figure(result),
            "optimal": lambda: optimal_figure(result)}
    return draw[kind]()


# ---- a fit: data and the fitted law per model size ---------------------------------------
def fit_figure(result, frame):
    """Loss against compute: the runs (marker by model size), the fitted law's curve per size,
    the compute-optimal frontier; a law of one variable as its curve against that variable."""
    import numpy as np

    law_obj = result.law_object()
    theta = np.array([law_obj.to_internal(result.params)])
    fig, (ax,) = _figure()
    target = result.target
    if set(law_obj.variables) != {"N", "D"}:
        if len(law_obj.variables) != 1:
            raise ConfigError(f"a figure draws laws of N and D, or of one variable; "
                              f"{law_obj.name} has {', '.join(law_obj.variables)}")
        (sym, col), = law_obj.variables.items()
        x, y = (np.asarray(frame[c].to_numpy(), float) for c in (col, "y"))
        ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
        ax.plot(x[ok], y[ok], MARKERS[0], color=_COLORS[0], label="runs")
        grid = np.geomspace(x[ok].min() / 1.5, x[ok].max() * 1.5, 200)
        ax.plot(grid, law_obj.predict(theta, {sym: grid})[0], "-", color="black",
                label=f"{result.law} fit")
        _style(ax, "compute C (FLOPs)" if col == "flops" else col, target)
        ax.set_title(f"{result.law} fit: {target} vs {col}")
        _legend(ax)
        return fig
    n, c, y = P._plottable(*(frame[k].to_numpy() for k in ("n_params", "tokens", "flops", "y")))
    for k, (label, n_rep, idx) in enumerate(P._groups(n, len(MARKERS))):
        color = _COLORS[k]
        ax.plot(c[idx], y[idx], MARKERS[k], color=color, label=label, markersize=5)
        grid = np.geomspace(c[idx].min() / P._EXTEND, c[idx].max() * P._EXTEND, P._SAMPLES)
        nn = np.full_like(grid, n_rep)
        ax.plot(grid, law_obj.predict(theta, {"N": nn, "D": grid / (6 * nn)})[0],
                linestyle=LINES[k], color=color, linewidth=1)
    grid = np.geomspace(c.min() / P._EXTEND, c.max() * P._EXTEND, 2 * P._SAMPLES)
    front = []
    for cc in grid:
        opt = law_obj.optimum(result.params, float(cc))
        front.append(np.nan if opt is None else
                     law_obj.value(result.params, {"N": opt[0], "D": opt[1]}))
    if np.isfinite(front).any():
        ax.plot(grid, front, color=_RED, linewidth=2, linestyle=(0, (1, 1)),
                label="compute-optimal frontier")
    ax.set_ylim(y.min() / P._Y_MARGIN ** 0.5, y.max() * P._Y_MARGIN ** 0.5)
    _style(ax, "compute C (FLOPs)", f"loss ({target})" if target != "loss" else "loss")
    ax.set_title(f"{result.law} fit: {equation(result.law, result.formula)}", fontsize="medium")
    ax.plot([], [], "-", color="black", linewidth=1, label="fitted law (per size)")
    _legend(ax)
    return fig


def residual_figure(result):
    """Residuals (the fit's space) against compute: marker by model size, outliers as X, the
    zero line and the outlier band."""
    import numpy as np

    from ..analyses.residuals import robust_band
    from .residuals import _names

    rows = list(result.residuals or [])
    names = _names(rows)
    key, xlabel = ("C", "compute C (FLOPs)")
    if len(names) == 1 and names[0] not in ("N", "D"):
        key, xlabel = names[0], names[0]
    x, r = (np.array([np.nan if v.get(k) is None else v[k] for v in rows], float)
            for k in (key, "residual"))
    flag = np.array([bool(v.get("outlier")) for v in rows], bool)
    ok = np.isfinite(x) & (x > 0) & np.isfinite(r)
    if not ok.any():
        from ..errors import InputError

        raise InputError(f"nothing to plot: no run has a positive, finite {key} and a residual")
    n_free = len(result.params) - len(result.fixed or {})
    center, threshold = robust_band(r[np.isfinite(r)], n_free)
    sizes = np.array([v.get("N") or np.nan for v in rows], float)[ok]
    x, r, flag = x[ok], r[ok], flag[ok]
    groups = (P._groups(sizes, len(MARKERS)) if np.isfinite(sizes).all() and "N" in names
              else [("runs", 0.0, np.arange(r.size))])
    fig, (ax,) = _figure()
    for k, (label, _, idx) in enumerate(groups):
        idx = idx[~flag[idx]]
        if idx.size:
            ax.plot(x[idx], r[idx], MARKERS[k], color=_COLORS[k], label=label, markersize=5)
    if flag.any():
        ax.plot(x[flag], r[flag], "X", color=_RED, markersize=9, label="outlier")
    ax.axhline(0.0, color="black", linewidth=0.8)
    for i, level in enumerate((center - threshold, center + threshold)):
        ax.axhline(level, color="grey", linestyle="--", linewidth=0.8,
                   label="median ± 3 robust sd" if i == 0 else None)
    space = (result.fit or {}).get("space", "log")
    _style(ax, xlabel, f"residual ({space}: observed − predicted)", logy=False)
    ax.set_title(f"{result.law} fit: residuals vs {xlabel.split(' (')[0]}")
    _legend(ax)
    return fig


# ---- approaches 1 and 2: profiles or envelope, and the fitted allocation ------------------
def isoflop_figure(res):
    """IsoFLOP profiles (loss vs N per budget, the curve each minimum came from, the minima),
    and beside them N_opt and D_opt against compute with the fitted power laws."""
    import numpy as np

    res = _first_group(res)
    fig, (ax, right) = _figure(2)
    budgets = sorted(res.budgets + res.dropped, key=lambda b: b.flops)
    if len(budgets) > len(MARKERS):
        pick = np.unique(np.round(np.linspace(0, len(budgets) - 1, len(MARKERS))).astype(int))
        budgets = [budgets[i] for i in pick]
    for k, b in enumerate(budgets):
        label = f"C={_sci(b.flops)}"
        label += " (dropped)" if b.reason else ""
        ax.plot(b.sizes, b.losses, MARKERS[k], color=_COLORS[k], label=label, markersize=5,
                fillstyle="none" if b.reason else "full")
        if b.reason is None and b.curve is not None:
            ax.plot(b.curve[0], b.curve[1], linestyle=LINES[k], color=_COLORS[k], linewidth=1)
    kept = sorted((b for b in res.budgets if b.reason is None), key=lambda b: b.flops)
    if kept:
        ax.plot([b.n_opt for b in kept], [b.loss_opt for b in kept], "X", color=_RED,
                markersize=9, linestyle=":", label=f"minimum ({res.options.get('optimum', '')})")
    _style(ax, "model size N (parameters)", "loss")
    ax.set_title("IsoFLOP profiles (approach 2)", fontsize="medium")
    _legend(ax)
    points = [(b.flops, b.n_opt, b.tokens_opt) for b in kept]
    _allocation_panel(right, res, points, "approach 2")
    return fig


def frontier_figure(res):
    """Approach 1: the runs' smoothed loss curves against compute, the lower envelope and each
    winning size's step; beside them N_opt and D_opt against compute with the power laws."""
    import numpy as np

    res = _first_group(res)
    fig, (ax, right) = _figure(2)
    n = np.array([c[0] for c in res.curves])
    for k, (label, _, idx) in enumerate(P._groups(n, len(MARKERS))):
        for j, i in enumerate(idx):
            _, lx, ly = res.curves[i]
            ax.plot(10.0 ** np.asarray(lx), 10.0 ** np.asarray(ly), linestyle=LINES[k],
                    color=_COLORS[k], linewidth=0.9, label=label if j == 0 else None)
    g = res.grid
    if g:
        keep = np.asarray(g["kept"], bool)
        ey = np.where(keep, np.asarray(g["loss"], float), np.nan)
        ax.plot(g["flops"], ey, color=_RED, linewidth=2.2, alpha=0.8, label="envelope")
    if res.envelope:
        ax.plot([s["flops"] for s in res.envelope], [s["loss_opt"] for s in res.envelope], "X",
                color=_RED, markersize=9, label="winning size")
        if g and keep.any():  # the view follows the envelope, not the first steps' losses
            low, top = np.nanmin(ey) / 1.05, np.nanmax(ey) * 1.25
            ax.set_ylim(low, top)
            seen = [10.0 ** np.asarray(lx)[(10.0 ** np.asarray(ly)) <= top]
                    for _, lx, ly in res.curves]
            seen = np.concatenate([v for v in seen if v.size] or [np.asarray(g["flops"])])
            ax.set_xlim(seen.min() / 1.3, seen.max() * 1.3)
    _style(ax, "compute C (FLOPs)", "loss")
    ax.set_title("loss envelope (approach 1)", fontsize="medium")
    _legend(ax)
    points = [(s["flops"], s["n_opt"], s["tokens_opt"]) for s in res.envelope]
    _allocation_panel(right, res, points, "approach 1")
    return fig


def _allocation_panel(ax, res, points, what: str) -> None:
    """N_opt (circles) and D_opt (squares) against compute, the fitted lines, and the
    predictions at the asked budgets with their intervals when a bootstrap gave them."""
    import numpy as np

    if points:
        c, n, d = (np.array(v, float) for v in zip(*points, strict=True))
        ax.plot(c, n, "o", color=_COLORS[0], label="N_opt (data)")
        ax.plot(c, d, "s", color=_COLORS[1], label="D_opt (data)")
        cs = [c.min(), c.max(), *(p["flops"] for p in res.predictions)]
        grid = np.geomspace(min(cs) / 1.5, max(cs) * 1.5, 100)
        for fit_, name, color, style in ((res.n_fit, "N", _COLORS[0], "-"),
                                         (res.d_fit, "D", _COLORS[1], "--")):
            if fit_ is not None:
                exp = "a" if name == "N" else "b"
                iv = (getattr(res, "uncertainty", None) or {}).get("intervals", {}).get(exp)
                band = f" [{iv[0]:.3f}, {iv[1]:.3f}]" if iv else ""
                ax.plot(grid, fit_(grid), linestyle=style, color=color,
                        label=f"{name}_opt ∝ C^{exp}, {exp} = {fit_.slope:.3f}{band}")
    for p in res.predictions:
        for key, color, mark in (("n_opt", _COLORS[0], "o"), ("tokens_opt", _COLORS[1], "s")):
            lo, hi = (p.get(f"{key}_low"), p.get(f"{key}_high"))
            err = None if lo is None or hi is None else [[p[key] - lo], [hi - p[key]]]
            ax.errorbar([p["flops"]], [p[key]], yerr=err, fmt=mark, color=color,
                        fillstyle="none", markersize=8, capsize=3)
    if res.predictions:
        ax.plot([], [], "o", fillstyle="none", color="black", label="predicted at --flops")
    _style(ax, "compute C (FLOPs)", "parameters N, tokens D")
    ax.set_title(f"compute-optimal allocation ({what})", fontsize="medium")
    _legend(ax)


def _first_group(res):
    """With --group-by, the figure shows the first group that could be fitted."""
    if getattr(res, "groups", None):
        for g in res.groups.values():
            if not g.error:
                return g
    return res


def _sci(x: float) -> str:
    from .isoplots import _sci as sci

    return sci(x)


# ---- compare: each group's frontier ------------------------------------------------------
def compare_figure(res):
    """Each group's compute-optimal loss against compute (own line style and colour), its runs
    (own marker), the loss intervals at the budgets when bootstrapped, the crossings as X."""
    import numpy as np

    fig, (ax,) = _figure()
    names = list(res.groups)
    lows = [g.flops_range[0] for g in res.groups.values()]
    highs = [g.flops_range[1] for g in res.groups.values()]
    crosses = [(c, p) for p in res.pairs for c in p["crossings"]]
    top = max([max(highs) * 1.5, *(r["flops"] for r in res.budgets), *(c * 1.5 for c, _ in
                                                                        crosses)])
    bottom = min(min(lows) / 1.5, *(r["flops"] for r in res.budgets))
    grid = np.geomspace(bottom, top, 240)
    for k, n in enumerate(names):
        color = _COLORS[k % len(_COLORS)]
        ax.plot(grid, np.asarray(res.frontier(n, grid), float), linestyle=LINES[k % 8],
                color=color, label=f"{res.label(n)} frontier")
        pts = res.groups[n].fit.points
        if pts is not None and "flops" in pts.columns and pts.height:
            ax.plot(pts["flops"].cast(float).to_numpy(), pts["y"].cast(float).to_numpy(),
                    MARKERS[k % 8], color=color, markersize=4, alpha=0.7,
                    label=f"{res.label(n)} runs")
        bands = [(r["flops"], r["loss"][n], r["loss_interval"].get(n)) for r in res.budgets]
        bands = [b for b in bands if b[2]]
        if bands:
            f, v, iv = zip(*bands, strict=True)
            err = [[vv - i[0] for vv, i in zip(v, iv, strict=True)],
                   [i[1] - vv for vv, i in zip(v, iv, strict=True)]]
            ax.errorbar(f, v, yerr=err, fmt="none", ecolor=color, capsize=3)
    if crosses:
        ax.plot([c for c, _ in crosses],
                [float(np.asarray(res.frontier(p["baseline"], [c]), float)[0])
                 for c, p in crosses], "X", color=_RED, markersize=10, linestyle="none",
                label="crossover")
    _style(ax, "compute C (FLOPs)", "compute-optimal loss L*(C)")
    ax.set_title(f"compute-optimal loss ({res.law} per group)")
    _legend(ax)
    return fig


# ---- optimal: the allocation across budgets ------------------------------------------------
def optimal_figure(table):
    """N_opt and D_opt against compute from ``scalecli optimal``'s table, shaded by their
    intervals when the fit carries bootstrap draws; the compute-optimal loss on a second axis."""
    import numpy as np

    rows = [r for r in table.rows if r.get("flops") and r.get("n_params") and r.get("tokens")]
    if not rows:
        from ..errors import InputError

        raise InputError("nothing to plot: no budget with an optimal N and D")
    rows.sort(key=lambda r: r["flops"])
    c = np.array([r["flops"] for r in rows], float)
    fig, (ax,) = _figure()
    for key, label, k in (("n_params", "N_opt (parameters)", 0), ("tokens", "D_opt (tokens)", 1)):
        v = np.array([r[key] for r in rows], float)
        ax.plot(c, v, marker=MARKERS[k], linestyle=LINES[k], color=_COLORS[k], label=label)
        lo, hi = ([r.get(f"{key}_{e}") for r in rows] for e in ("low", "high"))
        if all(x is not None for x in lo + hi):
            ax.fill_between(c, lo, hi, color=_COLORS[k], alpha=0.2, linewidth=0,
                            label=f"{label.split(' ')[0]} interval")
    _style(ax, "compute C (FLOPs)", "parameters N, tokens D")
    loss = [r.get("loss") for r in rows]
    if all(x is not None for x in loss):
        twin = ax.twinx()
        twin.plot(c, loss, marker=MARKERS[2], linestyle=LINES[2], color=_COLORS[2],
                  label="loss at the optimum")
        twin.set_ylabel("loss")
        handles = ax.get_legend_handles_labels()
        extra = twin.get_legend_handles_labels()
        ax.legend(handles[0] + extra[0], handles[1] + extra[1], fontsize="small", loc="best")
    else:
        _legend(ax)
    source = rows[0].get("params_source")
    ax.set_title(f"compute-optimal allocation ({source})" if source else
                 "compute-optimal allocation", fontsize="medium")
    return fig
