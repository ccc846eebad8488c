"""Fitting a law to points: refusals for data that cannot identify it, the multi-start search,
and the goodness-of-fit numbers reported with every fit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import FitError
from .objective import Objective
from .result import FitResult

if TYPE_CHECKING:
    from ..laws import Law
    from ..reduce import Points

__all__ = ["FitResult", "Objective", "fit_points"]


def fit_points(
    points: Points,
    law: Law,
    *,
    objective: Objective | None = None,
    fixed: dict[str, float] | None = None,
    seed: int = 0,
) -> FitResult:
    """Fit ``law`` to ``points`` (see :mod:`scalecli.reduce`) and describe the result."""
    import hashlib
    import time

    import numpy as np

    from .. import __version__

    objective = objective or Objective()
    fixed = dict(fixed or {})
    unknown = sorted(set(fixed) - set(law.param_names))
    if unknown:
        raise FitError(f"cannot fix {', '.join(unknown)}: {law.name} has parameters "
                       f"{', '.join(law.param_names)}")
    frame = points.frame
    columns = dict(law.variables)
    missing = [col for col in columns.values() if col not in frame.columns]
    if missing:
        from ..errors import ColumnError

        raise ColumnError(
            f"law {law.name} needs the column(s) {', '.join(columns.values())}; missing: "
            f"{', '.join(missing)}; columns found: "
            + ", ".join(c for c in frame.columns if c not in ("run_id", "source", "y"))
            + ". Choose columns with --x COL (one-variable laws), --map or a config's "
            "law.variables"
        )
    X = {sym: frame[col].cast(float).to_numpy() for sym, col in columns.items()}
    y = frame["y"].to_numpy().astype(float)
    n_free = len(law.parameters) - len(fixed)
    n = len(y)
    warnings = list(points.warnings)
    if "N" in X and n and np.unique(X["N"]).size < 2:
        raise FitError(f"all {n} points have one model size (N={X['N'][0]:.4g}): "
                       f"{law.name} needs at least two model sizes to separate A/N^alpha from E")
    if n <= n_free:
        raise FitError(
            f"{n} point(s) for the {n_free} free parameters of {law.name}: a fit needs more "
            "points than parameters (add runs, or fix parameters with a config's 'fixed')"
        )
    if n < 2 * n_free:
        warnings.append(f"only {n} points for {n_free} free parameters (fewer than twice as many):"
                        " the fit may be poorly determined")
    t0 = time.perf_counter()
    opt = law.search(X, y, objective, fixed, seed=seed)
    seconds = time.perf_counter() - t0
    theta = np.asarray(opt.theta)[None, :]
    with np.errstate(all="ignore"):
        log_pred = law.log_predict(theta, X)[0]
        t_pred = objective.predicted(law, theta, X)[0]
    with np.errstate(all="ignore"):
        t_obs = objective.transform(y)
        rmse_log = float(np.sqrt(np.mean((log_pred - np.log(y)) ** 2)))
    ss_res = float(np.sum((t_pred - t_obs) ** 2))
    ss_tot = float(np.sum((t_obs - t_obs.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    if not opt.converged:
        warnings.append(f"the optimizer did not report convergence: {opt.message}")
    digest = hashlib.sha256()
    for arr in (*X.values(), y):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return FitResult(
        law=law.name,
        params=law.to_natural(opt.theta),
        objective=opt.objective,
        rmse_log=rmse_log,
        r2=r2,
        n_points=n,
        n_runs=int(frame["run_id"].n_unique()) if "run_id" in frame.columns else n,
        converged=opt.converged,
        formula=law.formula,
        variables=columns,
        target=points.target,
        fixed=fixed,
        fit={
            "objective": objective.describe(),
            **objective.to_dict(),
            "starts": opt.n_starts,
            "refined": opt.n_refined,
            "agreeing": opt.agreeing,
            "evaluations": opt.n_evaluations,
            "message": opt.message,
            "seed": seed,
            "seconds": round(seconds, 4),
        },
        data={
            "reduce": points.reduce,
            "hash": digest.hexdigest()[:16],
            "dropped": list(points.dropped),
            "flops_derived": bool(frame["flops_derived"].any())
            if n and "flops_derived" in frame.columns else False,
        },
        warnings=warnings,
        version=__version__,
        points=frame,
    )
