"""Tables and terminal plots of Chinchilla approaches 1 and 2 (Hoffmann et al. 2022), as strings.

``isoflop_plot``: loss against model size N per compute budget (log-log), each budget's points,
the curve its optimum came from (spline or parabola) and the optima marked, joined by a dotted
line (the compute-optimal frontier in the (N, loss) plane). ``frontier_plot``: every run's
smoothed loss-versus-compute curve and the lower envelope read from them, with each winning
size's step centre marked. Both draw in log10 units with our own ticks, like
:mod:`scalecli.report.plots`, whose drawing helpers they share; plotext and numpy are imported
inside the functions so importing this module costs nothing. ``result_dict`` is the JSON
contract both results share; ``render_tables`` their table/markdown/CSV/JSON output.
"""

from __future__ import annotations

from typing import Any

from scalecli.errors import InputError

from . import plots as P

__all__ = ["approach_output", "frontier_plot", "isoflop_plot", "render_approach3", "render_tables"]

_LABEL = {"budgets": "budgets", "envelope": "envelope segments (one per winning size)"}

_OPT_MARKER = "X"  # a located optimum
_MAX_BUDGETS = len(P._MARKERS)


def isoflop_plot(result: Any, *, width: int = 80, height: int = 24, color: bool = False,
                 title: str = "") -> str:
    """IsoFLOP curves of an :class:`~scalecli.isoflop.IsoflopResult`: loss vs N per budget.

    At most 8 budgets are drawn (evenly chosen when there are more; the title says so); dropped
    budgets are drawn with their points only and "(dropped)" in the legend. With ``group_by``,
    one plot per group, one after another. Returns lines of at most ``width`` columns.
    """
    import numpy as np

    if result.groups:
        return "".join(isoflop_plot(g, width=width, height=height, color=color,
                                    title=f"{result.options.get('group_by')}={v}")
                       for v, g in result.groups.items() if not g.error)
    budgets = sorted(result.budgets + result.dropped, key=lambda b: b.flops)
    if not budgets:
        raise InputError("nothing to plot: no compute budget")
    shown = budgets
    if len(budgets) > _MAX_BUDGETS:
        pick = np.unique(np.round(np.linspace(0, len(budgets) - 1, _MAX_BUDGETS)).astype(int))
        shown = [budgets[i] for i in pick]
        title = (title + " " if title else "") + f"({len(shown)} of {len(budgets)} budgets)"
    layers, entries = [], []
    for k, b in enumerate(shown):
        x, y = np.log10(b.sizes), P._log10(np.asarray(b.losses, float))
        if b.reason is None and b.curve is not None:
            layers.append(("line", np.log10(b.curve[0]), P._log10(np.asarray(b.curve[1])),
                           P._CURVE_MARKER, P._COLORS[k]))
        layers.append(("points", x, y, P._MARKERS[k], P._COLORS[k]))
        entries.append((f"{P._MARKERS[k]} C={_sci(b.flops)}" + (" (dropped)" if b.reason else ""),
                        P._COLORS[k]))
    kept = [b for b in shown if b.reason is None]
    if kept:
        ox = np.log10([b.n_opt for b in kept])
        oy = np.log10([b.loss_opt for b in kept])
        if len(kept) > 1:
            layers.append(("line", ox, oy, P._FRONTIER_MARKER, P._FRONTIER_COLOR))
        layers.append(("points", ox, oy, _OPT_MARKER, P._FRONTIER_COLOR))
        entries.append((f"{_OPT_MARKER} optimum ({result.options.get('optimum', '')})",
                        P._FRONTIER_COLOR))
    xs = np.concatenate([np.log10(b.sizes) for b in shown])
    ys = np.concatenate([P._log10(np.asarray(b.losses, float)) for b in shown])
    return _render(layers, xs, ys, entries, _n_ticks, "model size N (parameters)",
                   width, height, color, title or "IsoFLOP profiles (approach 2)")


