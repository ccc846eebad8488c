"""The quantity a fit minimizes: a robust loss of residuals taken in a chosen space.

Residuals are ``t(prediction) - t(target)`` with ``t`` = log (default: Chinchilla, Epoch),
log1p (Caballero et al.'s BNSL code) or identity. The default Huber loss with delta 1e-3 on
log-residuals is Hoffmann et al.'s (2022) choice; its value is reported as the papers report
it, the SUM over points. ``mse`` and ``mae`` report the MEAN, as their names say.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

LOSSES = ("huber", "mse", "mae")
SPACES = ("log", "log1p", "linear")


@dataclass(frozen=True)
class Objective:
    loss: str = "huber"
    delta: float = 1e-3
    space: str = "log"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.space not in SPACES:
            raise ConfigError(f"unknown space {self.space!r}; choose one of {', '.join(SPACES)}")
        if not self.delta > 0:
            raise ConfigError(f"huber delta must be positive, got {self.delta}")

    def describe(self) -> str:
        d = f", delta={self.delta:g}" if self.loss == "huber" else ""
        return f"{self.loss}{d} on {self.space}-space residuals"

    def to_dict(self) -> dict:
        return {"loss": self.loss, "delta": self.delta, "space": self.space}

    # ---- transforms ------------------------------------------------------------------------
    def transform(self, y):
        """The target in residual space."""
        import numpy as np

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
        """Per-point loss; summed (huber) or averaged (mse, mae) along the last axis."""
        import numpy as np

        if self.loss == "huber":  # q·(|r| - q/2) with q = min(|r|, delta): one pass fewer
            a = np.abs(r)
            q = np.minimum(a, self.delta)
            a -= 0.5 * q
            a *= q
            return a
        return r * r if self.loss == "mse" else np.abs(r)

    def psi(self, r):
        """d rho / d r."""
        import numpy as np

        if self.loss == "huber":
            return np.clip(r, -self.delta, self.delta)
        return 2.0 * r if self.loss == "mse" else np.sign(r)

    def reduce(self, per_point, axis=-1):
        return per_point.sum(axis=axis) if self.loss == "huber" else per_point.mean(axis=axis)

    def values(self, law, theta, X, target):
        """Objective for every row of ``theta`` (``(S, P)`` -> ``(S,)``); NaN becomes +inf."""
        import numpy as np

        r = self.predicted(law, theta, X)
        r -= target[None, :]
        out = self.reduce(self.rho(r))
        return np.where(np.isfinite(out), out, np.inf)

    def value_grad(self, law, theta, X, target):
        """Objective and its gradient with respect to ``theta`` at one point."""
        import numpy as np

        g, J = self.predicted_jac(law, theta, X)
        r = g - target
        scale = 1.0 if self.loss == "huber" else 1.0 / r.size
        f = float(self.rho(r).sum() * scale)
        grad = (self.psi(r) @ J) * scale
        if not np.isfinite(f):
            return np.inf, np.zeros_like(grad)
        return f, grad
