"""Kaplan et al. (2020), "Scaling Laws for Neural Language Models", arXiv:2001.08361.

``kaplan``:   L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D   (Eq. 1.5)
``kaplan-n``: L(N) = (N_c/N)^alpha_N                                  (Eq. 1.1)
``kaplan-d``: L(D) = (D_c/D)^alpha_D                                  (Eq. 1.2)

``kaplan-s``: L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S     (Eq. 1.6 / 5.6)
with S_min, the steps at a batch far above critical, from the critical-batch-size relation
(Eq. 5.2-5.4): S_min = S / (1 + B_crit(L)/B), B_crit(L) = B*/L^(1/alpha_B), B in tokens.
:func:`s_min` converts logged (steps, batch tokens, loss) with it, as Kaplan et al. converted
their training curves; the law reads the result from an ``s_min`` column.

N is non-embedding parameters in the paper (Chinchilla counts all parameters): map the column
you logged. No irreducible term: loss tends to 0. Published values of Eq. 1.1/1.2 (Section 1.2:
alpha_N = 0.076, N_c = 8.8e13; alpha_D = 0.095, D_c = 5.4e13 tokens) ship as defaults of the
one-variable laws; the joint fit's Table 2 values were not checked against the paper here, so
``kaplan`` ships none. L(N, S_min) with the critical batch size needs per-run batch-size sweeps
and is not a law here yet.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .base import Law, Parameter
from .lse import columns, log_scales, over, shifted

_LOG_SCALE = tuple(math.exp(v) for v in (20.0, 25.0, 30.0, 35.0, 40.0))
_EXPONENTS = (0.03, 0.07, 0.15, 0.3, 0.6)
_SOURCE = "Kaplan et al. 2020, arXiv:2001.08361"


class KaplanND(Law):
    """log L = alpha_D·LSE(r·(log N_c - log N), log D_c - log D), r = alpha_N/alpha_D.
    Internal order: N_c (log), alpha_N, D_c (log), alpha_D."""

    falls = True
    spans: ClassVar[dict] = {"N": (1e3, 1e13), "D": (1e3, 1e15), "y": (0.1, 10.0)}

    def log_predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        nc, an, dc, ad = (columns(theta, k) for k in range(4))
        lN, lD = np.log(X["N"])[None, :], np.log(X["D"])[None, :]
        with np.errstate(all="ignore"):
            return ad * np.logaddexp(an / ad * (nc - lN), dc - lD)

    def log_predict_jac(self, theta, X):
        import numpy as np

        nc, an, dc, ad = (float(v) for v in theta)
        lN, lD = np.log(X["N"]), np.log(X["D"])
        u1, u2 = an / ad * (nc - lN), dc - lD
        s = np.logaddexp(u1, u2)
        w1, w2 = np.exp(u1 - s), np.exp(u2 - s)
        J = np.stack([w1 * an, w1 * (nc - lN), w2 * ad, s - w1 * u1], axis=1)
        return ad * s, J

    def rescale(self, theta, scales):
        """N_c·s_N·s_y^(1/alpha_N), D_c·s_D·s_y^(1/alpha_D) (internal: added logs)."""
        ly, ln, ld = log_scales(scales, "y", "N", "D")
        return shifted(theta, {0: lambda t: ln + over(ly, t[:, 1]),
                               2: lambda t: ld + over(ly, t[:, 3])})

    def value(self, params, values):
        p = params
        inner = (p["N_c"] / values["N"]) ** (p["alpha_N"] / p["alpha_D"]) + p["D_c"] / values["D"]
        return inner ** p["alpha_D"]


class KaplanOne(Law):
    """log L = alpha·(log X_c - log x); internal order X_c (log), alpha."""

    falls = True
    spans: ClassVar[dict] = {"N": (1e3, 1e13), "D": (1e3, 1e15), "y": (0.1, 10.0)}

    def log_predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(theta)
        lx = np.log(X[self._symbol])[None, :]
        return columns(theta, 1) * (columns(theta, 0) - lx)

    def log_predict_jac(self, theta, X):
        import numpy as np

        c, alpha = (float(v) for v in theta)
        lx = np.log(X[self._symbol])
        return alpha * (c - lx), np.stack([np.full_like(lx, alpha), c - lx], axis=1)

    def rescale(self, theta, scales):
        """X_c·s_x·s_y^(1/alpha) (internal: added logs)."""
        ly, lx = log_scales(scales, "y", self._symbol)
        return shifted(theta, {0: lambda t: lx + over(ly, t[:, 1])})

    @property
    def _symbol(self) -> str:
        return next(iter(self.variables))

    def value(self, params, values):
        scale, alpha = (params[p.name] for p in self.parameters)
        return (scale / values[self._symbol]) ** alpha


B_STAR = 2e8  # tokens, Kaplan et al. Section 1.2 (Table 5 gives 2.1e8)
ALPHA_B = 0.21


def s_min(steps, batch_tokens, loss, b_star: float = B_STAR, alpha_b: float = ALPHA_B):
    """Kaplan et al. Eq. 5.4: the minimum steps S_min = S / (1 + B_crit(L)/B) that reach loss L,
    with B_crit(L) = b_star / L^(1/alpha_b). Works on floats or NumPy arrays."""
    return steps / (1.0 + b_star / (loss ** (1.0 / alpha_b) * batch_tokens))


def with_s_min(points, frames=None):
    """Points with an ``s_min`` column from each run's final step S (the largest logged step,
    or a ``step`` column), its batch in tokens B = D/S, and its observed loss L (Eq. 5.4), as
    Kaplan et al. converted their runs before fitting L(N, S_min)."""
    import dataclasses

    import polars as pl

    from ..errors import ColumnError

    frame = points.frame
    if frames is not None and frames.history.height and "step" in frames.history.columns:
        steps = frames.history.group_by("run_id").agg(pl.col("step").max().alias("_steps"))
        frame = frame.join(steps, on="run_id", how="left")
    elif "step" in frame.columns:
        frame = frame.with_columns(pl.col("step").alias("_steps"))
    else:
        raise ColumnError("kaplan-s needs an s_min column, or logged steps to derive it from "
                          "(S_min = S / (1 + B_crit(L)/B), Kaplan et al. Eq. 5.4)")
    frame = frame.with_columns(pl.col("_steps").cast(pl.Float64))
    frame = frame.filter(pl.col("_steps") > 0)
    s = frame["_steps"].to_numpy()
    frame = frame.with_columns(
        pl.Series("s_min", s_min(s, frame["tokens"].to_numpy() / s, frame["y"].to_numpy()))
    ).drop("_steps")
    note = (f"S_min derived from final steps, batch tokens D/S and the observed loss "
            f"(B* = {B_STAR:g}, alpha_B = {ALPHA_B})")
    return dataclasses.replace(points, frame=frame, notes=[*points.notes, note])


class KaplanNS(Law):
    """log L = LSE(alpha_N·(log N_c - log N), alpha_S·(log S_c - log S_min)).
    Internal order: N_c (log), alpha_N, S_c (log), alpha_S."""

    derivable = ("s_min",)
    falls = True
    spans: ClassVar[dict] = {"N": (1e3, 1e13), "S_min": (1.0, 1e9), "y": (0.1, 10.0)}

    def derive(self, points, frames=None):
        return with_s_min(points, frames)

    def log_predict(self, theta, X):
        import numpy as np

        from .lse import lse

        theta = np.atleast_2d(theta)
        nc, an, sc, a_s = (columns(theta, k) for k in range(4))
        lN, lS = np.log(X["N"])[None, :], np.log(X["S_min"])[None, :]
        return lse([an * (nc - lN), a_s * (sc - lS)])

    def log_predict_jac(self, theta, X):
        import numpy as np

        from .lse import lse_jac

        nc, an, sc, a_s = (float(v) for v in theta)
        lN, lS = np.log(X["N"]), np.log(X["S_min"])
        zero = np.zeros_like(lN)
        return lse_jac([an * (nc - lN), a_s * (sc - lS)],
                       [np.stack([np.full_like(lN, an), nc - lN, zero, zero], 1),
                        np.stack([zero, zero, np.full_like(lS, a_s), sc - lS], 1)])

    def rescale(self, theta, scales):
        """N_c·s_N·s_y^(1/alpha_N), S_c·s_S·s_y^(1/alpha_S) (internal: added logs)."""
        ly, ln, ls = log_scales(scales, "y", "N", "S_min")
        return shifted(theta, {0: lambda t: ln + over(ly, t[:, 1]),
                               2: lambda t: ls + over(ly, t[:, 3])})

    def value(self, params, values):
        p = params
        return ((p["N_c"] / values["N"]) ** p["alpha_N"]
                + (p["S_c"] / values["S_min"]) ** p["alpha_S"])


KAPLAN_S = KaplanNS(
    name="kaplan-s",
    formula="(N_c / N)**alpha_N + (S_c / S_min)**alpha_S",
    variables={"N": "n_params", "S_min": "s_min"},
    parameters=(
        Parameter("N_c", (1.0, math.inf), _LOG_SCALE, log=True, description="critical size"),
        Parameter("alpha_N", (1e-4, 3.0), _EXPONENTS, description="model-size exponent"),
        Parameter("S_c", (1.0, math.inf), tuple(math.exp(v) for v in (2.0, 5.0, 8.0, 11.0)),
                  log=True, description="critical steps"),
        Parameter("alpha_S", (1e-4, 5.0), (0.2, 0.5, 0.8, 1.2), description="steps exponent"),
    ),
    source=_SOURCE + ", Eq. 1.6 (S_min from the critical batch size, Eq. 5.4: see s_min)",
)

KAPLAN = KaplanND(
    name="kaplan",
    formula="((N_c / N)**(alpha_N / alpha_D) + D_c / D)**alpha_D",
    variables={"N": "n_params", "D": "tokens"},
    parameters=(
        Parameter("N_c", (1.0, math.inf), _LOG_SCALE, log=True, description="critical size"),
        Parameter("alpha_N", (1e-4, 3.0), _EXPONENTS, description="model-size exponent"),
        Parameter("D_c", (1.0, math.inf), _LOG_SCALE, log=True, description="critical data"),
        Parameter("alpha_D", (1e-4, 3.0), _EXPONENTS, description="data exponent"),
    ),
    source=_SOURCE + ", Eq. 1.5",
)

KAPLAN_N = KaplanOne(
    name="kaplan-n",
    formula="(N_c / N)**alpha_N",
    variables={"N": "n_params"},
    parameters=(
        Parameter("N_c", (1.0, math.inf), _LOG_SCALE, log=True, description="critical size"),
        Parameter("alpha_N", (1e-4, 3.0), _EXPONENTS, description="model-size exponent"),
    ),
    source=_SOURCE + ", Eq. 1.1 (N: non-embedding parameters)",
    defaults={"N_c": 8.8e13, "alpha_N": 0.076},
    defaults_source="published: Kaplan et al. 2020 Section 1.2 (N_c=8.8e13, alpha_N=0.076)",
)

KAPLAN_D = KaplanOne(
    name="kaplan-d",
    formula="(D_c / D)**alpha_D",
    variables={"D": "tokens"},
    parameters=(
        Parameter("D_c", (1.0, math.inf), _LOG_SCALE, log=True, description="critical data"),
        Parameter("alpha_D", (1e-4, 3.0), _EXPONENTS, description="data exponent"),
    ),
    source=_SOURCE + ", Eq. 1.2",
    defaults={"D_c": 5.4e13, "alpha_D": 0.095},
    defaults_source="published: Kaplan et al. 2020 Section 1.2 (D_c=5.4e13, alpha_D=0.095)",
)


def register_laws(register):
    for law in (KAPLAN, KAPLAN_N, KAPLAN_D, KAPLAN_S):
        register(law)
