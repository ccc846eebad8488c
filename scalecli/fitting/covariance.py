"""A quick, bootstrap-free uncertainty: the covariance of the parameters from the residuals'
lack of fit, s²·(JᵀJ)⁻¹ with s² = Σr²/(n − p), in the law's internal coordinates and the
objective's residual space. It assumes the residuals are independent and alike and the law
near-linear around the optimum; ``predict`` labels what it gives from it as such. It also
assumes the residuals symmetric about the law: a fit with an over-estimate penalty (a lower
envelope, residuals one-sided by design) gets none.
"""

from __future__ import annotations

from .objective import Objective


def lack_of_fit(law, X: dict, y, objective: Objective, theta, fixed: dict) -> dict:
    """``{"names", "matrix", "dof", "scale", "space"}`` (free parameters, internal
    coordinates), or {} when there are no more points than parameters, J is singular or the
    objective is asymmetric."""
    import numpy as np

    if not objective.symmetric:
        return {}
    free = [i for i, p in enumerate(law.parameters) if p.name not in fixed]
    n, p = len(y), len(free)
    if n <= p:
        return {}
    with np.errstate(all="ignore"):
        g, J = objective.predicted_jac(law, np.asarray(theta, dtype=float), X)
    root = objective.sqrt_weights(len(y))  # a weighted fit: weighted least squares' covariance
    J = J[:, free] * root[:, None]
    r = (g - objective.transform(np.asarray(y, dtype=float))) * root
    if not (np.all(np.isfinite(J)) and np.all(np.isfinite(r))):
        return {}
    s2 = float(r @ r) / (n - p)
    JtJ = J.T @ J
    if np.linalg.cond(JtJ) > 1e14:
        return {}
    cov = s2 * np.linalg.inv(JtJ)
    return {"names": [law.parameters[i].name for i in free], "matrix": cov.tolist(),
            "dof": n - p, "scale": s2 ** 0.5, "space": objective.space}
