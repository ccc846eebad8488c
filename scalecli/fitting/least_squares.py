"""A grid scored by the law's own scorer, then Levenberg-Marquardt from its best starts: the
procedure a :class:`~scalecli.laws.plan.GridLeastSquares` plan declares (BNSL's authors fit
it so: ``scipy.optimize.brute`` over their grid, then ``curve_fit`` from the best point).

The plan's first grid's best start (``brute``'s argmin: the first lowest, C order) is refined
first, then the lowest starts of all grids, until three refinements agree or three in a row
find nothing better. Residuals are the objective's (``log1p`` for BNSL), minimized unbounded by
MINPACK's LM with the exact Jacobian.
"""

from __future__ import annotations

import itertools

from ..errors import FitError
from .grid import Starts, start_cap
from .multistart import Optimum

_LM = {"method": "lm", "x_scale": "jac", "ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15}


def grid_least_squares(law, plan, X: dict, y, objective, fixed: dict[str, float],
                       seed: int = 0) -> Optimum:
    """Carry out ``plan`` for ``law`` on ``X -> y`` (``objective``: a mean squared error)."""
    import numpy as np
    from scipy.optimize import least_squares

    if objective.loss != "mse" or not objective.symmetric:
        raise FitError(f"{law.name}: a least-squares plan needs the symmetric mse objective "
                       "(no over-estimate penalty)")
    t = objective.transform(np.asarray(y, dtype=float))
    root_w = objective.sqrt_weights(t.size)  # a weighted mean square: each residual × √w
    names = law.param_names
    free = [i for i, n in enumerate(names) if n not in fixed]
    grids, parts = _score(law, plan, X, t, seed, objective.weights)
    scores = np.concatenate(parts)
    offsets = np.cumsum([0] + [p.size for p in parts])

    def start_at(k):
        g = int(np.searchsorted(offsets, k, side="right")) - 1
        return grids[g].values(grids[g].at([k - offsets[g]]))[0]

    held = np.array([grids[0].axes[i][0] for i in range(len(names))], dtype=float)

    def full(v):
        theta = held.copy()
        theta[free] = v
        return theta

    def resid(v):
        r = (objective.predicted(law, full(v)[None, :], X)[0] - t) * root_w
        return np.where(np.isfinite(r), r, 1e10)

    def jac(v):
        _, J = objective.predicted_jac(law, full(v), X)
        J = J[:, free] * root_w[:, None]
        return np.where(np.isfinite(J), J, 0.0)

    order = np.argsort(scores, kind="stable")
    first = int(np.argmin(parts[0]))
    best, best_f, n_eval, seen, history, stale = None, np.inf, scores.size, set(), [], 0

    def agree(h):
        return abs(h - best_f) <= 1e-6 * best_f + 1e-24

    for k in itertools.chain([first], order):
        if len(history) >= plan.refine or not np.isfinite(scores[k]):
            break
        if float(scores[k]) in seen:  # an equal score: the same curve (e.g. f = 0 rows)
            continue
        seen.add(float(scores[k]))
        start = start_at(k)
        res = least_squares(resid, start[free], jac=jac,
                            max_nfev=plan.first_nfev if k == first else plan.nfev, **_LM)
        n_eval += int(res.nfev)
        f = float(np.mean(resid(res.x) ** 2))
        history.append(f)
        stale = 0 if f < best_f * (1 - 1e-9) else stale + 1
        if f < best_f:
            best, best_f = res, f
        if sum(map(agree, history)) >= 3 or stale >= 3:
            break  # three agree, or three in a row found nothing better: the rest won't
    if best is None:
        raise FitError(f"{law.name}: Levenberg-Marquardt found no finite fit")
    extra = "".join(f" plus {p.size} {label}" for p, label in zip(parts[1:], plan.labels[1:]))
    notes = [n for g in grids if (n := g.note())]
    return Optimum(
        theta=[float(v) for v in full(best.x)], objective=best_f,
        converged=bool(best.status > 0 and np.isfinite(best_f)),
        message=f"{best.message} (grid of {parts[0].size} starts{extra}; "
                f"Levenberg-Marquardt from the best {len(history)})",
        n_starts=int(scores.size), n_refined=len(history), n_evaluations=n_eval,
        grid_best=float(scores[order[0]]), agreeing=sum(map(agree, history)),
        history=history, notes=notes,
    )


def _score(law, plan, X, t, seed, weights=None):
    """Every grid's starts scored (a seeded sample of each, in proportion to its size, when
    together they pass the cap): ``(Starts per grid, scores per grid)``. Per-point
    ``weights`` are handed to the law's scorer only when there are some."""
    import numpy as np

    extra = {} if weights is None else {"weights": weights}
    grids = [Starts(g, t.size, seed) for g in plan.grids]
    total = sum(g.total for g in grids)
    cap = start_cap(t.size)
    if total > cap:
        grids = [Starts(g, t.size, seed, cap=max(1, cap * s.total // total))
                 for g, s in zip(plan.grids, grids)]
    parts = []
    for g in grids:
        if not g.sampled:  # the whole grid: the law's scorer may factor the product
            parts.append(np.asarray(plan.score(g.axes, X, t, None, **extra), dtype=float))
            continue
        scores = np.empty(g.count)
        for s0, s1, ix in g.blocks():
            scores[s0:s1] = plan.score(g.axes, X, t, ix, **extra)
        parts.append(scores)
    scores = np.concatenate(parts)
    if not np.isfinite(scores).any():
        raise FitError(f"{law.name}: no start of the grid is finite on this data")
    return grids, parts
