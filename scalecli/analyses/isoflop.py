"""Chinchilla approach 2: IsoFLOP profiles (Hoffmann et al. 2022, arXiv:2203.15556, Sec. 3.2).

Runs are grouped by compute budget; each budget's loss-minimising model size N_opt is found,
and N_opt ∝ C^a, D_opt ∝ C^b are fitted by least squares in log space. The paper fits one
parabola of loss in log N per budget; that is a second-order Taylor expansion, biased when the
sizes span a wide or skewed range (see ``LAWS.md`` 1b), so the per-budget minimum is the user's
choice: ``spline`` (default; Akima interpolation of log loss over log N, minimum on a fine
grid: no shape assumed, but it follows noise), ``window`` (least-squares parabola of loss in log
N through the lowest point and up to two neighbours each side: local, so little shape bias, and
it averages noise), ``parabola`` (the paper's: one parabola of loss in log N over every size)
and ``lowest`` (the sampled size with the lowest loss). Budgets that cannot locate a minimum
(fewer than three sizes, the lowest loss at an edge) are dropped with their reason.

The exponent fit and JSON contract are shared with :mod:`.frontier` (in :mod:`.exponents`); the
tables and plots of both are in :mod:`scalecli.report.isoplots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .. import schema as S
from ..errors import ColumnError, ConfigError, FitError
from ..numbers import fmt
from .exponents import Exponents, PowerFit, fit_power, predictions, result_dict

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

__all__ = ["OPTIMA", "Budget", "IsoflopResult", "isoflop"]

OPTIMA = ("spline", "window", "parabola", "lowest")
PARABOLA_SPAN = 1.0  # decades of N past which one parabola over the budget is warned about
PARABOLA_R2 = 0.98  # a parabola explaining less of the loss variance than this is a poor fit
ASYMMETRY = 0.5  # sizes sampled below/above the optimum (decades) in a ratio under this: warn
WINDOW = 2  # `window`: the lowest point and up to this many neighbours on each side
GRID = 25  # `spline`: grid points per sampled interval (Porian et al. 2024, analysis.py)
CROSS_CHECK = 0.02  # spline/lowest a this far from window's a: warn that noise drives it


@dataclass
class Budget:
    """One compute budget: its sampled sizes and losses, the optimum found, or why it was dropped."""

    flops: float
    sizes: np.ndarray  # distinct N, ascending
    losses: np.ndarray  # mean loss per size
    tokens: np.ndarray  # mean D per size (geometric)
    n_runs: int
    n_opt: float = math.nan
    tokens_opt: float = math.nan
    loss_opt: float = math.nan
    curve: tuple[Any, Any] | None = None  # (N grid, loss) of the curve the optimum came from
    reason: str | None = None  # why the budget was dropped
    logged_tokens: bool = False  # D logged apart from C: D_opt interpolated, not C/(6·N_opt)
    r2: float = 1.0  # `parabola`: the share of the loss variance the parabola explains
    note: str | None = None  # kept, with something the reader should know

    @property
    def span(self) -> float:
        """Decades of N sampled."""
        return float(math.log10(self.sizes[-1] / self.sizes[0])) if self.sizes.size else 0.0

    def to_dict(self) -> dict:
        if self.reason is not None:
            return {"flops": self.flops, "reason": self.reason, "sizes": int(self.sizes.size)}
        return {"flops": self.flops, "n_opt": self.n_opt, "tokens_opt": self.tokens_opt,
                "loss_opt": self.loss_opt, "tokens_per_param": self.tokens_opt / self.n_opt,
                "sizes": int(self.sizes.size), "runs": self.n_runs}


@dataclass
class IsoflopResult(Exponents):
    """Approach 2's exponents (N_opt = k_n·C^a, D_opt = k_d·C^b), per-budget optima, dropped
    budgets, warnings and the allocations at requested budgets. With ``group_by``, the
    top-level exponents are None and ``groups`` holds one result per value of the column."""

    n_fit: PowerFit | None
    d_fit: PowerFit | None
    budgets: list[Budget]
    dropped: list[Budget]
    warnings: list[str] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    groups: dict[str, IsoflopResult] = field(default_factory=dict)
    error: str | None = None  # a group that could not be fitted says why
    method: str = "isoflop"
    notes: list[str] = field(default_factory=list)
    uncertainty: dict = field(default_factory=dict)  # intervals, se, bootstrap (--bootstrap)

    def to_dict(self) -> dict:
        return {**result_dict(self, "budgets", [b.to_dict() for b in self.budgets],
                              [b.to_dict() for b in self.dropped]), **self.uncertainty}


def isoflop(data: Any, *, flops: float | list[float] | None = None, tolerance: float = 0.1,
            optimum: str = "spline", weighted: bool = False, group_by: str | None = None,
            target: str | None = None, reduce: str = "last",
            mapping: dict[str, str] | None = None, bootstrap: int | None = None,
            ci: float = 0.95, seed: int = 0, progress=None) -> IsoflopResult:
    """Chinchilla approach 2 on final losses.

    data: :class:`~scalecli.ingest.Frames`, :class:`~scalecli.reduce.Points`, a polars frame
    of points (``n_params``, ``tokens``, ``flops``, and ``y`` or ``loss``) or log paths.
    tolerance: budgets whose compute differs by at most this fraction from the next smaller
    one are one budget (logged FLOPs, or 6·N·D where compute is not logged).
    optimum: ``spline`` | ``window`` | ``parabola`` | ``lowest`` (see the module doc).
    weighted: weight each budget's optimum by its number of runs in the exponent fit.
    group_by: a run-level column; one a, b per value. flops: budgets to predict N_opt, D_opt at.
    bootstrap, ci, seed: percentile intervals of a and b from that many resamples of the runs
    within each budget (:mod:`.isoflop_bootstrap`).
    """
    import numpy as np
    import polars as pl

    if optimum not in OPTIMA:
        raise ConfigError(f"--optimum {optimum!r}: use one of {', '.join(OPTIMA)}")
    if not (0 <= tolerance < 1):
        raise ConfigError(f"--tolerance {tolerance:g}: give a fraction in [0, 1), e.g. 0.1")
    if bootstrap is not None:
        from ..fitting.bootstrap import check_options

        check_options(bootstrap, ci)
    frame, notes, name = _points_frame(data, target, reduce, mapping, group_by)
    opts = {"optimum": optimum, "tolerance": tolerance, "weighted": weighted, "target": name}
    boot = (bootstrap, ci, seed, progress)
    if group_by is None:
        res = _analyse(frame, opts, flops, boot)
        res.warnings[:0] = notes
        return res
    nulls = frame.filter(pl.col(group_by).is_null()).height
    if nulls:
        notes.append(f"{nulls} run(s) have no {group_by!r} and are left out")
    frame = frame.filter(pl.col(group_by).is_not_null())
    if not frame.height:
        raise ColumnError(f"no run has a value of {group_by!r}")
    groups = {}
    values = np.unique(frame[group_by].cast(pl.Utf8).to_numpy())
    for v in values:  # one analysis per group: few, and each is vectorized inside
        sub = frame.filter(pl.col(group_by).cast(pl.Utf8) == v)
        try:
            groups[str(v)] = _analyse(sub, opts, flops, boot)
        except FitError as exc:
            groups[str(v)] = IsoflopResult(None, None, [], [], error=str(exc), options=opts)
            notes.append(f"{group_by}={v}: {exc}")
    if all(g.error for g in groups.values()):
        raise FitError(f"no group of {group_by!r} could be fitted: " + "; ".join(notes))
    return IsoflopResult(None, None, [], [], warnings=notes, groups=groups,
                         options={**opts, "group_by": group_by})


def _points_frame(data, target, reduce, mapping, group_by) -> tuple[pl.DataFrame, list[str], str]:
    """A frame with n_params, tokens, flops, flops_derived, y (and the group column), the
    warnings of the reduction, and the target's name."""
    import polars as pl

    from ..ingest import Frames
    from ..reduce import Points

    notes: list[str] = []
    if isinstance(data, pl.DataFrame):
        name = "y" if "y" in data.columns else "loss"
        frame = data if "y" in data.columns else data.rename({"loss": "y"}, strict=False)
        missing = [c for c in (S.N, "y") if c not in frame.columns]
        if missing or not {S.C, S.D} & set(frame.columns):
            raise ColumnError(f"points need {S.N}, y (or loss) and {S.C} or {S.D}; found: "
                              + ", ".join(frame.columns))
        if S.C not in frame.columns:
            frame = frame.with_columns((6.0 * pl.col(S.N) * pl.col(S.D)).alias(S.C),
                                       pl.lit(True).alias(S.C_DERIVED))
        for col, val in ((S.D, None), (S.C_DERIVED, False)):
            if col not in frame.columns:
                frame = frame.with_columns(pl.lit(val, pl.Float64 if val is None else pl.Boolean)
                                           .alias(col))
    else:
        from ..pipeline import load, points

        frames = data if isinstance(data, (Frames, Points)) else load(
            *([data] if isinstance(data, str) or hasattr(data, "__fspath__") else data),
            mapping=mapping)
        pts = frames if isinstance(frames, Points) else points(
            frames, target=target, mapping=mapping, reduce=reduce)
        frame, notes, name = pts.frame, list(pts.warnings), pts.target
        if group_by is not None and isinstance(frames, Frames) and group_by not in frame.columns:
            if group_by not in frames.runs.columns:
                raise ColumnError(f"--group-by {group_by!r}: no such run column; run columns: "
                                  + ", ".join(frames.runs.columns))
            frame = frame.join(frames.runs.select(S.RUN_ID, group_by), on=S.RUN_ID, how="left")
    if group_by is not None and group_by not in frame.columns:
        raise ColumnError(f"--group-by {group_by!r}: no such column; columns: "
                          + ", ".join(frame.columns))
    return frame, notes, name


