"""Carrying out the search a law declares (:mod:`scalecli.laws.plan`), on scaled data where
the data lie far from the law's start grid (:mod:`scalecli.fitting.scaling`).

``search(law, X, y, objective, fixed, seed)`` is the one entry: it checks the data lie in the
law's and the objective's domain, picks the plan, runs it, and maps the optimum back.
"""

from __future__ import annotations

from ..errors import FitError
from ..laws.plan import ClosedForm, GridLeastSquares, StartGrid
from . import scaling, subsample
from .multistart import Optimum, fit_multistart, polish
from .objective import Objective


def search(law, X: dict, y, objective: Objective | None = None,
           fixed: dict[str, float] | None = None, seed: int = 0) -> Optimum:
    """The best parameters of ``law`` for ``X -> y`` under ``objective`` with ``fixed``
    parameters held (natural units): an :class:`Optimum` in internal coordinates."""
    import numpy as np

    objective = objective or Objective()
    fixed = dict(fixed or {})
    X = {k: np.asarray(v, dtype=float) for k, v in X.items()}
    y = np.asarray(y, dtype=float)
    check_domain(law, X, y, objective)
    objective.sqrt_weights(y.size)  # weights, if any, are one per point
    notes: list[str] = []
    scales = scaling.choose(law, X, y, objective)
    held = fixed
    if scales:
        held = scaling.held_scaled(law, fixed, scales)
        if held is None:
            notes.append(f"the data lie outside the span {law.name}'s start grid is written for, "
                         "but were not scaled (a held parameter's value depends on the units)")
            scales, held = {}, fixed
    plan = law.search_plan(objective, held)
    if not objective.symmetric:
        notes += _asymmetric_note(law, objective, held, plan)
    if isinstance(plan, ClosedForm):
        return _closed_form(law, plan, X, y, objective, fixed)
    # Imported before the start grid is scored, not at the first refinement: measured 60-90 ms
    # less for a cold `scalecli fit` (the first import costs more after the grid has run).
    import scipy.optimize  # noqa: F401
    sample = subsample.choose(X, seed) if isinstance(plan, StartGrid) else None
    if scales:
        Xs = {k: v / scales[k] if k in scales else v for k, v in X.items()}
        opt = _sampled(law, plan, Xs, y / scales.get("y", 1.0), objective, held, seed, sample)
        opt = _unscaled(law, plan, opt, scales, X, y, objective, fixed)
        notes.append(scaling.describe(law, scales))
    else:
        opt = _sampled(law, plan, X, y, objective, fixed, seed, sample)
    opt.notes = [*notes, *opt.notes]
    return opt


def check_domain(law, X: dict, y, objective: Objective) -> None:
    """FitError, saying how many points, for values the law or the objective cannot take."""
    import numpy as np

    n = y.size
    for sym, v in X.items():
        bad = int(np.count_nonzero(~np.isfinite(v) | ((v <= 0) if law.positive else False)))
        if bad:
            need = ("positive and finite (it enters the law as log " + sym + ")"
                    if law.positive else "finite")
            raise FitError(f"{law.name}: {sym} must be {need}; {bad} of {n} point(s) are not")
    bad = int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        raise FitError(f"{bad} of {n} point(s) have a target that is not a finite number")
    objective.check_target(y)


def _sampled(law, plan, X, y, objective, fixed, seed, sample) -> Optimum:
    """The plan run on all points, or (a large fit) on ``sample`` and then refined on all."""
    if sample is None:
        return _run(law, plan, X, y, objective, fixed, seed)
    idx = sample.index
    part = objective if objective.weights is None else objective.weighted(objective.weights[idx])
    opt = _run(law, plan, {k: v[idx] for k, v in X.items()}, y[idx], part, fixed, seed)
    opt = _on_all_points(law, opt, X, y, objective, fixed)
    opt.notes.append(sample.note())
    opt.sample = sample.describe()
    return opt


POLISH = 3  # distinct basins of a subsample's search refined on all points, at most
POLISH_MARGIN = 0.02  # ... among those within 2% of the best on all points before refinement


def _on_all_points(law, opt: Optimum, X, y, objective, fixed) -> Optimum:
    """A search done on a subsample, finished on all points. The refinements' ends fall into
    basins (ends at parameters within 1% of each other, as :mod:`.alternatives` tells optima
    apart); each basin's best end is scored on all points, and the best of them, with up to
    ``POLISH - 1`` others within ``POLISH_MARGIN`` (another basin the subsample may have ranked
    wrongly), refined there by L-BFGS-B. ``history`` and ``ends`` then hold objectives and
    ends on all points (alternatives and bootstrap starts read them), a refined basin's ends
    all its refined end; ``agreeing`` stays the subsample's count of refinements that reached
    its optimum."""
    import numpy as np

    from .alternatives import differs

    ends = np.asarray(opt.ends, dtype=float)
    free = [p.name for p in law.parameters if p.name not in fixed]
    natural = [law.to_natural(e) for e in ends]
    basin = np.empty(len(ends), dtype=np.int64)
    heads: list[int] = []  # each basin's best end on the subsample
    for i in np.argsort(opt.history, kind="stable"):
        basin[i] = next((b for b, h in enumerate(heads)
                         if not differs(natural[i], natural[h], free)), len(heads))
        if basin[i] == len(heads):
            heads.append(int(i))
    history = objective.values(law, ends, X, objective.transform(y))
    order = sorted(range(len(heads)), key=lambda b: history[heads[b]])
    best = None
    for b in order[:POLISH]:
        if not history[heads[b]] <= history[heads[order[0]]] * (1 + POLISH_MARGIN):
            break
        fine = polish(law, X, y, objective, fixed, ends[heads[b]])
        opt.n_evaluations += fine.n_evaluations
        history[basin == b], ends[basin == b] = fine.objective, fine.theta
        if best is None or fine.objective < best.objective * (1 - 1e-9):
            best = fine
    if best is None:
        raise FitError(f"law {law.name!r}: no refinement reached a finite objective on all the "
                       "points")
    opt.theta, opt.objective = best.theta, best.objective
    opt.converged, opt.message = best.converged, best.message
    opt.history, opt.ends = [float(v) for v in history], ends.tolist()
    return opt


