"""Writes examples/hparams.csv: a learning-rate x batch-size sweep at 12 (N, D) settings drawn
from Step Law's published laws, for ``scalecli hparams``.

Truth (Li et al. 2025, arXiv:2503.04715, the mean of the 1000 bootstrap fits released in
step-law/steplaw ``data/1004_fitted_lr_bs_scaling_model_parameters.csv``):
lr_opt = 1.79·N^-0.713·D^0.307 and B_opt = 0.58·D^0.571 tokens.

Settings: N in 100M, 200M, 400M, 800M x D in 10B, 20B, 40B. Grid (the same at every setting,
as a sweep is run): lr = 2^-12 .. 2^-5 in steps of sqrt 2 (15 values), batch = 2^5 .. 2^10
sequences of 2048 tokens in steps of sqrt 2 (11 values, rounded to whole sequences).

Loss: the sample sweep's Chinchilla law (E=1.8, A=482, alpha=0.35, B=2085, beta=0.37) times a
bowl in log lr and log batch around the optimum, (1 + 0.008·u^2 + 0.004·v^2) with
u = ln(lr/lr_opt), v = ln(batch/B_opt), and 0.1% multiplicative Gaussian noise (seed 20250306).
Runs with lr above 6x lr_opt diverge: their loss is written as nan.

Deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "examples" / "hparams.csv"
SEQ_LEN = 2048
LR_COEF, LR_N, LR_D = 1.79, -0.713, 0.307
BS_COEF, BS_D = 0.58, 0.571
E, A, ALPHA, B, BETA = 1.8, 482.0, 0.35, 2085.0, 0.37
K_LR, K_BS, NOISE, DIVERGE = 0.008, 0.004, 0.001, 6.0


def main() -> None:
    rng = np.random.default_rng(20250306)
    lrs = 2.0 ** np.arange(-12, -4.99, 0.5)
    batches = np.unique(np.round(2.0 ** np.arange(5, 10.01, 0.5)).astype(int))
    rows = ["run,n_params,tokens,lr,bs,loss"]
    for n in (1e8, 2e8, 4e8, 8e8):
        for d in (1e10, 2e10, 4e10):
            lr_opt = LR_COEF * n**LR_N * d**LR_D
            bs_opt = BS_COEF * d**BS_D
            base = E + A / n**ALPHA + B / d**BETA
            for lr in lrs:
                for bs in batches:
                    u, v = np.log(lr / lr_opt), np.log(bs * SEQ_LEN / bs_opt)
                    loss = base * (1 + K_LR * u**2 + K_BS * v**2)
                    loss *= 1 + NOISE * rng.standard_normal()
                    text = "nan" if lr > DIVERGE * lr_opt else f"{loss:.6f}"
                    name = f"n{n / 1e6:g}M-d{d / 1e9:g}B-lr{lr:.3e}-bs{bs}"
                    rows.append(f"{name},{n:.6g},{d:.6g},{lr:.6e},{bs},{text}")
    OUT.write_text("\n".join(rows) + "\n")
    print(f"wrote {len(rows) - 1} runs to {OUT}")


if __name__ == "__main__":
    main()
