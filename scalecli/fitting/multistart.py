"""Global fitting from a grid of starts: evaluate every start at once, refine the best.

The whole start grid (Chinchilla's is 4,500 starts) is scored as one ``(starts, points)`` array;
the lowest-objective starts, plus a few seeded random ones across the grid's span, are then
refined with L-BFGS-B and analytic gradients. Refinement stops when ``patience`` successive
refinements in a row fail to improve on the best optimum, since by then the remaining starts
(worse at the outset) lead to basins already found.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ..errors import FitError
from .objective import Objective

_CHUNK_ELEMENTS = 2_000_000  # starts × points evaluated per block: bounds the memory used
_LBFGSB = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20}


@dataclass
class Optimum:
    """The raw outcome of a multi-start fit, in the law's internal coordinates."""

    theta: list[float]
    objective: float
    converged: bool
    message: str
    n_starts: int
    n_refined: int
    n_evaluations: int
    grid_best: float
    agreeing: int = 0  # refinements that reached the optimum (to 1e-9 relative)
    history: list[float] = field(default_factory=list)


def start_grid(law, free: list[int]):
    """Cartesian product of the free parameters' start values, internal coordinates."""
    import numpy as np

    axes = [[law.parameters[i].to_internal(v) for v in law.parameters[i].init] for i in free]
    return np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(free))


def fit_multistart(
    law,
    X: dict,
    y,
    objective: Objective,
    fixed: dict[str, float] | None = None,
    *,
    top_k: int = 40,
    random_starts: int = 8,
    patience: int = 6,
    seed: int = 0,
) -> Optimum:
    """Minimize ``objective`` of ``law`` on data ``X -> y``; see the module docstring.

    ``fixed`` holds parameters at given natural values; the others are free.
    """
    import numpy as np
    from scipy.optimize import minimize

    fixed = fixed or {}
    P = len(law.parameters)
    base = np.zeros(P)
    free = []
    for i, p in enumerate(law.parameters):
        if p.name in fixed:
            base[i] = p.to_internal(fixed[p.name])
        else:
            free.append(i)
    target = objective.transform(np.asarray(y, dtype=float))

    def full(x):
        theta = np.broadcast_to(base, x.shape[:-1] + (P,)).copy()
        theta[..., free] = x
        return theta

    bounds = [law.parameters[i].internal_bounds() for i in free]
    lo = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
    hi = np.array([b[1] if b[1] is not None else np.inf for b in bounds])

    grid = np.clip(start_grid(law, free), lo, hi)
    scores = np.empty(len(grid))
    step = max(1, _CHUNK_ELEMENTS // max(1, len(target)))
    for s in range(0, len(grid), step):
        scores[s : s + step] = objective.values(law, full(grid[s : s + step]), X, target)
    if not np.isfinite(scores).any():
        raise FitError(f"law {law.name!r} is not finite at any start of its grid on this data")

    order = np.argsort(scores, kind="stable")
    starts = [grid[i] for i in order[:top_k] if np.isfinite(scores[i])]
    rng = np.random.default_rng(seed)
    span_lo, span_hi = grid.min(axis=0), grid.max(axis=0)
    for _ in range(random_starts):
        starts.append(rng.uniform(span_lo, span_hi))

    # Objective scaled to ~1 at the best start, so L-BFGS-B's tolerances are relative to the
    # problem rather than absolute (a Huber sum with delta 1e-3 is ~1e-4: the default ftol
    # would stop it early, the flaw Besiroglu et al. 2024 found in the original fit).
    scale = 1.0 / max(float(scores[order[0]]), 1e-300)

    def make_fun(obj, k):
        def fun(x):
            f, g = obj.value_grad(law, full(x), X, target)
            return f * k, g[free] * k
        return fun

    # |r| has a kink at 0 that stalls L-BFGS-B: an MAE fit is refined through Huber losses of
    # shrinking delta (Huber/delta -> |r| - delta/2), warm-started, then scored as MAE.
    stages = [objective]
    if objective.loss == "mae":
        stages = [Objective("huber", d, objective.space) for d in (1e-2, 1e-4, 1e-6, 1e-8)]

    def refine(x0):
        nfev, res = 0, None
        for obj in stages:
            x = x0 if res is None else res.x
            # each stage's objective scaled to ~1 where it starts
            k = scale if obj is objective else 1.0 / max(
                float(obj.values(law, full(np.asarray(x))[None, :], X, target)[0]), 1e-300)
            res = minimize(make_fun(obj, k), x, jac=True,
                           method="L-BFGS-B", bounds=bounds, options=_LBFGSB)
            nfev += int(res.nfev)
        f = float(objective.values(law, full(res.x)[None, :], X, target)[0])
        if objective.loss == "mae":
            res, f, extra = _irls_l1(law, objective, full, free, X, target, bounds, res, f)
            nfev += extra
        return res, f, nfev

    best, best_f, since_improved, n_eval, history = None, np.inf, 0, 0, []
    for x0 in starts:
        res, f, nfev = refine(x0)
        n_eval += nfev
        history.append(f)
        if f < best_f * (1 - 1e-9):
            best, best_f, since_improved = res, f, 0
        else:
            since_improved += 1
        if since_improved >= patience:
            break
    if best is None:
        raise FitError(f"law {law.name!r}: no start reached a finite objective on this data")
    res, f = best, best_f
    converged = bool(res.success and np.isfinite(f))
    agreeing = sum(1 for h in history if abs(h - best_f) <= 1e-6 * max(best_f, 1e-300))
    return Optimum(
        theta=[float(v) for v in full(np.asarray(res.x))],
        objective=f,
        converged=converged,
        message=str(res.message),
        n_starts=len(grid) + random_starts,
        n_refined=len(history),
        n_evaluations=n_eval,
        grid_best=float(scores[order[0]]),
        agreeing=agreeing,
        history=history,
    )


def _irls_l1(law, objective, full, free, X, target, bounds, res, f):
    """Polish an MAE fit by iteratively reweighted least squares: minimize sum(w·r²) with
    w = 1/max(|r|, eps) at the previous residuals, a smooth problem L-BFGS-B solves well, whose
    fixed point is the L1 optimum the Huber continuation only approaches. Kept only if the
    mean |r| goes down."""
    import numpy as np
    from scipy.optimize import minimize

    x, nfev = np.asarray(res.x, dtype=float), 0
    for _ in range(30):
        r = objective.predicted(law, full(x)[None, :], X)[0] - target
        eps = max(1e-12, 1e-6 * float(np.median(np.abs(r))))
        w = 1.0 / np.maximum(np.abs(r), eps)
        k = 1.0 / max(float(np.sum(w * r * r)), 1e-300)

        def fun(z, w=w, k=k):
            g, J = objective.predicted_jac(law, full(z), X)
            rr = g - target
            return float(np.sum(w * rr * rr)) * k, (2.0 * (w * rr) @ J)[free] * k

        step = minimize(fun, x, jac=True, method="L-BFGS-B", bounds=bounds, options=_LBFGSB)
        nfev += int(step.nfev)
        new = float(objective.values(law, full(step.x)[None, :], X, target)[0])
        if not new < f * (1 - 1e-12):
            break
        x, f, res = step.x, new, step
    return res, f, nfev
