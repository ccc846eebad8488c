"""``--drop-outliers``: fit, flag the runs the residual table flags (more than 3 robust
standard deviations from the median residual, :mod:`scalecli.analyses.residuals`), refit
without them, and say which were dropped and by how much they missed.

One pass, not iterated: after a refit the robust spread shrinks, so iterating would keep
peeling off the next-worst runs of a clean sweep (the rule flags ~0.25 runs per 30-run fit on
pure noise, and each pass compounds it). A run that is broken stands far out in the first
fit already, since the median and MAD are barely moved by it; the refit's own residuals
(``--residuals``) show whether anything else now stands out, for the user to judge.
A run with several points has all of them dropped when one is flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..fitting import FitResult
    from ..reduce import Points


def fit_without_outliers(pts: Points, fit_on: Callable[[Points, int], FitResult],
                         resamples: int = 0) -> FitResult:
    """The fit of ``pts`` (``fit_on(points, resamples)``) refitted without its outlier runs.

    The first fit has no bootstrap; the bootstrap (``resamples``) runs on the refit's data,
    or on all of them when nothing is dropped. The result's ``data["outliers_dropped"]`` lists
    each dropped run's name, id, residual (observed - predicted, in the fit's space) and
    distance from the median residual in robust standard deviations; a note names them."""
    import dataclasses

    import polars as pl

    from ..errors import FitError
    from .residuals import K_MAD, residuals

    first = fit_on(pts, 0)
    res = residuals(first, pts.frame)
    sd = res.threshold / K_MAD
    frame = pts.frame
    ids = (frame["run_id"].cast(pl.Utf8).to_list() if "run_id" in frame.columns
           else [str(i) for i in range(frame.height)])
    dropped, flagged_ids = [], set()
    for i, row in zip(ids, res.rows):
        if row["outlier"] and i not in flagged_ids:
            flagged_ids.add(i)
            dropped.append({"run": row["run"], "run_id": i, "residual": row["residual"],
                            "robust_sd": abs(row["residual"] - res.median) / sd if sd > 0
                            else float("inf")})
    if not dropped:
        result = fit_on(pts, resamples) if resamples else first
        result.data["outliers_dropped"] = []
        result.notes.append(f"--drop-outliers: no run's residual lies more than {K_MAD:g} "
                            f"robust standard deviations from the median: nothing dropped")
        return result
    keep = [i not in flagged_ids for i in ids]
    kept = dataclasses.replace(pts, frame=frame.filter(pl.Series(keep, dtype=pl.Boolean)))
    try:
        result = fit_on(kept, resamples)
    except FitError as exc:
        raise FitError(f"without the outlier runs ({_names(dropped)}) the law cannot be "
                       f"fitted: {exc}") from None
    result.data["outliers_dropped"] = dropped
    result.notes.append(_note(dropped, res.space, len(set(ids)), len(set(ids)) - len(dropped)))
    return result


def _names(dropped) -> str:
    shown = ", ".join(str(d["run"]) for d in dropped[:5])
    return shown + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")


def _note(dropped, space: str, n_runs: int, n_kept: int) -> str:
    from ..numbers import fmt

    each = ", ".join(f"{d['run']} (residual {'+' if d['residual'] > 0 else ''}"
                     f"{fmt(d['residual'], 2)}, {d['robust_sd']:.1f} robust sd)"
                     for d in dropped[:10])
    more = f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
    return (f"dropped outliers: {each}{more}; refitted on {n_kept} of {n_runs} runs "
            f"(residuals in {space} space, observed - predicted)")
