"""The exponents shared by approaches 1 and 2: N_opt = k_n·C^a and D_opt = k_d·C^b fitted by
least squares in log space, their standard errors, the allocations they predict, and the JSON
contract both approaches' results share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

__all__ = ["Exponents", "PowerFit", "fit_power", "predictions", "result_dict"]


@dataclass
class PowerFit:
    """log10 y = slope·log10 C + log10 coef, by (weighted) least squares, with standard errors."""

    slope: float
    slope_se: float | None
    coef: float
    log10_coef_se: float | None
    r2: float | None

    def __call__(self, c):
        return self.coef * c**self.slope


def fit_power(log_c, log_y, weights=None) -> PowerFit:
    """Weighted least-squares line in log10 space; standard errors need three or more points."""
    import numpy as np

    x, y = np.asarray(log_c, float), np.asarray(log_y, float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    X = np.column_stack([x, np.ones_like(x)])
    XtW = X.T * w
    cov = np.linalg.inv(XtW @ X)
    slope, icpt = cov @ (XtW @ y)
    resid = y - (slope * x + icpt)
    n = x.size
    ybar = np.average(y, weights=w)
    sst = float(np.sum(w * (y - ybar) ** 2))
    r2 = 1.0 - float(np.sum(w * resid**2)) / sst if sst > 0 else None
    se = (None, None)
    if n > 2:
        s2 = float(np.sum(w * resid**2)) / (n - 2)
        se = (math.sqrt(s2 * cov[0, 0]), math.sqrt(s2 * cov[1, 1]))
    return PowerFit(float(slope), se[0], float(10.0**icpt), se[1], r2)


class Exponents:
    """a and b of a result whose ``n_fit``/``d_fit`` are N_opt ∝ C^a and D_opt ∝ C^b."""

    n_fit: PowerFit | None
    d_fit: PowerFit | None

    @property
    def a(self) -> float | None:
        return self.n_fit.slope if self.n_fit else None

    @property
    def b(self) -> float | None:
        return self.d_fit.slope if self.d_fit else None


def result_dict(res, key: str, points: list[dict], dropped: list[dict]) -> dict:
    """The JSON contract shared by approaches 1 and 2 (and approach 3 beside them)."""
    nf, df = res.n_fit, res.d_fit
    out: dict[str, Any] = {
        "method": res.method,
        "a": nf.slope if nf else None, "a_se": nf.slope_se if nf else None,
        "k_n": nf.coef if nf else None, "log10_k_n_se": nf.log10_coef_se if nf else None,
        "b": df.slope if df else None, "b_se": df.slope_se if df else None,
        "k_d": df.coef if df else None, "log10_k_d_se": df.log10_coef_se if df else None,
        "r2_n": nf.r2 if nf else None, "r2_d": df.r2 if df else None,
        **res.options, key: points, "dropped": dropped, "warnings": list(res.warnings),
        "predictions": list(res.predictions),
    }
    if getattr(res, "error", None):
        out["error"] = res.error
    if getattr(res, "groups", None):
        out["groups"] = [{"value": v, **g.to_dict()} for v, g in res.groups.items()]
    return out


def predictions(n_fit: PowerFit | None, d_fit: PowerFit | None, flops) -> list[dict]:
    """N_opt and D_opt from the fitted power laws at each requested budget."""
    if n_fit is None or d_fit is None or flops is None:
        return []
    budgets = [flops] if isinstance(flops, (int, float)) else list(flops)
    out = []
    for c in budgets:
        c = float(c)
        if not (c > 0 and math.isfinite(c)):
            raise ConfigError(f"compute budget must be a positive number of FLOPs, got {c:g}")
        n, d = n_fit(c), d_fit(c)
        out.append({"flops": c, "n_opt": n, "tokens_opt": d, "tokens_per_param": d / n})
    return out
