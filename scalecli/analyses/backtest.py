"""Backtests: how well does a law fitted on the small rungs of a ladder predict the large ones?

A fit's in-sample error says little about its next rung: a law that cannot bend fits a bent
curve's early stretch as well as a law that can. So the runs are ordered into rungs by model
size (or compute; runs whose value differs by at most ``tolerance`` from the next smaller
run's share a rung, as IsoFLOP budgets do), and for each rung k the law is fitted on rungs
1..k and predicts every larger run, as the next rung of a real ladder would be predicted. Each
prediction is scored by its relative error and its extrapolation factor (the run's size over
the largest size fitted); the summary gives the error per fit and per band of factor.
``holdout_largest`` is the one split: fitted once without the K largest rungs.

A rung that the fit refuses (too few points for its parameters, one model size) is skipped with
the fit's own reason. Those checks are necessary, not sufficient: two sizes pass them, yet give
Chinchilla's E + A/N^alpha two values for three parameters; the backtest shows such a fit as
large errors, and ``min_rungs`` starts the roll later. Every fit goes through
:func:`scalecli.fitting.fit_points` on a subset of the points :func:`scalecli.pipeline.prepare`
made once, as ``--law all``'s held-out ranking does. :func:`rank_backtests` ranks the laws on
the predictions all of them made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .. import schema as S
from ..errors import ColumnError, ConfigError, FitError, InputError, ScaleCLIError
from ..numbers import fmt

if TYPE_CHECKING:
    import polars as pl

    from ..config import FitSpec
    from ..ingest import Frames
    from ..reduce import Points

__all__ = ["BANDS", "Backtest", "BacktestRanking", "backtest", "rank_backtests", "run_backtest",
           "summarize"]

# Bands of extrapolation factor: (1, 2], (2, 4], (4, 10], (10, inf).
BANDS = ((1.0, 2.0, "≤2×"), (2.0, 4.0, "2–4×"), (4.0, 10.0, "4–10×"), (10.0, None, ">10×"))
_BY = {"n": S.N, "size": S.N, "c": S.C, "compute": S.C, "d": S.D}


@dataclass
class Backtest:
    """One law's predictions of larger runs from fits on smaller rungs, and their summary."""

    law: str
    by: str  # the column the ladder is ordered by (n_params, flops, ...)
    predictions: list[dict]  # run, rung (the last rung fitted), factor, observed, predicted, ...
    summary: dict
    rungs: list[dict] = field(default_factory=list)  # rung, low, high, runs
    fits: list[dict] = field(default_factory=list)  # one per rung fitted: params, goodness
    skipped: dict[int, str] = field(default_factory=dict)  # rung not fitted -> why
    holdout_largest: int | None = None
    start: str | None = None  # where the roll starts and why (also the first of ``notes``)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"law": self.law, "by": self.by, "holdout_largest": self.holdout_largest,
                "predictions": self.predictions, "summary": self.summary, "rungs": self.rungs,
                "fits": self.fits, "skipped_rungs": {str(k): v for k, v in self.skipped.items()},
                "notes": self.notes, "warnings": self.warnings}


@dataclass
class BacktestRanking:
    """Laws ranked by mean |relative error| on the predictions every ranked law made."""

    backtests: list[Backtest]  # best first
    by: str
    summary: list[dict]  # one row per law, in rank order
    shared: int  # predictions every ranked law made (what the ranking compares)
    skipped: dict[str, str] = field(default_factory=dict)  # law -> why it was not ranked
    holdout_largest: int | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def predictions(self) -> list[dict]:
        return [{"law": b.law, **p} for b in self.backtests for p in b.predictions]

    def to_dict(self) -> dict:
        return {"by": self.by, "holdout_largest": self.holdout_largest, "shared": self.shared,
                "summary": self.summary, "predictions": self.predictions,
                "laws": {b.law: {k: v for k, v in b.to_dict().items() if k != "predictions"}
                         for b in self.backtests},
                "skipped": self.skipped, "notes": self.notes, "warnings": self.warnings}


