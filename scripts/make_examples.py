"""Writes examples/isoflop.csv: an IsoFLOP grid drawn from the sample sweep's law.

Seven compute budgets from 1e18 to 1e21 FLOPs, nine model sizes per budget spread over 0.16x
to 6.3x the budget's optimal size (log-spaced), D = C / (6 N), and the loss of the law in
sample_runs/README.md (E=1.8, A=482, alpha=0.35, B=2085, beta=0.37) with 0.3% multiplicative
Gaussian noise (seed 20240417). Deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

E, A, ALPHA, B, BETA = 1.8, 482.0, 0.35, 2085.0, 0.37
OUT = Path(__file__).resolve().parent.parent / "examples" / "isoflop.csv"


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


if __name__ == "__main__":
    main()
