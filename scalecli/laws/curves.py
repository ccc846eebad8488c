"""Laws of the whole loss curve under a learning-rate schedule.

A curve is a run's dense learning rate ``eta[0..T-1]`` (one value per step) and the loss at
some logged steps t. With ``S1(t) = sum_{i<=t} eta_i`` (the LR area, step t included):

- ``power-area``: ``L0 + A·S1^-alpha`` (the baseline: the schedule matters only by its area).
- ``multi-power`` (Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across
  Learning Rate Schedules", arXiv:2503.12811, Eq. 5):
  ``L0 + A·S1^-alpha - B·sum_{k=1..t} (eta_{k-1} - eta_k)·[1 - (1 + C·eta_k^-gamma·S_k(t))^-beta]``
  with ``S_k(t) = sum_{i=k..t} eta_i``. The k-sum runs through the warm-up (as in the authors'
  code); only steps where the LR changes contribute, so it is evaluated over those alone.
- ``lr-anneal`` (Tissue et al. 2024, "Scaling Law with Learning Rate Annealing",
  arXiv:2408.11029): ``L0 + A·S1^-alpha - C·S2`` with the annealing area
  ``S2(t) = sum_{i=1..t} m_i``, ``m_i = lam·m_{i-1} + (eta_{i-1} - eta_i)`` (``m_0 = 0``, decay
  ``lam``, 0.999 in the paper; fitted here within [0.9, 0.99999]).

Every evaluation is vectorized: cumulative sums for the areas, and for the multi-power k-sum
one (points x change points) block per curve, cut into row groups so that the k > t half of
the triangle is mostly skipped. :meth:`CurveLaw.evaluate` returns the prediction and, when
asked, its Jacobian with respect to the internal parameters (logs of A, B, C), analytic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Law, Parameter

_INF = math.inf


@dataclass
class Curve:
    """One run's curve, prepared once for every evaluation: the dense LR, its cumulative sum,
    the logged steps (positions into eta) and the change points k (eta_k != eta_{k-1}, k >= 1)."""

    eta: Any
    cs: Any  # cumsum(eta): S1(t) = cs[t]
    t: Any  # logged positions, ascending
    k: Any  # change points, ascending
    gap: Any  # eta_k - eta_{k-1} at the change points
    eta_k: Any
    cs_before: Any  # cs[k-1] (S_k(t) = cs[t] - cs[k-1])
    groups: list  # (row slice, number of change points <= the group's last t)

    @classmethod
    def make(cls, eta, t) -> Curve:
        import numpy as np

        eta = np.asarray(eta, float)
        t = np.asarray(t, np.int64)
        cs = np.cumsum(eta)
        d = np.diff(eta)
        k = np.flatnonzero(d != 0) + 1
        groups = []
        n = len(t)
        size = max(1, min(64, -(-n // 8)))  # about 8 row groups: skips most of k > t
        for lo in range(0, n, size):
            hi = min(n, lo + size)
            groups.append((slice(lo, hi), int(np.searchsorted(k, t[hi - 1], side="right"))))
        return cls(eta, cs, t, k, d[k - 1], eta[k], cs[k - 1], groups)

    def coarse(self, most: int = 400) -> Curve:
        """The same curve with its change points merged into at most ``most`` blocks (gap
        summed; eta and cs[k-1] their gap-weighted means, k the block's last): an approximate
        curve, cheap enough to try a grid of fit starts on, never used for a result."""
        import numpy as np

        n = len(self.k)
        if n <= most:
            return self
        edges = np.linspace(0, n, most + 1).round().astype(np.int64)
        sign = np.sign(self.gap)
        cut = np.union1d(edges, np.flatnonzero(np.diff(sign)) + 1)  # blocks keep one sign
        starts = cut[:-1]
        g = np.add.reduceat(self.gap, starts)
        w = np.where(g != 0, g, 1.0)
        log_eta = np.add.reduceat(self.gap * np.log(self.eta_k), starts) / w
        before = np.add.reduceat(self.gap * self.cs_before, starts) / w
        k = self.k[cut[1:] - 1]
        out = Curve.make(self.eta, self.t)
        out.k, out.gap, out.eta_k, out.cs_before = k, g, np.exp(log_eta), before
        out.groups = [(rows, int(np.searchsorted(k, self.t[rows.stop - 1], side="right")))
                      for rows, _ in self.groups]
        return out

    @property
    def s1(self):
        return self.cs[self.t]


class CurveLaw(Law):
    """A law of the loss curve: :meth:`evaluate` on prepared :class:`Curve` objects."""

    curve: ClassVar[bool] = True

    def evaluate(self, theta, curves: list[Curve], jac: bool = False):
        """Predictions at every logged point of ``curves`` (concatenated), and with ``jac`` the
        Jacobian ``(M, P)`` with respect to the internal parameters ``theta``."""
        import numpy as np

        parts = [self._one(np.asarray(theta, float), c, jac) for c in curves]
        y = np.concatenate([p[0] for p in parts])
        return (y, np.concatenate([p[1] for p in parts])) if jac else y

    def predict_natural(self, params: dict[str, float], curves: list[Curve]):
        """Predictions at natural parameter values (``{"L0": 2.8, ...}``)."""
        return self.evaluate(self.to_internal(params), curves)

    def _one(self, theta, c: Curve, jac: bool):
        raise NotImplementedError

    def value(self, params, values):
        raise NotImplementedError(f"{self.name} is a law of the whole curve: it needs the "
                                  "schedule, not one point")


def _area_terms(theta, c: Curve):
    """L0 + A·S1^-alpha and its three Jacobian columns (L0, log A, alpha)."""
    import numpy as np

    l0, log_a, alpha = theta[0], theta[1], theta[2]
    s1 = c.s1
    ls1 = np.log(s1)
    p = np.exp(log_a - alpha * ls1)
    return l0 + p, np.stack([np.ones_like(p), p, -p * ls1], 1)


class PowerArea(CurveLaw):
    def _one(self, theta, c, jac):
        y, J = _area_terms(theta, c)
        return (y, J) if jac else (y, None)


class MultiPower(CurveLaw):
    """Internal order L0, log A, alpha, log B, log C, beta, gamma."""

    def _one(self, theta, c, jac):
        import numpy as np

        y, J0 = _area_terms(theta, c)
        b, log_c, beta, gamma = math.exp(theta[3]), theta[4], theta[5], theta[6]
        n = len(c.t)
        ld = np.zeros(n)  # sum_k gap_k · G(k, t)
        if jac:
            d_beta, d_x, d_xg = np.zeros(n), np.zeros(n), np.zeros(n)
        if len(c.k):
            ck = np.exp(log_c - gamma * np.log(c.eta_k))  # C·eta_k^-gamma
            neg_log_eta = -np.log(c.eta_k)
            cst = c.cs[c.t]
            for rows, m in c.groups:
                if m == 0:
                    continue
                x = cst[rows, None] - c.cs_before[None, :m]
                np.maximum(x, 0.0, out=x)  # k > t: S = 0, no contribution
                x *= ck[None, :m]
                l1 = np.log1p(x)
                p = np.exp(-beta * l1)  # (1 + x)^-beta
                g = c.gap[:m]
                ld[rows] = g.sum() - p @ g
                if jac:
                    d_beta[rows] = (p * l1) @ g  # dG/dbeta = P·ln(1+x)
                    q = p * x / (1.0 + x)  # x·dG/dx / beta
                    d_x[rows] = q @ g
                    d_xg[rows] = q @ (g * neg_log_eta[:m])
        y = y + b * ld
        if not jac:
            return y, None
        J = np.concatenate([J0, np.stack([b * ld, b * beta * d_x, b * d_beta,
                                          b * beta * d_xg], 1)], 1)
        return y, J


class LrAnneal(CurveLaw):
    """Internal order L0, log A, alpha, log C, lam."""

    def _one(self, theta, c, jac):
        import numpy as np

        y, J0 = _area_terms(theta, c)
        cc, lam = math.exp(theta[3]), float(theta[4])
        d = np.concatenate([[0.0], -np.diff(c.eta)])  # eta_{i-1} - eta_i
        m = _decayed_sum(d, lam)
        s2 = np.cumsum(m)[c.t]
        y = y - cc * s2
        if not jac:
            return y, None
        # dm_i/dlam = m_{i-1} + lam·dm_{i-1}/dlam: the same recurrence driven by m shifted
        dm = _decayed_sum(np.concatenate([[0.0], m[:-1]]), lam)
        ds2 = np.cumsum(dm)[c.t]
        J = np.concatenate([J0, np.stack([-cc * s2, -cc * ds2], 1)], 1)
        return y, J


def _decayed_sum(d, lam: float):
    """out_i = lam·out_{i-1} + d_i (out_{-1} = 0), vectorized: within blocks short enough that
    lam^-L stays below 1e6, out = lam^i·cumsum(d_j·lam^-j), carried from block to block."""
    import numpy as np

    n = len(d)
    size = max(1, min(n, int(6 * math.log(10) / -math.log(lam)) if lam < 1 else n))
    out = np.empty(n)
    carry = 0.0
    for a in range(0, n, size):
        b = min(n, a + size)
        p = lam ** np.arange(b - a, dtype=float)
        out[a:b] = p * np.cumsum(d[a:b] / p) + carry * lam * p
        carry = out[b - 1]
    return out


_AREA = (
    Parameter("L0", (0.0, _INF), (), description="loss as the LR area grows without bound"),
    Parameter("A", (1e-12, 1e12), (), log=True, description="scale of the area term"),
    Parameter("alpha", (1e-3, 5.0), (), description="exponent of the LR area"),
)
_PAPER_MPL = "Luo et al. 2025, A Multi-Power Law for Loss Curve Prediction Across Learning Rate " \
             "Schedules, arXiv:2503.12811"
_PAPER_ANNEAL = "Tissue et al. 2024, Scaling Law with Learning Rate Annealing, arXiv:2408.11029"
_VARS = {"eta": "lr", "t": "step"}

POWER_AREA = PowerArea(
    name="power-area", formula="L0 + A * S1(t)**(-alpha)", variables=dict(_VARS),
    parameters=_AREA, source="the area term of " + _PAPER_MPL + " (a baseline)",
    summary="L0 + A·S1^-α, S1 = Σ_{i≤t} η_i (LR area)")
MULTI_POWER = MultiPower(
    name="multi-power",
    formula="L0 + A * S1(t)**(-alpha) - B * sum_{k<=t} (eta[k-1] - eta[k]) * "
            "(1 - (1 + C * eta[k]**(-gamma) * S_k(t))**(-beta))",
    variables=dict(_VARS),
    parameters=(*_AREA,
                Parameter("B", (1e-12, 1e15), (), log=True, description="scale of the LR-decay "
                          "loss drop"),
                Parameter("C", (1e-12, 1e12), (), log=True),
                Parameter("beta", (1e-3, 10.0), ()),
                Parameter("gamma", (0.0, 5.0), ())),
    source=_PAPER_MPL,
    summary="L0 + A·S1^-α − B·Σ_k (η_{k−1}−η_k)·[1 − (1 + C·η_k^−γ·S_k(t))^−β]")
LR_ANNEAL = LrAnneal(
    name="lr-anneal", formula="L0 + A * S1(t)**(-alpha) - C * S2(t)", variables=dict(_VARS),
    parameters=(*_AREA,
                Parameter("C", (1e-12, 1e15), (), log=True, description="scale of the "
                          "annealing area"),
                Parameter("lam", (0.9, 0.99999), (), description="decay of the annealing "
                          "momentum")),
    source=_PAPER_ANNEAL,
    summary="L0 + A·S1^-α − C·S2, S2 = Σ m_i, m_i = λ·m_{i−1} + η_{i−1} − η_i")

CURVE_LAWS = ("multi-power", "lr-anneal", "power-area")


def register_laws(register):
    register(MULTI_POWER)
    register(LR_ANNEAL)
    register(POWER_AREA)
