"""Global fitting from a grid of starts: evaluate every start at once, refine the best.

The whole start grid (Chinchilla's is 4,500 starts) is scored as ``(starts, points)`` arrays,
block by block (:mod:`scalecli.fitting.grid` bounds its size); the lowest-objective starts, plus
a few seeded random ones across the grid's span, are then refined with L-BFGS-B and analytic
gradients. Refinement stops when ``patience`` successive refinements in a row fail to improve
on the best optimum, since by then the remaining starts (worse at the outset) lead to basins
already found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import FitError
from .grid import Starts
from .objective import Objective

_LBFGSB = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20}


@dataclass
class Optimum:
    """The raw outcome of a search, in the law's internal coordinates."""

    theta: list[float]
    objective: float
    converged: bool
    message: str
    n_starts: int
    n_refined: int
    n_evaluations: int
    grid_best: float
    agreeing: int = 0  # refinements that reached the optimum (to 1e-6 relative)
    history: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the search did (a sample, a scale)
    ends: list[list[float]] = field(default_factory=list)  # each refinement's end (internal)
    sample: dict | None = None  # the subsample the search ran on (fitting.subsample), if any


class Problem:
    """A law, data and objective with some parameters held at natural values: the function
    every executor minimizes over the free parameters' internal coordinates."""

    def __init__(self, law, X: dict, y, objective: Objective, fixed: dict[str, float]):
        import numpy as np

        from ..laws.logs import Variables

        # Each variable's log taken once, not at every evaluation (laws read it by log_of).
        self.law, self.X, self.objective = law, Variables(X), objective
        self.P = len(law.parameters)
        self.base = np.zeros(self.P)
        self.free = []
        for i, p in enumerate(law.parameters):
            if p.name in fixed:
                self.base[i] = p.to_internal(fixed[p.name])
            else:
                self.free.append(i)
        self.all_free = len(self.free) == self.P  # no held values: full() is a plain copy
        self.target = objective.transform(np.asarray(y, dtype=float))
        self.bounds = [law.parameters[i].internal_bounds() for i in self.free]
        self.lo = np.array([b[0] if b[0] is not None else -np.inf for b in self.bounds])
        self.hi = np.array([b[1] if b[1] is not None else np.inf for b in self.bounds])

    def full(self, x):
        """Free coordinates ``(..., F)`` -> full theta ``(..., P)`` with the held values."""
        import numpy as np

        if self.all_free:  # (a thousand calls a fit: a copy is a sixth of the general path)
            return np.array(x, dtype=float)
        theta = np.broadcast_to(self.base, x.shape[:-1] + (self.P,)).copy()
        theta[..., self.free] = x
        return theta

    def values(self, x, objective: Objective | None = None):
        """The objective at every row of free coordinates ``x`` (``(S, F)`` -> ``(S,)``)."""
        obj = objective or self.objective
        return obj.values(self.law, self.full(x), self.X, self.target)

    def refine(self, x0, scale: float | None = None):
        """L-BFGS-B from ``x0``: ``(scipy result, objective, evaluations)``. The objective is
        scaled to ~1 (by ``scale``, or at x0), so tolerances are relative to the problem (a
        Huber sum with delta 1e-3 is ~1e-4: the default ftol would stop it early, the flaw
        Besiroglu et al. 2024 found in the original fit). |r| has a kink at 0 that stalls
        L-BFGS-B: an MAE fit is refined through Huber losses of shrinking delta (Huber/delta
        -> |r| - delta/2), warm-started, then polished by IRLS (:func:`_irls_l1`)."""
        import numpy as np
        from scipy.optimize import minimize

        objective = self.objective
        stages = [objective]
        if objective.loss == "mae":
            stages = [Objective("huber", d, objective.space, objective.weights,
                                objective.overestimate) for d in (1e-2, 1e-4, 1e-6, 1e-8)]
        nfev, res = 0, None
        for obj in stages:
            x = np.asarray(x0 if res is None else res.x, dtype=float)
            k = scale if (obj is objective and scale is not None) else 1.0 / max(
                float(self.values(x[None, :], obj)[0]), 1e-300)

            def fun(z, obj=obj, k=k):
                f, g = obj.value_grad(self.law, self.full(z), self.X, self.target)
                return f * k, (g if self.all_free else g[self.free]) * k

            res = minimize(fun, x, jac=True, method="L-BFGS-B", bounds=self.bounds,
                           options=_LBFGSB)
            nfev += int(res.nfev)
        f = float(self.values(np.asarray(res.x)[None, :])[0])
        if objective.loss == "mae":
            res, f, extra = _irls_l1(self, res, f)
            nfev += extra
        return res, f, nfev