def backtest(frames: Frames | Points, spec: FitSpec, *, mapping: dict[str, str] | None = None,
             reduce: str | None = None, by: str | None = None, tolerance: float = 0.1,
             holdout_largest: int | None = None, min_rungs: int | None = None,
             seed: int | None = None, drop_outliers: bool = False) -> Backtest:
    """Backtest the law of ``spec`` (from :func:`scalecli.pipeline.fit_spec`) on the runs."""
    from ..pipeline import prepare

    pts = prepare(frames, spec, mapping=mapping, reduce=reduce)
    return run_backtest(pts, spec, by=by, tolerance=tolerance, holdout_largest=holdout_largest,
                        min_rungs=min_rungs, seed=seed, drop_outliers=drop_outliers)


def run_backtest(pts: Points, spec: FitSpec, *, by: str | None = None, tolerance: float = 0.1,
                 holdout_largest: int | None = None, min_rungs: int | None = None,
                 seed: int | None = None, drop_outliers: bool = False) -> Backtest:
    """Roll over the ladder of ``pts`` from rung ``min_rungs`` on (default: the first rung
    that identifies the law), or make the one ``holdout_largest`` split. ``drop_outliers``:
    each split's fit is refitted without the training runs its residuals flag
    (:mod:`.outliers`); the predicted runs are never dropped."""
    law = spec.law
    present = [c for c in pts.frame.columns if pts.frame[c].null_count() < pts.frame.height]
    col = by_column(by, present, law)
    ladder, rungs, notes, warnings = _ladder(pts.frame, col, tolerance)
    ks = _cutoffs(len(rungs), holdout_largest, min_rungs, col, rungs)
    preds, fits, skipped = [], [], {}
    for k in ks:
        train, test = ladder.filter(ladder["_rung"] <= k), ladder.filter(ladder["_rung"] > k)
        try:
            fit, rows, said = _one_split(pts, spec, train, test, k, seed, drop_outliers)
        except FitError as exc:
            skipped[k] = str(exc)
            continue
        fits.append(fit)
        preds += rows
        warnings += [f"fit on {_upto(k)}: {w}" for w in said if w not in pts.warnings]
    if not fits:
        raise FitError(_nothing_fitted(law.name, col, rungs, skipped, holdout_largest))
    if drop_outliers:
        dropped = [f"fit on {_upto(f['rung'])} dropped {', '.join(map(str, names))}"
                   for f in fits if (names := f.get("outliers_dropped"))]
        notes.append("--drop-outliers: " + ("; ".join(dropped) if dropped else
                                            "no training run was an outlier in any fit"))
    start = None
    if holdout_largest is None:
        start, later = _skipped_notes(skipped, fits[0]["rung"], col, rungs, min_rungs)
        notes += [n for n in (start, *later) if n]
    bad = sum(p["rel_error"] is None for p in preds)
    if bad:
        warnings.append(f"{bad} prediction(s) are not finite numbers (a law not finite there, "
                        "or an observed value of 0)")
    return Backtest(law=law.name, by=col, predictions=preds, summary=summarize(preds),
                    rungs=rungs, fits=fits, skipped=skipped, holdout_largest=holdout_largest,
                    start=start, notes=notes, warnings=[*pts.warnings, *warnings])


