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

What differs, and why: the grid is scored as arrays (products of per-break tables, chunked);
LM is MINPACK's with the exact Jacobian; their grid has c ≥ 0 only, so it is scored a second
time with the breaks' c negated (a start for curves that turn up), and after their own best
start the best few starts of both are refined too, keeping the lowest objective; x is divided by
a power of ten when it lies outside the grid's span of break locations (see ``BNSL._scale``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import ClassVar

from ..errors import FitError
from ..fitting.objective import Objective
from .base import Law, Parameter
from .registry import register

REFERENCE = ("ethancaballero/broken_neural_scaling_laws@ffa608f7ca7910b6f6bcbd39915491353ad5d600, "
             "fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py")
AUTHORS_OBJECTIVE = Objective("mse", space="log1p")  # mean((log(1+pred) - log(1+y))^2)

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
_CHUNK = 2_000_000  # starts × points scored per block
_LM = {"method": "lm", "x_scale": "jac", "ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15,
       "max_nfev": 1000}
_AUTHORS_NFEV = 5000  # their curve_fit allows 1e8: the authors' own start gets a longer leash


def _softplus(z):
    """log(1 + e^z) without overflow."""
    import numpy as np

    return np.logaddexp(0.0, z)


class BNSL(Law):
    """BNSL with K = (number of parameters - 3) / 3 breaks; parameters in natural units."""

    default_objective: ClassVar[Objective] = AUTHORS_OBJECTIVE
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

    # ---- the fit --------------------------------------------------------------------------
    def search(self, X, y, objective, fixed, seed: int = 0):
        """The authors' fit (grid, then LM) for their objective; any other objective goes to
        the generic multi-start fit, with these parameters' bounds and start grid (each break's
        c also negated). Both run on x/s (see :meth:`_scale`)."""
        import numpy as np

        fixed = dict(fixed or {})
        x = np.asarray(X["x"], dtype=float)
        if not (np.all(x > 0) and np.all(np.isfinite(x))):
            raise FitError(f"{self.name}: x must be positive and finite (it enters as log x)")
        s = self._scale(x, fixed)
        if (objective.loss, objective.space) == ("mse", "log1p"):
            opt = self._search_authors(x / s, np.asarray(y, dtype=float), fixed)
        else:  # the generic engine, its grid also turning up at breaks (as in the authors')
            from ..fitting.multistart import fit_multistart

            signed = tuple(dataclasses.replace(p, init=p.init + tuple(-v for v in p.init if v > 0))
                           if p.name[0] == "c" and p.name != "c0" and min(p.init) >= 0 else p
                           for p in self.parameters)
            law = dataclasses.replace(self, parameters=signed)
            opt = fit_multistart(law, {"x": x / s}, y, objective, fixed, seed=seed)
        if s != 1:
            opt.theta[1] *= s ** opt.theta[2]  # back to x's units: b·s^c0, d·s
            for i in range(4, len(opt.theta), 3):
                opt.theta[i] *= s
            opt.message += f" (x scaled by {s:g} for the grid and the refinement)"
        return opt

    def _scale(self, x, fixed) -> float:
        """A power of ten s so that the grid's break locations cover x/s.

        The grid places breaks in (0, 4.3e3]; x = FLOPs (1e18+) would leave every break
        outside the data. y(x; b, d) = y(x/s; b·s^-c0, d/s) exactly, so the fit runs on x/s and
        the result is mapped back. s = 1 (the authors' fit, unchanged) when 1 <= x <= max d.
        """
        import numpy as np

        d_hi = max((v for i in range(1, self.breaks + 1) for v in self.parameter(f"d{i}").init),
                   default=_INF)
        if (x.min() >= 1.0 and x.max() <= d_hi) or any(k == "b" or k[0] == "d" for k in fixed):
            return 1.0
        return 10.0 ** round(float(np.mean(np.log10(x))) - 0.5 * math.log10(max(d_hi, 10.0)))

    def _grid_scores(self, axes, u, t):
        """Mean squared log1p error of every start of the Cartesian grid ``axes`` (one tuple
        of values per parameter, formula order), in the grid's C order, as ``scipy.brute``."""
        import numpy as np

        M = u.size
        logu = np.log(u)[None, :]
        tables = []  # per factor: (rows, M); rows enumerate its parameters' values in C order
        b, c0 = (np.asarray(v, float) for v in axes[1:3])
        bb, cc = np.meshgrid(b, c0, indexing="ij")
        tables.append(bb.reshape(-1, 1) * np.exp(-cc.reshape(-1, 1) * logu))
        for i in range(self.breaks):
            c, d, f = np.meshgrid(*(np.asarray(v, float) for v in axes[3 + 3 * i : 6 + 3 * i]),
                                  indexing="ij")
            c, d, f = (v.reshape(-1, 1) for v in (c, d, f))
            with np.errstate(all="ignore"):
                e = c * f * _softplus((logu - np.log(d)) / f)
            tables.append(np.exp(-np.where(f == 0, 0.0, e)))
        sizes = [len(tb) for tb in tables]
        n_mult = math.prod(sizes)
        a_vals = np.asarray(axes[0], float)
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
                    scores[k, s0 : s0 + len(T)] = np.einsum("ij,ij->i", out, out) / M
        scores = scores.ravel()
        scores[~np.isfinite(scores)] = np.inf
        return scores

    def _search_authors(self, u, y, fixed):
        """scipy.brute over the grid (plus its mirror), then LM from the best starts."""
        import numpy as np
        from scipy.optimize import least_squares

        from ..fitting.multistart import Optimum

        if not np.all(y > -1):
            raise FitError(f"{self.name}: the authors' objective is on log(1 + y): y must be > -1")
        t = np.log1p(y)
        names = self.param_names
        axes = [(fixed[p.name],) if p.name in fixed else p.init for p in self.parameters]
        grids = [axes]
        flip = [3 + 3 * i for i in range(self.breaks)
                if names[3 + 3 * i] not in fixed and min(axes[3 + 3 * i]) >= 0]
        if flip and all(max(axes[i]) > 0 for i in flip):  # the same grid, turning up at breaks
            grids.append([tuple(-v for v in ax if v > 0) if i in flip else ax
                          for i, ax in enumerate(axes)])
        parts = [self._grid_scores(g, u, t) for g in grids]
        scores = np.concatenate(parts)
        if not np.isfinite(scores).any():
            raise FitError(f"{self.name}: no start of the grid is finite on this data")
        free = [i for i, n in enumerate(names) if n not in fixed]
        offsets = np.cumsum([0] + [len(p) for p in parts])

        def start_at(k):
            g = int(np.searchsorted(offsets, k, side="right")) - 1
            ix = np.unravel_index(k - offsets[g], [len(v) for v in grids[g]])
            return np.array([grids[g][i][j] for i, j in enumerate(ix)], dtype=float)

        def full(v):
            theta = np.array([axes[i][0] for i in range(len(names))], dtype=float)
            theta[free] = v
            return theta

        def resid(v):
            with np.errstate(all="ignore"):
                r = np.log1p(self.predict(full(v)[None, :], {"x": u})[0]) - t
            return np.where(np.isfinite(r), r, 1e10)

        def jac(v):
            f, J = self.predict_jac(full(v), {"x": u})
            J = J[:, free] / (1.0 + f)[:, None]
            return np.where(np.isfinite(J), J, 0.0)

        # The authors' start (scipy.brute's argmin over their grid: the first lowest, C order)
        # is refined first, then the lowest starts of all grids.
        order = np.argsort(scores, kind="stable")
        first = int(np.argmin(parts[0]))
        best, best_f, n_eval, seen, history, stale = None, np.inf, scores.size, set(), [], 0

        def agree(h):
            return abs(h - best_f) <= 1e-6 * best_f + 1e-24

        for k in itertools.chain([first], order):
            if len(history) >= self.refine or not np.isfinite(scores[k]):
                break
            if float(scores[k]) in seen:  # an equal score: the same curve (e.g. f = 0 rows)
                continue
            seen.add(float(scores[k]))
            start = start_at(k)
            res = least_squares(resid, start[free], jac=jac,
                                **{**_LM, "max_nfev": _AUTHORS_NFEV if k == first else 1000})
            n_eval += int(res.nfev)
            f = float(np.mean(resid(res.x) ** 2))
            history.append(f)
            stale = 0 if f < best_f * (1 - 1e-9) else stale + 1
            if f < best_f:
                best, best_f = res, f
            if sum(map(agree, history)) >= 3 or stale >= 3:
                break  # three agree, or three in a row found nothing better: the rest won't
        if best is None:
            raise FitError(f"{self.name}: Levenberg-Marquardt found no finite fit")
        theta = full(best.x)
        extra = f" plus {parts[1].size} with the breaks' c negated" if len(parts) > 1 else ""
        return Optimum(
            theta=[float(v) for v in theta], objective=best_f,
            converged=bool(best.status > 0 and np.isfinite(best_f)),
            message=f"{best.message} (grid of {parts[0].size} starts{extra}; "
                    f"Levenberg-Marquardt from the best {len(history)})",
            n_starts=int(scores.size), n_refined=len(history), n_evaluations=n_eval,
            grid_best=float(scores[order[0]]), agreeing=sum(map(agree, history)),
            history=history,
        )


def bnsl_law(breaks: int = 1) -> BNSL:
    """The BNSL with ``breaks`` breaks: ``bnsl`` for one, ``bnsl-K`` for K."""
    if not isinstance(breaks, int) or breaks < 1:
        raise ValueError(f"breaks must be a positive integer, got {breaks!r}")
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
        fit_defaults=AUTHORS_OBJECTIVE.to_dict(),
    )


BNSL_1 = register(bnsl_law(1))
