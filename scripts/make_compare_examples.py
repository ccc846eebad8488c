"""Writes examples/compare/: two small sweeps of made-up architectures for ``scalecli compare``.

``dense.csv`` is drawn from the sample sweep's law (E=1.8, A=482, alpha=0.35, B=2085, beta=0.37),
``moe.csv`` from E=1.6, A=800, alpha=0.36, B=3000, beta=0.38: worse at small compute, better at
large, their compute-optimal frontiers crossing at C = 3.972e19 FLOPs. Each sweep: 5 model sizes
(20M to 1.2B) x 4 token budgets (5 to 40 tokens per parameter), one row per run with an ``arch``
column, loss with 0.3% multiplicative Gaussian noise (seed 20240418). Deterministic: running it
twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LAWS = {
    "dense": {"E": 1.8, "A": 482.0, "alpha": 0.35, "B": 2085.0, "beta": 0.37},
    "moe": {"E": 1.6, "A": 800.0, "alpha": 0.36, "B": 3000.0, "beta": 0.38},
}
SIZES = (2e7, 6e7, 1.5e8, 4e8, 1.2e9)
TOKENS_PER_PARAM = (5, 10, 20, 40)
OUT = Path(__file__).resolve().parent.parent / "examples" / "compare"


def main() -> None:
    rng = np.random.default_rng(20240418)
    OUT.mkdir(parents=True, exist_ok=True)
    for arch, p in LAWS.items():
        rows = ["run,arch,n_params,tokens,loss"]
        for N in SIZES:
            for r in TOKENS_PER_PARAM:
                D = N * r
                loss = (p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]) * (
                    1 + 0.003 * rng.standard_normal())
                rows.append(f"{arch}-{N / 1e6:g}M-{r}tpp,{arch},{N:.6g},{D:.6g},{loss:.6f}")
        path = OUT / f"{arch}.csv"
        path.write_text("\n".join(rows) + "\n")
        print(f"wrote {len(rows) - 1} runs to {path}")


if __name__ == "__main__":
    main()
