"""Chinchilla approach 1: the lower envelope of loss-versus-compute curves (Hoffmann et al.
2022, arXiv:2203.15556, Sec. 3.1).

Every run's loss curve becomes a map from compute (C = 6·N·tokens along the curve, or the run's
logged FLOPs pro rata to its tokens) to loss, smoothed to its running minimum and interpolated
linearly in log-log. On K log-spaced compute values (1500 in the paper) the run with the lowest
loss is on the envelope, giving (C, N_opt, D_opt); N_opt ∝ C^a and D_opt ∝ C^b are fitted by
least squares in log space, as the paper does.

Two things the envelope needs to be read honestly:

- A bucket won by the smallest or the largest size of the sweep is left out: the optimum may be
  a size nobody trained (the analogue of approach 2's edge minimum). So is a bucket where a run
  that stopped at less compute had already reached a lower loss than the winner (censored: that
  run, trained on, would have won). The counts are reported.
- Intermediate checkpoints of a run whose learning-rate schedule was set for a longer horizon
  (a cosine not yet decayed) are *not* valid points: their loss is pessimistic for that token
  count, which biases the envelope towards larger models. The paper trains each size to several
  horizons, each with its own matched cosine; Hoffmann et al. name the mismatch as one reason
  Kaplan et al. 2020 found N_opt ∝ C^0.73. scalecli cannot see a schedule in the data: give
  approach 1 curves whose every point you would trust as a final loss.

With a finite set of sizes the envelope's N is a staircase, and a least-squares line through
the buckets of m complete steps has slope a·(1 − 1/m²) (the sawtooth's covariance with log C):
0.48 for a true 0.514 with four interior sizes. So by default (``regress="sizes"``) each winning
size is placed at the mean log C of the buckets it wins, the centre of its step, and the lines are
fitted through those m points, which is unbiased for a regular staircase and gives honest
standard errors. ``regress="buckets"`` regresses on every bucket, as the paper did; its standard
errors are not reported, because buckets of one staircase are not independent observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import schema as S
from ..errors import ColumnError, ConfigError, FitError
from .exponents import Exponents, PowerFit, fit_power, predictions, result_dict

__all__ = ["BUCKETS", "FrontierResult", "frontier"]

BUCKETS = 1500  # log-spaced compute values, as in Hoffmann et al. 2022


@dataclass
class FrontierResult(Exponents):
    """Approach 1's exponents, the envelope (one segment per winning run), the runs dropped
    with reasons, and the allocations at requested budgets. ``curves`` and ``grid`` hold the
    smoothed curves and the buckets for :func:`scalecli.report.isoplots.frontier_plot`."""

    n_fit: PowerFit | None
    d_fit: PowerFit | None
    envelope: list[dict]
    dropped: list[dict]
    warnings: list[str] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    curves: list[tuple[float, Any, Any]] = field(default_factory=list)  # (N, log10 C, log10 L)
    grid: dict[str, Any] = field(default_factory=dict)  # per bucket: C, N, D, loss, kept
    groups: dict = field(default_factory=dict)
    error: str | None = None
    method: str = "frontier"

    def to_dict(self) -> dict:
        return result_dict(self, "envelope", list(self.envelope), list(self.dropped))


def frontier(data: Any, *, flops: float | list[float] | None = None, buckets: int = BUCKETS,
             regress: str = "sizes", target: str | None = None,
             mapping: dict[str, str] | None = None) -> FrontierResult:
    """Chinchilla approach 1 from full loss curves.

    data: :class:`~scalecli.ingest.Frames` (its history is needed) or log paths.
    buckets: how many log-spaced compute values the envelope is read at (default 1500).
    regress: ``sizes`` (one point per winning size, at the centre of its step) or ``buckets``
    (every bucket, as Hoffmann et al. did; biased low by the staircase, see the module doc).
    target: the metric (default: each run's own loss metric). flops: budgets to predict at.
    """
    import numpy as np
    import polars as pl

    from ..ingest import Frames

    if regress not in ("sizes", "buckets"):
        raise ConfigError(f"--regress {regress!r}: use sizes or buckets")
    if buckets < 10:
        raise ConfigError(f"--buckets {buckets}: use at least 10 (the paper uses 1500)")
    if not isinstance(data, Frames):
        from ..pipeline import load

        data = load(*([data] if isinstance(data, str) or hasattr(data, "__fspath__") else data),
                    mapping=mapping)
    curves, dropped, name, compute = _curves(data, target, mapping)
    runs = curves.group_by("_r", maintain_order=True).agg(
        pl.col(S.NAME).first(), pl.col(S.N).first(), pl.col("_per_token").first(),
        pl.len().alias("_n")).sort("_r")
    if runs.height < 3:
        raise FitError(f"approach 1 needs loss curves of at least three model sizes; "
                       f"{runs.height} usable run(s)"
                       + (f" ({'; '.join(d['run'] + ': ' + d['reason'] for d in dropped)})"
                          if dropped else ""))
    lx, ly = curves["_lx"].to_numpy(), curves["_ly"].to_numpy()
    r_of = curves["_r"].to_numpy()
    count = runs["_n"].to_numpy().astype(np.int64)
    end = np.cumsum(count)
    start = end - count
    grid = np.linspace(lx.min(), lx.max(), buckets)
    loss = _interpolate(lx, ly, r_of, start, end, grid)  # runs × buckets, inf off a curve

    n_run, per_token = runs[S.N].to_numpy(), runs["_per_token"].to_numpy()
    win = np.argmin(loss, axis=0)
    best = loss[win, np.arange(buckets)]
    covered = np.isfinite(best)
    n_env = n_run[win]
    edge = (n_env == n_run.min()) | (n_env == n_run.max())
    # a run of another size that ended before C with a loss already below the winner's: that
    # size, trained on, would have won, so the bucket is censored
    last = ly[end - 1]
    ended = (grid[None, :] > lx[end - 1][:, None]) & (n_run[:, None] != n_env[None, :])
    censored = np.where(ended, last[:, None], np.inf).min(axis=0) < best - 1e-12
    kept = covered & ~edge & ~censored
    c_env = 10.0**grid
    d_env = c_env / per_token[win]
    l_env = np.where(covered, 10.0**best, np.nan)
    info = {"buckets": buckets, "buckets_used": int(kept.sum()),
            "buckets_at_edge": int((covered & edge).sum()),
            "buckets_censored": int((covered & ~edge & censored).sum())}
    warnings = []
    distinct = np.unique(n_env[kept]).size
    if distinct < 2:
        raise FitError(f"the envelope has {distinct} interior model size(s) in {buckets} "
                       "buckets: approach 1 needs curves of more sizes that cross one another")
    if distinct < 4:
        warnings.append(f"only {distinct} model sizes win a bucket inside the envelope: a and b "
                        "rest on very few steps")
    n_fit, d_fit = _regress(regress, grid[kept], n_env[kept], d_env[kept])
    names = runs[S.NAME].to_list()
    envelope = _segments(np.flatnonzero(kept), win, names, n_run, c_env, d_env, l_env)
    return FrontierResult(
        n_fit, d_fit, envelope, dropped, warnings, predictions(n_fit, d_fit, flops),
        {"regress": regress, "target": name, "compute": compute, **info},
        curves=[(float(n_run[r]), lx[start[r]:end[r]], ly[start[r]:end[r]])
                for r in range(runs.height)],
        grid={"flops": c_env, "n": n_env, "tokens": d_env, "loss": l_env, "kept": kept})


def _regress(regress: str, lc, n_env, d_env):
    """N_opt ∝ C^a and D_opt ∝ C^b from the kept buckets (log10 C, winning N and D)."""
    import numpy as np

    if regress == "buckets":
        n_fit, d_fit = fit_power(lc, np.log10(n_env)), fit_power(lc, np.log10(d_env))
        for f in (n_fit, d_fit):  # buckets are not independent: no standard errors
            f.slope_se = f.log10_coef_se = None
        return n_fit, d_fit
    # the centre of each size's step: mean log C (and log D) of the buckets it wins
    sizes, inv, cnt = np.unique(n_env, return_inverse=True, return_counts=True)
    centre = np.bincount(inv, lc) / cnt
    ld = np.bincount(inv, np.log10(d_env)) / cnt
    return fit_power(centre, np.log10(sizes)), fit_power(centre, ld)


def _curves(frames, target, mapping):
    """Each usable run's (log10 C, log10 running-minimum loss) points, sorted by run and C,
    the runs dropped with reasons, the metric's name and where compute came from."""
    import polars as pl

    from ..reduce import _per_run_target, target_metric

    metric = target_metric(frames, mapping, target)
    chosen = (_per_run_target(frames) if metric is None else
              frames.runs.select(S.RUN_ID).with_columns(pl.lit(metric).alias(S.METRIC)))
    h = frames.history.join(chosen, on=[S.RUN_ID, S.METRIC], how="semi")
    if not h.height:
        raise ColumnError("approach 1 needs loss curves (one row per logged step with tokens); "
                          "these logs have one row per run: use `scalecli isoflop` instead")
    logged = ~pl.col(S.C_DERIVED).fill_null(True) & (pl.col(S.C) > 0) & (pl.col(S.D) > 0)
    runs = frames.runs.select(
        S.RUN_ID, S.NAME, S.N,
        pl.when(logged).then(pl.col(S.C) / pl.col(S.D)).otherwise(6.0 * pl.col(S.N))
        .alias("_per_token"), logged.alias("_logged"))
    h = h.join(runs, on=S.RUN_ID, how="inner")
    good = ((pl.col(S.D) > 0) & pl.col(S.VALUE).is_finite() & (pl.col(S.VALUE) > 0)
            & (pl.col(S.N) > 0)).fill_null(False)
    pts = (h.filter(good)
           .with_columns((pl.col("_per_token") * pl.col(S.D)).log10().alias("_lx"))
           .group_by(S.RUN_ID, "_lx")
           .agg(pl.col(S.VALUE).min(), pl.col(S.NAME, S.N, "_per_token", "_logged").first())
           .sort(S.RUN_ID, "_lx")
           .with_columns(pl.col(S.VALUE).cum_min().over(S.RUN_ID).log10().alias("_ly")))
    counts = pts.group_by(S.RUN_ID).len()
    use = counts.filter(pl.col("len") >= 2).select(S.RUN_ID)
    dropped = [{"run": n, "reason": "fewer than two logged points with tokens and a finite loss"}
               for n in h.join(use, on=S.RUN_ID, how="anti")[S.NAME].unique(maintain_order=True)
               .to_list()]
    pts = pts.join(use, on=S.RUN_ID, how="semi").sort(S.RUN_ID, "_lx").with_columns(
        (pl.col(S.RUN_ID).rank("dense") - 1).cast(pl.Int64).alias("_r"))
    lg = pts["_logged"]
    compute = "6·N·tokens" if not lg.any() else "logged" if lg.all() else "mixed"
    name = metric or (chosen[S.METRIC].mode().first() if chosen.height else "loss")
    return pts, dropped, name, compute


def _interpolate(lx, ly, r_of, start, end, grid):
    """Every run's curve at every grid point at once: one searchsorted over the runs' points
    laid end to end (offset per run), linear interpolation, inf outside a run's range."""
    import numpy as np

    span = (lx.max() - lx.min()) + 1.0
    key = r_of * span + (lx - lx.min())
    runs = np.arange(start.size)
    gk = runs[:, None] * span + (grid - lx.min())[None, :]
    pos = np.searchsorted(key, gk, side="right")
    pos = np.clip(pos, (start + 1)[:, None], (end - 1)[:, None])
    left = pos - 1
    t = (gk - key[left]) / (key[pos] - key[left])
    out = ly[left] + t * (ly[pos] - ly[left])
    inside = (grid[None, :] >= lx[start][:, None]) & (grid[None, :] <= lx[end - 1][:, None])
    return np.where(inside, out, np.inf)


def _segments(idx, win, names, n_run, c, d, loss) -> list[dict]:
    """Kept buckets in stretches of one winning size (across left-out buckets): one row each,
    read at the middle bucket."""
    import numpy as np

    if not idx.size:
        return []
    breaks = np.flatnonzero(np.diff(n_run[win[idx]]) != 0) + 1
    out = []
    for seg in np.split(idx, breaks):  # a few segments: one per change of winning run
        m = seg[seg.size // 2]
        r = win[m]
        out.append({"flops": float(c[m]), "n_opt": float(n_run[r]), "tokens_opt": float(d[m]),
                    "loss_opt": float(loss[m]), "tokens_per_param": float(d[m] / n_run[r]),
                    "run": names[r], "flops_lo": float(c[seg[0]]), "flops_hi": float(c[seg[-1]]),
                    "buckets": int(seg.size)})
    return out
