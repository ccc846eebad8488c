"""Seeds: several runs of one (N, D), and what their spread says about a fit.

Runs are grouped by the values of the law's variables and the sweep's N and D (N and D for
Chinchilla), each rounded to 4 significant digits so that a token count logged a batch apart
still groups. Where a group has two or more runs, their spread is seed noise, which no law can
explain.

- :func:`weighted` (``--weights seed-variance``): each point weighted by the inverse of its
  group's variance of the target in the fit's residual space, moderated (:func:`seed_weights`;
  a group of one run takes the common value), so quiet configurations count more than noisy
  ones.
- :func:`seed_report`: the ``seeds`` object of a fit (groups, runs, pooled standard deviation of
  the target and of its log) and a warning when the fit's residuals are smaller than the seed
  noise: the law's free parameters absorb noise ("fitting the noise").

The warning compares, per configuration, the residual the fit leaves (the location of its
runs' residuals under the fit's loss: their mean for mse, their median for a small Huber delta)
scaled to one run's noise (times sqrt(runs)), with what seed noise alone leaves a law that is
exactly right. Under a right law with p free parameters and G configurations the first is about
sqrt(1 - p/G) of the second; the warning fires at G <= p, or below half of it even with the
seed std at the low end of its 95% interval.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, FitError

WEIGHTS = ("none", "seed-variance")
WEIGHTED = {"seed-variance": ", weighted by inverse seed variance",
            "given": ", weighted by the given weights"}  # how a fit's objective says so
SIGNIFICANT = 4  # digits of N, D (any variable) that make two runs one configuration
VARIANCE_FLOOR = 1e-3  # a group's variance counts as at least this fraction of the pooled one
# (its log stays finite when a group's seeds happen to agree to the digit)
MARGIN = 0.5  # residuals under half the seed noise are "smaller than the noise"
CONFIDENCE = 0.95  # ... even with the seed std taken at the low end of this interval


def check_weights(name: Any) -> str | None:
    """A weighting's name (None for ``None`` or ``"none"``); ConfigError for any other."""
    if name is None or (isinstance(name, str) and name.strip().lower() == "none"):
        return None
    if isinstance(name, str) and name.strip().lower() in WEIGHTS:
        return name.strip().lower()
    from ..errors import clip

    raise ConfigError(f"--weights {clip(name)!r}: unknown weighting; use seed-variance (each "
                      "(N, D) weighted by the inverse of its seeds' variance) or none")


def labels(variables: dict[str, str]) -> list[str]:
    """How a law's variables are named to a person: N and D by symbol, any other by its column
    (``flops`` rather than a generic ``x``)."""
    return [sym if sym in ("N", "D") else col for sym, col in variables.items()]


def configuration(law, X: dict, frame) -> dict:
    """What makes runs seeds of one configuration: the law's variables (named as
    :func:`labels` names them) and the sweep's N and D where every point has them (runs at one
    N but different D are not seeds of a law of N alone)."""
    import numpy as np

    keys = dict(zip(labels(law.variables), X.values()))
    for name, col in (("N", "n_params"), ("D", "tokens")):
        if name in keys or col in law.variables.values() or col not in frame.columns:
            continue
        v = frame[col].cast(float).to_numpy()
        if v.size and np.any(np.isfinite(v)):  # a point without (an --anchor) is alone
            keys[name] = v
    if "run_tokens" in frame.columns:  # checkpoints of runs of other lengths are not seeds
        v = frame["run_tokens"].cast(float).to_numpy()
        if v.size and np.any(np.isfinite(v)):
            keys["run tokens"] = v
    return keys


def weighted(objective, weights, keys: dict, y):
    """``(objective with the points' weights, their name, notes)``: ``weights`` is None, a
    name (:data:`WEIGHTS`) or one weight per point; the name is "none", "seed-variance" or
    "given". ``keys``: the :func:`configuration` of each point."""
    if weights is not None and not isinstance(weights, str):
        return objective.weighted(weights), "given", []
    name = check_weights(weights)
    if name is None:
        return objective, "none", []
    objective.check_target(y)  # the target in the objective's space is defined
    w, note = seed_weights(keys, objective.transform(y), ", ".join(keys))
    return objective.weighted(w), name, [note]


