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
either a far-field series over blocks of change points with a stated error bound (long
curves, values and Jacobian alike: :mod:`.multipower_far`) or the exact (points x change
points) sum per curve, cut into row groups so that the k > t half of the triangle is mostly
skipped (short curves, and a beta too large for the series). :meth:`CurveLaw.evaluate`
returns the prediction and, when asked, its Jacobian with respect to the internal parameters
(logs of A, B, C), analytic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
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
    causal: Any = None  # per logged point, how many change points are <= t
    gap_cum: Any = None  # cumsum of gap, from 0: the sum over the first j is gap_cum[j]
    _blocks: Any = field(default=None, repr=False)  # see blocks

    @classmethod
    def make(cls, eta, t) -> Curve:
        import numpy as np

        eta = np.asarray(eta, float)
        t = np.asarray(t, np.int64)
        cs = np.cumsum(eta)
        d = np.diff(eta)
        k = np.flatnonzero(d != 0) + 1
        return cls(eta, cs, t, k, d[k - 1], eta[k], cs[k - 1])._index()

    def _index(self) -> Curve:
        """What follows from the change points: each point's count of them, their gaps'
        cumulative sum; the far-field blocks are built when first asked for."""
        import numpy as np

        self.causal = np.searchsorted(self.k, self.t, side="right")
        self.gap_cum = np.concatenate([[0.0], np.cumsum(self.gap)])
        self._blocks = None
        return self

    @property
    def blocks(self):
        """The change points' blocks for the far-field sum (:func:`.multipower_far.blocks`),
        built on first use: a short curve, or one only predicted along, never needs them."""
        if self._blocks is None:
            from .multipower_far import blocks

            self._blocks = blocks(self.k)
        return self._blocks

    def row_groups(self):
        """About 8 slices of consecutive logged points, each with the change points up to its
        last point: the exact sum's blocks, which skip most of the k > t half."""
        n = len(self.t)
        size = max(1, min(64, -(-n // 8)))
        for lo in range(0, n, size):
            rows = slice(lo, min(n, lo + size))
            yield rows, int(self.causal[rows.stop - 1])

    @property
    def log_eta_k(self):
        import numpy as np

        if getattr(self, "_log_eta_k", None) is None or len(self._log_eta_k) != len(self.eta_k):
            self._log_eta_k = np.log(np.maximum(self.eta_k, 1e-300))  # an LR of 0: see below
        return self._log_eta_k

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
        out._log_eta_k = None
        return out._index()

    @property
    def s1(self):
        return self.cs[self.t]


class CurveLaw(Law):
    """A law of the loss curve: :meth:`evaluate` on prepared :class:`Curve` objects."""

    curve: ClassVar[bool] = True
    # the internal index of the scale (log B, log C) of a third linear term, if the law has one
    decay_index: ClassVar[int | None] = None

    def start_grid(self, peak: float) -> list:
        """Internal parameter vectors to start a fit from, over the non-linear parameters,
        with the linear ones at L0 = 0 and unit scales (A = 1, and B or C = 1): a fit solves
        those for each start (``peak``: the training curves' highest LR)."""
        import numpy as np

        return [np.array([0.0, 0.0, a]) for a in (0.1, 0.2, 0.3, 0.5, 0.8, 1.2)]

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
        from ..errors import ConfigError

        raise ConfigError(f"{self.name} is a law of the whole loss curve: it needs a learning-"
                          "rate schedule, not one point (scalecli fit/evaluate --law "
                          f"{self.name})")

    def predict(self, theta, X):
        return self.value({}, {})


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

    decay_index: ClassVar[int | None] = 3

    def start_grid(self, peak: float) -> list:
        """alpha in {0.3, 0.5, 0.8}, C·peak^-gamma in {3, 30, 300, 3000}, beta in
        {0.3, 0.6, 1}, gamma in {0.3, 0.6, 0.9}."""
        import itertools

        import numpy as np

        return [np.array([0.0, 0.0, a, 0.0, math.log(c0 * peak ** g), b, g])
                for a, c0, b, g in itertools.product((0.3, 0.5, 0.8), (3.0, 30.0, 300.0, 3000.0),
                                                     (0.3, 0.6, 1.0), (0.3, 0.6, 0.9))]

    def evaluate(self, theta, curves: list[Curve], jac: bool = False):
        """All curves' k-sums as tasks (a curve's far-field series, or its exact row groups),
        on two threads when the work is large (NumPy releases the GIL in its loops; each task
        writes its own rows)."""
        import numpy as np

        from . import multipower_far as far

        theta = np.asarray(theta, float)
        b, log_c, beta, gamma = math.exp(theta[3]), theta[4], theta[5], theta[6]
        coef = far.jacobian_terms(beta) if jac else far.series_terms(beta)
        parts, tasks, work = [], [], 0
        for c in curves:
            y0, J0 = _area_terms(theta, c)
            sums = np.zeros((4 if jac else 1, len(c.t)))
            if len(c.k):
                log_ck = np.minimum(log_c - gamma * c.log_eta_k, _LOG_CK_MOST)
                if coef is not None and far.worthwhile(len(c.t), len(c.k)):
                    tasks.append(partial(_far_task, c, log_ck, beta, coef, sums, jac))
                    work += len(c.t) * 4 * far.BLOCK
                else:
                    ck, cst = np.exp(log_ck), c.cs[c.t]
                    for rows, m in c.row_groups():
                        if m:
                            tasks.append(partial(_ld_block, (c, ck, cst, rows, m, sums),
                                                 beta, jac))
                            work += (rows.stop - rows.start) * m
            parts.append((y0, J0, sums))
        threads = _threads() if work > 1_000_000 and len(tasks) > 1 else 1
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda task: task(), tasks))
        else:
            for task in tasks:
                task()
        y = np.concatenate([y0 + b * sums[0] for y0, _, sums in parts])
        if not jac:
            return y
        J = np.concatenate([np.concatenate([J0, np.stack(
            [b * sums[0], b * beta * sums[2], b * sums[1], -b * beta * sums[3]], 1)], 1)
            for _, J0, sums in parts])
        return y, J


def _far_task(c: Curve, log_ck, beta: float, coef, sums, jac: bool) -> None:
    from .multipower_far import decay_sums

    sums[:] = decay_sums(c, log_ck, beta, coef, jac)


def _threads() -> int:
    import os

    return max(1, min(2, os.cpu_count() or 1))


def _ld_block(task, beta: float, jac: bool) -> None:
    """One row group's k-sum: sums[0] = sum_k gap_k·(1 - P), P = (1 + x)^-beta with
    x = C·eta_k^-gamma·S_k(t); with ``jac`` also sum gap·P·ln(1+x) (d/dbeta), sum gap·P·x/(1+x)
    (d/dlog C, over beta) and its sum weighted by ln eta_k (d/dgamma, over -beta).
    The change points are taken in tiles of about 16,000 (point, change point) pairs, so each
    tile's arrays stay in the core's cache (a 64 x 72,000 block would not: it ran at twice the
    cost per pair). In place, log and exp, not log1p (3x slower): only absolute precision
    counts here (the loss is ~1, each term ~eta)."""
    import numpy as np

    c, ck, cst, rows, m, sums = task
    u = cst[rows]
    n_rows = len(u)
    width = max(512, _TILE // max(1, n_rows))
    out = np.zeros((4 if jac else 1, n_rows))
    for a in range(0, m, width):
        b = min(m, a + width)
        x = np.multiply.outer(u, ck[a:b])
        x -= c.cs_before[a:b] * ck[a:b] - 1.0  # 1 + C·eta_k^-gamma·(cs[t] - cs[k-1])
        np.maximum(x, 1.0, out=x)  # k > t (S < 0 in the group's last columns): no term
        g = c.gap[a:b]
        if not jac:
            np.log(x, out=x)
            x *= -beta
            out[0] += g.sum() - np.exp(x, out=x) @ g
            continue
        l1 = np.log(x)
        p = np.exp(-beta * l1)
        out[0] += g.sum() - p @ g
        out[1] += (p * l1) @ g
        q = p - p / x  # P·x/(1+x)
        out[2] += q @ g
        out[3] += q @ (g * c.log_eta_k[a:b])
    sums[:, rows] = out


_TILE = 16_384
# C·eta_k^-gamma at most e^690 (1e300): an LR of exactly 0 makes it infinite, and 0·inf a NaN
# where S_k(t) = 0 (the LR still 0 at t). Capped, such a term is 0 while the LR stays 0 (the
# limit for gamma < 1) and the full drop once it is positive again, never a NaN.
_LOG_CK_MOST = 690.0


class LrAnneal(CurveLaw):
    """Internal order L0, log A, alpha, log C, lam."""

    decay_index: ClassVar[int | None] = 3

    def start_grid(self, peak: float) -> list:
        """alpha in {0.3, 0.5, 0.8}, lam in {0.99, 0.999, 0.9999}."""
        import numpy as np

        return [np.array([0.0, 0.0, a, 0.0, lam]) for a in (0.3, 0.5, 0.8)
                for lam in (0.99, 0.999, 0.9999)]

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
