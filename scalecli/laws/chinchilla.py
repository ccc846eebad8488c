"""Chinchilla approach 3: ``L(N, D) = E + A/N^alpha + B/D^beta``.

Hoffmann et al. (2022), "Training Compute-Optimal Large Language Models", arXiv:2203.15556,
Eq. 2 and Appendix D.2. Fitted, as there and in Besiroglu et al. (2024, arXiv:2404.10102),
in the log-sum-exp form ``log L = LSE(log A - alpha·log N, log B - beta·log D, log E)``
with the 4,500-start grid alpha, beta in {0, 0.5, .., 2}, log E in {-1, -0.5, .., 1},
log A, log B in {0, 5, .., 25}.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .base import Law, Parameter
from .logs import log_of
from .lse import log_scales, shifted

_EXP_GRID = tuple(x * 0.5 for x in range(5))  # 0 .. 2 by 0.5
_LOG_E_GRID = tuple(math.exp(x * 0.5) for x in range(-2, 3))  # e in -1 .. 1 by 0.5
_LOG_AB_GRID = tuple(math.exp(5.0 * k) for k in range(6))  # a, b in 0 .. 25 by 5
_INF = math.inf


class Chinchilla(Law):
    """The parametric loss of Chinchilla's approach 3, with its closed-form compute optimum."""

    falls = True
    spans: ClassVar[dict] = {"N": (1e3, 1e13), "D": (1e3, 1e15), "y": (0.1, 10.0)}

    def log_predict(self, theta, X):
        """``(S, M)`` log predictions. A start grid repeats each (A, alpha) and (B, beta)
        pair across many starts (30 of each among Chinchilla's 4,500): each term's exp is
        computed once per distinct pair and shared, the same numbers for a fraction of the
        cost."""
        import numpy as np

        theta = np.atleast_2d(theta)
        e = theta[:, 0:1]
        logN, logD = log_of(X, "N")[None, :], log_of(X, "D")[None, :]
        (a, alpha), n_of = _distinct(theta[:, 1:3])
        (b, beta), d_of = _distinct(theta[:, 3:5])
        t_n = a - alpha * logN
        t_d = b - beta * logD
        lo = min(t_n.min(), t_d.min(), e.min())
        hi = max(t_n.max(), t_d.max(), e.max())
        if -700.0 < lo and hi < 700.0:  # no overflow or underflow: plain exp is 4x faster
            t_n = np.exp(t_n, out=t_n)
            t_d = np.exp(t_d, out=t_d)
            out = t_n[n_of] if n_of is not None else t_n
            out += t_d[d_of] if d_of is not None else t_d
            out += np.exp(e)
            return np.log(out, out=out)
        t_n = t_n[n_of] if n_of is not None else t_n
        t_d = t_d[d_of] if d_of is not None else t_d
        return np.logaddexp(np.logaddexp(t_n, t_d), e)

    def log_predict_jac(self, theta, X):
        import numpy as np

        e, a, alpha, b, beta = (float(v) for v in theta)
        logN, logD = log_of(X, "N"), log_of(X, "D")
        t_n = a - alpha * logN
        t_d = b - beta * logD
        J = np.empty((5, logN.size))
        if abs(e) < 700.0 and np.all(np.abs(t_n) < 700.0) and np.all(np.abs(t_d) < 700.0):
            w_n, w_d = np.exp(t_n, out=t_n), np.exp(t_d, out=t_d)  # the softmax unshifted
            total = w_n + w_d
            total += math.exp(e)
            g = np.log(total)
            inv = np.divide(1.0, total, out=total)
            np.multiply(inv, math.exp(e), out=J[0])
            np.multiply(w_n, inv, out=J[1])
            np.multiply(w_d, inv, out=J[3])
        else:
            terms = np.stack([np.full_like(logN, e), t_n, t_d])
            top = terms.max(axis=0)
            w = np.exp(terms - top)
            total = w.sum(axis=0)
            w /= total
            g = top + np.log(total)
            J[0], J[1], J[3] = w
        np.multiply(J[1], logN, out=J[2])
        np.negative(J[2], out=J[2])
        np.multiply(J[3], logD, out=J[4])
        np.negative(J[4], out=J[4])
        return g, J.T

    def log_predict_jac_many(self, theta, X):
        """:meth:`log_predict_jac` for every row of ``theta`` ``(S, P)`` at once: ``(S, M)``
        and the Jacobian as ``(S, P, M)`` (the batched refits of a bootstrap)."""
        import numpy as np

        theta = np.atleast_2d(theta)
        e, a, alpha, b, beta = (theta[:, k : k + 1] for k in range(5))
        logN, logD = np.log(X["N"])[None, :], np.log(X["D"])[None, :]
        t_n = a - alpha * logN
        t_d = b - beta * logD
        top = np.maximum(np.maximum(t_n, t_d), e)
        w_n = np.exp(t_n - top)
        w_d = np.exp(t_d - top)
        w_e = np.exp(e - top)
        total = w_n + w_d + w_e
        g = top + np.log(total)
        J = np.empty((theta.shape[0], 5, logN.shape[1]))
        np.divide(w_e, total, out=J[:, 0])
        np.divide(w_n, total, out=J[:, 1])
        np.multiply(J[:, 1], -logN, out=J[:, 2])
        np.divide(w_d, total, out=J[:, 3])
        np.multiply(J[:, 3], -logD, out=J[:, 4])
        return g, J

    def value(self, params, values):
        p = params
        return p["E"] + p["A"] / values["N"] ** p["alpha"] + p["B"] / values["D"] ** p["beta"]

    def rescale(self, theta, scales):
        """E·s_y; A·s_y·s_N^alpha; B·s_y·s_D^beta (internal: added logs)."""
        ly, ln, ld = log_scales(scales, "y", "N", "D")
        return shifted(theta, {0: ly, 1: lambda t: ly + t[:, 2] * ln,
                               3: lambda t: ly + t[:, 4] * ld})

    def optimum(self, params, flops):
        """``N_opt = G·(C/6)^(beta/(alpha+beta))``, ``G = (alpha·A/(beta·B))^(1/(alpha+beta))``."""
        A, B, alpha, beta = params["A"], params["B"], params["alpha"], params["beta"]
        if not (alpha > 0 and beta > 0 and A > 0 and B > 0):
            return None
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        n_opt = G * (flops / 6.0) ** (beta / (alpha + beta))
        return n_opt, flops / (6.0 * n_opt)


