"""Start grids within bounded memory and time.

A start grid is the Cartesian product of per-parameter start values: Chinchilla's has 4,500
starts, but a BNSL with six breaks would have billions and a config's ``init`` lists can
multiply as far. :class:`Starts` hands the grid out block by block (never the whole product as
one array) and, past ``MAX_STARTS`` starts or ``MAX_EVALUATIONS`` start-point evaluations, scores
a sample of it drawn with the fit's seed (so the same seed gives the same digits), saying so.
"""

from __future__ import annotations

import math

MAX_STARTS = 1_000_000  # starts scored in one fit (their scores take 8 MB)
MAX_EVALUATIONS = 2_000_000_000  # starts × points: a few seconds of NumPy at most
BLOCK_ELEMENTS = 2_000_000  # starts × points evaluated per block


def start_cap(n_points: int) -> int:
    """How many starts a fit on ``n_points`` points scores at most."""
    return max(1, min(MAX_STARTS, MAX_EVALUATIONS // max(1, n_points)))


class Starts:
    """The product of ``axes`` (one sequence of values per parameter, in C order: the last
    parameter varies fastest), or a seeded sample of ``cap`` of its starts."""

    def __init__(self, axes, n_points: int, seed: int = 0, cap: int | None = None):
        import numpy as np

        self.axes = [np.asarray(a, dtype=float) for a in axes]
        self.sizes = tuple(int(a.size) for a in self.axes)
        self.total = math.prod(self.sizes)  # a Python int: exact however large
        cap = start_cap(n_points) if cap is None else max(1, cap)
        self.count = min(self.total, cap)
        self.sampled = self.total > cap
        self.block = max(1, BLOCK_ELEMENTS // max(1, n_points))
        self.seed = seed
        self._flat = None
        if self.sampled and self.total < 2**62:  # distinct starts, sorted: the grid's order
            rng = np.random.default_rng(seed)
            self._flat = np.sort(rng.choice(self.total, size=self.count, replace=False))

    def note(self, what: str = "the start grid") -> str:
        """What was done, for a fit's notes ("" when the whole grid was scored)."""
        if not self.sampled:
            return ""
        dims = " × ".join(map(str, self.sizes)) if len(self.sizes) <= 8 else (
            f"{len(self.sizes)} parameters")
        return (f"{what} has {_count(self.total)} starts ({dims}); {self.count:,} of them, "
                f"drawn with seed {self.seed}, were scored")

    def blocks(self):
        """``(s0, s1, ix)`` over all starts: ix holds one index array per parameter."""
        for s0 in range(0, self.count, self.block):
            s1 = min(s0 + self.block, self.count)
            yield s0, s1, self.at_range(s0, s1)

    def at_range(self, s0: int, s1: int):
        import numpy as np

        if not self.sampled:
            return np.unravel_index(np.arange(s0, s1), self.sizes)
        if self._flat is not None:
            return np.unravel_index(self._flat[s0:s1], self.sizes)
        return self.at(np.arange(s0, s1))

    def at(self, positions):
        """Index arrays of the starts at ``positions`` (0 .. count - 1)."""
        import numpy as np

        positions = np.asarray(positions, dtype=np.int64)
        if not self.sampled:
            return np.unravel_index(positions, self.sizes)
        if self._flat is not None:
            return np.unravel_index(self._flat[positions], self.sizes)
        # A product too large to index: each block's starts drawn per parameter from a
        # generator seeded by (seed, block), so any start can be drawn again by position.
        out = [np.empty(positions.size, dtype=np.int64) for _ in self.sizes]
        for b in np.unique(positions // self.block):
            rng = np.random.default_rng([self.seed, int(b)])
            n = min(self.block, self.count - int(b) * self.block)
            drawn = [rng.integers(0, size, n) for size in self.sizes]
            hit = positions // self.block == b
            for j, d in enumerate(drawn):
                out[j][hit] = d[positions[hit] - b * self.block]
        return tuple(out)

    def values(self, ix):
        """The starts ``ix`` as an ``(len, P)`` array of values."""
        import numpy as np

        return np.stack([a[i] for a, i in zip(self.axes, ix)], axis=-1).reshape(-1, len(ix))


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"{n:.3g}"