def frontier_plot(result: Any, *, width: int = 80, height: int = 24, color: bool = False,
                  title: str = "") -> str:
    """Approach 1 from a :class:`~scalecli.frontier.FrontierResult`: the runs' smoothed loss
    curves against compute (one colour per size group, and without colour one marker per
    group), the envelope's kept buckets (dotted) and each winning size's step centre (X). Returns lines of at most ``width`` columns."""
    import numpy as np

    if not result.curves:
        raise InputError("nothing to plot: no loss curve")
    n = np.array([c[0] for c in result.curves])
    groups = P._groups(n, P._MAX_GROUPS)
    layers, entries = [], []
    for k, (label, _, idx) in enumerate(groups):
        # without colour each size group's curves are drawn in its own marker, to tell apart
        mark = P._CURVE_MARKER if color else P._MARKERS[k]
        for i in idx:
            _, lx, ly = result.curves[i]
            layers.append(("line", np.asarray(lx), np.asarray(ly), mark, P._COLORS[k]))
        entries.append((f"{P._CURVE_GLYPH if color else mark * 2} {label}", P._COLORS[k]))
    g = result.grid
    if g:
        keep = np.asarray(g["kept"])
        ex, ey = np.log10(g["flops"]), P._log10(np.asarray(g["loss"], float))
        ey = np.where(keep, ey, np.nan)
        layers.append(("line", ex, ey, P._FRONTIER_MARKER, P._FRONTIER_COLOR))
        entries.append((f"{P._FRONTIER_MARKER * 2} envelope", P._FRONTIER_COLOR))
    if result.envelope:
        cx = np.log10([s["flops"] for s in result.envelope])
        cy = np.log10([s["loss_opt"] for s in result.envelope])
        layers.append(("points", cx, cy, _OPT_MARKER, P._FRONTIER_COLOR))
        entries.append((f"{_OPT_MARKER} winning size", P._FRONTIER_COLOR))
    xs = np.concatenate([np.asarray(c[1]) for c in result.curves])
    ys = np.concatenate([np.asarray(c[2]) for c in result.curves])
    if g:  # the y range follows the envelope, not the first steps' huge losses
        top = np.nanmax(np.where(np.asarray(g["kept"]), ey, np.nan)) if keep.any() else None
        if top is not None and np.isfinite(top):
            near = ys <= top + 0.25 * (top - ys.min())
            xs, ys = xs[near], ys[near]
    return _render(layers, xs, ys, entries, P._x_ticks, "compute C (FLOPs)", width, height,
                   color, title or "loss envelope (approach 1)")


def _render(layers, xs, ys, entries, xticks, xlabel, width, height, color, title) -> str:
    """Draw ``layers`` ((kind, x, y, marker, colour)) on log10 axes fitted to (xs, ys)."""
    import numpy as np

    if width < 40 or height < 12:
        raise ValueError(f"a plot needs at least 40 columns and 12 rows, got {width}x{height}")
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    if not xs.size or not ys.size:
        raise InputError("nothing to plot: no positive, finite values")
    xpad = max(0.04 * (xs.max() - xs.min()), 0.05)
    xlim = (xs.min() - xpad, xs.max() + xpad)
    ypad = max(0.04 * (ys.max() - ys.min()), 0.01)
    ylim = (ys.min() - ypad, ys.max() + ypad)
    legend = _legend(entries, width, color)
    plot_h = height - 1 - len(legend)
    if plot_h < 8:
        raise ValueError(f"{width}x{height} leaves no room for the plot under its legend")
    header = P._header(title, width, color)

    import plotext as plt

    with P.figure(width, plot_h) as fig:
        for kind, x, y, mark, fg in layers:  # a few layers: one per curve or budget
            style = "bold" if kind == "points" else None
            marker = plt.marker(mark, plt.pixel(foreground=fg, style=style))
            x, y = np.asarray(x, float), np.asarray(y, float)
            inside = (x >= xlim[0]) & (x <= xlim[1])
            if kind == "line":
                P._draw_line(fig, marker, x[inside], y[inside], ylim)
            else:
                ok = inside & np.isfinite(y) & (y >= ylim[0]) & (y <= ylim[1])
                if ok.any():
                    fig.draw(fig.signal(x[ok].tolist(), y[ok].tolist(), marker=marker))
        body = P.finish(fig, xlim, ylim, xticks, xlabel, width, plot_h, color)
    return P.assemble(header, body, legend, color)


def _n_ticks(lo: float, hi: float, max_ticks: int) -> tuple[list[float], list[str]]:
    """Ticks on a log10 model-size axis, labelled 20M, 1B: powers of ten, then 2 and 5."""
    return P._x_ticks(lo, hi, max_ticks, label=lambda m, k: P._fmt(m * 10.0**k))


def _sci(x: float) -> str:
    """1e+21 -> 1e21, 3.162e+19 -> 3.2e19."""
    mantissa, _, exponent = f"{x:.1e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _legend(entries, width: int, color: bool) -> list[str]:
    """Legend lines under the plot, wrapped to the width."""
    from .plots import wrap_legend

    return wrap_legend(entries, width, color)