def _one_split(pts, spec, train, test, k: int, seed, drop_outliers: bool = False):
    """Fit on ``train`` (rungs 1..k), predict ``test``: the fit's summary, the prediction rows
    and the fit's warnings. A FitError means these rungs cannot identify the law."""
    import polars as pl

    from ..fitting import fit_points

    def fit_on(points, resamples=0):
        return fit_points(points, spec.law, objective=spec.objective, fixed=spec.fixed,
                          seed=spec.seed if seed is None else seed)

    if drop_outliers:
        from .outliers import fit_without_outliers

        res = fit_without_outliers(replace(pts, frame=train), fit_on)
    else:
        res = fit_on(replace(pts, frame=train))
    top = float(train["_by"].max())
    fit = {"rung": k, "up_to": top, "points": res.n_points, "params": res.params,
           "rmse_log": res.rmse_log, "converged": res.converged}
    if drop_outliers:
        fit["outliers_dropped"] = [d["run"] for d in res.data["outliers_dropped"]]
    predicted = predict(spec.law, res.params, test)
    finite = {c: pl.when(pl.col(c).is_finite()).then(pl.col(c)) for c in ("predicted", "rel")}
    rows = test.select(
        pl.col(S.NAME).cast(pl.Utf8).alias("run"), pl.col(S.RUN_ID).cast(pl.Utf8).alias("run_id"),
        pl.lit(k).alias("rung"), pl.col("_rung").alias("run_rung"), pl.col("_by").alias("value"),
        (pl.col("_by") / top).alias("factor"), pl.col("y").cast(pl.Float64).alias("observed"),
        pl.Series("predicted", predicted, dtype=pl.Float64),
    ).with_columns(((pl.col("predicted") - pl.col("observed")) / pl.col("observed").abs())
                   .alias("rel")).select(
        pl.exclude("predicted", "rel"), finite["predicted"].alias("predicted"),
        finite["rel"].alias("rel_error")).to_dicts()
    return fit, rows, res.warnings


def _upto(k: int) -> str:
    return "rung 1" if k == 1 else f"rungs 1-{k}"


def _skipped_notes(skipped: dict[int, str], first: int, col: str, rungs: list[dict],
                   min_rungs: int | None) -> tuple[str | None, list[str]]:
    """Why the roll starts where it does (one line), and each later rung not fitted."""
    start = None
    if first > 1:
        why = (f"--min-rungs {min_rungs}" if first - 1 not in skipped
               else f"{_upto(first - 1)} cannot identify the law: {skipped[first - 1]}")
        start = (f"the first fit is on {_upto(first)} ({col} ≤ "
                 f"{fmt(rungs[first - 1]['high'])}); {why}")
    return start, [f"{_upto(k)} not fitted: {why}" for k, why in skipped.items() if k > first]


def predict(law, params: dict[str, float], frame: pl.DataFrame):
    """The law with ``params`` at every row of ``frame`` (its variables' columns)."""
    import numpy as np

    theta = np.array([law.to_internal(params)])
    X = {sym: frame[c].cast(float).to_numpy() for sym, c in law.variables.items()}
    with np.errstate(all="ignore"):
        return np.asarray(law.predict(theta, X)[0], dtype=float)


def summarize(predictions: list[dict]) -> dict:
    """Count, mean, median and max |relative error|: overall, per band of extrapolation
    factor, and per fit (the rungs it was fitted on: how the error falls as the ladder grows)."""
    import numpy as np

    ok = [p for p in predictions if p["rel_error"] is not None]
    err = np.abs(np.array([p["rel_error"] for p in ok], dtype=float))
    factor = np.array([p["factor"] for p in ok], dtype=float)
    rung = np.array([p["rung"] for p in ok], dtype=int)
    band = np.searchsorted([hi for _, hi, _ in BANDS[:-1]], factor, side="left")
    bands = [{"factor": label, "low": lo, "high": hi, **_stats(err[band == i])}
             for i, (lo, hi, label) in enumerate(BANDS)]
    fits = [{"rung": int(k), "min_factor": float(factor[rung == k].min()),
             "max_factor": float(factor[rung == k].max()), **_stats(err[rung == k])}
            for k in np.unique(rung)]
    return {**_stats(err), "by_factor": bands, "by_rung": fits}


def _stats(err) -> dict:
    import numpy as np

    if not err.size:
        return {"count": 0, "mean_abs_rel_error": None, "median_abs_rel_error": None,
                "max_abs_rel_error": None}
    return {"count": int(err.size), "mean_abs_rel_error": float(err.mean()),
            "median_abs_rel_error": float(np.median(err)), "max_abs_rel_error": float(err.max())}