def fit_multistart(law, X: dict, y, objective: Objective, fixed: dict[str, float] | None = None,
                   *, extra: dict | None = None, top_k: int = 40, random_starts: int = 8,
                   patience: int = 6, seed: int = 0) -> Optimum:
    """Minimize ``objective`` of ``law`` on data ``X -> y``; see the module docstring.

    ``fixed`` holds parameters at given natural values; ``extra`` adds start values (natural
    units) to some parameters' grids.
    """
    import numpy as np

    prob = Problem(law, X, y, objective, fixed or {})
    extra = extra or {}
    axes = [[law.parameters[i].to_internal(v)
             for v in (*law.parameters[i].init, *extra.get(law.parameters[i].name, ()))]
            for i in prob.free]
    grid = Starts(axes, len(prob.target), seed)
    scores = np.empty(grid.count)
    for s0, s1, ix in grid.blocks():
        scores[s0:s1] = prob.values(np.clip(grid.values(ix), prob.lo, prob.hi))
    if not np.isfinite(scores).any():
        raise FitError(f"law {law.name!r} is not finite at any start of its grid on this data")

    order = np.argsort(scores, kind="stable")
    best_k = [int(i) for i in order[:top_k] if np.isfinite(scores[i])]
    starts = list(np.clip(grid.values(grid.at(best_k)), prob.lo, prob.hi))
    rng = np.random.default_rng(seed)
    span_lo = np.clip([min(a) for a in axes], prob.lo, prob.hi)
    span_hi = np.clip([max(a) for a in axes], prob.lo, prob.hi)
    for _ in range(random_starts):
        starts.append(rng.uniform(span_lo, span_hi))

    scale = 1.0 / max(float(scores[order[0]]), 1e-300)
    best, best_f, since_improved, n_eval, history, ends = None, np.inf, 0, 0, [], []
    for x0 in starts:
        res, f, nfev = prob.refine(x0, scale)
        n_eval += nfev
        history.append(f)
        ends.append([float(v) for v in prob.full(np.asarray(res.x))])
        if f < best_f * (1 - 1e-9):
            best, best_f, since_improved = res, f, 0
        else:
            since_improved += 1
            if best is not None and res.success and not best.success and f <= best_f * (1 + 1e-9):
                best, best_f = res, f  # the same optimum, reached by a run that converged
        if since_improved >= patience:
            break
    if best is None:
        raise FitError(f"law {law.name!r}: no start reached a finite objective on this data")
    agreeing = sum(1 for h in history if abs(h - best_f) <= 1e-6 * max(best_f, 1e-300))
    note = grid.note()
    return Optimum(
        theta=[float(v) for v in prob.full(np.asarray(best.x))],
        objective=best_f,
        converged=bool(best.success and np.isfinite(best_f)),
        message=str(best.message),
        n_starts=grid.count + random_starts,
        n_refined=len(history),
        n_evaluations=n_eval,
        grid_best=float(scores[order[0]]),
        agreeing=agreeing,
        history=history,
        notes=[note] if note else [],
        ends=ends,
    )


def polish(law, X: dict, y, objective: Objective, fixed: dict[str, float], theta) -> Optimum:
    """One L-BFGS-B refinement from ``theta`` (internal; clipped to the bounds), e.g. after a
    search on scaled data, in the data's own units."""
    import numpy as np

    prob = Problem(law, X, y, objective, fixed)
    x0 = np.clip(np.asarray(theta, dtype=float)[prob.free], prob.lo, prob.hi)
    res, f, nfev = prob.refine(x0)
    return Optimum(theta=[float(v) for v in prob.full(np.asarray(res.x))], objective=f,
                   converged=bool(res.success and np.isfinite(f)), message=str(res.message),
                   n_starts=1, n_refined=1, n_evaluations=nfev, grid_best=f, agreeing=1,
                   history=[f])


def _irls_l1(prob: Problem, res, f):
    """Polish an MAE fit by iteratively reweighted least squares: minimize sum(w·r²) with
    w = 1/max(|r|, eps) at the previous residuals, a smooth problem L-BFGS-B solves well, whose
    fixed point is the L1 optimum the Huber continuation only approaches. Kept only if the
    mean |r| goes down (of the weighted residuals, for a weighted objective; over-estimates
    weighted W times under a penalty)."""
    import numpy as np
    from scipy.optimize import minimize

    law, objective, X, target, free = prob.law, prob.objective, prob.X, prob.target, prob.free
    x, nfev = np.asarray(res.x, dtype=float), 0
    for _ in range(30):
        r = objective.predicted(law, prob.full(x)[None, :], X)[0] - target
        eps = max(1e-12, 1e-6 * float(np.median(np.abs(r))))
        w = 1.0 / np.maximum(np.abs(r), eps)
        if objective.weights is not None:  # |sqrt(w_i) r|: the points' sqrt-weights too
            w = w * np.sqrt(objective.weights)
        w = w * objective.side_weights(r)  # an over-estimate penalty: W·|r| where r > 0
        k = 1.0 / max(float(np.sum(w * r * r)), 1e-300)

        def fun(z, w=w, k=k):
            g, J = objective.predicted_jac(law, prob.full(z), X)
            rr = g - target
            return float(np.sum(w * rr * rr)) * k, (2.0 * (w * rr) @ J)[free] * k

        step = minimize(fun, x, jac=True, method="L-BFGS-B", bounds=prob.bounds, options=_LBFGSB)
        nfev += int(step.nfev)
        new = float(prob.values(np.asarray(step.x)[None, :])[0])
        if not new < f * (1 - 1e-12):
            break
        x, f, res = step.x, new, step
    return res, f, nfev