def render_tables(res, fmt_name: str = "table") -> str:
    """Tables of the exponents, the per-budget (or envelope) optima and the predictions."""
    import json

    from .format import fmt
    from .tables import render

    key, what = (("envelope", "approach 1 (envelope)") if res.method == "frontier" else
                 ("budgets", "approach 2 (IsoFLOP)"))
    d = res.to_dict()
    if fmt_name == "json":
        return json.dumps(d, indent=2) + "\n"
    parts = [(res.options.get("group_by"), None, d)] if not res.groups else [
        (res.options["group_by"], v, g.to_dict()) for v, g in res.groups.items()]
    pcols = [("flops", "C (FLOPs)"), ("n_opt", "N opt"), ("tokens_opt", "D opt"),
             ("tokens_per_param", "D/N"), ("loss_opt", "loss")]
    if fmt_name == "csv":  # one row per budget (or envelope segment), then the predictions,
        # each carrying its group's exponents: one rectangular table, nothing to join
        fitted = [c for c in _EXPONENT_COLUMNS if any(_exponents(g).get(c) is not None
                                                      for _, _, g in parts)]
        rows = [{"kind": kind, "group": v, **r, **_exponents(g)} for _, v, g in parts
                for kind, k in ((key.rstrip("s"), key), ("prediction", "predictions"))
                for r in g.get(k, [])]
        return render(rows, [("kind", "kind")] + ([("group", "group")] if res.groups else [])
                      + pcols + [(c, c) for c in fitted], "csv")
    out = []
    for col, v, g in parts:
        head = f"{what}, Hoffmann et al. 2022" + (f" — {col}={v}" if v is not None else "")
        if g.get("error"):
            out.append(f"{head}: {g['error']}\n")
            continue
        ex = [{"q": "a (N_opt ∝ C^a)", "v": g["a"], "se": g["a_se"]},
              {"q": "b (D_opt ∝ C^b)", "v": g["b"], "se": g["b_se"]},
              {"q": "k_n (N_opt = k_n·C^a)", "v": g["k_n"], "se": None},
              {"q": "k_d (D_opt = k_d·C^b)", "v": g["k_d"], "se": None}]
        opts = ", ".join(f"{k} {fmt(g[k])}" for k in ("optimum", "regress", "tolerance",
                                                       "weighted", "compute", "buckets",
                                                       "buckets_used") if k in g)
        cols = [("q", "exponent"), ("v", "value"), ("se", "std err")]
        if g.get("intervals"):
            level = f"{100 * g['bootstrap']['ci']:g}%"
            for row, k in zip(ex[:2], ("a", "b")):
                row["lo"], row["hi"] = g["intervals"].get(k, [None, None])
                row["bse"] = g["se"].get(k)
            cols += [("lo", f"{level} low"), ("hi", f"{level} high"), ("bse", "bootstrap se")]
            opts += (f"; intervals from {g['bootstrap']['resamples']} resamples of the runs "
                     f"within each budget")
        out.append(render(ex, cols, fmt_name, title=head, caption=opts or None))
        out.append(render(g[key], pcols, fmt_name, title=f"{len(g[key])} {_LABEL[key]}",
                          caption="; ".join(_dropped(x) for x in g["dropped"][:8]) or None))
        if g["predictions"]:
            out.append(render(g["predictions"], pcols[:4], fmt_name, title="predicted optima"))
    sep = "\n" if fmt_name == "markdown" else ""
    return sep.join(out)


_EXPONENT_COLUMNS = ("a", "a_se", "a_low", "a_high", "b", "b_se", "b_low", "b_high", "k_n",
                     "k_d")


def _exponents(g: dict) -> dict:
    """A result's (or group's) a and b with their standard errors, bootstrap intervals when
    drawn, and the coefficients k_n, k_d: the columns every CSV row carries."""
    ci = g.get("intervals") or {}
    out = {k: g.get(k) for k in ("a", "a_se", "b", "b_se", "k_n", "k_d")}
    for k in ("a", "b"):
        out[f"{k}_low"], out[f"{k}_high"] = ci.get(k, [None, None])
    return out


def _dropped(x: dict) -> str:
    from .format import fmt

    where = f"C={fmt(x['flops'], 3)}" if "flops" in x else f"run {x.get('run')}"
    return f"dropped {where}: {x['reason']}"


def render_approach3(d: dict, fmt_name: str) -> str:
    """Approach 3's exponents and predictions as a small table (not for json/csv)."""
    from .tables import render

    if "error" in d:
        return f"approach 3 ({d['law']}): not fitted: {d['error']}\n"
    rows = [{"q": "a (N_opt ∝ C^a)", "v": d.get("a")}, {"q": "b (D_opt ∝ C^b)", "v": d.get("b")}]
    text = render(rows, [("q", "approach 3"), ("v", "value")], fmt_name,
                  title=f"approach 3 ({d['law']} fit on {d['n_points']} runs), for comparison")
    if d["predictions"]:
        text += render(d["predictions"], [("flops", "C (FLOPs)"), ("n_opt", "N opt"),
                                          ("tokens_opt", "D opt"), ("tokens_per_param", "D/N"),
                                          ("loss_opt", "loss")], fmt_name)
    return text


def approach_output(res, fmt_name: str, *, plot: bool = False, color: bool = False) -> str:
    """Approach 1 or 2's result, with approach 3's beside it, as the user asked to see it."""
    import json

    if plot:
        draw = frontier_plot if res.method == "frontier" else isoflop_plot
        return draw(res, color=color)
    third = getattr(res, "approach3", None)
    if fmt_name == "json":
        return json.dumps({**res.to_dict(), "approach3": third}, indent=2) + "\n"
    text = render_tables(res, fmt_name)
    if fmt_name == "csv" or third is None:
        return text
    return text + "\n" + render_approach3(third, fmt_name)
