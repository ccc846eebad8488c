"""Many refits at once: the same law and points under many weightings (bootstrap resamples),
each from its own start, as one batched, damped Gauss-Newton on the reweighted objective.

Why not a loop of L-BFGS-B refits: a thousand of them cost about six times a whole fit, most of
it Python overhead per evaluation. Here every problem advances together through array
operations. Each iteration majorizes the robust loss by a weighted square (iteratively
reweighted least squares: weight psi(r)/r, which for Huber is min(1, delta/|r|)), takes a
Levenberg-Marquardt step on that square from the Jacobian in the objective's space, and keeps
it only where the true objective went down; so every problem descends monotonically, and a
problem stops when its objective stops improving by more than ``ftol`` (relative).
"""

from __future__ import annotations

from dataclasses import dataclass

from .objective import Objective


@dataclass
class Batch:
    """The outcome of :func:`refine_many`: per problem, the free coordinates reached, the
    objective there and whether it stopped by converging (not by running out of iterations)."""

    x: object  # (S, F) free internal coordinates
    f: object  # (S,)
    converged: object  # (S,) bool
    iterations: int


def jacobian_many(law, objective: Objective, theta, X, step: float = 1e-6):
    """Predictions in the objective's space ``(S, M)`` and their Jacobian ``(S, P, M)`` for
    every row of ``theta`` ``(S, P)``: the law's own batched Jacobian when it has one, else
    forward differences of its batched prediction (P + 1 evaluations of all rows at once)."""
    import numpy as np

    own = getattr(law, "log_predict_jac_many", None)
    if own is not None and objective.space == "log":
        return own(theta, X)
    g = objective.predicted(law, theta, X)
    J = np.empty((g.shape[0], theta.shape[1], g.shape[1]))
    for k in range(theta.shape[1]):
        h = step * np.maximum(1.0, np.abs(theta[:, k]))
        moved = theta.copy()
        moved[:, k] += h
        J[:, k] = (objective.predicted(law, moved, X) - g) / h[:, None]
    return g, J


def weighted_values(objective: Objective, r, w):
    """The objective of residuals ``r`` ``(S, M)`` under point weights ``w`` ``(S, M)``: a
    weighted sum (Huber, as the papers report it) or a weighted mean (mse, mae)."""
    import numpy as np

    total = (objective.rho(r) * w).sum(axis=1)
    if objective.loss != "huber":
        total = total / np.maximum(w.sum(axis=1), 1e-300)
    return np.where(np.isfinite(total), total, np.inf)


def _irls_weights(objective: Objective, r):
    """psi(r)/r: the weight of the square that touches the loss from above at r; under an
    over-estimate penalty W, W times that where r > 0 (the square then touches the W-scaled
    side; a step is kept only where the true objective went down, so descent stays monotone)."""
    import numpy as np

    a = np.abs(r)
    if objective.loss == "huber":
        out = np.minimum(1.0, objective.delta / np.maximum(a, 1e-300))
    elif objective.loss == "mse":
        out = np.full_like(r, 2.0)
    else:
        out = 1.0 / np.maximum(a, 1e-9 * max(float(np.median(a)), 1e-300))
    return out if objective.symmetric else out * objective.side_weights(r)


def refine_many(law, X, target, objective: Objective, weights, x0, free, base, lo, hi, *,
                max_iter: int = 200, ftol: float = 1e-12, progress=None) -> Batch:
    """Minimize, for every row s, the objective of ``law`` on points ``X -> target`` (target
    already in the objective's space) under point weights ``weights[s]``, over the free
    coordinates (indices ``free`` of the full internal vector ``base``), from ``x0[s]``,
    within ``[lo, hi]``. ``progress(share done)`` is called after every iteration. Returns a
    :class:`Batch`."""
    import numpy as np

    S, F = x0.shape
    root = objective.sqrt_weights(target.size)  # the objective's own point weights, if any
    x = np.clip(np.array(x0, dtype=float), lo, hi)
    full = np.broadcast_to(base, (S, base.size)).copy()

    f = weighted_values(objective, residuals_at(law, objective, X, target, base, free, x),
                        weights)
    lam = np.full(S, 1e-3)
    active = np.isfinite(f)
    converged = np.zeros(S, dtype=bool)
    quiet = np.zeros(S, dtype=int)
    eye = np.eye(F)
    it = 0
    for it in range(1, max_iter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        full[idx] = base
        full[np.ix_(idx, free)] = x[idx]
        with np.errstate(all="ignore"):
            g, J = jacobian_many(law, objective, full[idx], X)
        J = J[:, free] * root
        r = (g - target[None, :]) * root
        a = weights[idx] * _irls_weights(objective, r)
        JtA = J * a[:, None, :]
        H = np.einsum("spm,sqm->spq", JtA, J)
        grad = np.einsum("spm,sm->sp", JtA, r)
        diag = np.einsum("spp->sp", H)
        damp = H + (lam[idx, None, None] * (diag[:, :, None] * eye + 1e-12 * eye))
        with np.errstate(all="ignore"):
            try:
                step = np.linalg.solve(damp, -grad[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                step = -grad / np.maximum(diag, 1e-300)
        step = np.where(np.isfinite(step), step, 0.0)
        trial = np.clip(x[idx] + step, lo, hi)
        f_new = weighted_values(objective, residuals_at(law, objective, X, target, base, free,
                                                        trial), weights[idx])
        better = f_new < f[idx]
        gain = np.where(better, (f[idx] - f_new) / np.maximum(np.abs(f[idx]), 1e-300), 0.0)
        x[idx[better]] = trial[better]
        f[idx[better]] = f_new[better]
        lam[idx] = np.where(better, np.maximum(lam[idx] / 3.0, 1e-12), lam[idx] * 4.0)
        small = gain <= ftol
        quiet[idx] = np.where(small, quiet[idx] + 1, 0)
        done = (quiet[idx] >= 3) | (lam[idx] > 1e12)
        converged[idx[done]] = True
        active[idx[done]] = False
        if progress is not None:
            progress(1.0 - active.sum() / S)
    return Batch(x=x, f=f, converged=converged, iterations=it)


def residuals_at(law, objective: Objective, X, target, base, free, xs):
    """Residuals in the objective's space for free coordinates ``xs`` ``(S, F)``, each times
    the square root of its point's weight when the objective carries weights."""
    import numpy as np

    full = np.broadcast_to(base, (xs.shape[0], base.size)).copy()
    full[:, free] = xs
    with np.errstate(all="ignore"):
        return (objective.predicted(law, full, X) - target[None, :]) * objective.sqrt_weights(
            target.size)