def _analyse(frame: pl.DataFrame, opts: dict, flops, boot=(None, 0.95, 0, None)
             ) -> IsoflopResult:
    """Budgets, per-budget optima, then the two power-law fits (and their bootstrap)."""
    import numpy as np

    budgets, compute, note = _group_budgets(frame, opts["tolerance"])
    warnings = [note] if note else []
    kept, dropped = [], []
    for b in budgets:  # one budget at a time: a handful, each a few points
        _locate(b, opts["optimum"])
        (dropped if b.reason else kept).append(b)
    warnings += _budget_warnings(kept, opts["optimum"])
    if len(kept) < 2:
        why = "; ".join(f"C={fmt(b.flops, 3)}: {b.reason}" for b in dropped[:3])
        why += f"; and {len(dropped) - 3} more" if len(dropped) > 3 else ""
        raise FitError(f"approach 2 needs at least two compute budgets with a located minimum; "
                       f"found {len(kept)} of {len(budgets)}" + (f" ({why})" if why else "")
                       + ". Runs must share budgets (logged FLOPs or 6·N·D within --tolerance)")
    lc = np.log10([b.flops for b in kept])
    w = np.array([b.n_runs for b in kept], float) if opts["weighted"] else None
    n_fit = fit_power(lc, np.log10([b.n_opt for b in kept]), w)
    d_fit = fit_power(lc, np.log10([b.tokens_opt for b in kept]), w)
    if len(kept) == 2:
        warnings.append("only two budgets: a and b have no standard errors")
    if opts["optimum"] in ("spline", "lowest"):  # interpolation follows noise: cross-check
        local = [replace(b, curve=None) for b in kept]
        for b in local:
            _locate(b, "window")
        local = [b for b in local if b.reason is None]
        if len(local) >= 2:
            a_win = fit_power(np.log10([b.flops for b in local]),
                              np.log10([b.n_opt for b in local])).slope
            if abs(a_win - n_fit.slope) > CROSS_CHECK:
                warnings.append(f"{opts['optimum']} gives a={n_fit.slope:.3f} but window gives "
                                f"a={a_win:.3f}: the per-budget minima follow the loss noise "
                                "(--optimum window averages it)")
    uncertainty = {}
    if boot[0]:
        from .isoflop_bootstrap import bootstrap_exponents

        uncertainty = bootstrap_exponents(kept, lambda b: _locate(b, opts["optimum"]),
                                          opts["weighted"], boot[0], boot[2], boot[1], boot[3])
    return IsoflopResult(n_fit, d_fit, kept, dropped, warnings,
                         predictions(n_fit, d_fit, flops), {**opts, "compute": compute},
                         notes=[b.note for b in kept if b.note], uncertainty=uncertainty)


