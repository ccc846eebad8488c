"""Lower envelopes of (x, y) points, to fit a law to the frontier instead of every run.

When many runs share a compute budget, only the best of them says how low the target can go at
that budget; papers therefore fit their laws to a lower envelope. Two are offered
(``--envelope pareto|bins``):

``pareto``
    The points that beat every point of smaller x: point i is kept when its y is strictly lower
    than the y of every point whose x is strictly smaller. Ties in x are resolved so that the
    envelope has at most one point per distinct x: among the points sharing an x only the one
    with the lowest y is a candidate (on equal (x, y) the first in input order), and it is kept
    when it is strictly below every point of strictly smaller x. So the smallest x always
    contributes exactly one point, a point that merely equals the best y so far is not kept,
    and the kept y values decrease strictly as x increases.

``bins``
    The binned-minimum frontier of Cherti et al. 2023, "Reproducible scaling laws for
    contrastive language-image learning" (CVPR 2023), as computed by ``binned_line_fit`` in the
    authors' notebook ``figures.ipynb`` of github.com/LAION-AI/scaling-laws-openclip (commit
    652b1e7471f7ccf372277f67cb680de5c9fa139d), which they call with ``nbins=5`` and the default
    ``eps=0.1`` on X = log10(GMACs total), Y = log10(top-1 error). The rule, reproduced here:

    - the K + 1 bin edges are those of ``numpy.histogram(X, bins=K, range=(min X, max X + P))``,
      i.e. K equal-width bins of log10 x between the smallest log10 x and the largest plus the
      pad P (in decades of x; P = 0.1 and K = 5 in the paper);
    - each point goes to the bin given by ``numpy.digitize(X, edges)``: bin i holds
      edges[i] <= X < edges[i+1] (closed on the left, open on the right; the pad keeps the
      largest point inside the last bin);
    - a bin's point is placed at the bin's centre (edges[i] + edges[i+1]) / 2 in log10 x, i.e.
      at the geometric mean of the bin's edges in x, with the bin's minimum y;
    - a bin holding no point is left out (the notebook's minimum over an empty pandas Series is
      NaN, which it masks);
    - the last bin must hold a point: the notebook asserts it and stops otherwise. That fails
      exactly when the pad is wider than one bin, (K - 1)·P > max log10 x - min log10 x, and is
      a :class:`~scalecli.errors.ConfigError` here, naming the remedy.

    The minimum of log10 y and of y select the same points, so y is taken as given.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import polars as pl

from ..errors import ColumnError, ConfigError, FitError

__all__ = ["BINS", "BIN_PAD", "KINDS", "apply_envelope", "binned_minimum", "check_bins", "pareto"]

BINS = 5  # Cherti et al. 2023 call binned_line_fit(X, Y, nbins=5)
BIN_PAD = 0.1  # binned_line_fit's default eps, in decades (log10 units) of x
KINDS = ("pareto", "bins")


def _finite_1d(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise FitError(f"envelope: {name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise FitError(f"envelope: {bad} {name} value(s) are missing or not finite; "
                       "drop those runs before taking an envelope")
    return arr


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = _finite_1d("x", x), _finite_1d("y", y)
    if xa.shape != ya.shape:
        raise FitError(f"envelope: x and y differ in length ({xa.size} and {ya.size})")
    return xa, ya


def _log10(xa: np.ndarray, name: str) -> np.ndarray:
    bad = int(np.count_nonzero(xa <= 0))
    if bad:
        raise FitError(f"envelope: bins are taken over log10 {name}, but {bad} {name} value(s) "
                       "are zero or negative")
    return np.log10(xa)


def check_bins(bins: object, pad: object) -> tuple[int, float]:
    """``bins`` as a positive int and ``pad`` as a positive finite float, or a ConfigError."""
    if isinstance(bins, bool) or not isinstance(bins, Integral) or bins < 1:
        raise ConfigError(f"--bins must be a positive whole number of bins, got {bins!r}")
    if isinstance(pad, bool) or not isinstance(pad, Real) or not math.isfinite(pad) or pad <= 0:
        raise ConfigError(f"--bin-pad must be a positive number of decades of x (the reference "
                          f"uses {BIN_PAD}), got {pad!r}; with no pad the largest x falls "
                          "outside the last bin")
    return int(bins), float(pad)


def pareto(x, y) -> np.ndarray:
    """Indices of the points on the lower Pareto envelope, in order of increasing x.

    A point is kept when its y is strictly lower than that of every point with strictly
    smaller x; of several points sharing one x only the lowest y (the first in input order on
    equal y) can be kept (see the module docstring). Sort, then a running minimum: O(n log n).
    """
    xa, ya = _pair(x, y)
    if xa.size == 0:
        return np.zeros(0, dtype=np.intp)
    order = np.lexsort((np.arange(xa.size), ya, xa))  # by x, then y, then input position
    xs, ys = xa[order], ya[order]
    first = np.ones(xs.size, dtype=bool)
    first[1:] = xs[1:] != xs[:-1]  # the lowest-y point of each distinct x
    best_before = np.empty_like(ys)  # min y over every point of strictly smaller x
    best_before[0] = np.inf
    best_before[1:] = np.minimum.accumulate(ys)[:-1]  # at a group's first row: all smaller x
    return order[first & (ys < best_before)]


def _bin_rows(logx: np.ndarray, ya: np.ndarray, bins: int, pad: float):
    """Edges, each point's 0-based bin, and for each non-empty bin its arg-minimum row."""
    lo, hi = float(logx.min()), float(logx.max())
    edges = np.histogram_bin_edges(logx, bins=bins, range=(lo, hi + pad))
    idx = np.digitize(logx, edges) - 1  # bin i: edges[i] <= x < edges[i+1]
    if idx.max() != bins - 1:
        raise ConfigError(
            f"--bin-pad {pad:g} is wider than one of the {bins} bins over log10 x in "
            f"[{lo:.4g}, {hi:.4g} + {pad:g}], so the last bin is empty; Cherti et al.'s "
            f"binned minimum refuses this (it needs (bins - 1) x pad <= {hi - lo:.4g} decades): "
            "use fewer --bins or a smaller --bin-pad")
    order = np.lexsort((np.arange(idx.size), ya, idx))  # by bin, then y, then input position
    sb = idx[order]
    head = np.ones(sb.size, dtype=bool)
    head[1:] = sb[1:] != sb[:-1]
    rows = order[head]  # the minimising row of each non-empty bin, bins ascending
    counts = np.bincount(idx, minlength=bins)
    return edges, idx, rows, counts


