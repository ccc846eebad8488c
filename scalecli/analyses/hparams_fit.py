"""Power laws of a hyper-parameter fitted by least squares in log space, and their bootstrap.

``y = coef · Π x_v^e_v`` is ``log y = log coef + Σ e_v·log x_v``: ordinary least squares, one
row per near-best run, closed form and deterministic (Step Law, Li et al. 2025, fits its
learning-rate and batch-size laws the same way). The bootstrap refits resamples of the rows:
by default whole (N, D) settings drawn with replacement (a setting's runs share their N and D,
so they are not independent evidence about the law), or single runs as Step Law draws them.
A resample whose settings cannot identify the law (too few distinct settings) is counted as
failed, never used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ConfigError, FitError

__all__ = ["ESTIMATES", "INTERVALS", "RESAMPLES", "LogLaw", "bootstrap_laws", "fit_log_law"]

INTERVALS = ("percentile", "normal")  # percentiles of the draws, or mean ± z·sd
ESTIMATES = ("mean", "fit")  # the law reported with --bootstrap: draws' mean, or the full fit
RESAMPLES = ("settings", "runs")


@dataclass
class LogLaw:
    """``name = coef · Π variable^exponent`` (natural units), with its fit's diagnostics and,
    when bootstrapped, its draws ``(B, 1 + k)`` of (log coef, exponents...)."""

    name: str
    variables: list[str]
    coef: float
    exponents: dict[str, float]
    r2: float | None
    points: int
    settings: int
    draws: object = None
    intervals: dict[str, list[float]] = field(default_factory=dict)
    se: dict[str, float] = field(default_factory=dict)

    @property
    def theta(self) -> list[float]:
        return [math.log(self.coef), *(self.exponents[v] for v in self.variables)]

    def __call__(self, values: dict[str, float]) -> float:
        return self.coef * math.prod(values[v] ** self.exponents[v] for v in self.variables)

    def formula(self) -> str:
        return f"{self.name} = coef·" + "·".join(f"{v}^{self.exponents[v]:.4g}"
                                                for v in self.variables)

    def to_dict(self) -> dict:
        out = {"coef": self.coef, "exponents": dict(self.exponents), "regressors":
               list(self.variables), "r2": self.r2, "points": self.points,
               "settings": self.settings}
        if self.intervals:
            out["intervals"] = {k: list(v) for k, v in self.intervals.items()}
            out["se"] = dict(self.se)
        return out


def fit_log_law(name: str, variables: list[str], logx, logy, settings: int, option: str
                ) -> LogLaw:
    """Least squares of ``logy`` on ``logx`` ``(n, k)`` (natural logs) with an intercept;
    FitError naming ``option`` when the rows cannot separate the variables."""
    import numpy as np

    theta = _solve(np.asarray(logx, float), np.asarray(logy, float))
    if theta is None:
        need = len(variables) + 1
        raise FitError(f"{option} {','.join(variables)}: the settings do not vary "
                       f"{' and '.join(variables)} independently (a law in {len(variables)} "
                       f"variable(s) needs at least {need} settings not on one line in log "
                       f"space; found {settings})")
    X = np.column_stack([np.ones(len(logy)), logx])
    resid = logy - X @ theta
    sst = float(np.sum((logy - np.mean(logy)) ** 2))
    # R² is undefined when the target does not vary (all optima at one lr): sst is then
    # rounding alone, and 1 - ssr/sst any number at all
    varies = sst > 1e-20 * max(1.0, float(np.sum(logy**2)))
    r2 = 1.0 - float(np.sum(resid**2)) / sst if varies else None
    return LogLaw(name, list(variables), float(np.exp(theta[0])),
                  {v: float(t) for v, t in zip(variables, theta[1:], strict=True)}, r2,
                  len(logy), settings)


def _solve(logx, logy):
    """The least-squares (intercept, slopes), or None for a rank-deficient design."""
    import numpy as np

    X = np.column_stack([np.ones(logy.shape[0]), logx])
    theta, _, rank, _ = np.linalg.lstsq(X, logy, rcond=None)
    return None if rank < X.shape[1] else theta


def check_bootstrap(resamples: int | None, ci: float, interval: str, estimate: str,
                    resample: str) -> None:
    """ConfigError for bootstrap options that cannot be meant (before any data is read)."""
    from ..fitting.bootstrap import check_options

    check_options(1 if resamples is None else resamples, ci)
    for value, allowed, option in ((interval, INTERVALS, "--interval"),
                                   (estimate, ESTIMATES, "--estimate"),
                                   (resample, RESAMPLES, "--resample")):
        if value not in allowed:
            raise ConfigError(f"{option} {value!r}: use {' or '.join(allowed)}")


def bootstrap_laws(laws: list[tuple[LogLaw, object, object]], setting_of, resamples: int,
                   seed: int, resample: str = "settings", progress=None) -> int:
    """Fill each law's ``draws`` over ``resamples`` resamples of the rows (``setting_of``:
    each row's setting index); ``laws`` holds (law, logx, logy) over the same rows. The same
    rows are drawn for every law in a resample. Returns the number of failed resamples."""
    import numpy as np

    rng = np.random.default_rng(seed)
    setting_of = np.asarray(setting_of)
    members = [np.flatnonzero(setting_of == s) for s in range(int(setting_of.max()) + 1)]
    n_rows = setting_of.size
    draws = [np.full((resamples, 1 + len(law.variables)), np.nan) for law, _, _ in laws]
    failed = 0
    for r in range(resamples):
        if resample == "settings":
            picks = rng.integers(0, len(members), size=len(members))
            rows = np.concatenate([members[s] for s in picks])
        else:
            rows = rng.integers(0, n_rows, size=n_rows)
        thetas = [_solve(np.asarray(x)[rows], np.asarray(y)[rows]) for _, x, y in laws]
        if any(t is None for t in thetas):
            failed += 1
        else:
            for d, t in zip(draws, thetas, strict=True):
                d[r] = t
        if progress is not None:
            progress((r + 1) / resamples)
    for (law, _, _), d in zip(laws, draws, strict=True):
        law.draws = d
    return failed


def summarize(law: LogLaw, ci: float, interval: str, estimate: str) -> None:
    """The law's intervals (coef and each exponent) and bootstrap standard deviations from its
    draws; with ``estimate`` ``mean``, its coefficients become the draws' mean (the coef is
    exp of the mean log coef, as Step Law reports theirs)."""
    import numpy as np

    d = np.asarray(law.draws, float)
    d = d[np.all(np.isfinite(d), axis=1)]
    if d.shape[0] < 2:
        return
    names = ["coef", *law.variables]
    mean, sd = d.mean(axis=0), d.std(axis=0, ddof=1)
    lo, hi = _bounds(d, ci, interval)
    for k, name in enumerate(names):
        low, high = (math.exp(lo[k]), math.exp(hi[k])) if k == 0 else (lo[k], hi[k])
        law.intervals[name] = [float(low), float(high)]
        law.se[name] = float(sd[k])  # for coef: the sd of log coef
    if estimate == "mean":
        law.coef = float(math.exp(mean[0]))
        law.exponents = {v: float(mean[k + 1]) for k, v in enumerate(law.variables)}


def predict_interval(law: LogLaw, values: dict[str, float], ci: float, interval: str
                     ) -> list[float] | None:
    """The interval of the law's prediction at ``values`` over its draws (None unfitted)."""
    import numpy as np

    if law.draws is None:
        return None
    d = np.asarray(law.draws, float)
    d = d[np.all(np.isfinite(d), axis=1)]
    if d.shape[0] < 2:
        return None
    logx = np.array([1.0, *(math.log(values[v]) for v in law.variables)])
    lo, hi = _bounds((d @ logx)[:, None], ci, interval)
    return [float(math.exp(lo[0])), float(math.exp(hi[0]))]


def _bounds(d, ci: float, interval: str):
    """Per column of draws ``d``: percentile bounds, or the mean ± z·sd (normal)."""
    import numpy as np

    if interval == "percentile":
        return np.percentile(d, [50 * (1 - ci), 50 * (1 + ci)], axis=0)
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + ci / 2)
    mean, sd = d.mean(axis=0), d.std(axis=0, ddof=1)
    return mean - z * sd, mean + z * sd