def _group_budgets(frame: pl.DataFrame, tolerance: float) -> tuple[list[Budget], str, str | None]:
    """Sort by compute, start a new budget where C grows by more than ``tolerance`` from the
    previous run's; average runs of the same N within a budget (e.g. seeds)."""
    import numpy as np
    import polars as pl

    ok = (pl.col(S.N) > 0) & (pl.col(S.C) > 0) & pl.col("y").is_finite() & (pl.col("y") > 0)
    f = frame.filter(ok.fill_null(False)).sort(S.C)
    if not f.height:
        raise FitError("no run has a positive N, compute and finite loss")
    derived = f[S.C_DERIVED].fill_null(True)
    compute = "6·N·D" if derived.all() else "logged" if not derived.any() else "mixed"
    gap = math.log10(1.0 + tolerance)
    lc = pl.col(S.C).log10()
    f = f.with_columns((lc.diff().fill_null(0.0) > gap).cum_sum().alias("_b"))
    logged_d = f[S.D].is_not_null().all() and not (
        (f[S.D] * 6 * f[S.N] / f[S.C] - 1).abs() < 1e-6).all()
    per_size = (f.group_by("_b", S.N).agg(
        pl.col("y").mean(), pl.col(S.D).log().mean().exp(), lc.mean().alias("_lc"),
        pl.col(S.C).min().alias("_lo"), pl.col(S.C).max().alias("_hi"),
        pl.len().alias("_runs")).sort("_b", S.N))
    spans = f.group_by("_b").agg((lc.max() - lc.min()).alias("w"))["w"]
    note = None
    if spans.len() and spans.max() > 2 * gap:
        note = (f"some budgets merge runs whose compute differs by up to "
                f"{10 ** spans.max() - 1:.0%} (chained within --tolerance {tolerance:g})")
    out = []
    for (_,), g in per_size.group_by("_b", maintain_order=True):
        lo, hi = g["_lo"].min(), g["_hi"].max()  # one logged budget: exactly its value
        c = lo if lo == hi else float(10 ** np.average(g["_lc"].to_numpy(),
                                                        weights=g["_runs"].to_numpy()))
        out.append(Budget(c, g[S.N].to_numpy(), g["y"].to_numpy(), g[S.D].to_numpy(),
                          int(g["_runs"].sum()), logged_tokens=logged_d))
    return out, compute, note