def _run(law, plan, X, y, objective, fixed, seed) -> Optimum:
    if isinstance(plan, GridLeastSquares):
        from .least_squares import grid_least_squares

        return grid_least_squares(law, plan, X, y, objective, fixed, seed)
    if isinstance(plan, StartGrid):
        return fit_multistart(law, X, y, objective, fixed, extra=dict(plan.extra), seed=seed)
    raise FitError(f"{law.name}: unknown search plan {type(plan).__name__}")


def _asymmetric_note(law, objective, fixed, plan) -> list[str]:
    """What an over-estimate penalty changed in the search: a law whose symmetric fit is a
    closed form or least squares is searched from the start grid instead (they cannot weigh
    one side of the residuals more). FitError if a law still asks for one of them."""
    import dataclasses

    if not isinstance(plan, StartGrid):
        raise FitError(f"{law.name}: its {type(plan).__name__} search cannot honour an "
                       "over-estimate penalty; fit without --overestimate-penalty")
    usual = law.search_plan(dataclasses.replace(objective, overestimate=1.0), fixed)
    if isinstance(usual, StartGrid):
        return []
    what = "closed form" if isinstance(usual, ClosedForm) else "grid and least squares"
    note = (f"the over-estimate penalty is fitted from {law.name}'s start grid by L-BFGS-B, "
            f"not by its {what} (which weigh both sides of the residuals alike)")
    return [note]


def _closed_form(law, plan, X, y, objective, fixed) -> Optimum:
    import numpy as np

    w = objective.weights
    theta = [float(v) for v in (plan.solve(X, y) if w is None else plan.solve(X, y, weights=w))]
    for i, p in enumerate(law.parameters):
        if p.name in fixed:
            theta[i] = p.to_internal(fixed[p.name])
    f = float(objective.values(law, np.array([theta]), X, objective.transform(y))[0])
    if not np.isfinite(f):
        raise FitError(f"{law.name}: the closed-form solution is not finite on this data")
    return Optimum(theta=theta, objective=f, converged=True, message=plan.message, n_starts=0,
                   n_refined=0, n_evaluations=0, grid_best=float("nan"), agreeing=1)


def _unscaled(law, plan, opt: Optimum, scales, X, y, objective, fixed) -> Optimum:
    """The optimum found on scaled data, in the data's own units: mapped back exactly, held
    values restored to the digit, then (start-grid plans) one L-BFGS-B refinement in the
    original units, kept if it converged to a point better by more than rounding (or as good,
    where the scaled search did not report convergence), or if the mapped point left the bounds."""
    import numpy as np

    theta = np.asarray(law.rescale(np.array(opt.theta), scales), dtype=float)
    for i, p in enumerate(law.parameters):
        if p.name in fixed:
            theta[i] = p.to_internal(fixed[p.name])
    f = float(objective.values(law, theta[None, :], X, objective.transform(y))[0])
    if opt.ends:  # the other refinements' ends, for alternatives and bootstrap starts, too
        ends = np.asarray(law.rescale(np.array(opt.ends), scales), dtype=float)
        for i, p in enumerate(law.parameters):
            if p.name in fixed:
                ends[:, i] = p.to_internal(fixed[p.name])
        opt.ends = ends.tolist()
        opt.history = [float(v) for v in objective.values(law, ends, X, objective.transform(y))]
    shown = ", ".join(f"{'the target' if k == 'y' else k} scaled by {v:g}"
                      for k, v in scales.items())
    message = f"{opt.message} ({shown} for the search)"
    if isinstance(plan, StartGrid):
        outside = any(not _inside(p, t) for p, t in zip(law.parameters, theta)
                      if p.name not in fixed)
        fine = polish(law, X, y, objective, fixed, theta)
        opt.n_evaluations += fine.n_evaluations
        better = fine.objective < f * (1 - 1e-9)
        as_good = fine.objective <= f * (1 + 1e-9) and not opt.converged
        if outside or (fine.converged and (better or as_good)):
            theta, f = np.asarray(fine.theta), fine.objective
            opt.converged = fine.converged
            message = f"{fine.message} (after a search with {shown})"
    opt.theta, opt.objective, opt.message = [float(v) for v in theta], f, message
    return opt


def _inside(p, t: float) -> bool:
    lo, hi = p.internal_bounds()
    return (lo is None or t >= lo) and (hi is None or t <= hi)
