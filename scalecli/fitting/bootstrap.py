"""Bootstrap draws of a fit: resample runs with replacement, refit every resample.

A resample is a weight per point: how often its run was drawn (a run's points stay together).
Each resample is refitted from the point estimate and from the other optima the full fit's best
starts reached (a resample may prefer another basin: the share that did is reported as
``moved``). Laws searched from a start grid are refitted all at once (:mod:`.batched`); the
others (a closed form, BNSL's grid) one resample at a time, repeating each drawn point.
A resample that cannot identify the law (one model size left, no more distinct points than
free parameters) is counted as failed, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from .objective import Objective

MAX_RESAMPLES = 100_000
MAX_BASINS = 3  # optima besides the point estimate each resample also starts from
CELLS = 8_000_000  # floats in one slice of batched refits (a Jacobian of 64 MB)


@dataclass
class Draws:
    """Parameter draws ``values`` ``(B, P)`` in natural units, NaN rows for failed resamples."""

    names: list[str]
    values: object
    resamples: int
    seed: int
    failed: int
    moved: int
    starts: int  # starts per resample

    def summary(self, ci: float) -> tuple[dict, dict]:
        """Percentile intervals (name -> [low, high]) and standard errors (name -> se)."""
        return summarize(self.names, self.values, ci)


def summarize(names, values, ci: float) -> tuple[dict, dict]:
    """Percentile ``ci`` intervals and standard deviations of draws ``(B, K)`` by column."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    ok = np.all(np.isfinite(v), axis=1)
    intervals, se = {}, {}
    if ok.sum() < 2:
        return intervals, se
    v = v[ok]
    lo, hi = np.percentile(v, [50 * (1 - ci), 50 * (1 + ci)], axis=0)
    sd = v.std(axis=0, ddof=1)
    for k, name in enumerate(names):
        intervals[name] = [float(lo[k]), float(hi[k])]
        se[name] = float(sd[k])
    return intervals, se


def check_options(resamples: int, ci: float) -> None:
    """ConfigError for a resample count or a confidence level that cannot be meant."""
    if isinstance(resamples, bool) or not isinstance(resamples, int) or not (
            1 <= resamples <= MAX_RESAMPLES):
        raise ConfigError(f"--bootstrap {resamples}: give a number of resamples from 1 to "
                          f"{MAX_RESAMPLES:,} (1,000 is usual)")
    if not isinstance(ci, (int, float)) or isinstance(ci, bool) or not 0 < ci < 1:
        raise ConfigError(f"--ci {ci}: a confidence level lies strictly between 0 and 1 "
                          "(0.95 for 95% intervals)")


def draw_weights(groups, resamples: int, seed: int):
    """``(B, M)`` point weights: runs drawn with replacement, each run's points together.

    Runs are numbered in the order they first appear and drawn with NumPy's legacy generator
    as ``np.random.seed(seed); np.random.choice(runs, runs)`` per resample, the way Besiroglu
    et al. (2024) drew theirs: with seed 42 on their points the resamples are theirs. A point
    labelled None (a fixed point such as ``--anchor``) has weight 1 in every resample."""
    import numpy as np

    labels = np.asarray(groups, dtype=object)
    held = np.equal(labels, None).astype(bool)
    if not held.any():
        return _run_weights(np.asarray(groups), resamples, seed)
    out = np.ones((resamples, labels.size))
    out[:, ~held] = _run_weights(labels[~held].astype(str), resamples, seed)
    return out


def _run_weights(labels, resamples: int, seed: int):
    import numpy as np

    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    order = rank[inverse.ravel()]  # each point's run, numbered by first appearance
    n_groups = first.size
    picks = np.random.RandomState(seed).randint(0, n_groups, size=(resamples, n_groups))
    counts = np.zeros((resamples, n_groups))
    np.add.at(counts, (np.repeat(np.arange(resamples), n_groups), picks.ravel()), 1.0)
    return counts[:, order]


def identifiable(law, X: dict, weights, n_free: int):
    """Per resample: whether the drawn points can identify the law (the checks a fit makes:
    two values of each variable the law needs two of, more distinct points than parameters)."""
    import numpy as np

    drawn = weights > 0
    ok = drawn.sum(axis=1) > n_free
    for v in X.values():
        if law.falls or len(X) == 1:
            vmax = np.where(drawn, v[None, :], -np.inf).max(axis=1)
            vmin = np.where(drawn, v[None, :], np.inf).min(axis=1)
            ok &= vmax > vmin
    return ok


