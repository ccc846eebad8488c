"""How a curve law is fitted: a grid of starts over its non-linear parameters, each with its
linear ones (L0, A, and B or C) solved by non-negative least squares of relative residuals on
at most 48 points per curve (multi-power's change points merged into at most 400 blocks); the
best three refined by scipy's trust-region least squares on those points (exact), the best of
them on every point. The objective is the sum of Huber_delta(ln y - ln yhat) over the training
points (``loss="mse"``: half the sum of squares). Each law names its own grid
(:meth:`scalecli.laws.curves.CurveLaw.start_grid`)."""

from __future__ import annotations

import time

from ..errors import ConfigError, FitError


def fit_curves(law, curves: list, *, loss: str = "huber", delta: float = 1e-3):
    """The law's parameters minimising the objective over the training curves, and how the
    search went (starts, evaluations, convergence, seconds)."""
    import numpy as np
    from scipy.optimize import least_squares

    if loss not in ("huber", "mse"):
        raise ConfigError(f"--loss {loss}: a curve fit takes huber or mse (on log residuals)")
    train = [c for c in curves if c.split == "train"]
    n_pts = sum(len(c.y) for c in train)
    if n_pts <= len(law.parameters):
        raise FitError(f"{n_pts} training points: too few for {len(law.parameters)} parameters")
    t0 = time.perf_counter()
    starts = _starts(law, train)
    y = np.concatenate([c.y for c in train])
    ly = np.log(y)
    pcs = [c.curve for c in train]
    bounds = [p.internal_bounds() for p in law.parameters]
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])

    def resid(theta, cs, target):
        yhat = law.evaluate(theta, cs)
        return np.log(np.maximum(yhat, 1e-300)) - target

    def jac(theta, cs):
        yhat, J = law.evaluate(theta, cs, jac=True)
        return J / np.maximum(yhat, 1e-300)[:, None]

    def solve(x0, r, j):
        return least_squares(r, np.clip(x0, lo, hi), jac=j, bounds=(lo, hi), x_scale="jac",
                             loss="huber" if loss == "huber" else "linear", f_scale=delta,
                             max_nfev=400, xtol=1e-12, ftol=1e-12, gtol=1e-12)

    # refine the best starts on at most 48 points per curve, then the best of them on all
    thin = [_thin(c) for c in train]
    tcs, tly = [t[0] for t in thin], np.log(np.concatenate([t[1] for t in thin]))
    best, nfev = None, 0
    for theta0 in starts[:3]:
        res = solve(theta0, lambda th: resid(th, tcs, tly), lambda th: jac(th, tcs))
        nfev += res.nfev
        if best is None or res.cost < best.cost:
            best = res
    if sum(len(c.t) for c in tcs) < n_pts:
        best = solve(best.x, lambda th: resid(th, pcs, ly), lambda th: jac(th, pcs))
        nfev += best.nfev
    params = law.to_natural(best.x)
    value = float(best.cost) if loss == "huber" else float(2 * best.cost / n_pts)
    info = {"method": "scipy least_squares (trf), analytic Jacobian",
            "starts": "grid over the non-linear parameters, linear ones by NNLS; best "
                      f"{min(3, len(starts))} of {len(starts)} refined",
            "evaluations": int(nfev), "converged": bool(best.status > 0),
            "seconds": round(time.perf_counter() - t0, 3), "train_curves": len(train),
            "train_points": n_pts}
    return params, value, info


def _thin(c, most: int = 48):
    import numpy as np

    from ..laws.curves import Curve

    n = len(c.y)
    if n <= most:
        return c.curve, c.y
    idx = np.unique(np.linspace(0, n - 1, most).round().astype(int))
    return Curve.make(c.curve.eta, c.curve.t[idx]), c.y[idx]


def _starts(law, train) -> list:
    """Internal start vectors, best first: for each of the law's grid points, its linear
    parameters by NNLS of relative residuals (the basis columns / y) on thinned, coarse curves."""
    import numpy as np
    from scipy.optimize import nnls

    thin = [_thin(c) for c in train]
    pcs = [t[0].coarse() for t in thin]
    y = np.concatenate([t[1] for t in thin])
    peak = max(float(c.curve.eta.max()) for c in train)
    found = []
    for theta in law.start_grid(peak):
        area = np.concatenate([c.s1 ** -theta[2] for c in pcs])
        cols = [np.ones_like(y), area]
        if law.decay_index is not None:  # L0 = 0, A = 1, scale 1: the area plus the third term
            cols.append(law.evaluate(theta, pcs) - area)
        coef, rnorm = nnls(np.stack(cols, 1) / y[:, None], np.ones_like(y))
        coef = np.maximum(coef, 1e-8)
        start = np.array(theta, float)
        start[0], start[1] = coef[0], np.log(coef[1])
        if law.decay_index is not None:
            start[law.decay_index] = np.log(coef[2])
        found.append((float(rnorm), start))
    found.sort(key=lambda f: f[0])
    return [f[1] for f in found]