def _locate(b: Budget, how: str) -> None:
    """Fill the budget's optimum by ``how``, or its ``reason`` for being dropped."""
    import numpy as np

    if b.sizes.size < 3:
        b.reason = f"only {b.sizes.size} model size(s); a minimum needs three"
        return
    i = int(np.argmin(b.losses))
    if how == "spline":
        _spline(b, i)
        return
    if i in (0, b.sizes.size - 1):
        side = "smallest" if i == 0 else "largest"
        b.reason = (f"lowest loss at the {side} size sampled (N={fmt(b.sizes[i], 3)}): the minimum "
                    "may lie outside the sizes")
        return
    x, y = np.log(b.sizes), b.losses
    if how == "lowest":
        xo, lo = x[i], y[i]
    else:
        h = WINDOW if how == "window" else b.sizes.size
        h = min(h, i, b.sizes.size - 1 - i) if how == "window" else h
        sel = slice(i - h, i + h + 1) if how == "window" else slice(None)
        p = np.polyfit(x[sel], y[sel], 2)
        if not p[0] > 0:
            b.reason = "the parabola opens downward: no minimum"
            return
        xo = -p[1] / (2 * p[0])
        if not x[0] <= xo <= x[-1]:
            b.reason = f"the parabola's vertex (N={fmt(math.exp(xo), 3)}) lies outside the sizes"
            return
        lo = float(np.polyval(p, xo))
        grid = np.linspace(x[sel][0], x[sel][-1], 200)
        b.curve = (np.exp(grid), np.polyval(p, grid))
        if how == "parabola":
            sst = float(np.sum((y - y.mean()) ** 2))
            b.r2 = 1 - float(np.sum((y - np.polyval(p, x)) ** 2)) / sst
    _set_optimum(b, xo, lo)


