"""Terminal plots of a fitted scaling law, rendered with plotext into a string.

``fit_plot`` draws loss against compute on log-log axes: each run's point (marker and colour by
model size), the fitted law's curve for each size, and the compute-optimal frontier. It returns
text and never prints, so it works the same under a pipe, pytest or a real terminal.

The axes are drawn in log10 units with our own tick labels (``1e18``, ``2.5``), not with plotext's
log scale, which gives better ticks and keeps us off plotext's tick/limit handling of log axes.
plotext (>= 6) and numpy are imported inside the function: the CLI must start fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from ..errors import ConfigError, InputError

__all__ = ["fit_plot", "loss_curves_plot"]

# plotext draws on one process-wide figure; this lock keeps two threads from sharing it.
_LOCK = threading.Lock()

_MAX_GROUPS = 8
_MARKERS = "ox+*#@%&"  # one per size group, so groups stay apart without colour
# 256-colour codes readable on dark and light backgrounds; the frontier's red is not among them.
_COLORS = (33, 40, 44, 129, 166, 201, 136, 244)
_FRONTIER_COLOR = 196
_CURVE_MARKER = "braille"  # thin lines for the per-size curves
_FRONTIER_MARKER = "·"  # a dotted line for the frontier
_CURVE_GLYPH = "⠒⠒"  # what a curve looks like, for the legend
_EXTEND = 1.5  # each size's curve runs from its smallest C / 1.5 to its largest C * 1.5
_SAMPLES = 160  # points per curve
_Y_MARGIN = 1.3  # curves may push the y range at most this factor past the points


def fit_plot(
    n_params: Any,
    tokens: Any,
    flops: Any,
    loss: Any,
    predict: Callable[[Any, Any], Any],
    frontier: Callable[[Any], Any] | None = None,
    *,
    width: int = 80,
    height: int = 24,
    title: str = "",
    color: bool = False,
) -> str:
    """Log-log loss vs compute: the runs' points coloured by model size, the fitted law's curve
    per model size, and the compute-optimal frontier.

    n_params, tokens, flops, loss: 1-D arrays, one entry per fit point (run). A point whose
    ``flops`` is missing (NaN or <= 0) is placed at C = 6·N·D. Points whose N, C or loss is not
    finite and positive cannot sit on log axes and are left out.
    predict(N, D) -> losses of the fitted law, vectorised over numpy arrays.
    frontier(C) -> losses on the compute-optimal frontier, or None to omit it.

    Sizes are grouped by distinct N, one marker, colour and legend label ("N=70M") each. With
    more than 8 distinct sizes they are binned at the 7 widest gaps in log N; a bin is labelled
    with its range ("N=50M-120M") and its curve is drawn at the geometric mean of its sizes. Each
    curve is L(N, D=C/(6N)) from 1/1.5 of the group's smallest C to 1.5x its largest C.

    Returns the plot as ``height`` lines of at most ``width`` columns: a header ("loss" and the
    title), the plot, and a legend below it. ``color=False`` gives plain text, no ANSI escapes.
    """
    import numpy as np

    if width < 40 or height < 12:
        raise ConfigError(f"a plot needs at least 40 columns and 12 rows, got {width}x{height}")
    n, c, y = _plottable(n_params, tokens, flops, loss)
    lc, ly = np.log10(c), np.log10(y)

    span = max(lc.max() - lc.min(), 0.5)
    mid = (lc.max() + lc.min()) / 2
    pad = np.log10(_EXTEND)
    xlim = (min(lc.min() - pad, mid - span / 2), max(lc.max() + pad, mid + span / 2))

    groups = _groups(n, _MAX_GROUPS)
    curves = []
    for _, n_rep, idx in groups:
        lo, hi = lc[idx].min() - pad, lc[idx].max() + pad
        grid = np.linspace(lo, hi, _SAMPLES)
        cgrid = 10.0**grid
        nn = np.full_like(cgrid, n_rep)
        curves.append((grid, _log10(np.asarray(predict(nn, cgrid / (6.0 * nn)), dtype=float))))
    front = None
    if frontier is not None:
        grid = np.linspace(xlim[0], xlim[1], 2 * _SAMPLES)
        front = (grid, _log10(np.asarray(frontier(10.0**grid), dtype=float)))
        if not np.isfinite(front[1]).any():
            front = None

    ylim = _y_limits(ly, curves + ([front] if front else []))
    legend = _legend(groups, front is not None, width, color)
    plot_h = height - 1 - len(legend)
    if plot_h < 8:
        raise ConfigError(f"{width}x{height} leaves no room for the plot under its legend: "
                          "give more --height")
    header = _header(title, width, color)

    import plotext as plt

    with figure(width, plot_h) as fig:
        if front is not None:
            pix = plt.pixel(foreground=_FRONTIER_COLOR, style="bold")
            _draw_line(fig, plt.marker(_FRONTIER_MARKER, pix), *front, ylim)
        for k, (gx, gy) in enumerate(curves):
            pix = plt.pixel(foreground=_COLORS[k])
            _draw_line(fig, plt.marker(_CURVE_MARKER, pix), gx, gy, ylim)
        for k, (_, _, idx) in enumerate(groups):
            pix = plt.pixel(foreground=_COLORS[k], style="bold")
            fig.draw(fig.signal(lc[idx].tolist(), ly[idx].tolist(),
                                marker=plt.marker(_MARKERS[k], pix)))
        body = finish(fig, xlim, ylim, _x_ticks, "compute C (FLOPs)", width, plot_h, color)
    return assemble(header, body, legend, color)


def _plottable(n_params, tokens, flops, loss):
    """N, C, loss of the points that can sit on log axes (C = 6·N·D where it is missing)."""
    import numpy as np

    cols = [np.asarray(a, dtype=float).ravel() for a in (n_params, tokens, flops, loss)]
    if len({c.size for c in cols}) != 1:
        sizes = ", ".join(str(c.size) for c in cols)
        raise ValueError(f"n_params, tokens, flops and loss differ in length ({sizes})")
    n, d, c, y = cols
    with np.errstate(invalid="ignore"):
        c = np.where(np.isfinite(c) & (c > 0), c, 6.0 * n * d)
        ok = np.isfinite(n) & np.isfinite(c) & np.isfinite(y) & (n > 0) & (c > 0) & (y > 0)
    if not ok.any():
        raise InputError("nothing to plot: no point has a positive, finite N, compute and loss")
    return n[ok], c[ok], y[ok]


def _y_limits(ly, lines) -> tuple[float, float]:
    """The y range: the points, widened for the curves but never far past the points."""
    import numpy as np

    extra = [v[np.isfinite(v)] for _, v in lines]
    allv = np.concatenate([ly, *extra])
    margin = np.log10(_Y_MARGIN)
    ylo = max(allv.min(), ly.min() - margin)
    yhi = min(allv.max(), ly.max() + margin)
    ypad = max(0.03 * (yhi - ylo), 0.01)
    return ylo - ypad, yhi + ypad


def curve_plot(x: Any, y: Any, predict: Callable[[Any], Any], *, xlabel: str = "x",
               width: int = 80, height: int = 24, title: str = "", color: bool = False) -> str:
    """Log-log target against a one-variable law's x: the points and the fitted curve, for
    laws that are not laws of N and D (power, bnsl, kaplan-n...). Same layout as fit_plot."""
    import numpy as np

    if width < 40 or height < 12:
        raise ConfigError(f"a plot needs at least 40 columns and 12 rows, got {width}x{height}")
    x, y = (np.asarray(a, dtype=float).ravel() for a in (x, y))
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if not ok.any():
        raise InputError("nothing to plot: no point has a positive, finite x and target")
    lx, ly = np.log10(x[ok]), np.log10(y[ok])
    pad = np.log10(_EXTEND)
    xlim = (lx.min() - pad, lx.max() + pad if lx.max() > lx.min() else lx.min() + 1)
    grid = np.linspace(*xlim, 2 * _SAMPLES)
    curve = _log10(np.asarray(predict(10.0**grid), dtype=float))
    margin = np.log10(_Y_MARGIN)
    finite = curve[np.isfinite(curve)]
    ylo = max(min(ly.min(), finite.min() if finite.size else ly.min()), ly.min() - margin)
    yhi = min(max(ly.max(), finite.max() if finite.size else ly.max()), ly.max() + margin)
    ypad = max(0.03 * (yhi - ylo), 0.01)
    ylim = (ylo - ypad, yhi + ypad)
    legend = wrap_legend([(f"{_MARKERS[0]} runs", _COLORS[0]), (f"{_CURVE_GLYPH} fitted law",
                                                                  None)], width, color)
    plot_h = height - 1 - len(legend)
    header = _header(title, width, color)

    import plotext as plt

    with figure(width, plot_h) as fig:
        _draw_line(fig, plt.marker(_CURVE_MARKER, plt.pixel()), grid, curve, ylim)
        pix = plt.pixel(foreground=_COLORS[0], style="bold")
        fig.draw(fig.signal(lx.tolist(), ly.tolist(), marker=plt.marker(_MARKERS[0], pix)))
        body = finish(fig, xlim, ylim, _x_ticks, xlabel, width, plot_h, color)
    return assemble(header, body, legend, color)


def loss_curves_plot(series, *, width: int = 80, height: int = 24, title: str = "",
                     color: bool = False) -> str:
    """Loss against step, linear axes: per run its observed loss (markers) and the curve law's
    prediction at the same steps (a line in the run's colour). ``series``: a list of
    ``(run, steps, observed, predicted)``. Marker and colour cycle past 8 runs."""
    import numpy as np

    if width < 40 or height < 12:
        raise ConfigError(f"a plot needs at least 40 columns and 12 rows, got {width}x{height}")
    if not series:
        raise InputError("nothing to plot: no run has a loss curve")
    xs = np.concatenate([np.asarray(s[1], float) for s in series])
    ys = np.concatenate([np.concatenate([np.asarray(s[2], float), np.asarray(s[3], float)])
                         for s in series])
    ys = ys[np.isfinite(ys)]
    xlim = (float(xs.min()), float(xs.max()) if xs.max() > xs.min() else float(xs.min()) + 1)
    pad = max(0.03 * (ys.max() - ys.min()), 1e-3)
    ylim = (float(ys.min() - pad), float(ys.max() + pad))
    entries = [(f"{_MARKERS[i % len(_MARKERS)]} {run}", _COLORS[i % len(_COLORS)])
               for i, (run, *_) in enumerate(series)]
    entries.append((f"{_CURVE_GLYPH} predicted (the run's colour)", None))
    legend = wrap_legend(entries, width, color)
    plot_h = height - 1 - len(legend)
    if plot_h < 8:
        raise ConfigError(f"{len(series)} runs' legend leaves too few rows: give --height "
                          f"{height + 8 - plot_h} or more")
    header = _header(title, width, color)

    import plotext as plt

    with figure(width, plot_h) as fig:
        for i, (_, steps, obs, pred) in enumerate(series):
            fg = _COLORS[i % len(_COLORS)]
            x = np.asarray(steps, float)
            _draw_line(fig, plt.marker(_CURVE_MARKER, plt.pixel(foreground=fg)), x,
                       np.asarray(pred, float), ylim)
            pix = plt.pixel(foreground=fg, style="bold")
            fig.draw(fig.signal(x.tolist(), np.asarray(obs, float).tolist(),
                                marker=plt.marker(_MARKERS[i % len(_MARKERS)], pix)))
        body = finish(fig, xlim, ylim, _linear_ticks, "step", width, plot_h, color,
                      yticks=_linear_ticks)
    return assemble(header, body, legend, color)


def _linear_ticks(lo: float, hi: float, max_ticks: int) -> tuple[list[float], list[str]]:
    """Round ticks on a linear axis (1, 2 or 5 x 10^k apart), thousands as 10k."""
    import math

    raw = (hi - lo) / max(1, max_ticks)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), 10 * mag)
    first = math.ceil(lo / step) * step
    vals = [first + i * step for i in range(int((hi - first) / step) + 1)]

    def label(v: float) -> str:
        if abs(v) >= 1000 and step >= 1000:
            return f"{v / 1000:g}k"
        return f"{float(f'{v:.6g}'):g}"

    return vals, [label(v) for v in vals]


@contextmanager
def figure(width: int, plot_h: int):
    """plotext's one process-wide figure, cleared and sized, held under a lock and reset after
    (so plotting never depends on, or leaves behind, global state)."""
    import plotext as plt

    with _LOCK:
        fig = plt.figure
        try:
            plt.terminal.limit(False, False)  # the size asked for, not the terminal's (or none)
            fig.clear()
            fig.theme("simple")
            fig.plot_size(width, plot_h)
            yield fig
        finally:
            fig.clear()
            plt.terminal.limit()


def finish(fig, xlim, ylim, xticks, xlabel: str, width: int, plot_h: int, color: bool,
           yticks=None) -> str:
    """Axes limits, ticks (log10 axes unless ``yticks`` says otherwise) and the x label; the
    drawn figure as text."""
    fig.ruler("x").lim(*xlim)
    fig.ruler("y").lim(*ylim)
    fig.ruler("x").ticks(*xticks(*xlim, max_ticks=max(2, (width - 8) // 9)))
    fig.ruler("y").ticks(*(yticks or _y_ticks)(*ylim, max_ticks=max(2, (plot_h - 4) // 3)))
    fig.label(xlabel, "x")
    return fig.build().string(colorless=not color)


def assemble(header: str, body: str, legend: list[str], color: bool) -> str:
    """Header, plot and legend as one string; plain text has no trailing spaces."""
    lines = [header, *body.splitlines(), *legend]
    if not color:
        lines = [line.rstrip() for line in lines]
    return "\n".join(lines) + "\n"


def _log10(v):
    """log10 of positive values; NaN where the value is not finite and positive."""
    import numpy as np

    out = np.full(v.shape, np.nan)
    good = np.isfinite(v) & (v > 0)
    out[good] = np.log10(v[good])
    return out


def _groups(n, max_groups: int) -> list[tuple[str, float, Any]]:
    """Group points by model size: [(label, N for its curve, indices)], smallest N first."""
    import numpy as np

    sizes, inverse = np.unique(n, return_inverse=True)
    if sizes.size <= max_groups:
        return [(f"N={_fmt(s)}", float(s), np.flatnonzero(inverse == i))
                for i, s in enumerate(sizes)]
    gaps = np.diff(np.log10(sizes))
    cuts = np.sort(np.argsort(-gaps, kind="stable")[: max_groups - 1]) + 1
    out = []
    for part in np.split(np.arange(sizes.size), cuts):
        lo, hi = sizes[part[0]], sizes[part[-1]]
        label = f"N={_fmt(lo)}" if part.size == 1 else f"N={_fmt(lo)}-{_fmt(hi)}"
        n_rep = float(np.exp(np.log(sizes[part]).mean()))
        out.append((label, n_rep, np.flatnonzero(np.isin(inverse, part))))
    return out


def _fmt(v: float) -> str:
    """Model size to 3 significant digits: 20M, 1.5B, 350K."""
    v = float(f"{v:.3g}")
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def _draw_line(fig, marker, x, y, ylim) -> None:
    """Draw (x, y) as connected lines, split where y is missing or outside ylim."""
    import numpy as np

    inside = np.isfinite(y) & (y >= ylim[0]) & (y <= ylim[1])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        sig = fig.signal(x[start:stop].tolist(), y[start:stop].tolist(), marker=marker)
        if stop - start > 1:
            sig.lines()
        fig.draw(sig)


def _x_ticks(lo: float, hi: float, max_ticks: int,
             label: Callable[[int, int], str] = lambda m, k: f"{m}e{k}",
             ) -> tuple[list[float], list[str]]:
    """Ticks on a log10 axis: powers of ten ("1e18"), with 2 and 5 when under 2 decades;
    ``label(mantissa, exponent)`` writes each."""
    import math

    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 5)):
        vals = [(k + math.log10(m), label(m, k))
                for k in range(math.floor(lo), math.ceil(hi) + 1) for m in mantissas]
        vals = [(p, s) for p, s in vals if lo <= p <= hi]
        if len(vals) >= 3:
            break
    step = max(1, math.ceil(len(vals) / max_ticks))
    vals = vals[::step]
    return [p for p, _ in vals], [s for _, s in vals]


def _y_ticks(lo: float, hi: float, max_ticks: int) -> tuple[list[float], list[str]]:
    """Ticks on a log10 loss axis at round values (2, 2.5, 3, 4), as many as fit."""
    import math

    choices = ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8),
               (1, 1.2, 1.4, 1.6, 1.8, 2, 2.2, 2.5, 2.8, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9))
    best: list[tuple[float, str]] = []
    for mantissas in choices:
        vals = []
        for k in range(math.floor(lo), math.ceil(hi) + 1):
            for m in mantissas:
                v = float(f"{m * 10.0**k:.6g}")
                if lo <= math.log10(v) <= hi:
                    vals.append((math.log10(v), f"{v:g}"))
        if len(vals) > max_ticks and len(best) >= 2:
            break
        best = vals
    return [p for p, _ in best], [s for _, s in best]


def _header(title: str, width: int, color: bool, left: str = "loss") -> str:
    """The line above the plot: the y axis name on the left, the title centred."""
    import plotext as plt

    title = title.strip()
    if len(title) > width - len(left) - 2:
        title = title[: max(0, width - len(left) - 3)] + "…"
    text = left
    if title:
        start = max((width - len(title)) // 2, len(left) + 2)
        text = left + " " * (start - len(left)) + title
    return plt.colorize(text, plt.pixel(style="bold")).string(colorless=not color)


def _legend(groups, with_frontier: bool, width: int, color: bool) -> list[str]:
    """Legend lines under the plot, wrapped to the width: one entry per size group."""

    entries = [(f"{_MARKERS[k]} {label}", _COLORS[k]) for k, (label, _, _) in enumerate(groups)]
    entries.append((f"{_CURVE_GLYPH} fitted law", None))
    if with_frontier:
        entries.append((f"{_FRONTIER_MARKER * 2} compute-optimal", _FRONTIER_COLOR))
    return wrap_legend(entries, width, color)


def wrap_legend(entries, width: int, color: bool) -> list[str]:
    """Legend entries ``(text, colour or None)`` as lines wrapped to ``width``."""
    import plotext as plt

    lines: list[str] = []
    cur, cur_len = "", 0
    for text, fg in entries:
        pix = plt.pixel(foreground=fg, style="bold") if fg is not None else plt.pixel()
        piece = plt.colorize(text, pix).string(colorless=not color)
        if cur and cur_len + 2 + len(text) > width:
            lines.append(cur)
            cur, cur_len = "", 0
        cur, cur_len = (cur + "  " + piece, cur_len + 2 + len(text)) if cur else (piece, len(text))
    lines.append(cur)
    return lines
