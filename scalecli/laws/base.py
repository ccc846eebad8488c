"""What a scaling law is to scalecli: data (formula, variables, parameters) plus a few functions.

A law predicts for many parameter sets at once (``theta`` is ``(S, P)``: S sets of the P
parameters, in the law's *internal* coordinates), so a whole start grid is one array operation.
Positive scale constants (E, A, B) are fitted as their logarithms, the log-sum-exp
parametrisation of Hoffmann et al. (2022): ``internal = log(value)``.

Scalar helpers (``value``, ``optimum``) use only :mod:`math`, so ``scalecli optimal`` and
``scalecli predict`` never import NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Parameter:
    """A free constant of a law: its bounds and start grid, both in natural units.

    ``log=True`` fits the parameter as ``log(value)`` (it must then be positive); its bounds
    and starts are still written in natural units.
    """

    name: str
    bounds: tuple[float, float]
    init: tuple[float, ...]
    log: bool = False
    description: str = ""

    def to_internal(self, value: float) -> float:
        if self.log:  # log(0) = -inf: a term held at 0 (E = 0) drops out of a log-sum-exp
            return math.log(value) if value > 0 else -math.inf
        return float(value)

    def to_natural(self, value: float) -> float:
        if self.log:
            return math.exp(value) if value < 709.0 else math.inf
        return float(value)

    def internal_bounds(self) -> tuple[float | None, float | None]:
        lo, hi = self.bounds
        if self.log:  # capped at e^700 so a runaway scale stays a float, never an overflow
            return (math.log(lo) if lo > 0 else None, math.log(hi) if math.isfinite(hi) else 700.0)
        return (lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None)


@dataclass
class Law:
    """A registered law. Subclasses implement :meth:`log_predict` (and its Jacobian) or
    :meth:`predict`; the fit engine only calls the ``*_space`` methods below.

    Attributes
    ----------
    name, formula, source:
        Registry name, the formula as text, and the paper it comes from.
    variables:
        Formula symbol -> default column of the runs frame, e.g. ``{"N": "n_params"}``.
    parameters:
        The law's constants in formula order.
    defaults, defaults_source:
        Published values and where they were published (used when no fit is given).
    """

    name: str
    formula: str
    variables: dict[str, str]
    parameters: tuple[Parameter, ...]
    source: str = ""
    target: str = "loss"  # what the law predicts: loss, accuracy, error, bleu, coverage, ...
    defaults: dict[str, float] = field(default_factory=dict)
    defaults_source: str = ""
    summary: str = ""  # a short form of a long formula, for tables
    fit_defaults: dict[str, Any] = field(default_factory=dict)  # the paper's objective, if not
    # the standard Huber(1e-3) on log residuals, e.g. {"loss": "mse", "space": "linear"}

    @property
    def symbol(self) -> str:
        """The left-hand side of the law's equation: L for a loss, acc for an accuracy..."""
        return _SYMBOLS.get(self.target, self.target)

    # ---- names ----------------------------------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name`` (KeyError if there is none)."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_internal(self, params: dict[str, float]) -> list[float]:
        return [p.to_internal(params[p.name]) for p in self.parameters]

    def to_natural(self, theta: Any) -> dict[str, float]:
        return {p.name: p.to_natural(float(v)) for p, v in zip(self.parameters, theta)}

    # ---- vectorized prediction (override one pair) ---------------------------------------
    def log_predict(self, theta: np.ndarray, X: dict[str, np.ndarray]) -> np.ndarray:
        """log of the prediction, ``(S, M)`` for ``theta`` of shape ``(S, P)``."""
        import numpy as np

        return np.log(self.predict(theta, X))

    def log_predict_jac(self, theta: np.ndarray, X: dict[str, np.ndarray]):
        """``(log prediction (M,), d log prediction / d theta (M, P))`` at one ``theta``."""
        f, J = self.predict_jac(theta, X)
        return _log(f), J / f[:, None]

    def predict(self, theta: np.ndarray, X: dict[str, np.ndarray]) -> np.ndarray:
        """The prediction, ``(S, M)`` for ``theta`` of shape ``(S, P)``."""
        import numpy as np

        return np.exp(self.log_predict(theta, X))

    def predict_jac(self, theta: np.ndarray, X: dict[str, np.ndarray]):
        """``(prediction (M,), d prediction / d theta (M, P))`` at one ``theta``."""
        import numpy as np

        g, J = self.log_predict_jac(theta, X)
        f = np.exp(g)
        return f, J * f[:, None]

    # ---- scalar helpers (pure math; no NumPy) ---------------------------------------------
    def value(self, params: dict[str, float], values: dict[str, float]) -> float:
        """The law at one point, e.g. ``value(params, {"N": 7e9, "D": 1.4e12})``."""
        raise NotImplementedError

    def optimum(self, params: dict[str, float], flops: float) -> tuple[float, float] | None:
        """Compute-optimal ``(N, D)`` under ``C = 6·N·D`` in closed form, or None if none."""
        return None

    # Columns the law can compute from the runs when a log lacks them (kaplan-s: s_min), by
    # :meth:`derive` on the reduced points.
    derivable: ClassVar[tuple[str, ...]] = ()

    def derive(self, points, frames=None):
        """Points with the :attr:`derivable` columns added; the default adds none."""
        return points

    # ---- what the fitter needs to know (declared here, carried out by scalecli.fitting) ------
    positive: ClassVar[bool] = True  # the variables enter as logs: the fit refuses x <= 0
    # The law falls along every variable for any parameters inside their bounds (each variable
    # has its own decaying term): data that rise, or a variable with one value, cannot be fitted.
    falls: ClassVar[bool] = False
    # Where the default start grid works, by variable symbol and "y" (the target): data far
    # outside are scaled by powers of ten before the search (see :meth:`rescale`).
    spans: ClassVar[dict[str, tuple[float, float]]] = {}

    def search_plan(self, objective, fixed: dict[str, float]):
        """How to fit this law for ``objective`` (its ``loss`` and ``space``) with ``fixed``
        parameters held: a plan of :mod:`scalecli.laws.plan`. The default is the start grid."""
        from .plan import StartGrid

        return StartGrid()

    def scale_spans(self) -> dict[str, tuple[float, float]]:
        """:attr:`spans`, for laws whose spans depend on their parameters (BNSL's breaks)."""
        return dict(self.spans)

    def rescale(self, theta, scales: dict[str, float]):
        """The parameters for the original data of parameters ``theta`` (internal, ``(S, P)``)
        fitted to data scaled as ``X[v] / scales[v]`` and ``y / scales["y"]``: theta' with
        ``f(X; theta') = s_y · f(X / s; theta)`` exactly. None if the law cannot say (then its
        data are never scaled)."""

    def check_fixed(self, values, where: str = "fixed") -> dict[str, float]:
        """Values to hold parameters at, checked once for every caller (``--fix``, a config's
        ``fixed:``, :func:`~scalecli.fitting.fit_points`): each a parameter of this law, a
        finite number, inside the parameter's bounds. Returns them as floats; ConfigError
        (naming ``where``, the name and the bound) otherwise."""
        from ..errors import ConfigError
        from .checks import number, short

        if not hasattr(values, "items"):
            raise ConfigError(f"{where}: fixed values must map parameter names to numbers")
        out = {}
        for name, raw in values.items():
            if name not in self.param_names:
                raise ConfigError(f"{where}: {short(name)} is not a parameter of {self.name} "
                                  f"(its parameters: {', '.join(self.param_names)})")
            v = number(raw, str(name), where)
            if not math.isfinite(v):
                raise ConfigError(f"{where}: {name} = {v}: a held value must be a finite number")
            lo, hi = self.parameter(name).bounds
            if v < lo or v > hi:
                side, bound = ("lower", lo) if v < lo else ("upper", hi)
                raise ConfigError(f"{where}: {name} = {_exact(v)} lies beyond its {side} "
                                  f"bound {bound:g} ({name} lies in [{lo:g}, {hi:g}])")
            out[str(name)] = v
        return out


def _exact(v: float) -> str:
    """The shortest text that reads back as ``v`` (``-1``, ``10.0000001``): a value just past
    a bound must not print as the bound itself."""
    text = repr(float(v))
    return text.removesuffix(".0")


def _log(x):
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


_SYMBOLS = {"loss": "L", "accuracy": "acc", "error": "err", "bleu": "BLEU"}
