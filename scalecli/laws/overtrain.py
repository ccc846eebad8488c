"""Gadre et al. (2024), "Language models scale reliably with over-training and on downstream
tasks", arXiv:2403.08540; reference code mlfoundations/scaling, scaling/laws.py.

``overtrain``: loss against compute C = 6·N·D and token multiplier M = D/N with one exponent,
    L(C, M) = E + (a·M^eta + b·M^(-eta))·C^(-eta)                    (paper Eq. 4)
which is Chinchilla with alpha = beta = 2·eta, A = a·6^(-eta), B = b·6^(-eta): for a fixed M,
loss is a power law in C with the same exponent for every M. The law reads N and D and forms
C and M itself, so any sweep with N and D fits it; its compute optimum is Chinchilla's, at
M* = (b/a)^(1/(2·eta)).

``overtrain-error``: downstream average top-1 error against loss,
    Err(L) = epsilon - k·exp(-gamma·L)
fitted as the reference code's decay_ours does (least squares on the raw error). The chain of
the paper: fit ``overtrain`` to the losses, fit ``overtrain-error`` to (loss, error) pairs with
``--x loss --y <error column>``, then Err(N, D) = Err(L(N, D)).
"""

from __future__ import annotations

import math
from typing import ClassVar

from .base import Law, Parameter
from .lse import columns, log_scales, lse, lse_jac, shifted

_LOG6 = math.log(6.0)


class Overtrain(Law):
    """log L = LSE(log E, log a - eta·log 6 - 2·eta·log N, log b - eta·log 6 - 2·eta·log D).
    Internal order: E, a, b (logs), eta."""

    falls = True
    spans: ClassVar[dict] = {"N": (1e3, 1e13), "D": (1e3, 1e15), "y": (0.1, 10.0)}

    def log_predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        e, a, b, eta = (columns(theta, k) for k in range(4))
        lN, lD = np.log(X["N"])[None, :], np.log(X["D"])[None, :]
        return lse([e + 0 * lN, a - eta * (_LOG6 + 2 * lN), b - eta * (_LOG6 + 2 * lD)])

    def log_predict_jac(self, theta, X):
        import numpy as np

        e, a, b, eta = (float(v) for v in theta)
        lN, lD = np.log(X["N"]), np.log(X["D"])
        one, zero = np.ones_like(lN), np.zeros_like(lN)
        return lse_jac(
            [np.full_like(lN, e), a - eta * (_LOG6 + 2 * lN), b - eta * (_LOG6 + 2 * lD)],
            [np.stack([one, zero, zero, zero], 1),
             np.stack([zero, one, zero, -(_LOG6 + 2 * lN)], 1),
             np.stack([zero, zero, one, -(_LOG6 + 2 * lD)], 1)])

    def rescale(self, theta, scales):
        """E·s_y, a·s_y·s_N^(2·eta), b·s_y·s_D^(2·eta) (internal: added logs)."""
        ly, ln, ld = log_scales(scales, "y", "N", "D")
        return shifted(theta, {0: ly, 1: lambda t: ly + 2 * t[:, 3] * ln,
                               2: lambda t: ly + 2 * t[:, 3] * ld})

    def value(self, params, values):
        N, D = values["N"], values["D"]
        C, M = 6.0 * N * D, D / N
        eta = params["eta"]
        return params["E"] + (params["a"] * M**eta + params["b"] * M**-eta) * C**-eta

    def optimum(self, params, flops):
        """M* = (b/a)^(1/(2·eta)) at every budget: N = sqrt(C/(6·M*)), D = M*·N."""
        a, b, eta = params["a"], params["b"], params["eta"]
        if not (a > 0 and b > 0 and eta > 0):
            return None
        m_star = (b / a) ** (1.0 / (2.0 * eta))
        n = math.sqrt(flops / (6.0 * m_star))
        return n, m_star * n


class OvertrainError(Law):
    """Err = epsilon - k·exp(-gamma·L); internal order epsilon, k, gamma (all linear)."""

    def predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        eps, k, gamma = (columns(theta, j) for j in range(3))
        with np.errstate(all="ignore"):
            return eps - k * np.exp(-gamma * X["L"][None, :])

    def predict_jac(self, theta, X):
        import numpy as np

        eps, k, gamma = (float(v) for v in theta)
        L = X["L"]
        g = np.exp(-gamma * L)
        return eps - k * g, np.stack([np.ones_like(L), -g, k * L * g], axis=1)

    def value(self, params, values):
        return params["epsilon"] - params["k"] * math.exp(-params["gamma"] * values["L"])


OVERTRAIN = Overtrain(
    name="overtrain",
    formula="E + (a * (D/N)**eta + b * (D/N)**(-eta)) * (6*N*D)**(-eta)",
    summary="E + (a·M^eta + b·M^(-eta))·C^(-eta), C = 6·N·D, M = D/N",
    variables={"N": "n_params", "D": "tokens"},
    parameters=(
        Parameter("E", (0.0, math.inf), tuple(math.exp(v) for v in (-1.0, 0.0, 0.5, 1.0)),
                  log=True, description="irreducible loss"),
        Parameter("a", (0.0, math.inf), tuple(math.exp(v) for v in (0.0, 5.0, 10.0, 15.0)),
                  log=True, description="model-size coefficient"),
        Parameter("b", (0.0, math.inf), tuple(math.exp(v) for v in (0.0, 5.0, 10.0, 15.0)),
                  log=True, description="data coefficient"),
        Parameter("eta", (0.0, 2.0), (0.05, 0.1, 0.15, 0.25, 0.4), description="shared exponent"),
    ),
    source="Gadre et al. 2024, arXiv:2403.08540, Eq. 4",
)

OVERTRAIN_ERROR = OvertrainError(
    name="overtrain-error",
    formula="epsilon - k * exp(-gamma * L)",
    variables={"L": "loss"},
    target="error",
    parameters=(
        Parameter("epsilon", (0.0, 1.5), (0.5, 0.75, 1.0), description="error as loss grows"),
        Parameter("k", (0.0, 1e4), (0.5, 5.0, 50.0, 500.0), description="scale"),
        Parameter("gamma", (0.0, 20.0), (0.5, 1.0, 2.0, 4.0), description="decay rate"),
    ),
    source="Gadre et al. 2024, arXiv:2403.08540, Eq. 5 (downstream top-1 error vs loss)",
    fit_defaults={"loss": "mse", "space": "linear"},
)


def register_laws(register):
    register(OVERTRAIN)
    register(OVERTRAIN_ERROR)