def bootstrap(law, X: dict, y, objective: Objective, fixed: dict[str, float], opt, groups,
              resamples: int, seed: int = 0, *, plan=None, jobs: int = 1,
              progress: Callable[[float], None] | None = None) -> Draws:
    """Draws of ``law``'s parameters over ``resamples`` bootstrap resamples of the runs
    ``groups`` (one label per point), around the optimum ``opt`` of the full data."""
    import numpy as np

    from ..laws.plan import StartGrid
    from .multistart import Problem

    prob = Problem(law, X, y, objective, fixed)
    free = np.array(prob.free)
    weights = draw_weights(groups, resamples, seed)
    ok = identifiable(law, prob.X, weights, free.size)
    values = np.full((resamples, len(law.parameters)), np.nan)
    starts = _starts(opt, free, prob)
    moved = 0
    if ok.any():
        def work(chunk, report):
            if isinstance(plan, StartGrid):
                return _batched(prob, chunk, starts, report)
            return _one_by_one(law, X, y, objective, fixed, chunk, seed, report), 0

        drawn = weights[ok]
        # the batched refits hold (resamples x starts x parameters x points) arrays: in
        # slices of at most CELLS cells, memory stays bounded however many resamples
        rows = max(1, CELLS // (len(starts) * len(law.parameters) * max(drawn.shape[1], 1)
                                * max(int(jobs), 1)))
        out, moved = [], 0
        for lo in range(0, drawn.shape[0], rows):
            part = drawn[lo:lo + rows]

            def report(share, lo=lo, n=part.shape[0]):
                if progress is not None:
                    progress((lo + share * n) / drawn.shape[0])

            thetas, m = _in_parallel(work, part, jobs, report)
            out.append(thetas)
            moved += m
        values[ok] = np.vstack(out)
    names = [p.name for p in law.parameters]
    natural = np.column_stack([np.exp(np.minimum(values[:, i], 709.0)) if p.log else values[:, i]
                               for i, p in enumerate(law.parameters)])
    failed = int(np.sum(~np.all(np.isfinite(natural), axis=1)))
    return Draws(names=names, values=natural, resamples=resamples, seed=seed, failed=failed,
                 moved=moved, starts=len(starts))


def _in_parallel(work, weights, jobs: int, progress):
    """``work(weights chunk, progress)`` over ``jobs`` threads (NumPy and L-BFGS-B release the
    interpreter lock in their loops), the chunks' results stacked in order."""
    import numpy as np

    jobs = max(1, min(int(jobs), weights.shape[0]))
    if jobs == 1:
        return work(weights, progress)
    from concurrent.futures import ThreadPoolExecutor

    chunks = np.array_split(weights, jobs)
    shares = [0.0] * jobs

    def report(k):
        def tell(share):
            shares[k] = share
            if progress is not None:
                progress(sum(shares) / jobs)
        return tell

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(lambda kc: work(kc[1], report(kc[0])), enumerate(chunks)))
    return np.vstack([d[0] for d in done]), sum(d[1] for d in done)


def _starts(opt, free, prob) -> list:
    """The point estimate, then up to MAX_BASINS other optima the full fit's refinements
    reached (distinct in the free coordinates), best first."""
    import numpy as np

    theta = np.asarray(opt.theta, dtype=float)[free]
    out = [theta]
    ends = [(f, np.asarray(e, dtype=float)[free])
            for f, e in zip(opt.history, opt.ends)]
    for _, x in sorted(ends, key=lambda t: t[0]):
        if len(out) > MAX_BASINS:
            break
        if np.all(np.isfinite(x)) and all(np.max(np.abs(x - o)) > 1e-3 for o in out):
            out.append(np.clip(x, prob.lo, prob.hi))
    return out


def _batched(prob, weights, starts, progress):
    """Every resample from every start at once; per resample the best end. Returns the full
    internal thetas ``(B, P)`` and how many resamples ended best from another basin."""
    import numpy as np

    from .batched import refine_many

    B, K = weights.shape[0], len(starts)
    x0 = np.repeat(np.asarray(starts)[None, :, :], B, axis=0).reshape(B * K, -1)
    w = np.repeat(weights, K, axis=0)
    batch = refine_many(prob.law, prob.X, prob.target, prob.objective, w, x0,
                        np.array(prob.free), prob.base, prob.lo, prob.hi, progress=progress)
    f = batch.f.reshape(B, K)
    x = batch.x.reshape(B, K, -1)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    chosen = x[np.arange(B), best]
    home = x[:, 0]
    moved = int(np.sum((best > 0) & (np.max(np.abs(chosen - home), axis=1) > 1e-3)
                       & (f[np.arange(B), best] < f[:, 0] * (1 - 1e-9))))
    return prob.full(chosen), moved


def _one_by_one(law, X, y, objective, fixed, weights, seed, progress):
    """Each resample refitted by the law's own search on its drawn points, repeated."""
    import dataclasses

    import numpy as np

    from ..errors import FitError
    from .search import search

    out = np.full((weights.shape[0], len(law.parameters)), np.nan)
    for b, w in enumerate(weights):
        idx = np.repeat(np.arange(w.size), w.astype(int))
        drawn = objective if objective.weights is None else dataclasses.replace(
            objective, weights=objective.weights[idx])  # each drawn point keeps its weight
        try:
            opt = search(law, {k: v[idx] for k, v in X.items()}, np.asarray(y)[idx], drawn,
                         fixed, seed=seed)
            out[b] = opt.theta
        except FitError:
            pass
        if progress is not None:
            progress((b + 1) / weights.shape[0])
    return out
