"""Broken neural scaling law (BNSL) with K breaks, fitted as its authors fit it.

Caballero, Gupta, Rish, Krueger (2022), "Broken Neural Scaling Laws", arXiv:2210.14891, Eq. 1:

    y = a + b·x^(-c0) · Π_i (1 + (x/d_i)^(1/f_i))^(-c_i·f_i)

a is the limit, b the offset, c0 the first segment's log-log slope, and break i changes the slope
by c_i at x = d_i with sharpness f_i (smaller is sharper). A negative c_i turns the curve up, so
U-shaped and double-descent curves are in the family.

The default fit is the authors' reference code's: github.com/ethancaballero/
broken_neural_scaling_laws at commit ffa608f7ca7910b6f6bcbd39915491353ad5d600, file
``fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py`` (last changed in 5ce8747).
``scipy.optimize.brute(finish=None)`` of the mean squared log1p error over the grid
a ∈ {0, .1, .., .9}, b' ∈ {0, 2.5, .., 37.5}, c0, c1, f1 ∈ {0, .25, .5, .75}, d1' on b''s grid,
with b = 1.25^b' - 1 + 1e-8 and d1 = 1.25^d1' - 1 + 1e-8 (163,840 starts), then ``curve_fit``
(unbounded Levenberg-Marquardt) of log(1 + y) from the grid's best point. Their arithmetic reads
f = 0 as "no break" (x^(1/0) is inf or 0, then inf^(-0) = 1); so does this module.

What differs, and why: the grid is scored as arrays (products of per-break tables, by blocks);
LM is MINPACK's with the exact Jacobian; their grid has c ≥ 0 only, so it is scored a second
time with the breaks' c negated (a start for curves that turn up), and after their own best
start the best few starts of both are refined too, keeping the lowest objective; x is divided by
a power of ten when it lies outside the grid's span of break locations (see ``scale_spans``).
This module declares that procedure (:meth:`BNSL.search_plan`); :mod:`scalecli.fitting`
carries it out.
"""

from __future__ import annotations

import math
from typing import ClassVar

from ..errors import ConfigError
from .base import Law, Parameter
from .family import LawFamily
from .plan import GridLeastSquares, StartGrid

REFERENCE = ("ethancaballero/broken_neural_scaling_laws@ffa608f7ca7910b6f6bcbd39915491353ad5d600, "
             "fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py")
AUTHORS_OBJECTIVE = {"loss": "mse", "space": "log1p"}  # mean((log(1+pred) - log(1+y))^2)

# The authors' grid, value for value (1.25**np.mgrid[0:40:2.5] - 1 + 1e-8, NumPy's pow).
A_GRID = tuple(i * 0.1 for i in range(10))  # mgrid[0:1:.1]: 0.30000000000000004 etc.
SCALE_GRID = (1e-08, 0.7469281174217107, 2.0517578225, 4.331201509700045, 8.313225756154786,
              15.269535836721328, 27.42170944040401, 48.65068307494546, 85.73617380884035,
              150.52185994940876, 263.6977960269689, 461.40801984462144, 806.7935669563161,
              1410.1572871029607, 2464.1903288256617, 4305.510275562248)
QUARTER_GRID = (0.0, 0.25, 0.5, 0.75)
# Two or more breaks: the authors give no grid, and theirs would be 163,840·256^(K-1) starts.
# This one is coarser (a, b' and d' at twice the step) and lets a later break turn the curve up.
A_GRID_K = A_GRID[::2]
SCALE_GRID_K = SCALE_GRID[1::2]
SLOPE_GRID_K = (-0.5, 0.25, 1.0)  # three or more breaks: (-0.5, 1.0), f = 0.3 only
SHARP_GRID_K = (0.1, 0.5)

_INF = math.inf
MAX_BREAKS = 12  # 39 parameters: far past what any sweep identifies
_CHUNK = 2_000_000  # starts × points scored per block of the whole grid
_AUTHORS_NFEV = 5000  # their curve_fit allows 1e8: the authors' own start gets a longer leash


