"""Writes examples/isoflop.csv (an IsoFLOP grid) and examples/seeds.csv (a sweep run with
three seeds), both drawn from the sample sweep's law.

isoflop.csv: seven compute budgets from 1e18 to 1e21 FLOPs, nine model sizes per budget spread
over 0.16x to 6.3x the budget's optimal size (log-spaced), D = C / (6 N), and the loss of the
law in sample_runs/README.md (E=1.8, A=482, alpha=0.35, B=2085, beta=0.37) with 0.3%
multiplicative Gaussian noise (seed 20240417).

seeds.csv: 6 model sizes (20M to 1.5B) x 5 token budgets (2 to 40 tokens per parameter), each
(N, D) trained with 3 seeds; the seed-to-seed noise is 3% for the two shortest budgets (2 and 5
tokens per parameter) and 0.3% for the others (seed 20240418).

Deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

E, A, ALPHA, B, BETA = 1.8, 482.0, 0.35, 2085.0, 0.37
OUT = Path(__file__).resolve().parent.parent / "examples" / "isoflop.csv"
SEEDS = OUT.with_name("seeds.csv")


def seeds() -> None:
    """examples/seeds.csv: three seeds of every (N, D), noisier at short budgets."""
    rng = np.random.default_rng(20240418)
    rows = ["run,seed,n_params,tokens,loss"]
    for N in (2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9):
        for tpp in (2, 5, 10, 20, 40):
            D = tpp * N
            sigma = 0.03 if tpp <= 5 else 0.003
            for seed in range(3):
                loss = (E + A / N**ALPHA + B / D**BETA) * (1 + sigma * rng.standard_normal())
                size = f"{N / 1e9:g}B" if N >= 1e9 else f"{N / 1e6:g}M"
                rows.append(f"gpt-{size}-{tpp}tpp-s{seed},{seed},{N:.6g},{D:.6g},{loss:.6f}")
    SEEDS.write_text("\n".join(rows) + "\n")
    print(f"wrote {len(rows) - 1} runs to {SEEDS}")


def main() -> None:
    rng = np.random.default_rng(20240417)
    G = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    rows = ["run,n_params,tokens,flops,loss"]
    for C in np.logspace(18, 21, 7):
        n_opt = G * (C / 6) ** (BETA / (ALPHA + BETA))
        for f in np.logspace(-0.8, 0.8, 9):
            N = float(f"{n_opt * f:.4g}")
            D = C / (6 * N)
            loss = (E + A / N**ALPHA + B / D**BETA) * (1 + 0.003 * rng.standard_normal())
            rows.append(f"iso-{C:.0e}-{N:.3g},{N:.6g},{D:.6g},{C:.6g},{loss:.6f}")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(rows) + "\n")
    print(f"wrote {len(rows) - 1} runs to {OUT}")
    seeds()


if __name__ == "__main__":
    main()
