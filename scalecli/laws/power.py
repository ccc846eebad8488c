"""Single-variable power law with an irreducible term: ``L = E + A·x^(-alpha)``.

Hestness et al. (2017), "Deep Learning Scaling is Predictable, Empirically", arXiv:1712.00409
(error against training-set size), and Henighan et al. (2020), "Scaling Laws for Autoregressive
Generative Modeling", arXiv:2010.14701 (loss against compute, data or model size). ``x`` is any
column (``--x flops``, ``--x dataset_size``). With ``E`` fixed at 0 and mean squared error in
log space the fit is ordinary least squares of log L on log x, solved in closed form.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .base import Law, Parameter
from .lse import columns, log_scales, lse, lse_jac, shifted
from .plan import ClosedForm

_LOG_GRID = tuple(math.exp(v) for v in (-10.0, -5.0, 0.0, 5.0, 10.0, 20.0))


class PowerLaw(Law):
    """``log L = LSE(log E, log A - alpha·log x)``; internal order E, A, alpha."""

    falls = True
    spans: ClassVar[dict] = {"x": (1e-6, 1e30), "y": (0.1, 10.0)}

    def log_predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        lx = np.log(X["x"])[None, :]
        return lse([columns(theta, 0) + 0 * lx,
                    columns(theta, 1) - columns(theta, 2) * lx])

    def log_predict_jac(self, theta, X):
        import numpy as np

        e, a, alpha = (float(v) for v in theta)
        lx = np.log(X["x"])
        one, zero = np.ones_like(lx), np.zeros_like(lx)
        return lse_jac([np.full_like(lx, e), a - alpha * lx],
                       [np.stack([one, zero, zero], 1), np.stack([zero, one, -lx], 1)])

    def value(self, params, values):
        return params["E"] + params["A"] * values["x"] ** (-params["alpha"])

    def rescale(self, theta, scales):
        """E·s_y, A·s_y·s_x^alpha (internal: added logs)."""
        ly, lx = log_scales(scales, "y", "x")
        return shifted(theta, {0: ly, 1: lambda t: ly + t[:, 2] * lx})

    def search_plan(self, objective, fixed):
        """Closed-form least squares in log-log when E = 0 is held and the objective is
        (symmetric) mse on log residuals; the start grid otherwise."""
        if fixed.get("E") == 0 and set(fixed) <= {"E"} and (
                objective.loss, objective.space) == ("mse", "log") and getattr(
                objective, "symmetric", True):
            return ClosedForm(_log_log_least_squares,
                              "closed form: least squares of log y on log x")
        return super().search_plan(objective, fixed)


def _log_log_least_squares(X, y, weights=None):
    """(log E, log A, alpha) = (-inf, intercept, -slope) of the line through (log x, log y),
    each point's squared error weighted by ``weights`` when given."""
    import numpy as np

    w = None if weights is None else np.sqrt(np.asarray(weights, float))  # polyfit's w: √w
    slope, intercept = np.polyfit(np.log(X["x"]), np.log(np.asarray(y, float)), 1, w=w)
    return [-math.inf, float(intercept), float(-slope)]


POWER = PowerLaw(
    name="power",
    formula="E + A * x**(-alpha)",
    variables={"x": "flops"},
    parameters=(
        Parameter("E", (0.0, math.inf), (0.01, 0.3, 1.0, 3.0), log=True,
                  description="irreducible loss (hold at 0 for a pure power law)"),
        Parameter("A", (0.0, math.inf), _LOG_GRID, log=True, description="scale"),
        Parameter("alpha", (0.0, 5.0), (0.05, 0.1, 0.2, 0.4, 0.8, 1.5),
                  description="exponent"),
    ),
    source="Hestness et al. 2017, arXiv:1712.00409; Henighan et al. 2020, arXiv:2010.14701",
)


def register_laws(register):
    register(POWER)
