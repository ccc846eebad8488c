"""Compute-optimal frontiers of fitted laws: L*(C), the compute that reaches a loss, and where
two frontiers cross. What ``compare`` weighs two sweeps by.

L*(C) is the law's loss at its compute-optimal allocation (:mod:`.allocation`: the law's closed
form where it has one, here evaluated over a whole array of budgets at once; a golden-section
search over log N otherwise). A law of compute alone (``--x flops`` in a config) is its own
frontier. Frontiers fall with compute, so the compute reaching a loss and the crossing of two
frontiers are roots in log C, bracketed on a log grid and refined with Brent's method.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .. import schema as S
from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

CROSS_SPAN = (1e15, 1e30)  # where a crossing is looked for (FLOPs)
REACH_SPAN = (1e6, 1e40)  # where the compute reaching a loss is looked for
GRID = 301  # log-spaced points that bracket a root
SEARCH, ZOOMS = 48, 6  # a numeric optimum: grid points in log N, and rounds of finer grids


class Frontier:
    """A law with parameters, seen as its compute-optimal loss L*(C)."""

    def __init__(self, law, params: dict[str, float]):
        import numpy as np

        cols = set(law.variables.values())
        self.law, self.params = law, dict(params)
        self.theta = np.array([law.to_internal(self.params)])
        if cols == {S.C}:
            self.alloc = None
        elif cols == {S.N, S.D}:
            from .allocation import Allocator

            self.alloc = Allocator(law, self.params)
        else:
            raise ConfigError(
                f"compare weighs compute-optimal frontiers: law {law.name} is a law of "
                f"{', '.join(f'{k}={v}' for k, v in law.variables.items())}, not of "
                f"{S.N} and {S.D} (nor of {S.C} alone)")

    def loss(self, flops) -> np.ndarray:
        """L*(C) at each budget (NaN where the law gives no finite loss)."""
        import numpy as np

        C = np.atleast_1d(np.asarray(flops, dtype=float))
        if self.alloc is None:
            (sym,) = self.law.variables
            X = {sym: C}
        else:
            n = self._optimal_n(C)
            X = {self.alloc.n_sym: n, self.alloc.d_sym: C / (6.0 * n)}
        with np.errstate(all="ignore"):
            out = np.asarray(self.law.predict(self.theta, X), dtype=float)[0]
        return np.where(np.isfinite(out), out, np.nan)

    def _optimal_n(self, C):
        """N_opt at each budget: the law's closed form over the whole array when it has one,
        else :meth:`_search_n`."""
        import numpy as np

        try:
            with np.errstate(all="ignore"):
                opt = self.law.optimum(self.params, C)
        except (TypeError, ValueError, OverflowError):
            opt = None  # a closed form written for one number at a time
        if opt is not None:
            return np.broadcast_to(np.asarray(opt[0], dtype=float), C.shape)
        return self._search_n(C)

    def _search_n(self, C):
        """N minimizing the loss at each budget, every budget at once: log N from 1 parameter
        to 1 token of data on a grid, then :data:`ZOOMS` grids around the best point, each
        ~23 times finer (the allocation's golden-section search, budget by budget, gives the
        same optimum but is far slower for many budgets)."""
        import numpy as np

        lo, hi = np.zeros_like(C), np.log(C / 6.0)
        t = np.linspace(0.0, 1.0, SEARCH)
        for _ in range(ZOOMS):
            u = lo[:, None] + (hi - lo)[:, None] * t[None, :]
            n = np.exp(u)
            X = {self.alloc.n_sym: n.ravel(), self.alloc.d_sym: (C[:, None] / (6.0 * n)).ravel()}
            with np.errstate(all="ignore"):
                v = np.asarray(self.law.predict(self.theta, X), dtype=float)[0].reshape(u.shape)
            k = np.argmin(np.where(np.isfinite(v), v, np.inf), axis=1)
            step = (hi - lo) / (SEARCH - 1)
            centre = lo + k * step
            lo, hi = np.maximum(centre - step, lo), np.minimum(centre + step, hi)
        return np.exp(0.5 * (lo + hi))

    def compute_for(self, target: float) -> float | None:
        """The least compute whose optimal loss reaches ``target``; None when the frontier
        does not reach it within :data:`REACH_SPAN`."""
        import numpy as np

        lo, hi = (math.log(v) for v in REACH_SPAN)
        u = np.linspace(lo, hi, GRID)
        h = self.loss(np.exp(u)) - target
        below = np.flatnonzero(h <= 0)
        if not below.size or below[0] == 0:
            return None
        k = below[0]
        if not np.isfinite(h[k - 1]):
            return None
        return math.exp(_root(lambda x: float(self.loss(math.exp(x))[0]) - target,
                              u[k - 1], u[k]))


def crossings(a: Frontier, b: Frontier, span=CROSS_SPAN) -> list[float]:
    """The budgets in ``span`` where L*_a(C) = L*_b(C), ascending."""
    import numpy as np

    u = np.linspace(math.log(span[0]), math.log(span[1]), GRID)
    diff = a.loss(np.exp(u)) - b.loss(np.exp(u))
    ok = np.isfinite(diff)
    s = np.sign(diff)
    change = np.flatnonzero(ok[:-1] & ok[1:] & (s[:-1] * s[1:] < 0))
    exact = np.flatnonzero(ok & (s == 0))

    def gap(x):
        return float(a.loss(math.exp(x))[0] - b.loss(math.exp(x))[0])

    roots = [math.exp(_root(gap, u[k], u[k + 1])) for k in change]
    roots += [math.exp(u[k]) for k in exact]
    return sorted(roots)


def _root(f, lo: float, hi: float) -> float:
    """Brent's method on a bracket where ``f`` changes sign."""
    from scipy.optimize import brentq

    return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-14))


def loss_band(law, samples: list[dict[str, float]], flops, level: float = 0.95):
    """The central ``level`` interval of L*(C) over parameter resamples (a bootstrap's):
    ``(low, high)`` arrays, one value per budget."""
    import numpy as np

    values = np.array([Frontier(law, s).loss(flops) for s in samples])
    tail = 50.0 * (1.0 - level)
    with np.errstate(all="ignore"):
        return (np.nanpercentile(values, tail, axis=0),
                np.nanpercentile(values, 100.0 - tail, axis=0))
