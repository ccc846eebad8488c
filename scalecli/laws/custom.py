"""Laws written as a formula in a YAML config, fitted exactly as built-in laws are.

```yaml
law:
  name: my-chinchilla
  formula: "E + A / N**alpha + B / D**beta"   # parsed from a whitelist (laws/expression.py)
  variables: {N: n_params, D: tokens}         # formula symbol -> column
  target: loss
  parameters:                                 # every free parameter: bounds (required)
    E:     {bounds: [1.0e-3, 10], init: [0.5, 1, 2]}
    alpha: {bounds: [0, 2], init: [0.1, 0.3, 0.5], log: false}
  fixed: {B: 410.7}                           # held; need not be listed under parameters
```

Every name in the formula is a variable (``variables``) or a parameter (``parameters`` or
``fixed``); parameters take theta's columns in order of first appearance in the formula.

Coordinates. A parameter is fitted as ``log(value)`` when ``log: true``, or by default when
its lower bound is > 0 and upper/lower >= 100: a scale spanning decades is searched in log
space, as Hoffmann et al. fit E, A and B (so a Chinchilla formula with positive bounds on E,
A, B is optimized in the built-in law's own log-sum-exp coordinates). ``log: false`` opts out.

Starts. Without ``init``, a parameter starts from 3 values at the quartiles of its bounds
(geometric quartiles for a log parameter); a parameter with an infinite bound needs ``init``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import ConfigError
from .base import Law, Parameter
from .expression import FUNCTIONS, Expression, parse
from .spec import LOG_RATIO, parameter_from_spec

__all__ = ["LOG_RATIO", "ExpressionLaw", "law_from_config", "law_from_fit"]


@dataclass
class ExpressionLaw(Law):
    """A law whose predictions come from a parsed :class:`Expression`: the whole start grid in
    one array pass, exact gradients by forward-mode differentiation, ``value`` with math only."""

    expression: Expression | None = field(default=None, repr=False, compare=False)
    positive: ClassVar[bool] = False  # a formula may take any variable; it says where it is finite

    def _bound(self):
        if self.expression is None:
            self.expression = parse(self.formula)
        return self.expression.bind(self.param_names, tuple(self.variables))

    def predict(self, theta, X):
        import numpy as np

        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        cols = [np.exp(theta[:, i : i + 1]) if p.log else theta[:, i : i + 1]
                for i, p in enumerate(self.parameters)]
        return self._bound().values(cols, X, theta.shape[0])

    def log_predict(self, theta, X):
        """log of the prediction; a prediction <= 0 gives NaN or -inf, which the objective
        scores as +inf (no start or step is ever taken there)."""
        import numpy as np

        f = self.predict(theta, X)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(f, out=f)

    def predict_jac(self, theta, X, log: bool = False):
        vals = [_exp(t) if p.log else float(t) for p, t in zip(self.parameters, _flat(theta))]
        scales = [v if p.log else 1.0 for p, v in zip(self.parameters, vals)]
        return self._bound().value_jac(vals, scales, X, log=log)

    def log_predict_jac(self, theta, X):
        return self.predict_jac(theta, X, log=True)

    def value(self, params, values):
        env = {**{k: float(v) for k, v in values.items()}, **params}
        missing = [n for n in self._bound().params + tuple(self.variables) if n not in env]
        if missing:
            raise ConfigError(f"law {self.name}: no value for {', '.join(missing)}")
        return self._bound().scalar(env)


def law_from_fit(name: str, formula: str, variables: dict[str, str],
                 params: dict[str, float]) -> ExpressionLaw:
    """The law of a saved fit of a custom law (its JSON's ``law``, ``formula``, ``variables``,
    ``params``), enough to predict with: each parameter starts at, and is bounded by nothing
    but, its fitted value."""
    expr = parse(formula)
    missing = [n for n in expr.names if n not in variables and n not in params]
    if missing:
        raise ConfigError(f"fit of {name}: no value for {', '.join(missing)} of {formula!r}")
    parameters = tuple(Parameter(n, (-math.inf, math.inf), (float(params[n]),))
                       for n in expr.names if n not in variables)
    return ExpressionLaw(name=name, formula=formula, variables=dict(variables),
                         parameters=parameters, expression=expr, source="a saved fit")


def _flat(theta) -> list[float]:
    import numpy as np

    return [float(t) for t in np.asarray(theta, dtype=float).ravel()]


def _exp(t: float) -> float:
    try:
        return math.exp(t)
    except OverflowError:
        return math.inf


def law_from_config(doc: dict, where: str = "config") -> ExpressionLaw:
    """An :class:`ExpressionLaw` from a config's ``law`` mapping (its keys already checked by
    :mod:`scalecli.config`; held values are checked by :meth:`Law.check_fixed`)."""
    name = doc.get("name")
    formula = doc.get("formula")
    if formula is None:
        raise ConfigError(f"{where}: law {name!r} is not built in: give its law.formula")
    if not isinstance(formula, str):
        raise ConfigError(f"{where}: law.formula must be a string (quote it)")
    try:
        expr = parse(formula)
    except ConfigError as exc:
        err = ConfigError(f"{where}: law.{exc}")
        err.caret = getattr(exc, "caret", None)
        raise err from None
    variables = doc.get("variables")
    if not isinstance(variables, dict) or not variables or not all(
            isinstance(v, str) for v in variables.values()):
        raise ConfigError(f"{where}: law.variables must map each formula variable to a column, "
                          "e.g. {N: n_params, D: tokens}")
    variables = {str(k): v for k, v in variables.items()}
    params_doc = doc.get("parameters") or {}
    fixed_doc = doc.get("fixed") or {}
    if not isinstance(params_doc, dict) or not isinstance(fixed_doc, dict):
        raise ConfigError(f"{where}: law.parameters and law.fixed must map parameter names to "
                          "settings and values")
    names = set(expr.names)
    for sym in variables:
        if sym not in names:
            raise ConfigError(f"{where}: law.variables: {sym!r} is not in the formula {formula!r}")
    for key, group in (("parameters", params_doc), ("fixed", fixed_doc)):
        for pname in group:
            if pname in variables or pname not in names:
                what = "a variable" if pname in variables else "not in the formula"
                raise ConfigError(f"{where}: law.{key}: {pname!r} is not a parameter of "
                                  f"{formula!r} ({what})")
    for sym in expr.names:
        if sym not in variables and sym not in params_doc and sym not in fixed_doc:
            hint = " (a misspelled function?)" if sym.lower() in FUNCTIONS else ""
            raise ConfigError(f"{where}: law.formula: {sym!r} is neither a variable "
                              f"(law.variables) nor a parameter (law.parameters or law.fixed)"
                              + hint)
    params = []
    for sym in expr.names:
        if sym in variables:
            continue
        if sym in params_doc:
            params.append(parameter_from_spec(sym, params_doc[sym], where))
        else:  # only fixed: unbounded, its one start is the fixed value
            v = fixed_doc[sym]
            start = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0
            params.append(Parameter(sym, (-math.inf, math.inf), (start,)))
    target = doc.get("target", "loss")
    return ExpressionLaw(name=str(name), formula=formula, variables=variables,
                         parameters=tuple(params), target=str(target), expression=expr,
                         source=f"custom law from {where}")
