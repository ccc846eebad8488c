"""Fitting a law to points: refusals for data that cannot identify it, the search the law
declares (start grid, closed form, grid + least squares), the goodness-of-fit numbers and the
warnings reported with every fit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import schema as S
from ..errors import ColumnError, ConfigError, FitError
from .objective import Objective
from .result import FitResult

if TYPE_CHECKING:
    from ..laws import Law
    from ..reduce import Points

__all__ = ["FitResult", "Objective", "check_seed", "fit_points"]


def fit_points(
    points: Points,
    law: Law,
    *,
    objective: Objective | None = None,
    fixed: dict[str, float] | None = None,
    seed: int = 0,
    resamples: int = 0,
    ci: float = 0.95,
    progress=None,
    tolerance: float | None = None,
    jobs: int = 1,
    weights=None,
) -> FitResult:
    """Fit ``law`` to ``points`` (see :mod:`scalecli.reduce`) and describe the result.

    ``fixed`` values are checked (:meth:`Law.check_fixed`), ``seed`` must be an integer from 0
    to 2**32 - 1; data that cannot identify the law are refused (FitError); what may be wrong
    with the result is in its ``warnings``, what was done in its ``notes``. With
    ``resamples``, runs are resampled that many times and refitted (:mod:`.bootstrap`): the
    result then carries ``intervals`` and ``se`` at confidence ``ci``, and its draws. Other
    optima within ``tolerance`` of the best objective are its ``alternatives``.
    ``weights``: ``"seed-variance"`` (see :mod:`scalecli.fitting.seeds`), one weight per
    point, or None. Where runs repeat an (N, D), the result's ``seeds`` describe their spread.
    """
    from .threads import one_blas_thread

    with one_blas_thread():
        return _fit_points(points, law, objective=objective, fixed=fixed, seed=seed,
                           resamples=resamples, ci=ci, progress=progress, tolerance=tolerance,
                           jobs=jobs, weights=weights)


def _fit_points(points, law, *, objective, fixed, seed, resamples, ci, progress, tolerance,
                jobs, weights) -> FitResult:
    import time

    import numpy as np

    from .. import __version__
    from . import diagnostics, seeds
    from .search import search

    objective = objective or Objective()
    check_seed(seed)
    if resamples:
        from .bootstrap import check_options

        check_options(resamples, ci)
    fixed = law.check_fixed(fixed or {}, "fixed")
    if len(fixed) == len(law.parameters):
        raise ConfigError(f"every parameter of {law.name} is held: nothing to fit")
    frame = points.frame
    columns = dict(law.variables)
    X, y = _arrays(law, frame, columns)
    n_free = len(law.parameters) - len(fixed)
    n = len(y)
    warnings = list(points.warnings)
    notes = list(getattr(points, "notes", []))
    try:
        warnings += diagnostics.refusals(law, X, y, n_free)
    except FitError as exc:  # too little left: say what was left out, or the cause is hidden
        dropped = list(getattr(points, "dropped", []))
        if not dropped:
            raise
        raise FitError(f"{exc}; {len(dropped)} run(s) were left out, e.g. {dropped[0]}"
                       ) from None
    keys = seeds.configuration(law, X, frame)  # runs sharing these are seeds
    objective, weighting, weight_notes = seeds.weighted(objective, weights, keys, y)
    notes += weight_notes
    t0 = time.perf_counter()
    opt = search(law, X, y, objective, fixed, seed=seed)
    seconds = time.perf_counter() - t0
    if np.isnan(opt.theta).any():
        raise FitError(f"{law.name}: the search ended at parameters that are not numbers")
    rmse_log, r2 = _goodness(law, X, y, opt.theta, objective)
    warnings += diagnostics.optimizer(opt)
    warnings += diagnostics.at_bounds(law, opt.theta, fixed)
    warnings += diagnostics.rising(law, X, y, r2)
    notes += opt.notes
    seed_info, seed_notes, seed_warnings = seeds.of_fit(law, X, keys, y, opt.theta, objective,
                                                        n_free, points.target)
    notes += seed_notes
    warnings += seed_warnings
    result = FitResult(
        law=law.name,
        params={**law.to_natural(opt.theta), **fixed},  # held values to the digit
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
            "objective": objective.describe() + seeds.WEIGHTED.get(weighting, ""),
            **objective.to_dict(),
            "weights": weighting,
            "starts": opt.n_starts,
            "refined": opt.n_refined,
            "agreeing": opt.agreeing,
            "evaluations": opt.n_evaluations,
            "message": opt.message,
            "seed": seed,
            "seconds": round(seconds, 4),
            "tolerance": 0.005 if tolerance is None else tolerance,
            **({"subsample": opt.sample} if opt.sample else {}),
        },
        data={
            "reduce": points.reduce,
            "hash": _digest(X, y),
            "dropped": list(points.dropped),
            "flops_derived": bool(frame["flops_derived"].any())
            if n and "flops_derived" in frame.columns else False,
            **_derived_sizes(frame),
        },
        warnings=warnings,
        notes=notes,
        version=__version__,
        points=frame,
        seeds=seed_info,
    )
    for role, rules in result.data.get("derived", {}).items():
        for rule, k in rules.items():
            result.notes.append(f"{role} of {k} point(s) derived from the config, not logged: "
                                f"{rule}")
    from .alternatives import DEFAULT_TOLERANCE, alternatives
    from .covariance import lack_of_fit

    result.covariance = lack_of_fit(law, X, y, objective, opt.theta, fixed)
    if not objective.symmetric:
        result.notes.append("no lack-of-fit covariance (predict's quick bands without "
                            "--bootstrap): it assumes residuals symmetric about the law, and "
                            "the over-estimate penalty makes them one-sided")
    result.alternatives = alternatives(law, opt, fixed, DEFAULT_TOLERANCE if tolerance is None
                                       else _tolerance(tolerance))
    if resamples:
        groups = frame[S.RUN_ID].to_numpy() if S.RUN_ID in frame.columns else np.arange(n)
        if S.FIXED_POINT in frame.columns:  # an --anchor: in every resample, never drawn
            groups = np.where(frame[S.FIXED_POINT].to_numpy(), None, groups)
        _attach_draws(result, law, X, y, objective, fixed, opt, groups, resamples, seed, ci,
                      progress, jobs)
    return result


def _tolerance(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"--tolerance {value}: give the objective margin as a fraction in "
                          "[0, 1), e.g. 0.005 for 0.5%")
    return float(value)


def _attach_draws(result, law, X, y, objective, fixed, opt, groups, resamples, seed, ci,
                  progress, jobs=1) -> None:
    """Bootstrap draws of the parameters, their intervals and standard errors, and what the
    resampling did, onto ``result``."""
    import time

    from .bootstrap import bootstrap

    t0 = time.perf_counter()
    draws = bootstrap(law, X, y, objective, fixed, opt, groups, resamples, seed,
                      plan=law.search_plan(objective, fixed), jobs=jobs, progress=progress)
    result.draws = draws
    result.intervals, result.se = draws.summary(ci)
    result.bootstrap = {"resamples": resamples, "ci": ci, "seed": seed, "failed": draws.failed,
                        "moved": draws.moved, "starts": draws.starts,
                        "seconds": round(time.perf_counter() - t0, 3)}
    if draws.failed:
        result.warnings.append(f"{draws.failed} of {resamples} bootstrap resamples could not be "
                               "fitted (too few distinct runs or sizes drawn); the intervals "
                               "rest on the others")
    if draws.moved:
        result.notes.append(f"{draws.moved} of {resamples} resamples ({draws.moved / resamples:.1%})"
                            " fitted best in another basin than the point estimate's")


def _goodness(law, X, y, theta, objective) -> tuple[float, float]:
    """RMSE of the log target, and R² in the objective's residual space."""
    import numpy as np

    theta = np.asarray(theta)[None, :]
    with np.errstate(all="ignore"):
        log_pred = law.log_predict(theta, X)[0]
        t_pred = objective.predicted(law, theta, X)[0]
        t_obs = objective.transform(y)
        rmse_log = float(np.sqrt(np.mean((log_pred - np.log(y)) ** 2)))
    ss_res = float(np.sum((t_pred - t_obs) ** 2))
    ss_tot = float(np.sum((t_obs - t_obs.mean()) ** 2))
    return rmse_log, (1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"))


def _derived_sizes(frame) -> dict:
    """``derived``: N or D worked out from the runs' configs, rule -> number of points (see
    ingest.derive); absent when every size was logged."""
    out = {}
    for role, col in (("N", S.N_DERIVED), ("D", S.D_DERIVED)):
        if col in frame.columns and frame[col].is_not_null().any():
            rules = frame.filter(frame[col].is_not_null()).group_by(col, maintain_order=True).len()
            out[role] = {rule: int(k) for rule, k in rules.iter_rows()}
    return {"derived": out} if out else {}


def _digest(X, y) -> str:
    """A short hash of the fitted data, for provenance."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for arr in (*X.values(), y):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()[:16]


def check_seed(seed) -> int:
    """A seed NumPy takes: an integer from 0 to 2**32 - 1 (ConfigError otherwise)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        shown = str(seed) if len(str(seed)) <= 24 else f"{str(seed)[:20]}..."
        raise ConfigError(f"--seed {shown}: a seed is an integer from 0 to 2**32 - 1")
    return seed


def _arrays(law, frame, columns):
    """The law's variables (by symbol) and the target as float arrays."""
    missing = [col for col in columns.values() if col not in frame.columns]
    if missing:
        raise ColumnError(
            f"law {law.name} needs the column(s) {', '.join(columns.values())}; missing: "
            f"{', '.join(missing)}; columns found: "
            + ", ".join(c for c in frame.columns if c not in ("run_id", "source", "y"))
            + ". Choose columns with --x COL (one-variable laws), --map or a config's "
            "law.variables"
        )
    X = {sym: frame[col].cast(float).to_numpy() for sym, col in columns.items()}
    return X, frame["y"].cast(float).to_numpy()

