"""The quantity a fit minimizes: a robust loss of residuals taken in a chosen space.

Residuals are ``t(prediction) - t(target)`` with ``t`` = log (default: Chinchilla, Epoch),
log1p (Caballero et al.'s BNSL code) or identity. The default Huber loss with delta 1e-3 on
log-residuals is Hoffmann et al.'s (2022) choice; its value is reported as the papers report
it, the SUM over points. ``mse`` and ``mae`` report the MEAN, as their names say.

An objective may carry per-point ``weights`` w (:meth:`Objective.weighted`, scaled to mean
1): each residual is multiplied by sqrt(w) before the loss, i.e. divided by its point's noise
relative to a typical one. Squared errors are then weighted by w (inverse-variance weights,
for w = 1 / variance), the Huber loss sees residuals on one scale (its delta in units of a
typical noise) and absolute errors are weighted by sqrt(w) (1 / standard deviation), each the
consistent choice for its loss. Every search plan reads them from here (the start grid, least
squares, the closed form).

An ``overestimate`` penalty W >= 1 makes the loss asymmetric: a residual r > 0 (the prediction
above the observed target) costs W times its loss, rho(r)·W and psi(r)·W, so the fit follows
the lower envelope of the points, as under-tuned runs call for (OLMo-core recommends W = 10;
the ``chinchilla`` package's default is MAE on raw loss with W = 10). W = 1 is symmetric. The
closed form and least squares cannot honour it: laws fall back to the start grid (their
``search_plan`` reads :attr:`Objective.symmetric`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, FitError

LOSSES = ("huber", "mse", "mae")
SPACES = ("log", "log1p", "linear")
MAX_DELTA = 1e12  # a Huber delta above every residual is half the squared error: use mse
MAX_PENALTY = 1e6  # an over-estimate weight past this only loses digits


@dataclass(frozen=True)
class Objective:
    loss: str = "huber"
    delta: float = 1e-3
    space: str = "log"
    # Per-point weights (a float array, mean 1) or None; data, not a setting: never compared.
    weights: Any = field(default=None, compare=False, repr=False)
    # Weight of residuals where the prediction lies above the target (1: symmetric).
    overestimate: float = 1.0

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.space not in SPACES:
            raise ConfigError(f"unknown space {self.space!r}; choose one of {', '.join(SPACES)}")
        object.__setattr__(self, "delta", _delta(self.delta))
        object.__setattr__(self, "overestimate", penalty(self.overestimate))

    @property
    def symmetric(self) -> bool:
        """Whether over- and under-estimates cost the same (no over-estimate penalty)."""
        return self.overestimate == 1.0

    def describe(self) -> str:
        d = f", delta={self.delta:g}" if self.loss == "huber" else ""
        w = "" if self.symmetric else f", over-estimates weighted {self.overestimate:g}x"
        return f"{self.loss}{d} on {self.space}-space residuals{w}"

    def to_dict(self) -> dict:
        return {"loss": self.loss, "delta": self.delta, "space": self.space,
                "overestimate_penalty": self.overestimate}

    def weighted(self, weights) -> Objective:
        """This objective with per-point ``weights`` (positive, finite; scaled to mean 1), or
        unweighted for None."""
        import dataclasses

        import numpy as np

        if weights is None:
            return dataclasses.replace(self, weights=None)
        w = np.asarray(weights, dtype=float).ravel()
        if w.size == 0 or not np.all(np.isfinite(w) & (w > 0)):
            raise FitError("weights must be positive, finite numbers, one per point")
        return dataclasses.replace(self, weights=w / w.mean())

    def sqrt_weights(self, n: int):
        """The square roots of the weights (ones when unweighted), which multiply the
        residuals. FitError when they are not one per point."""
        import numpy as np

        if self.weights is None:
            return np.ones(n)
        if self.weights.size != n:
            raise FitError(f"{self.weights.size} weights for {n} points")
        return np.sqrt(self.weights)

    # ---- transforms ------------------------------------------------------------------------
    def check_target(self, y) -> None:
        """FitError, saying how many points, when a target lies outside the residual space's
        domain (log: y > 0; log1p: y > -1): no NumPy warning, no NaN objective."""
        import numpy as np

        y = np.asarray(y, dtype=float)
        low = {"log": 0.0, "log1p": -1.0}.get(self.space)
        bad = int(np.count_nonzero(~(y > low))) if low is not None else 0
        if bad:
            raise FitError(f"{bad} of {y.size} point(s) have a target <= {low:g}: "
                           f"{self.space}-space residuals need targets above {low:g} "
                           "(drop those runs, or fit with --space linear)")

    def transform(self, y):
        """The target in residual space (see :meth:`check_target` for its domain)."""
        import numpy as np

        with np.errstate(divide="ignore", invalid="ignore"):
            if self.space == "log":
                return np.log(y)
            if self.space == "log1p":
                return np.log1p(y)
        return np.asarray(y, dtype=float)

    def predicted(self, law, theta, X):
        """The prediction in residual space for ``theta`` of shape ``(S, P)``: ``(S, M)``."""
        import numpy as np

        with np.errstate(all="ignore"):
            if self.space == "log":
                return law.log_predict(theta, X)
            f = law.predict(theta, X)
            return np.log1p(f) if self.space == "log1p" else f

    def predicted_jac(self, law, theta, X):
        """Prediction in residual space and its Jacobian ``(M, P)`` at one ``theta``."""
        import numpy as np

        with np.errstate(all="ignore"):
            if self.space == "log":
                return law.log_predict_jac(theta, X)
            f, J = law.predict_jac(theta, X)
            if self.space == "log1p":
                return np.log1p(f), J / (1.0 + f)[:, None]
            return f, J

    # ---- the loss --------------------------------------------------------------------------
    def rho(self, r):
        """Per-point loss; summed (huber) or averaged (mse, mae) along the last axis. With an
        over-estimate penalty W, W times the loss where r > 0."""
        import numpy as np

        if self.loss == "huber":  # q·(|r| - q/2) with q = min(|r|, delta): one pass fewer
            a = np.abs(r)
            q = np.minimum(a, self.delta)
            a -= 0.5 * q
            a *= q
        else:
            a = r * r if self.loss == "mse" else np.abs(r)
        return self._asymmetric(a, r)

    def psi(self, r):
        """d rho / d r."""
        import numpy as np

        if self.loss == "huber":
            out = np.clip(r, -self.delta, self.delta)
        else:
            out = 2.0 * r if self.loss == "mse" else np.sign(r)
        return self._asymmetric(out, r)

    def side_weights(self, r):
        """W where r > 0 (an over-estimate), 1 elsewhere: the factor :meth:`rho` and
        :meth:`psi` carry, for solvers that build their own weights (IRLS)."""
        import numpy as np

        return np.where(np.asarray(r) > 0, self.overestimate, 1.0)

    def _asymmetric(self, values, r):
        """``values`` (a fresh array rho or psi made) times W where r > 0, in place."""
        import numpy as np

        if self.symmetric:
            return values
        values = np.asarray(values, dtype=float)
        values[np.asarray(r) > 0] *= self.overestimate
        return values

    def reduce(self, per_point, axis=-1):
        return per_point.sum(axis=axis) if self.loss == "huber" else per_point.mean(axis=axis)

    def values(self, law, theta, X, target):
        """Objective for every row of ``theta`` (``(S, P)`` -> ``(S,)``); NaN becomes +inf."""
        import numpy as np

        r = self.predicted(law, theta, X)
        r -= target[None, :]
        if self.weights is not None:
            r *= np.sqrt(self.weights)
        out = self.reduce(self.rho(r))
        return np.where(np.isfinite(out), out, np.inf)

    def value_grad(self, law, theta, X, target):
        """Objective and its gradient with respect to ``theta`` at one point."""
        import numpy as np

        g, J = self.predicted_jac(law, theta, X)
        root = 1.0 if self.weights is None else np.sqrt(self.weights)
        r = (g - target) * root
        scale = 1.0 if self.loss == "huber" else 1.0 / r.size
        f = float(self.rho(r).sum() * scale)
        grad = ((self.psi(r) * root) @ J) * scale
        if not np.isfinite(f):
            return np.inf, np.zeros_like(grad)
        return f, grad


def penalty(raw, name: str = "--overestimate-penalty") -> float:
    """An over-estimate penalty as a float: a finite number from 1 to MAX_PENALTY
    (ConfigError naming ``name`` otherwise)."""
    shown = str(raw) if len(str(raw)) <= 24 else f"{str(raw)[:20]}... ({len(str(raw))} digits)"
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        value = float("nan")
    if isinstance(raw, bool) or not math.isfinite(value) or not 1 <= value <= MAX_PENALTY:
        raise ConfigError(f"{name} {shown}: give the weight of over-estimates "
                          f"as a number from 1 (symmetric) to {MAX_PENALTY:g}; 10 is usual for "
                          "a lower-envelope fit")
    return value


def _delta(raw) -> float:
    """A Huber delta as a float: positive, finite, at most MAX_DELTA."""
    shown = str(raw) if len(str(raw)) <= 24 else f"{str(raw)[:20]}... ({len(str(raw))} digits)"
    try:
        delta = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"huber delta {shown} is not a number") from None
    if isinstance(raw, bool) or not math.isfinite(delta) or not 0 < delta <= MAX_DELTA:
        raise ConfigError(f"huber delta must be a positive number up to {MAX_DELTA:g} (a delta "
                          f"above every residual is half the squared error: use --loss mse), "
                          f"got {shown}")
    return delta
