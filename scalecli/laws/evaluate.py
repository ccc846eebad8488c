"""Evaluating a parsed formula (:mod:`scalecli.laws.expression`) three ways.

:class:`Bound` is a formula tree with its parameters and variables named. ``values`` scores
every parameter set at once, ``(S, M)`` (data-only subtrees cached per data set; ``var ** expr``
as ``exp(expr * log var)`` with ``log var`` cached; operations written into temporaries they
own), so a start grid costs what a hand-written law costs; ``value_jac`` gives the exact
Jacobian at one parameter set by forward-mode differentiation (sparse derivatives per
parameter; min/max differentiate the branch they select), never finite differences; ``scalar``
uses :mod:`math` only, so ``predict`` needs no NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class Bound:
    """A formula with its parameters (theta's column order) and variables fixed; see the module
    docstring for the three evaluators."""

    def __init__(self, tree, params: tuple[str, ...], variables: tuple[str, ...]):
        self.tree, self.params, self.variables = tree, params, variables
        self._pidx = {name: i for i, name in enumerate(params)}
        self._slot: dict[int, int] = {}  # id(node) -> cached value of a data-only subtree
        self._log: dict[int, int] = {}  # id(pow node) -> cached log of its data-only base
        self._nodes: list[tuple] = []
        self._mark(tree)
        self._key: tuple = ()
        self._data: list = []

    def _mark(self, node) -> bool:
        """Give every maximal subtree free of parameters a cache slot; True if ``node`` depends
        on a parameter."""
        deps = [self._mark(k) for k in node.kids]
        dep = any(deps) or (node.kind == "name" and node.value in self._pidx)
        if dep:
            for k, d in zip(node.kids, deps):
                if not d:
                    self._slot[id(k)] = self._add("value", k)
            if node.kind == "pow" and not deps[0]:
                self._log[id(node)] = self._add("log", node.kids[0])
        elif node is self.tree:
            self._slot[id(node)] = self._add("value", node)
        return dep

    def _add(self, kind: str, node) -> int:
        self._nodes.append((kind, node))
        return len(self._nodes) - 1

    def data(self, X: dict) -> list:
        """The cached data-only values for ``X`` (recomputed when its arrays change)."""
        import numpy as np

        key = tuple(X[v] for v in self.variables)
        if len(key) != len(self._key) or any(a is not b for a, b in zip(key, self._key)):
            arrays = {v: np.asarray(X[v], dtype=float) for v in self.variables}
            values = []
            with np.errstate(all="ignore"):
                for kind, node in self._nodes:
                    v = _np_eval(node, arrays)
                    values.append(v if kind == "value" else np.log(v) if np.all(v > 0) else None)
            self._key, self._data = key, values
        return self._data

    def values(self, cols: Sequence, X: dict, S: int):
        """The formula for ``S`` parameter sets: ``cols[i]`` is parameter i as an ``(S, 1)``
        column (natural units); the result is a fresh ``(S, M)`` array."""
        import numpy as np

        data = self.data(X)
        M = len(next(iter(X.values()))) if X else 1
        with np.errstate(all="ignore"):
            v, owned = self._vec(self.tree, data, cols)
        if owned and v.shape == (S, M):
            return v
        out = np.empty((S, M))
        out[...] = v
        return out

    def _vec(self, node, data: list, cols: Sequence):
        """``(value, owned)``: owned is a fresh array the caller may overwrite."""
        np = _np()
        if id(node) in self._slot:
            return data[self._slot[id(node)]], False
        kind = node.kind
        if kind == "name":
            return cols[self._pidx[node.value]], False
        logb = data[self._log[id(node)]] if id(node) in self._log else None
        if logb is not None:  # base ** e = exp(e * log base), log base cached
            e, owned = self._vec(node.kids[1], data, cols)
            t = _apply(np.multiply, e, owned, logb, False)
            return np.exp(t, out=t), True
        args = [self._vec(k, data, cols) for k in node.kids]
        uf = getattr(np, _UFUNC[kind])
        a, owned = args[0]
        if len(args) == 1:
            return (uf(a, out=a) if owned else uf(a)), True
        for b, owned_b in args[1:]:
            a, owned = _apply(uf, a, owned, b, owned_b), True
        return a, owned

    def value_jac(self, vals: Sequence[float], scales: Sequence[float], X: dict,
                  log: bool = False):
        """``(f (M,), J (M, P))`` at one parameter set: ``vals`` in natural units, ``scales[i]``
        = d value_i / d theta_i (the chain rule to the fit's internal coordinates). ``log``:
        of log(f) instead (NaN where f <= 0)."""
        import numpy as np

        data = self.data(X)
        M = len(next(iter(X.values()))) if X else 1
        seeds = [{i: float(s)} for i, s in enumerate(scales)]
        f = np.empty(M)
        J = np.zeros((M, len(self.params)))
        with np.errstate(all="ignore"):
            v, d = self._jac(self.tree, data, [np.float64(x) for x in vals], seeds)
            f[...] = v
            for k, g in d.items():
                J[:, k] = g / f if log else g
            if log:
                np.log(f, out=f)
        return f, J

    def _jac(self, node, data: list, vals: list, seeds: list):
        """Forward mode: ``(value, derivative)``, the derivative a sparse dict parameter index
        -> d value / d theta (a scalar, or (M,) like the value); {} for none."""
        np = _np()
        if id(node) in self._slot:
            return data[self._slot[id(node)]], _NO_DERIVATIVE
        kind = node.kind
        if kind == "name":
            i = self._pidx[node.value]
            return vals[i], seeds[i]
        logb = data[self._log[id(node)]] if id(node) in self._log else None
        if logb is not None:
            e, de = self._jac(node.kids[1], data, vals, seeds)
            v = np.exp(e * logb)
            return v, _scale(de, v * logb)
        args = [self._jac(k, data, vals, seeds) for k in node.kids]
        a, da = args[0]
        if kind in ("min", "max"):
            for b, db in args[1:]:
                take = b < a if kind == "min" else b > a
                da = {k: np.where(take, db.get(k, 0.0), da.get(k, 0.0)) for k in {*da, *db}}
                a = np.where(take, b, a)
            return a, da
        if len(args) == 1:  # neg, exp, log, sqrt: f(a) and f'(a) from a and f(a)
            v = getattr(np, _UFUNC[kind])(a)
            return v, _scale(da, _SLOPE[kind](a, v)) if da else da
        b, db = args[1]
        if kind == "add":
            return a + b, _plus(da, db)
        if kind == "sub":
            return a - b, _plus(da, _scale(db, -1.0))
        if kind == "mul":
            return a * b, _plus(_scale(da, b), _scale(db, a))
        if kind == "div":
            inv = 1.0 / b
            v = a * inv
            return v, _plus(_scale(da, inv), _scale(db, -v * inv))
        v = np.power(a, b)  # pow
        d_base = _scale(da, b * np.power(a, b - 1.0)) if da else da
        return v, _plus(d_base, _scale(db, v * np.log(a)) if db else db)

    def scalar(self, env: dict[str, float]) -> float:
        """The formula at one point, with :mod:`math` only (``env``: name -> value)."""
        return float(_math_eval(self.tree, env))


_UFUNC = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "pow": "power",
          "neg": "negative", "exp": "exp", "log": "log", "sqrt": "sqrt", "min": "minimum",
          "max": "maximum"}


def _np():
    import numpy

    return numpy


def _apply(uf, a, owned_a, b, owned_b):
    """``uf(a, b)``, written into whichever operand is owned and already has the result's
    shape, so a chain of operations on ``(S, M)`` arrays allocates once."""
    np = _np()
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    if owned_a and a.shape == shape:
        return uf(a, b, out=a)
    if owned_b and b.shape == shape:
        return uf(a, b, out=b)
    return uf(a, b)


_NO_DERIVATIVE: dict = {}  # shared, never mutated
_SLOPE = {"neg": lambda a, v: -1.0, "exp": lambda a, v: v, "log": lambda a, v: 1.0 / a,
          "sqrt": lambda a, v: 0.5 / v}


def _scale(d: dict, x) -> dict:
    return {k: g * x for k, g in d.items()} if d else d


def _plus(da: dict, db: dict) -> dict:
    if not da or not db:
        return da or db
    out = dict(da)
    for k, g in db.items():
        out[k] = out[k] + g if k in out else g
    return out


def _np_eval(node, X: dict):
    """A data-only subtree with NumPy (numbers as float64, so 1/0 is inf, not an exception)."""
    np = _np()
    if node.kind == "num":
        return np.float64(node.value)
    if node.kind == "name":
        return X[node.value]
    args = [_np_eval(k, X) for k in node.kids]
    uf = getattr(np, _UFUNC[node.kind])
    out = args[0] if len(args) > 1 else uf(args[0])
    for a in args[1:]:
        out = uf(out, a)
    return out


_MATH = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
         "div": lambda x, y: x / y, "pow": math.pow, "neg": lambda x: -x, "exp": math.exp,
         "log": lambda x: math.log(x) if x != 0 else -math.inf, "sqrt": math.sqrt}


def _math_eval(node, env: dict) -> float:
    """One point with :mod:`math`; out-of-domain operations give NaN or inf as NumPy's do."""
    kind = node.kind
    if kind == "num":
        return node.value
    if kind == "name":
        return float(env[node.value])
    a = [_math_eval(k, env) for k in node.kids]
    if kind in ("min", "max"):
        return math.nan if any(map(math.isnan, a)) else (min if kind == "min" else max)(a)
    try:
        return _MATH[kind](*a)
    except ZeroDivisionError:  # x/0 as IEEE (and NumPy) define it
        if a[0] == 0 or math.isnan(a[0]):
            return math.nan
        return math.copysign(math.inf, a[0]) * math.copysign(1.0, a[1])
    except OverflowError:
        return math.inf
    except ValueError:  # 0 ** negative is inf; log/sqrt/pow outside their domain are nan
        return math.inf if kind == "pow" and a[0] == 0 else math.nan


def data_values(tree, arrays: dict):
    """A formula of data alone (no parameters) on NumPy arrays, ``arrays``: name -> array;
    out-of-domain operations give NaN or inf, never an exception."""
    np = _np()
    with np.errstate(all="ignore"):
        return np.asarray(_np_eval(tree, arrays), dtype=float)