def by_column(by: str | None, columns, law=None) -> str:
    """The column ``--by`` names: ``n_params`` (or N, size), ``flops`` (or C, compute), any
    column of the runs, or an alias of N, D, C as the readers know them. ``None``: model size,
    or for runs without one, the variable of a one-variable law."""
    if by is None:
        if S.N in columns or law is None or len(law.variables) != 1:
            return S.N
        return next(iter(law.variables.values()))
    want = _BY.get(by.lower(), by)
    if want in columns:
        return want
    for role, norm in (("N", S.N), ("D", S.D), ("C", S.C)):
        if S.resolve(role, [by]) == by and norm in columns:
            return norm
    raise ColumnError(f"--by {by}: no run has a value of that column; order the ladder by "
                      f"{_choices(columns)}")


def _choices(columns) -> str:
    others = [c for c in columns if c not in (S.RUN_ID, S.NAME, S.SOURCE, S.FORMAT,
                                              S.C_DERIVED, "y")]
    return "one of: " + ", ".join(others)


def _ladder(frame: pl.DataFrame, col: str, tolerance: float):
    """The points with their rung (``_rung``, 1 = smallest) and ``_by`` value, the rungs, and
    notes/warnings: runs without a positive value of ``col`` are left out and named."""
    import polars as pl

    if isinstance(tolerance, bool) or not 0 <= tolerance < 1:
        raise ConfigError(f"--tolerance {tolerance}: give a fraction in [0, 1), e.g. 0.1")
    value = pl.col(col).cast(pl.Float64, strict=False)
    ok = (value.is_finite() & (value > 0)).fill_null(False)
    out, warnings, notes = frame.filter(~ok), [], []
    if out.height:
        names = out[S.NAME].cast(str).to_list()
        warnings.append(f"{out.height} run(s) have no positive {col} and are left out of the "
                        f"ladder: {', '.join(names[:5])}" + (" ..." if len(names) > 5 else ""))
    if out.height == frame.height:
        present = [c for c in frame.columns if frame[c].null_count() < frame.height]
        raise ColumnError(f"no run has a positive {col}: order the ladder (--by) by "
                          f"{_choices(present)}")
    gap = math.log10(1.0 + tolerance)
    ladder = frame.filter(ok).with_columns(value.alias("_by")).sort("_by").with_columns(
        ((pl.col("_by").log10().diff().fill_null(0.0) > gap).cum_sum().cast(pl.Int64) + 1)
        .alias("_rung"))
    table = ladder.group_by("_rung").agg(pl.col("_by").min().alias("low"),
                                         pl.col("_by").max().alias("high"),
                                         pl.len().alias("runs")).sort("_rung")
    rungs = [{"rung": int(r), "low": lo, "high": hi, "runs": int(n)}
             for r, lo, hi, n in table.iter_rows()]
    wide = [r["rung"] for r in rungs if r["high"] > r["low"] * (1 + tolerance) ** 2]
    if wide:
        notes.append(f"rung(s) {', '.join(map(str, wide))} join runs whose {col} differs by "
                     f"more than twice --tolerance {tolerance:g} (chained run to run)")
    return ladder, rungs, notes, warnings


