"""The simulations behind the README's figures on residual flags and seed-variance weights.

Sweeps are drawn from the sample sweep's Chinchilla law (E=1.8, A=482, alpha=0.35, B=2085,
beta=0.37) with multiplicative Gaussian noise and fixed seeds, so every figure comes out the
same on every run (about a minute):

1. Runs flagged as outliers on clean 30-run sweeps (6 sizes x 5 budgets, 0.5% noise; 40
   sweeps), by the plain rule (3 x 1.4826 x MAD) and by scalecli's (analyses/residuals.py).
2. The squared log error of the five fitted parameters, averaged over 12 sweeps of 30 (N, D) x
   3 seeds for each noise pattern, unweighted, with --weights seed-variance, with the groups'
   own (unmoderated) variances, and with the true variances as weights.
"""

from __future__ import annotations

import numpy as np

from scalecli.analyses.residuals import residuals
from scalecli.fitting import Objective, fit_points
from scalecli.fitting.seeds import groups
from scalecli.laws import get_law
from scalecli.reduce import Points

TRUE = {"E": 1.8, "A": 482.0, "alpha": 0.35, "B": 2085.0, "beta": 0.37}
LAW = get_law("chinchilla")
SIZES = np.array([2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9])


def loss(N, D):
    return TRUE["E"] + TRUE["A"] / N ** TRUE["alpha"] + TRUE["B"] / D ** TRUE["beta"]


def points(N, D, L) -> Points:
    import polars as pl

    names = [f"r{i}" for i in range(len(N))]
    frame = pl.DataFrame({"run_id": names, "name": names, "source": ["sim"] * len(N),
                          "n_params": N, "tokens": D, "flops": 6 * N * D, "y": L})
    return Points(frame=frame, target="loss", reduce="last")


def flags() -> None:
    ratios = np.array([2.0, 5.0, 10.0, 20.0, 40.0])
    N = np.repeat(SIZES, ratios.size)
    D = N * np.tile(ratios, SIZES.size)
    for name in ("huber", "mse"):
        plain, ours = [], []
        for seed in range(40):
            rng = np.random.default_rng(seed)
            L = loss(N, D) * (1 + 0.005 * rng.standard_normal(N.size))
            fit = fit_points(points(N, D, L), LAW, objective=Objective(name))
            res = residuals(fit, fit.points)
            r = np.array([row["residual"] for row in res.rows])
            dev = np.abs(r - np.median(r))
            plain.append(int(np.sum(dev > 3 * 1.4826 * np.median(dev))))
            ours.append(len(res.outliers))
        print(f"flags per clean 30-run sweep, {name}: plain 3 x MAD {np.mean(plain):.2f}, "
              f"scalecli {np.mean(ours):.2f} (Gaussian past 3 sd: {30 * 0.0027:.2f})")


def _own_variances(N, D, t):
    """1 / each group's own variance (the pooled one for a group of one run)."""
    group, counts = groups({"N": N, "D": D})
    means = np.bincount(group, t) / counts
    ss = np.bincount(group, (t - means[group]) ** 2)
    pooled = ss.sum() / (counts - 1).sum()
    var = np.where(counts > 1, ss / np.maximum(counts - 1, 1), pooled)
    return 1.0 / np.maximum(var, 1e-3 * pooled)[group]


def weights(sims: int = 12) -> None:
    tpp = np.array([2.0, 5.0, 10.0, 20.0, 40.0])
    N0 = np.repeat(SIZES, tpp.size)
    D0 = N0 * np.tile(tpp, SIZES.size)
    patterns = {
        "every other (N, D) 15x noisier": np.where(np.arange(N0.size) % 2 == 0, 0.002, 0.03),
        "noise falling as sqrt(N)": 0.02 * (2e7 / N0) ** 0.5,
        "shortest budgets 10x noisier": np.where(np.tile(tpp, SIZES.size) <= 5, 0.03, 0.003),
        "even noise": np.full(N0.size, 0.01),
    }
    for label, sigma in patterns.items():
        for name in ("mse", "huber"):
            err = {"none": [], "seed-variance": [], "own variances": [], "true variances": []}
            for seed in range(sims):
                rng = np.random.default_rng(seed)
                N, D, s = np.repeat(N0, 3), np.repeat(D0, 3), np.repeat(sigma, 3)
                L = loss(N, D) * (1 + s * rng.standard_normal(N.size))
                given = {"none": None, "seed-variance": "seed-variance",
                         "own variances": _own_variances(N, D, np.log(L)),
                         "true variances": 1 / s ** 2}
                for key, w in given.items():
                    fit = fit_points(points(N, D, L), LAW, objective=Objective(name), weights=w)
                    err[key].append(sum(np.log(fit.params[k] / v) ** 2 for k, v in TRUE.items()))
            shown = ", ".join(f"{k} {np.mean(v):.3f}" for k, v in err.items())
            print(f"{label}, {name}: {shown}")


if __name__ == "__main__":
    flags()
    weights()