def seed_weights(X: dict, t, what: str = "N, D"):
    """``(weights, note)`` for ``--weights seed-variance``: each point's weight is 1 / its
    group's variance of ``t`` (the target in the fit's residual space), moderated as Smyth
    (2004) moderates a gene's variance: a few seeds' variance is very noisy (with 3 seeds it
    is off by 2x or more about half the time), so each is pulled toward a common value, by
    as many degrees of freedom as the spread of all groups' variances says they share. Groups
    whose variances differ no more than their sampling error get one value (the fit is then
    unweighted); a group of one run gets the common value. FitError when no group has two
    runs, or every repeat is identical."""
    import numpy as np

    from ..numbers import fmt

    t = np.asarray(t, dtype=float)
    group, counts = groups(X)
    ss, pooled = _within(t, group, counts)
    if pooled is None:
        raise FitError(f"--weights seed-variance needs seeds (two or more runs of one "
                       f"({what})) to measure their variance; each of the {counts.size} "
                       f"({what}) here has one run")
    if not pooled > 0:
        raise FitError(f"--weights seed-variance: the repeated runs of every ({what}) have "
                       "identical targets, so there is no seed variance to weight by "
                       "(are they copies of one run?)")
    dof = counts - 1
    raw = np.maximum(ss / np.maximum(dof, 1), VARIANCE_FLOOR * pooled)
    prior_dof, prior = _prior(raw[dof > 0], dof[dof > 0])
    if np.isinf(prior_dof):
        var = np.full(counts.size, prior)
        note = (f"--weights seed-variance: the {int((dof > 0).sum())} ({what}) seed variances "
                "differ no more than their sampling error, so every run weighs the same")
    else:
        var = (prior_dof * prior + dof * raw) / (prior_dof + dof)
        note = (f"--weights seed-variance: each ({what})'s seed variance moderated toward "
                f"{fmt(prior)} with {fmt(prior_dof)} prior degrees of freedom (Smyth 2004); "
                f"weights span {fmt(var.max() / var.min())}x")
    return 1.0 / var[group], note


def _prior(var, dof):
    """Smyth's (2004) prior for sample variances ``var`` on ``dof`` degrees of freedom:
    ``(prior dof, prior variance)``, from the mean and spread of their logs (each log's bias
    and sampling variance removed); dof infinite when the spread is no more than sampling."""
    import numpy as np
    from scipy.optimize import brentq
    from scipy.special import digamma, polygamma

    e = np.log(var) - digamma(dof / 2) + np.log(dof / 2)
    mean = float(e.mean())
    n = e.size
    excess = float(np.sum((e - mean) ** 2) / (n - 1) - np.mean(polygamma(1, dof / 2))) \
        if n > 1 else 0.0
    if not excess > 1e-12:
        return np.inf, float(np.exp(mean))
    half = brentq(lambda h: float(polygamma(1, h)) - excess, 1e-12, 1e12, xtol=1e-12)
    d0 = 2.0 * half
    return d0, float(np.exp(mean + digamma(half) - np.log(half)))


def of_fit(law, X: dict, keys: dict, y, theta, objective, n_free: int,
           target: str = "loss"):
    """The ``seeds`` object, note and warnings of a fit of ``law`` at internal parameters
    ``theta`` to ``X`` (``keys``: each point's :func:`configuration`; see
    :func:`seed_report`)."""
    import numpy as np

    with np.errstate(all="ignore"):
        t_pred = objective.predicted(law, np.asarray(theta, dtype=float)[None, :], X)[0]
    return seed_report(keys, y, objective.transform(y), t_pred, n_free=n_free,
                       space=objective.space, names=list(keys), psi=objective.psi,
                       target=target, apart=groups(X)[1].size)