def _spline(b: Budget, i: int) -> None:
    """Porian et al.'s rule (2024, analysis.py): an Akima spline of log loss over log N, read
    on (sizes - 1) × 25 log-spaced points; the budget is dropped only when the minimum of
    that grid lands on one of its ends. A lowest sample at an end whose spline minimum lies
    inside is kept, with a note; the grid minimum is then refined."""
    import numpy as np
    from scipy.interpolate import Akima1DInterpolator
    from scipy.optimize import minimize_scalar

    x, y = np.log(b.sizes), b.losses
    spl = Akima1DInterpolator(x, np.log(y))
    grid = np.linspace(x[0], x[-1], (b.sizes.size - 1) * GRID)
    k = int(np.argmin(spl(grid)))
    if k in (0, grid.size - 1):
        side = "smallest" if k == 0 else "largest"
        b.reason = (f"the interpolated minimum lands at the {side} size sampled "
                    f"(N={fmt(b.sizes[0 if k == 0 else -1], 3)}): it may lie outside the sizes")
        return
    if i in (0, b.sizes.size - 1):
        b.note = (f"C={fmt(b.flops, 3)}: the lowest loss is at the {'smallest' if i == 0 else 'largest'}"
                  " size sampled, but the interpolated minimum lies inside the sizes: kept")
    r = minimize_scalar(lambda t: float(spl(t)), bounds=(grid[k - 1], grid[k + 1]),
                        method="bounded", options={"xatol": 1e-10})
    b.curve = (np.exp(grid), np.exp(spl(grid)))
    _set_optimum(b, float(r.x), float(np.exp(r.fun)))


def _set_optimum(b: Budget, xo: float, lo: float) -> None:
    """The budget's N_opt (at log N = ``xo``), its loss, and D_opt."""
    import numpy as np

    x = np.log(b.sizes)
    b.n_opt, b.loss_opt = float(math.exp(xo)), float(lo)
    if b.logged_tokens:  # tokens logged apart from C: interpolate log D
        q = np.polyfit(x, np.log(b.tokens), 1)
        b.tokens_opt = float(math.exp(np.polyval(q, xo)))
    else:
        b.tokens_opt = b.flops / (6.0 * b.n_opt)


def _budget_warnings(kept: list[Budget], how: str) -> list[str]:
    """Asymmetric sampling around the optimum; for ``parabola``, wide spans and poor fits."""
    import numpy as np

    out, skew = [], []
    for b in kept:
        below = math.log10(b.n_opt / b.sizes[0])
        above = math.log10(b.sizes[-1] / b.n_opt)
        if min(below, above) < ASYMMETRY * max(below, above):
            skew.append(f"C={fmt(b.flops, 3)} ({below:.2f} decades below, {above:.2f} above)")
    bumpy = [b for b in kept if int(np.sum((b.losses[1:-1] < b.losses[:-2])
                                            & (b.losses[1:-1] < b.losses[2:]))) > 1]
    if bumpy:
        out.append(f"loss has more than one local minimum in N at {len(bumpy)} budget(s): noise "
                   "is as large as the curvature near the optimum"
                   + ("; spline and lowest follow the noise (try --optimum window)"
                      if how in ("spline", "lowest") else ""))
    if skew:
        out.append("sizes are sampled asymmetrically around the optimum at "
                   + ", ".join(skew[:4]) + (f" and {len(skew) - 4} more" if len(skew) > 4 else "")
                   + "; approach 2 is biased by asymmetric sampling: sample symmetrically")
    if how == "parabola":
        wide = [b.span for b in kept if b.span > PARABOLA_SPAN]
        if wide:
            out.append(f"parabola: sizes span more than {PARABOLA_SPAN:g} decade at {len(wide)} "
                       f"budget(s) (up to {max(wide):.2f}); one parabola over a wide or skewed "
                       "IsoFLOP curve biases its vertex (try --optimum spline)")
        poor = [b.r2 for b in kept if b.r2 < PARABOLA_R2]
        if poor:
            worst = min(poor)
            out.append(f"parabola: poor fit at {len(poor)} budget(s) (R² down to {worst:.3f})")
    return out
