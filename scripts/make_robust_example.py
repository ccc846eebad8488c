"""Writes examples/under_tuned.csv: the sample sweep's law (E=1.8, A=482, alpha=0.35, B=2085,
beta=0.37) at 6 model sizes (20M to 1.5B) x 5 token budgets (2 to 40 tokens per parameter),
0.2% multiplicative Gaussian noise (seed 20240419), where the 120M and 300M rungs were
under-tuned: each of their runs is 3% to 8% worse than the law (drawn uniformly). The
well-tuned law is the lower envelope: `scalecli fit examples/under_tuned.csv
--overestimate-penalty 10` recovers it, the symmetric fit does not.

Deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

E, A, ALPHA, B, BETA = 1.8, 482.0, 0.35, 2085.0, 0.37
OUT = Path(__file__).resolve().parent.parent / "examples" / "under_tuned.csv"


def main() -> None:
    rng = np.random.default_rng(20240419)
    rows = ["run,n_params,tokens,loss"]
    for N in (2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9):
        for tpp in (2, 5, 10, 20, 40):
            D = tpp * N
            worse = rng.uniform(1.03, 1.08) if 1e8 < N < 5e8 else 1.0
            loss = (E + A / N**ALPHA + B / D**BETA) * worse * (1 + 0.002 * rng.standard_normal())
            size = f"{N / 1e9:g}B" if N >= 1e9 else f"{N / 1e6:g}M"
            rows.append(f"gpt-{size}-{tpp}tpp,{N:.6g},{D:.6g},{loss:.6f}")
    OUT.write_text("\n".join(rows) + "\n")
    print(f"wrote {len(rows) - 1} runs to {OUT}")


if __name__ == "__main__":
    main()