def groups(X: dict):
    """``(group of each point, runs per group)``: points whose variables agree to
    :data:`SIGNIFICANT` significant digits share a group."""
    import numpy as np

    cols = [_rounded(np.asarray(v, dtype=float)) for v in X.values()]
    order = np.lexsort(cols[::-1])
    new = np.zeros(order.size, dtype=bool)
    new[:1] = True
    for c in cols:  # a new group wherever any variable changes, in sorted order
        new[1:] |= c[order][1:] != c[order][:-1]
    group = np.empty(order.size, dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    return group, np.bincount(group)


def _rounded(v):
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (np.floor(np.log10(np.abs(v))) - (SIGNIFICANT - 1))
        out = np.round(v / scale) * scale
    return np.where(np.isfinite(out), out, v)


def _within(values, group, counts):
    """Each group's sum of squares about its mean, and the pooled variance (None without a
    group of two)."""
    import numpy as np

    means = np.bincount(group, values, minlength=counts.size) / counts
    ss = np.bincount(group, (values - means[group]) ** 2, minlength=counts.size)
    dof = int((counts - 1).sum())
    return ss, (float(ss.sum() / dof) if dof else None)


def _location(r, group, counts, psi):
    """How far each group's residuals sit from zero under the fit's loss: the distance from 0
    to the c where sum(psi(r - c)) over the group crosses zero (the mean for mse; for mae and
    a small Huber delta, the interval between the middle two of an even group, so a fit that
    passes anywhere in it is at distance 0). A run alone is its own residual; the groups of
    several by bisection, all at once."""
    import numpy as np

    out = np.zeros(counts.size)
    alone = counts[group] == 1
    out[group[alone]] = r[alone]
    several = np.flatnonzero(counts > 1)
    if not several.size:
        return out
    idx = np.searchsorted(several, group[~alone])  # the groups of several, renumbered
    rr = r[~alone]

    def root(strict: bool):
        lo = np.full(several.size, np.inf)
        hi = np.full(several.size, -np.inf)
        np.minimum.at(lo, idx, rr)
        np.maximum.at(hi, idx, rr)
        for _ in range(60):  # the bracket halves each time: 60 steps reach float precision
            mid = 0.5 * (lo + hi)
            total = np.bincount(idx, psi(rr - mid[idx]), minlength=several.size)
            up = total > 0 if strict else total >= 0  # the sum falls as c rises
            lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
        return 0.5 * (lo + hi)

    low, high = root(True), root(False)
    out[several] = np.where(low > 0, low, np.where(high < 0, high, 0.0))
    return out


def _spread(r, group, counts, psi) -> float:
    """RMS over the groups of each one's residual (:func:`_location`) times sqrt(its runs):
    a group's residual in units of one run's noise."""
    import numpy as np

    at = _location(r, group, counts, psi)
    return float(np.sqrt(np.sum(counts * at ** 2) / counts.size))


def _noise_only(counts, sigma: float, psi, draws: int = 4000) -> float:
    """The :func:`_spread` that seed noise alone (Gaussian, std ``sigma``) leaves a law that is
    exactly right and has nothing fitted, for groups of these sizes: simulated with a fixed
    seed, once per distinct group size (sigma for a mean; more for a median)."""
    import numpy as np

    rng = np.random.default_rng(0)
    total = 0.0
    for size, many in zip(*np.unique(counts, return_counts=True)):  # a few distinct sizes
        if size == 1:  # a run alone is its own residual: sigma^2 on average
            total += float(many) * sigma ** 2
            continue
        k = max(1, min(draws, 200_000 // int(size)))
        e = sigma * rng.standard_normal(k * int(size))
        at = _location(e, np.repeat(np.arange(k), size), np.full(k, size), psi)
        total += float(many * size * np.mean(at ** 2))
    return float(np.sqrt(total / counts.size))


def seed_report(X: dict, y, t_obs, t_pred, *, n_free: int, space: str, names: list[str],
                psi=None, target: str = "loss",
                apart: int | None = None) -> tuple[dict | None, list[str], list[str]]:
    """The fit's ``seeds`` object, its note and its warnings; ``(None, [], [])`` when no
    group has two runs. ``t_obs``, ``t_pred``: target and prediction in the fit's space;
    ``names``: the configuration's variables; ``psi``: the derivative of the fit's per-point
    loss (default: squared error's); ``apart``: how many configurations the law can tell
    apart (fewer than there are for a law of N alone on runs at several D; default: all)."""
    import numpy as np

    psi = psi or (lambda r: r)
    group, counts = groups(X)
    y = np.asarray(y, dtype=float)
    _, pooled = _within(y, group, counts)
    if pooled is None:
        return None, [], []
    repeated = counts > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pooled = _within(np.log(y), group, counts)[1] if np.all(y > 0) else None
    std_space = float(np.sqrt(_within(np.asarray(t_obs, float), group, counts)[1]))
    lack = _spread(np.asarray(t_obs, float) - np.asarray(t_pred, float), group, counts, psi)
    noise = _noise_only(counts, std_space, psi) if std_space > 0 else 0.0
    info = {
        "by": list(names),
        "groups": int(repeated.sum()),
        "runs": int(counts[repeated].sum()),
        "dof": int((counts - 1).sum()),
        "std_loss": float(np.sqrt(pooled)),
        "std_log_loss": None if log_pooled is None else float(np.sqrt(log_pooled)),
        "space": space,
        "std_space": std_space,
        "lack_of_fit_rms": lack,
        "noise_rms": noise,
        "fit_to_noise": lack / noise if noise > 0 else None,
    }
    what = ", ".join(names)
    log_text = "" if log_pooled is None else f", of its log {_g(info['std_log_loss'])}"
    note = (f"seeds: {info['groups']} ({what}) with several runs ({info['runs']} runs): "
            f"pooled seed-to-seed std of {target} {_g(info['std_loss'])}{log_text}")
    if not pooled > 0:
        note = (f"seeds: {info['groups']} ({what}) with several runs ({info['runs']} runs), "
                f"but the runs of each have the same {target}: copies of one run rather than "
                "seeds?")
    apart = counts.size if apart is None else apart
    return info, [note], _noise_warning(info, counts.size, n_free, what, apart)


def _noise_warning(info: dict, n_groups: int, n_free: int, what: str,
                   apart: int) -> list[str]:
    """The fit explains more than seed noise lets any law explain (see the module's text)."""
    if n_groups <= n_free and apart == n_groups:  # it can pass through each configuration
        return [(f"{n_free} free parameters for {n_groups} distinct ({what}): the law can pass "
                 "through every configuration's runs, so only seed noise is left in its "
                 "residuals: it is fitting the noise (add configurations, or hold parameters "
                 "with --fix)")]
    if not info["noise_rms"] > 0:
        return []
    from scipy.special import gammaincinv  # chi2's quantile, without scipy.stats' import

    dof = info["dof"]
    low = float((2.0 * gammaincinv(dof / 2.0, 1 - CONFIDENCE) / dof) ** 0.5)
    if info["lack_of_fit_rms"] >= MARGIN * low * info["noise_rms"]:
        return []
    return [(f"the fit's residuals are smaller than the seed noise: between ({what}) they are "
             f"{_g(info['lack_of_fit_rms'])} RMS in {info['space']} space, under half the "
             f"{_g(info['noise_rms'])} that seed noise alone leaves a right law, even with the "
             f"seed std at the low end of its {CONFIDENCE:.0%} interval: {n_free} free "
             f"parameters for {n_groups} distinct ({what}) may be fitting the noise")]


def _g(v: float) -> str:
    from ..numbers import fmt

    return fmt(v)
