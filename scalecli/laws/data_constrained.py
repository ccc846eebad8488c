"""Muennighoff et al. (2023), "Scaling Data-Constrained Language Models", arXiv:2305.16264;
reference code huggingface/datablations (README "Parametric Fit").

Repeated tokens and excess parameters are worth less than fresh ones. With U unique tokens
(the column ``unique_tokens``):

    R_D = max(D/U - 1, 0)                      repetitions of the data beyond the first epoch
    D'  = U + U·R_D*·(1 - exp(-R_D/R_D*))      effective data
    U_N = min(N, N_opt(U)),  N_opt(U) = (U·G)^(beta/alpha)·G,  G = (alpha·A/(beta·B))^(1/(alpha+beta))
    R_N = max(N/U_N - 1, 0)                    excess parameters beyond the optimum for U
    N'  = U_N + U_N·R_N*·(1 - exp(-R_N/R_N*))  effective parameters
    L   = E + A/N'^alpha + B/D'^beta

It is written as one whitelisted formula, so its gradients are exact and automatic. Published
values (README, as printed in log form: a = 6.255414, b = 7.3049974, e = 0.6254804, alpha =
beta = 0.3526596, R_D* = 15.387756, R_N* = 5.309743) ship as defaults. There is no closed-form
optimum; ``scalecli optimal --unique-tokens U`` searches N along each compute budget.
"""

from __future__ import annotations

import dataclasses
import math

from .custom import law_from_config

_G = "(alpha*A/(beta*B))**(1/(alpha+beta))"
_UN = f"min(N, (U*{_G})**(beta/alpha)*{_G})"
_RN = f"max(N/{_UN} - 1, 0)"
_RD = "max(D/U - 1, 0)"
FORMULA = (f"E + A/({_UN} + {_UN}*RN_star*(1 - exp(-{_RN}/RN_star)))**alpha"
           f" + B/(U + U*RD_star*(1 - exp(-{_RD}/RD_star)))**beta")

_SPEC = {
    "name": "data-constrained",
    "formula": FORMULA,
    "variables": {"N": "n_params", "D": "tokens", "U": "unique_tokens"},
    "parameters": {
        "E": {"bounds": [1e-3, 10], "init": [1.0, 1.9]},
        "A": {"bounds": [1.0, 1e12], "init": [math.exp(5), math.exp(10)]},
        "alpha": {"bounds": [0.0, 2.0], "init": [0.3, 0.5]},
        "B": {"bounds": [1.0, 1e12], "init": [math.exp(5), math.exp(10)]},
        "beta": {"bounds": [0.0, 2.0], "init": [0.3, 0.5]},
        "RD_star": {"bounds": [0.01, 1e3], "init": [5.0, 15.0, 50.0]},
        "RN_star": {"bounds": [0.01, 1e3], "init": [2.0, 5.0, 20.0]},
    },
}

DATA_CONSTRAINED = dataclasses.replace(
    law_from_config(_SPEC, "scalecli/laws/data_constrained.py"),
    source="Muennighoff et al. 2023, arXiv:2305.16264 (huggingface/datablations)",
    summary="E + A/N'**alpha + B/D'**beta; N', D' effective (repeats of U unique tokens)",
    defaults={"E": math.exp(0.6254804), "A": math.exp(6.255414), "alpha": 0.3526596,
              "B": math.exp(7.3049974), "beta": 0.3526596, "RD_star": 15.387756,
              "RN_star": 5.309743},
    defaults_source="published: Muennighoff et al. 2023 datablations README (e=0.6254804, "
                    "a=6.255414, b=7.3049974, alpha=beta=0.3526596, R_D*=15.387756, "
                    "R_N*=5.309743)",
)


def register_laws(register):
    register(DATA_CONSTRAINED)
