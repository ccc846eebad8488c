"""Residuals of a fit, one per run, with the runs that lie far from the law flagged.

A residual is taken in the fit's own residual space (log by default: ``log observed - log
predicted``), the space its objective weighed the runs in, so what it shows is what the fit
saw. A run is flagged when its residual lies more than 3 robust standard deviations from the
median residual (Leys et al. 2013: the median absolute deviation, MAD, × 1.4826 estimates the
standard deviation, and a few wild runs cannot inflate it the way they inflate an ordinary
one). Two corrections keep clean sweeps from being flagged (measured on 30-run sweeps drawn
from a known law, 40 of them: the plain rule flags 0.9 runs per fit under the default Huber
objective, 0.3 under mse, against 0.08 for 3 standard deviations of Gaussian noise; with both
corrections 0.25 and 0.05): the MAD leaves out the p smallest deviations, since a fit with p free
parameters passes (nearly) through p runs, and is multiplied by Rousseeuw and Leroy's (1987)
small-sample factor 1 + 5 / (n - p).

Everything is computed from the fit's saved information (law, parameters, objective space)
and the points, so a fit read back from JSON gives the same residuals as the fit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..fitting import FitResult

K_MAD = 3.0  # flag beyond this many robust standard deviations
MAD_TO_STD = 1.4826  # the MAD of a normal sample times this estimates its standard deviation
FLOOR = 1e-6  # relative: residuals this small are rounding, never an outlier


@dataclass
class Residuals:
    """One row per run (``rows``: run, the law's variables, C, observed, predicted, residual,
    outlier) and how outliers were judged."""

    rows: list[dict[str, Any]]
    names: list[str]  # the variables' keys in each row (N, D, or a column name)
    space: str  # the residual space: log, log1p or linear
    median: float
    threshold: float  # |residual - median| beyond this is an outlier
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def outliers(self) -> list[str]:
        return [r["run"] for r in self.rows if r["outlier"]]

    def to_dict(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]


def residuals(result: FitResult, frame) -> Residuals:
    """The residuals of ``result`` at the points ``frame`` (polars; the law's columns and
    ``y``, as :mod:`scalecli.reduce` makes them)."""
    import numpy as np

    from ..fitting import Objective
    from ..fitting.seeds import labels

    law = result.law_object()
    fit = result.fit or {}
    objective = Objective(fit.get("loss", "huber"), fit.get("delta", 1e-3),
                          fit.get("space", "log"))
    theta = np.asarray([law.to_internal(result.params)], dtype=float)
    X = {sym: frame[col].cast(float).to_numpy() for sym, col in law.variables.items()}
    y = frame["y"].cast(float).to_numpy()
    with np.errstate(all="ignore"):
        predicted = law.predict(theta, X)[0]
        r = objective.transform(y) - objective.predicted(law, theta, X)[0]
    finite = np.isfinite(r)
    scale = float(np.median(np.abs(objective.transform(y)[finite]))) if finite.any() else 1.0
    n_free = len(law.parameters) - len(result.fixed or {})
    center, threshold = robust_band(r[finite], n_free, scale)
    outlier = finite & (np.abs(r - center) > threshold)
    names = labels(law.variables)
    columns = {"run": _names(frame), **dict(zip(names, X.values())), "C": _compute(frame),
               "observed": y, "predicted": predicted, "residual": r, "outlier": outlier}
    rows = [dict(zip(columns, values)) for values in zip(*(_plain(v) for v in columns.values()))]
    out = Residuals(rows=rows, names=names, space=objective.space, median=center,
                    threshold=threshold)
    out.notes.append(_note(out, int(finite.size)))
    return out


def attach(result: FitResult, frame) -> FitResult:
    """``result`` with its residuals at ``frame``'s points as rows (``result.residuals``, the
    fit JSON's ``residuals``) and their note among its notes."""
    res = residuals(result, frame)
    result.residuals = res.to_dict()
    result.notes = [*result.notes, *res.notes]
    result.warnings = [*result.warnings, *res.warnings]
    return result


def robust_band(r, n_free: int = 0, scale: float = 1.0) -> tuple[float, float]:
    """``(median, threshold)`` of residuals ``r`` of a fit with ``n_free`` free parameters: a
    residual further than ``threshold`` from the median is an outlier (see the module's text).
    The threshold is at least :data:`FLOOR` × max(``scale``, 1) (the size of the target in the
    fit's space), so a fit with no noise flags no run for its rounding."""
    import numpy as np

    r = np.asarray(r, dtype=float)
    if not r.size:
        return float("nan"), float("nan")
    center = float(np.median(r))
    k = max(0, min(int(n_free), r.size - 1))
    deviations = np.sort(np.abs(r - center))[k:]
    sd = MAD_TO_STD * float(np.median(deviations)) * (1.0 + 5.0 / max(r.size - k, 1))
    return center, max(K_MAD * sd, FLOOR * max(abs(scale), 1.0))


def _note(res: Residuals, n: int) -> str:
    from ..numbers import fmt

    flagged = res.outliers
    head = (f"residuals in {res.space} space (observed - predicted): {len(flagged)} of {n} runs "
            f"lie more than {fmt(res.threshold)} ({K_MAD:g} robust standard deviations) from "
            f"the median residual ({fmt(res.median)})")
    if not flagged:
        return head
    more = f" and {len(flagged) - 5} more" if len(flagged) > 5 else ""
    return f"{head}: {', '.join(map(str, flagged[:5]))}{more}"


def _names(frame):
    from .. import schema as S

    col = S.NAME if S.NAME in frame.columns else S.RUN_ID
    if col not in frame.columns:
        return [f"point {i}" for i in range(frame.height)]
    return frame[col].cast(str).to_list()


def _compute(frame):
    """Each point's compute C: the flops column where it is a positive number, else 6·N·D;
    None where neither is known."""
    import numpy as np

    from .. import schema as S

    n = frame.height
    c = frame[S.C].cast(float).to_numpy() if S.C in frame.columns else np.full(n, np.nan)
    if S.N in frame.columns and S.D in frame.columns:
        six_nd = 6.0 * frame[S.N].cast(float).to_numpy() * frame[S.D].cast(float).to_numpy()
        with np.errstate(invalid="ignore"):
            c = np.where(np.isfinite(c) & (c > 0), c, six_nd)
    return c


def _plain(values):
    """A column as Python values for JSON: floats (None where not finite), bools, texts."""
    import numpy as np

    if isinstance(values, list):
        return values
    arr = np.asarray(values)
    if arr.dtype == bool:
        return [bool(v) for v in arr]
    return [float(v) if np.isfinite(v) else None for v in arr.astype(float)]