CHINCHILLA = Chinchilla(
    name="chinchilla",
    formula="E + A / N**alpha + B / D**beta",
    variables={"N": "n_params", "D": "tokens"},
    parameters=(
        Parameter("E", (0.0, _INF), _LOG_E_GRID, log=True, description="irreducible loss"),
        Parameter("A", (0.0, _INF), _LOG_AB_GRID, log=True, description="model-size term"),
        Parameter("alpha", (0.0, 10.0), _EXP_GRID, description="model-size exponent"),
        Parameter("B", (0.0, _INF), _LOG_AB_GRID, log=True, description="data term"),
        Parameter("beta", (0.0, 10.0), _EXP_GRID, description="data exponent"),
    ),
    source="Hoffmann et al. 2022, arXiv:2203.15556, approach 3 (Eq. 2, Appendix D.2)",
    defaults={"E": 1.69, "A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28},
    defaults_source="published: Hoffmann et al. 2022 approach 3 (E=1.69, A=406.4, B=410.7, "
    "alpha=0.34, beta=0.28)",
)


def _distinct(pairs):
    """``((first, second) as (U, 1) columns, index of each row's pair or None)``: the distinct
    rows of an ``(S, 2)`` array, or all of them (index None) when few repeat."""
    import numpy as np

    if pairs.shape[0] > 4:
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        if 2 * uniq.shape[0] <= pairs.shape[0]:
            return (uniq[:, 0:1], uniq[:, 1:2]), inverse.ravel()
    return (pairs[:, 0:1], pairs[:, 1:2]), None


def register_laws(register):
    register(CHINCHILLA)
