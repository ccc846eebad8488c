"""Laws of downstream performance: what a model scores on a task, not its loss.

``sigmoid``: task accuracy against a task loss (bits per byte), the second step of the OLMo
ladder (Bhagia et al. 2024, arXiv:2412.04403; allenai/OLMo-ladder, ``scaling/
fitting_functions.py`` ``sigmoid`` and ``scripts/step2.py``)::

    acc(x) = a / (1 + exp(-k·(x - x0))) + b

with the reference code's bounds a in [-1, 0], x0 >= 0, k >= 0, b in [0, 1] (a < 0: accuracy
falls from b towards b + a as the loss grows) and its objective, least squares on the raw
accuracy (``scipy.optimize.curve_fit``). Step 1 is ``chinchilla`` fitted to the task loss;
``predict --fit step1.json --then step2.json`` chains them.

``log-bleu``: BLEU (or COMET) against pretraining tokens D, Isik et al. 2024 (arXiv:2402.04177,
Figure 9's "log-law")::

    BLEU(D) = (log(A·D^alpha))^beta,   log natural

fitted as log BLEU = beta·log(log A + alpha·log D) with Huber on log residuals (the project's
default objective; the paper's own objective was not checked here).

``coverage``: the share of problems solved by any of k samples, Brown et al. 2024 ("Large
Language Monkeys", arXiv:2407.21787)::

    c(k) = exp(a·k^b),   a < 0, b < 0 (so c -> 1 as k grows)

fitted by least squares on log c (log c = a·k^b, the paper's "exponentiated power law").
``scalecli.analyses.passk`` turns per-problem sample counts into the mean pass@k it is fitted to.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .base import Law, Parameter
from .lse import columns


class Sigmoid(Law):
    """acc = a / (1 + exp(-k·(x - x0))) + b; internal order a, x0, k, b (all linear)."""

    positive: ClassVar[bool] = False  # the ideal-model anchor sits at x = 0

    def predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        a, x0, k, b = (columns(theta, j) for j in range(4))
        with np.errstate(all="ignore"):
            return a / (1.0 + np.exp(-k * (X["x"][None, :] - x0))) + b

    def predict_jac(self, theta, X):
        import numpy as np

        a, x0, k, b = (float(v) for v in theta)
        x = X["x"]
        with np.errstate(all="ignore"):
            s = 1.0 / (1.0 + np.exp(-k * (x - x0)))
            ds = s * (1.0 - s)  # d s / d (k·(x - x0))
            return a * s + b, np.stack([s, -a * ds * k, a * ds * (x - x0), np.ones_like(x)], 1)

    def value(self, params, values):
        z = -params["k"] * (values["x"] - params["x0"])
        s = 1.0 / (1.0 + math.exp(z)) if z < 709.0 else 0.0
        return params["a"] * s + params["b"]


class LogBleu(Law):
    """log f = beta·log(log A + alpha·log D); internal order log A, alpha, beta."""

    def log_predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        la, alpha, beta = (columns(theta, j) for j in range(3))
        with np.errstate(all="ignore"):
            u = la + alpha * np.log(X["D"])[None, :]
            return beta * np.log(u)

    def log_predict_jac(self, theta, X):
        import numpy as np

        la, alpha, beta = (float(v) for v in theta)
        ld = np.log(X["D"])
        with np.errstate(all="ignore"):
            u = la + alpha * ld
            lu = np.log(u)
            return beta * lu, np.stack([beta / u, beta * ld / u, lu], 1)

    def value(self, params, values):
        u = math.log(params["A"]) + params["alpha"] * math.log(values["D"])
        return u ** params["beta"] if u > 0 else math.nan


class Coverage(Law):
    """log c = a·k^b; internal order a, b (both linear, both <= 0)."""

    def log_predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        a, b = columns(theta, 0), columns(theta, 1)
        with np.errstate(all="ignore"):
            return a * np.exp(b * np.log(X["k"])[None, :])

    def log_predict_jac(self, theta, X):
        import numpy as np

        a, b = (float(v) for v in theta)
        lk = np.log(X["k"])
        kb = np.exp(b * lk)
        return a * kb, np.stack([kb, a * kb * lk], 1)

    def value(self, params, values):
        return math.exp(params["a"] * values["k"] ** params["b"])


SIGMOID = Sigmoid(
    name="sigmoid",
    formula="a / (1 + exp(-k * (x - x0))) + b",
    variables={"x": "loss"},
    target="accuracy",
    parameters=(
        Parameter("a", (-1.0, 0.0), (-0.75, -0.5, -0.25), description="drop from b as x grows"),
        Parameter("x0", (0.0, math.inf), (0.5, 0.9, 1.5, 3.0), description="midpoint"),
        Parameter("k", (0.0, math.inf), (1.0, 3.0, 10.0, 30.0), description="steepness"),
        Parameter("b", (0.0, 1.0), (0.6, 0.8, 1.0), description="accuracy as x -> -inf"),
    ),
    source="Bhagia et al. 2024, arXiv:2412.04403, step 2 (allenai/OLMo-ladder "
           "scaling/fitting_functions.py sigmoid, bounds of scripts/step2.py)",
    fit_defaults={"loss": "mse", "space": "linear"},
)

LOG_BLEU = LogBleu(
    name="log-bleu",
    formula="log(A * D**alpha)**beta",
    summary="(log(A·D^alpha))^beta",
    variables={"D": "tokens"},
    target="bleu",
    parameters=(
        Parameter("A", (0.0, math.inf), tuple(math.exp(v) for v in (-30.0, -10.0, 0.0, 5.0)),
                  log=True, description="scale inside the log"),
        Parameter("alpha", (0.0, 5.0), (0.05, 0.2, 0.5, 1.0), description="data exponent"),
        Parameter("beta", (0.0, 10.0), (0.5, 1.0, 2.0, 4.0), description="outer exponent"),
    ),
    source="Isik et al. 2024, arXiv:2402.04177, Figure 9 (BLEU/COMET vs pretraining tokens)",
)

COVERAGE = Coverage(
    name="coverage",
    formula="exp(a * k**b)",
    variables={"k": "k"},
    target="coverage",
    parameters=(
        Parameter("a", (-math.inf, 0.0), (-3.0, -1.0, -0.3, -0.1), description="log pass@1"),
        Parameter("b", (-5.0, 0.0), (-1.0, -0.5, -0.2, -0.05), description="exponent"),
    ),
    source="Brown et al. 2024, arXiv:2407.21787 (coverage vs samples k, exponentiated power law)",
    fit_defaults={"loss": "mse", "space": "log"},
)


def register_laws(register):
    register(SIGMOID)
    register(LOG_BLEU)
    register(COVERAGE)