def _softplus(z):
    """log(1 + e^z) without overflow."""
    import numpy as np

    return np.logaddexp(0.0, z)


class BNSL(Law):
    """BNSL with K = (number of parameters - 3) / 3 breaks; parameters in natural units."""

    refine: ClassVar[int] = 8  # grid starts refined by LM (the authors refine 1: the best)

    @property
    def breaks(self) -> int:
        return (len(self.parameters) - 3) // 3

    # ---- the law --------------------------------------------------------------------------
    def predict(self, theta, X):
        """``a + b·exp(E)``, E = -c0·log x - Σ c_i·f_i·softplus(log(x/d_i)/f_i); ``(S, M)``."""
        import numpy as np

        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        logx = np.log(np.asarray(X["x"], dtype=float))[None, :]
        E = -theta[:, 2:3] * logx
        with np.errstate(all="ignore"):
            for i in range(3, theta.shape[1], 3):
                c, d, f = theta[:, i : i + 1], theta[:, i + 1 : i + 2], theta[:, i + 2 : i + 3]
                e = c * f * _softplus((logx - np.log(d)) / f)
                E -= np.where(f == 0, 0.0, e)  # the authors' IEEE reading: (1 + x^inf)^(-0) = 1
            return theta[:, 0:1] + theta[:, 1:2] * np.exp(E)

    def log_predict(self, theta, X):
        import numpy as np

        with np.errstate(all="ignore"):
            return np.log(self.predict(theta, X))

    def predict_jac(self, theta, X):
        """Exact Jacobian at one ``theta``: y = a + b·e^E, so dy/dθ = b·e^E·dE/dθ beyond a, b."""
        import numpy as np

        a, b, c0, *rest = (np.float64(v) for v in theta)  # IEEE division, as in predict
        logx = np.log(np.asarray(X["x"], dtype=float))
        E = -c0 * logx
        pieces = []
        with np.errstate(all="ignore"):
            for c, d, f in zip(rest[::3], rest[1::3], rest[2::3]):
                if f == 0:  # no break (see predict): constant in c, d and f
                    pieces.append(None)
                    continue
                z = (logx - np.log(d)) / f
                sp = _softplus(z)
                E -= c * f * sp
                pieces.append((c, d, f, z, sp))
            g = np.exp(E)
            bg = b * g
            cols = [np.ones_like(g), g, -logx * bg]
            for piece in pieces:
                if piece is None:
                    cols += [np.zeros_like(g)] * 3
                    continue
                c, d, f, z, sp = piece
                sig = np.exp(z - sp)  # sigmoid(z)
                w = np.abs(z)  # softplus(z) - z·sigmoid(z) = softplus(-w) + w·sigmoid(-w)
                spw = _softplus(-w)
                cols += [-f * sp * bg, (c / d) * sig * bg, -c * (spw + w * np.exp(-w - spw)) * bg]
        return a + bg, np.stack(cols, axis=1)

    def value(self, params, values):
        x = values["x"]
        y = params["b"] * x ** (-params["c0"])
        for i in range(1, self.breaks + 1):
            c, d, f = params[f"c{i}"], params[f"d{i}"], params[f"f{i}"]
            if f != 0:
                z = math.log(x / d) / f
                sp = z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))
                y *= math.exp(-c * f * sp)
        return params["a"] + y

    # ---- the fit (declared; scalecli.fitting carries it out) ------------------------------
    def search_plan(self, objective, fixed):
        """The authors' fit (grid, then LM) for their objective; any other objective goes to
        the generic start grid, each break's c also negated (as in the authors' grid search).
        An over-estimate penalty is not the authors' objective: the start grid too."""
        fixed = dict(fixed or {})
        names = self.param_names
        if (objective.loss, objective.space) != (AUTHORS_OBJECTIVE["loss"],
                                                 AUTHORS_OBJECTIVE["space"]) or not getattr(
                objective, "symmetric", True):
            return StartGrid(extra={p.name: tuple(-v for v in p.init if v > 0)
                                    for p in self.parameters[3:]
                                    if p.name[0] == "c" and min(p.init) >= 0})
        axes = tuple((float(fixed[p.name]),) if p.name in fixed else tuple(p.init)
                     for p in self.parameters)
        grids, labels = [axes], [""]
        flip = [3 + 3 * i for i in range(self.breaks)
                if names[3 + 3 * i] not in fixed and min(axes[3 + 3 * i]) >= 0]
        if flip and all(max(axes[i]) > 0 for i in flip):  # the same grid, turning up at breaks
            grids.append(tuple(tuple(-v for v in ax if v > 0) if i in flip else ax
                               for i, ax in enumerate(axes)))
            labels.append("with the breaks' c negated")
        return GridLeastSquares(grids=tuple(grids), score=self._grid_scores, labels=tuple(labels),
                                refine=self.refine, first_nfev=_AUTHORS_NFEV, nfev=1000)

    def scale_spans(self):
        """x is scaled when it leaves [1, the largest break location of the grid]: the grid
        places breaks in (0, 4.3e3], and x = FLOPs (1e18+) would leave every break outside
        the data. The authors' fit (1 <= x <= max d) is unchanged."""
        d_hi = max((v for i in range(1, self.breaks + 1) for v in self.parameter(f"d{i}").init),
                   default=_INF)
        return {"x": (1.0, max(d_hi, 10.0))}

    def rescale(self, theta, scales):
        """y(x; b, d) = y(x/s; b·s^-c0, d/s) exactly: b·s^c0 and d·s back in x's units."""
        import numpy as np

        s = scales.get("x", 1.0)
        out = np.array(theta, dtype=float)
        rows = out.reshape(-1, out.shape[-1])
        rows[:, 1] *= s ** rows[:, 2]
        rows[:, 4::3] *= s
        if scales.get("y", 1.0) != 1.0:  # y = s_y·(a + b·...): a and b scale with it
            rows[:, :2] *= scales["y"]
        return out

    def _grid_scores(self, axes, X, t, ix=None, weights=None):
        """Mean squared log1p error of the starts ``axes[p][ix[p]]`` (one index array per
        parameter, formula order), or with ``ix=None`` of the whole grid in C order, as
        ``scipy.brute`` enumerates it. Built from tables: (b, c0) pairs, (c, d, f) per break.
        ``weights`` (one per point) weight the squared errors."""
        import numpy as np

        root = None if weights is None else np.sqrt(np.asarray(weights, dtype=float))

        logu = np.log(np.asarray(X["x"], dtype=float))[None, :]
        vals = [np.asarray(v, float) for v in axes]
        size = [v.size for v in vals]
        bb, cc = np.meshgrid(vals[1], vals[2], indexing="ij")
        tables = [bb.reshape(-1, 1) * np.exp(-cc.reshape(-1, 1) * logu)]
        for i in range(3, len(vals), 3):
            c, d, f = (v.reshape(-1, 1) for v in np.meshgrid(*vals[i : i + 3], indexing="ij"))
            with np.errstate(all="ignore"):
                e = c * f * _softplus((logu - np.log(d)) / f)
            tables.append(np.exp(-np.where(f == 0, 0.0, e)))
        if ix is None:
            return _product_scores(vals[0], tables, t, root)
        T = tables[0][ix[1] * size[2] + ix[2]]
        for j, i in enumerate(range(3, len(vals), 3), start=1):
            T *= tables[j][(ix[i] * size[i + 1] + ix[i + 1]) * size[i + 2] + ix[i + 2]]
        with np.errstate(all="ignore"):
            T += vals[0][ix[0]][:, None]
            np.log1p(T, out=T)
            T -= t
            if root is not None:
                T *= root
            scores = np.einsum("ij,ij->i", T, T) / T.shape[1]
        scores[~np.isfinite(scores)] = np.inf
        return scores


