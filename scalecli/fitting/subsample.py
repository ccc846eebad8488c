"""A stratified subsample of a large fit's points, on which its start grid is searched.

Scoring a start grid costs starts × points: Chinchilla's 4,500 starts on 100,000 points (every
checkpoint of a large ladder) are 450 million evaluations of the law, and each refinement of a
start as many evaluations again as it takes steps. Ranking starts and finding their basins
needs far fewer points than pinning the optimum down: above :data:`SAMPLE_ABOVE` points, the
grid is scored and its best starts refined on :data:`SAMPLE_POINTS` of them, and the optimum
(and any other basin the subsample cannot tell from it) is then refined on all the points
(:func:`scalecli.fitting.search.search`).

The subsample is stratified: the span of each variable (its log where every value is
positive, as the laws see N and D) is cut into equal bins, :data:`CELLS` cells in all, and
every occupied cell gives points in proportion to how many it holds, and at least one, so every
region of the sweep counts (the few largest models as much as they count in the whole fit).
Which points of a cell are taken is drawn with the fit's seed: the same seed, the same
subsample, the same digits.
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_ABOVE = 5_000  # fits on more points than this search on a subsample
SAMPLE_POINTS = 2_000  # ... of about this many points (at least one per occupied cell)
CELLS = 256  # strata: 16 × 16 for a law of N and D, 256 bins of one variable


@dataclass(frozen=True)
class Subsample:
    """The points a search scores its starts on: ``index`` into the fit's points (sorted)."""

    index: object  # int64 array
    of: int  # the fit's points
    cells: int  # occupied strata
    bins: dict  # variable -> bins on its axis ("log N" or "N")
    seed: int
    above: int  # the threshold it was drawn above

    def describe(self) -> dict:
        """What the fit's JSON records under ``fit.subsample``."""
        return {"points": int(self.index.size), "of": self.of, "above": self.above,
                "strata": " × ".join(f"{b} bins of {k}" for k, b in self.bins.items()),
                "cells": self.cells, "seed": self.seed}

    def note(self) -> str:
        return (f"the start grid was scored and its best starts refined on a subsample of "
                f"{self.index.size:,} of the {self.of:,} points (stratified in "
                f"{' × '.join(self.bins)}, {self.cells} cells, drawn with seed {self.seed}); "
                "the optimum was then refined on all points")


def choose(X: dict, seed: int = 0, above: int | None = None,
           size: int | None = None) -> Subsample | None:
    """The subsample a search on points ``X`` (the law's variables by symbol) scores its
    starts on, or None when there are at most ``above`` points (they are all scored).
    ``above`` and ``size`` default to :data:`SAMPLE_ABOVE` and :data:`SAMPLE_POINTS`."""
    import numpy as np

    above = SAMPLE_ABOVE if above is None else above
    size = SAMPLE_POINTS if size is None else size
    n = len(next(iter(X.values()))) if X else 0
    if n <= above or not X:
        return None
    per_axis = max(1, round(CELLS ** (1.0 / len(X))))
    cell = np.zeros(n, dtype=np.int64)
    bins = {}
    for name, v in X.items():
        v = np.asarray(v, dtype=float)
        logged = bool(np.all(v > 0))
        u = np.log(v) if logged else v
        lo, hi = float(u.min()), float(u.max())
        b = per_axis if hi > lo else 1
        k = np.zeros(n, dtype=np.int64) if b == 1 else np.minimum(
            ((u - lo) / (hi - lo) * b).astype(np.int64), b - 1)
        cell = cell * b + k
        bins[f"log {name}" if logged else name] = b
    _, cell, counts = np.unique(cell, return_inverse=True, return_counts=True)
    quota = np.maximum(1, np.rint(counts * (size / n))).astype(np.int64)
    # Within each cell, points in a seeded random order; a point is taken while its rank in
    # its cell is under the cell's quota.
    key = np.random.default_rng(seed).permutation(n)
    order = np.lexsort((key, cell))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[cell[order]]
    index = np.flatnonzero(rank < quota[cell])
    return Subsample(index=index, of=n, cells=int(counts.size), bins=bins, seed=seed,
                     above=above)