def binned_minimum(x, y, bins: int = BINS, pad: float = BIN_PAD, *, x_is_log10: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cherti et al. 2023's binned-minimum frontier: ``(x_centres, y_min, counts)``.

    ``x`` must be positive (it is binned in log10) unless ``x_is_log10``, in which case it is
    already log10 x and the centres are returned in log10 too, exactly as the reference
    computes them. ``pad`` is in decades of x. One entry per non-empty bin, bins in increasing
    x: the bin centre (geometric mean of its edges, or the arithmetic mean in log10), the
    minimum y in the bin, and how many points the bin holds. See the module docstring for the
    rule and its source.
    """
    bins, pad = check_bins(bins, pad)
    xa, ya = _pair(x, y)
    logx = xa if x_is_log10 else _log10(xa, "x")
    if logx.size == 0:
        raise FitError("envelope: no points to bin")
    edges, _, rows, counts = _bin_rows(logx, ya, bins, pad)
    centres = (edges[:-1] + edges[1:]) / 2
    kept = counts > 0
    xc = centres[kept]
    return (xc if x_is_log10 else 10.0 ** xc), ya[rows], counts[kept]


def apply_envelope(frame: pl.DataFrame, x_col: str, y_col: str = "y", *, kind: str | None,
                   bins: int = BINS, pad: float = BIN_PAD) -> pl.DataFrame:
    """The envelope of ``frame``'s points as a frame with the same columns.

    ``kind="pareto"``: the rows of :func:`pareto`, in order of increasing x. ``kind="bins"``:
    one row per non-empty bin of :func:`binned_minimum`, in order of increasing x, taken from
    the bin's minimising row (the first in frame order on a tie) with ``x_col`` replaced by the
    bin's centre (cast to Float64; it is no longer a logged value). ``kind=None`` or ``"none"``
    returns ``frame`` unchanged.
    """
    if kind is None or kind == "none":
        return frame
    if kind not in KINDS:
        raise ConfigError(f"unknown --envelope {kind!r}; choose one of: {', '.join(KINDS)}")
    if kind == "bins":
        bins, pad = check_bins(bins, pad)
    missing = [c for c in (x_col, y_col) if c not in frame.columns]
    if missing:
        raise ColumnError(f"the envelope needs column {', '.join(map(repr, missing))}; "
                          f"columns found: {', '.join(frame.columns)}")
    x = frame.get_column(x_col).cast(pl.Float64).to_numpy()
    y = frame.get_column(y_col).cast(pl.Float64).to_numpy()
    if kind == "pareto":
        return frame[pareto(x, y)]
    xa, ya = _pair(x, y)
    logx = _log10(xa, x_col)
    if logx.size == 0:
        raise FitError("envelope: no points to bin")
    edges, idx, rows, _ = _bin_rows(logx, ya, bins, pad)
    centres = 10.0 ** ((edges[:-1] + edges[1:]) / 2)
    return frame[rows].with_columns(
        pl.Series(x_col, centres[idx[rows]], dtype=pl.Float64))