def _product_scores(a_vals, tables, t, root=None):
    """Scores of every (a, table rows...) combination in C order: each product of table rows
    is formed once and reused for every a (by blocks of _CHUNK elements); ``root``: the square
    roots of the points' weights, if any."""
    import numpy as np

    M = t.size
    sizes = [len(tb) for tb in tables]
    n_mult = math.prod(sizes)
    scores = np.empty((a_vals.size, n_mult))
    step = max(1, _CHUNK // M)
    buf = np.empty((min(step, n_mult), M))
    for s0 in range(0, n_mult, step):
        idx = np.unravel_index(np.arange(s0, min(s0 + step, n_mult)), sizes)
        T = tables[0][idx[0]]
        for tb, ix in zip(tables[1:], idx[1:]):
            T *= tb[ix]
        out = buf[: len(T)]
        with np.errstate(all="ignore"):
            for k, a in enumerate(a_vals):
                np.add(T, a, out=out)
                np.log1p(out, out=out)
                out -= t
                if root is not None:
                    out *= root
                scores[k, s0 : s0 + len(T)] = np.einsum("ij,ij->i", out, out) / M
    scores = scores.ravel()
    scores[~np.isfinite(scores)] = np.inf
    return scores


def bnsl_law(breaks: int = 1) -> BNSL:
    """The BNSL with ``breaks`` breaks: ``bnsl`` for one, ``bnsl-K`` for K."""
    if isinstance(breaks, bool) or not isinstance(breaks, int) or not 1 <= breaks <= MAX_BREAKS:
        shown = str(breaks) if len(str(breaks)) < 20 else f"{str(breaks)[:16]}..."
        raise ConfigError(f"a BNSL has 1 to {MAX_BREAKS} breaks, not {shown}")
    one = breaks == 1
    a, sc = (A_GRID, SCALE_GRID) if one else (A_GRID_K, SCALE_GRID_K)
    c_grid, f_grid = (QUARTER_GRID, QUARTER_GRID) if one else (SLOPE_GRID_K, SHARP_GRID_K)
    if breaks >= 3:
        c_grid, f_grid = SLOPE_GRID_K[::2], (0.3,)
    params = [
        Parameter("a", (0.0, _INF), a, description="limit as x -> inf"),
        Parameter("b", (0.0, _INF), sc, description="offset"),
        Parameter("c0", (-10.0, 10.0), QUARTER_GRID, description="slope of the first segment"),
    ]
    for i in range(1, breaks + 1):
        params += [
            Parameter(f"c{i}", (-10.0, 10.0), c_grid, description=f"change of slope at break {i}"),
            Parameter(f"d{i}", (0.0, _INF), sc, description=f"x at break {i}"),
            Parameter(f"f{i}", (0.0, 10.0), f_grid,
                      description=f"sharpness of break {i} (smaller is sharper)"),
        ]
    product = " * ".join(f"(1 + (x/d{i})**(1/f{i}))**(-c{i}*f{i})" for i in range(1, breaks + 1))
    return BNSL(
        name="bnsl" if one else f"bnsl-{breaks}",
        formula=f"a + b * x**(-c0) * {product}",
        variables={"x": "flops"},
        parameters=tuple(params),
        source="Caballero et al. 2022, arXiv:2210.14891, Eq. 1; fitted as in the authors' code",
        fit_defaults=dict(AUTHORS_OBJECTIVE),
    )


BNSL_1 = bnsl_law(1)


def _member(breaks: int = 1) -> BNSL:
    return BNSL_1 if breaks == 1 else bnsl_law(breaks)


FAMILY = LawFamily(name="bnsl", make=_member, option="breaks",
                   summary="BNSL with K breaks: bnsl (one), bnsl-K or get_law('bnsl', breaks=K)")


def register_laws(register):
    register(FAMILY)