def _cutoffs(last: int, holdout: int | None, min_rungs: int | None, col: str,
             rungs: list[dict]) -> list[int]:
    """The rungs fitted up to: every one short of the largest, or the one split."""
    if last < 2:
        one = f"one rung ({col} = {fmt(rungs[0]['low'])})" if rungs else "no run"
        raise InputError(f"{one}: nothing larger to predict; a backtest needs runs of at least "
                         f"two {col} values (is --tolerance too wide?)")
    for value, option in ((holdout, "--holdout-largest"), (min_rungs, "--min-rungs")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ConfigError(f"{option} must be a whole number of rungs, at least 1, got "
                              f"{value}")
    if holdout is not None:
        if min_rungs is not None:
            raise ConfigError("--min-rungs applies to the rolling backtest; --holdout-largest "
                              "fits once, on every rung it does not hold out")
        if holdout >= last:
            raise InputError(f"--holdout-largest {holdout} leaves nothing to fit: the runs have "
                             f"{last} rungs of {col} (hold out at most {last - 1})")
        return [last - holdout]
    if min_rungs is not None and min_rungs >= last:
        raise InputError(f"--min-rungs {min_rungs} leaves nothing to predict: the runs have "
                         f"{last} rungs of {col} (fit on at most {last - 1})")
    return list(range(min_rungs or 1, last))


def _nothing_fitted(name, col, rungs, skipped, holdout) -> str:
    k, why = max(skipped.items())
    runs = sum(r["runs"] for r in rungs[:k])
    if holdout is not None:
        return (f"--holdout-largest {holdout} leaves {runs} run(s) in {k} rung(s) of {col} to "
                f"fit {name}, too little: {why}")
    return (f"{name} cannot be fitted on any rung short of the largest ({k} rung(s) of {col}, "
            f"{runs} run(s)): {why}")


def rank_backtests(frames: Frames, *, laws: list[str] | None = None, x: str | None = None,
                   target: str | None = None, mapping: dict[str, str] | None = None,
                   reduce: str | None = None, loss: str | None = None,
                   delta: float | None = None, space: str | None = None, seed: int | None = None,
                   by: str | None = None, tolerance: float = 0.1,
                   holdout_largest: int | None = None,
                   min_rungs: int | None = None,
                   overestimate_penalty: float | str | None = None) -> BacktestRanking:
    """Backtest every applicable law (see :func:`.ranking.applicable`) and rank them by mean
    |relative error| on the predictions all of them made: a law that needs more rungs before
    it can be fitted is not favoured for skipping the hardest predictions."""
    from ..laws import all_laws
    from .ranking import applicable

    done, skipped = [], {}
    for name in laws or [law.name for law in all_laws()]:
        try:
            spec, reason = applicable(name, frames, x=x, target=target, loss=loss, delta=delta,
                                      space=space, overestimate_penalty=overestimate_penalty)
            if spec is None:
                skipped[name] = reason
                continue
            done.append(backtest(frames, spec, mapping=mapping, reduce=reduce, by=by,
                                 tolerance=tolerance, holdout_largest=holdout_largest,
                                 min_rungs=min_rungs, seed=seed))
        except ScaleCLIError as exc:
            if isinstance(exc, ConfigError) and not str(exc).startswith("law "):
                raise  # an option that no law can take is the user's to fix
            skipped[name] = str(exc)
    if not done:
        raise FitError("no law could be backtested: " + "; ".join(
            f"{k}: {v}" for k, v in skipped.items()))
    return _ranked(done, skipped, done[0].by, holdout_largest)


def _ranked(done: list[Backtest], skipped: dict[str, str], by: str,
            holdout: int | None) -> BacktestRanking:
    import numpy as np

    def key(p):
        return p["run_id"], p["rung"]

    usable = [{key(p): p["rel_error"] for p in b.predictions if p["rel_error"] is not None}
              for b in done]
    shared = set.intersection(*(set(u) for u in usable))
    rows = []
    for b, u in zip(done, usable):
        mean = (float(np.mean(np.abs([u[k] for k in shared]))) if shared else None)
        rows.append({"law": b.law, "shared_mean_abs_rel_error": mean, **b.summary,
                     "first_rung": b.fits[0]["rung"], "fits": len(b.fits)})
    order = sorted(range(len(done)), key=lambda i: (
        rows[i]["shared_mean_abs_rel_error"] is None, rows[i]["shared_mean_abs_rel_error"] or 0.0,
        rows[i]["mean_abs_rel_error"] is None, rows[i]["mean_abs_rel_error"] or 0.0))
    summary = [{"rank": r + 1, **rows[i]} for r, i in enumerate(order)]
    notes = [f"{k} skipped: {v}" for k, v in skipped.items()]
    if not shared:
        notes.append("no prediction was made by every law: ranked by each law's own mean")
    for i in order:  # each law's own notes, named; where it starts is the table's "first fit"
        notes += [f"{done[i].law}: {n}" for n in done[i].notes if n != done[i].start]
    return BacktestRanking(backtests=[done[i] for i in order], by=by, summary=summary,
                           shared=len(shared), skipped=skipped, holdout_largest=holdout,
                           notes=notes,
                           warnings=[f"{done[i].law}: {w}" for i in order for w in done[i].warnings])

