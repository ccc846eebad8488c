"""Intervals on approach 2's exponents: resample the runs within each compute budget, locate
each budget's minimum again, refit a and b.

A budget's runs are its sampled sizes (seeds of one size were averaged into one point), drawn
with replacement; a size drawn twice adds nothing to a minimum located through the distinct
sizes, so a resample keeps the distinct sizes drawn. A budget whose resample cannot locate a
minimum (fewer than three sizes, the lowest at an edge) sits that resample out, as it would be
dropped from the analysis; a resample left with fewer than two budgets is counted as failed.
"""

from __future__ import annotations

from dataclasses import replace


def bootstrap_exponents(kept, locate, weighted: bool, resamples: int, seed: int,
                        ci: float, progress=None) -> dict:
    """``{"intervals", "se", "bootstrap"}`` for a and b over ``resamples`` resamples of the
    budgets ``kept``, each resampled budget's optimum found by ``locate(budget)``."""
    import numpy as np

    from ..fitting.bootstrap import check_options, summarize
    from .exponents import fit_power

    check_options(resamples, ci)
    rng = np.random.RandomState(seed)
    draws = np.full((resamples, 2), np.nan)
    for r in range(resamples):
        lc, ln, ld, w = [], [], [], []
        for b in kept:
            k = b.sizes.size
            pick = np.unique(rng.randint(0, k, size=k))
            sub = replace(b, sizes=b.sizes[pick], losses=b.losses[pick], tokens=b.tokens[pick],
                          curve=None, reason=None, note=None)
            locate(sub)
            if sub.reason is None:
                lc.append(np.log10(b.flops))
                ln.append(np.log10(sub.n_opt))
                ld.append(np.log10(sub.tokens_opt))
                w.append(b.n_runs)
        if len(lc) >= 2 and np.ptp(lc) > 0:
            weights = w if weighted else None
            draws[r] = fit_power(lc, ln, weights).slope, fit_power(lc, ld, weights).slope
        if progress is not None:
            progress((r + 1) / resamples)
    intervals, se = summarize(["a", "b"], draws, ci)
    failed = int(np.sum(~np.all(np.isfinite(draws), axis=1)))
    return {"intervals": intervals, "se": se,
            "bootstrap": {"resamples": resamples, "ci": ci, "seed": seed, "failed": failed,
                          "resample": "runs within each budget"}}
