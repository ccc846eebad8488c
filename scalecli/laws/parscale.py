"""ParScale: Chen et al. (2025), "Parallel Scaling Law for Language Models", arXiv:2505.10475;
reference code QwenLM/ParScale, parametric_fit.py.

    L(N, P) = E + (A / (N·(k·ln P + 1)))^alpha

P parallel streams act like N·(k·ln P + 1) parameters. A is in parameters here (the reference
code writes A in units of 1e9). Fitted as the reference code does: Huber (delta 1e-3, sum) on
log residuals, L-BFGS-B from a grid (E in exp{-1, -0.5, 0}, A in 1e9·exp{-4, -2, 0, 2, 4}, alpha
in {0, .., 2}, k in {0.2, .., 0.8}). The paper's own fitted constants are not shipped (not
checked here); fit your data or pass --fit.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .base import Law, Parameter
from .lse import columns, log_scales, lse, lse_jac, over, shifted


class ParScale(Law):
    """log L = LSE(log E, alpha·(log A - log N - log(1 + k·ln P))); internal E, A (logs),
    alpha, k."""

    falls = True
    spans: ClassVar[dict] = {"N": (1e3, 1e13), "y": (0.1, 10.0)}  # P enters as log P: never scaled

    def log_predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        e, a, alpha, k = (columns(theta, j) for j in range(4))
        lN, lnP = np.log(X["N"])[None, :], np.log(X["P"])[None, :]
        with np.errstate(all="ignore"):
            return lse([e + 0 * lN, alpha * (a - lN - np.log1p(k * lnP))])

    def log_predict_jac(self, theta, X):
        import numpy as np

        e, a, alpha, k = (float(v) for v in theta)
        lN, lnP = np.log(X["N"]), np.log(X["P"])
        inner = a - lN - np.log1p(k * lnP)
        one, zero = np.ones_like(lN), np.zeros_like(lN)
        return lse_jac([np.full_like(lN, e), alpha * inner],
                       [np.stack([one, zero, zero, zero], 1),
                        np.stack([zero, np.full_like(lN, alpha), inner,
                                  -alpha * lnP / (1 + k * lnP)], 1)])

    def rescale(self, theta, scales):
        """E·s_y, A·s_N·s_y^(1/alpha) (internal: added logs)."""
        ly, ln = log_scales(scales, "y", "N")
        return shifted(theta, {0: ly, 1: lambda t: ln + over(ly, t[:, 2])})

    def value(self, params, values):
        p = params
        n_eff = values["N"] * (p["k"] * math.log(values["P"]) + 1)
        return p["E"] + (p["A"] / n_eff) ** p["alpha"]


PARSCALE = ParScale(
    name="parscale",
    formula="E + (A / (N * (k * log(P) + 1)))**alpha",
    variables={"N": "n_params", "P": "streams"},
    parameters=(
        Parameter("E", (1e-8, math.inf), tuple(math.exp(v) for v in (-1.0, -0.5, 0.0)),
                  log=True, description="irreducible loss"),
        Parameter("A", (1e-8, math.inf), tuple(1e9 * math.exp(v) for v in (-4, -2, 0, 2, 4)),
                  log=True, description="scale, in parameters"),
        Parameter("alpha", (1e-8, 10.0), (1e-8, 0.5, 1.0, 1.5, 2.0),  # the code's 0, at its bound
                  description="exponent"),
        Parameter("k", (1e-8, 100.0), (0.2, 0.4, 0.6, 0.8), description="gain per ln P"),
    ),
    source="Chen et al. 2025, arXiv:2505.10475 (QwenLM/ParScale parametric_fit.py)",
)


def register_laws(register):
    register(PARSCALE)
