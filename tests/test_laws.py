"""Every built-in law against data drawn from known parameters: noiseless recovery to near
machine precision, noisy recovery within stated tolerances, exact Jacobians, and each law's
compute optimum against a brute-force search."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from scalecli.fitting import Objective, fit_points
from scalecli.laws import all_laws, get_law
from scalecli.reduce import Points

RNG_SIZES = np.geomspace(2e7, 3e9, 7)
RATIOS = np.array([4.0, 10.0, 25.0, 60.0, 150.0])

TRUTH = {
    "chinchilla": {"E": 1.8, "A": 482.0, "alpha": 0.35, "B": 2085.0, "beta": 0.37},
    "kaplan": {"N_c": 6.4e13, "alpha_N": 0.076, "D_c": 1.8e13, "alpha_D": 0.103},
    "kaplan-n": {"N_c": 8.8e13, "alpha_N": 0.076},
    "kaplan-d": {"D_c": 5.4e13, "alpha_D": 0.095},
    "kaplan-s": {"N_c": 6.5e13, "alpha_N": 0.077, "S_c": 2.1e3, "alpha_S": 0.76},
    "overtrain": {"E": 1.9, "a": 120.0, "b": 900.0, "eta": 0.17},
    "parscale": {"E": 1.3, "A": 2.0e8, "alpha": 0.2, "k": 0.33},
    "power": {"E": 1.7, "A": 3.0e3, "alpha": 0.17},
    "overtrain-error": {"epsilon": 0.8, "k": 4.0, "gamma": 1.0},
    "sigmoid": {"a": -0.6, "x0": 3.0, "k": 2.5, "b": 0.85},
    "log-bleu": {"A": math.exp(-10.0), "alpha": 0.8, "beta": 1.3},
    "coverage": {"a": -1.2, "b": -0.35},
}


def data(name, noise=0.0, seed=0):
    """Columns for the law's variables, and y drawn from TRUTH (multiplicative noise)."""
    law = get_law(name)
    N = np.repeat(RNG_SIZES, RATIOS.size)
    D = N * np.tile(RATIOS, RNG_SIZES.size)
    cols = {"n_params": N, "tokens": D, "flops": 6 * N * D,
            "streams": np.tile([1.0, 2.0, 4.0, 8.0, 1.0], RNG_SIZES.size),
            "loss": np.linspace(2.0, 4.5, N.size), "s_min": D / 5e5,
            "k": np.tile([1.0, 4.0, 16.0, 64.0, 256.0], RNG_SIZES.size)}
    X = {sym: cols[col] for sym, col in law.variables.items()}
    y = np.array([law.value(TRUTH[name], {k: v[i] for k, v in X.items()})
                  for i in range(N.size)])
    rng = np.random.default_rng(seed)
    y = y * (1 + noise * rng.standard_normal(y.size))
    frame = pl.DataFrame({**cols, "run_id": [f"r{i}" for i in range(N.size)],
                          "name": [f"r{i}" for i in range(N.size)], "source": "test",
                          "flops_derived": True, "y": y})
    return Points(frame=frame, target="loss", reduce="last"), X, y


def objective_for(law):
    return Objective(**{"loss": "huber", "delta": 1e-3, "space": "log", **law.fit_defaults})


NAMES = sorted(TRUTH)


def test_catalogue_is_registered():
    names = {law.name for law in all_laws()}
    assert set(NAMES) <= names


@pytest.mark.parametrize("name", NAMES)
def test_noiseless_recovery(name):
    law = get_law(name)
    pts, X, y = data(name)
    res = fit_points(pts, law, objective=objective_for(law))
    pred = np.array([law.value(res.params, {k: v[i] for k, v in X.items()})
                     for i in range(y.size)])
    assert np.max(np.abs(pred / y - 1)) < 1e-6, res.params
    for k, v in TRUTH[name].items():
        assert res.params[k] == pytest.approx(v, rel=2e-3), (k, res.params)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [1, 2])
def test_noisy_recovery_predicts_within_noise(name, seed):
    law = get_law(name)
    pts, X, y = data(name, noise=0.002, seed=seed)
    res = fit_points(pts, law, objective=objective_for(law))
    _, _, clean = data(name)
    pred = np.array([law.value(res.params, {k: v[i] for k, v in X.items()})
                     for i in range(y.size)])
    # the fitted law sits closer to the noiseless truth than the noise itself (0.2%)
    assert np.sqrt(np.mean((pred / clean - 1) ** 2)) < 0.002


@pytest.mark.parametrize("name", ["chinchilla", "overtrain"])
def test_optimum_matches_brute_force(name):
    from scipy.optimize import minimize_scalar

    law = get_law(name)
    p = TRUTH[name]
    for C in (1e19, 1e22, 1e25):
        n, d = law.optimum(p, C)
        r = minimize_scalar(lambda x, C=C: law.value(p, {"N": math.exp(x), "D": C / 6 / math.exp(x)}),
                            bounds=(math.log(1e3), math.log(C / 6e3)), method="bounded",
                            options={"xatol": 1e-12})
        assert n == pytest.approx(math.exp(r.x), rel=1e-6)
        assert d == pytest.approx(C / (6 * n), rel=1e-12)


def test_power_law_with_e_fixed_at_zero_is_least_squares_in_log_log():
    pts, X, y = data("power")
    law = get_law("power")
    res = fit_points(pts, law, objective=Objective("mse", space="log"), fixed={"E": 0.0})
    slope, intercept = np.polyfit(np.log(X["x"]), np.log(y), 1)
    assert res.params["alpha"] == pytest.approx(-slope, rel=1e-12)
    assert res.params["A"] == pytest.approx(math.exp(intercept), rel=1e-12)
    assert "closed form" in res.fit["message"]


DC = {"E": math.exp(0.6254804), "A": math.exp(6.255414), "alpha": 0.3526596,
      "B": math.exp(7.3049974), "beta": 0.3526596, "RD_star": 15.387756, "RN_star": 5.309743}


def test_data_constrained_matches_the_published_example():
    """datablations README: scaling_law(6.34e9, 242e9, 25e9) = 2.2256 < (8.67e9, 178e9, 25e9)
    = 2.2270; recomputed from the formula by hand: 2.225644 and 2.226963."""
    law = get_law("data-constrained")
    assert law.defaults == DC
    a = law.value(DC, {"N": 6.34e9, "D": 242e9, "U": 25e9})
    b = law.value(DC, {"N": 8.67e9, "D": 178e9, "U": 25e9})
    assert a == pytest.approx(2.225644, abs=5e-7) and b == pytest.approx(2.226963, abs=5e-7)


def test_data_constrained_recovers_its_parameters():
    law = get_law("data-constrained")
    rng = np.random.default_rng(3)
    N = np.repeat(np.geomspace(5e7, 2e9, 6), 6)
    U = np.tile(np.array([1e9, 3e9, 1e10, 3e10, 1e11, 3e11]), 6)
    D = N * 20 * np.tile([1.0, 4.0, 16.0, 2.0, 8.0, 32.0], 6) * rng.uniform(0.8, 1.2, N.size)
    truth = {"E": 1.9, "A": 500.0, "alpha": 0.35, "B": 1500.0, "beta": 0.33, "RD_star": 12.0,
             "RN_star": 6.0}
    y = np.array([law.value(truth, {"N": n, "D": d, "U": u}) for n, d, u in zip(N, D, U)])
    frame = pl.DataFrame({"run_id": [str(i) for i in range(N.size)],
                          "name": [str(i) for i in range(N.size)], "source": "test",
                          "n_params": N, "tokens": D, "unique_tokens": U, "flops": 6 * N * D,
                          "flops_derived": True, "y": y})
    res = fit_points(Points(frame, "loss", "last"), law)
    pred = np.array([law.value(res.params, {"N": n, "D": d, "U": u}) for n, d, u in zip(N, D, U)])
    assert np.max(np.abs(pred / y - 1)) < 1e-5
    for k in ("alpha", "beta", "RD_star"):
        assert res.params[k] == pytest.approx(truth[k], rel=0.05), (k, res.params)


def test_unique_token_allocation_matches_brute_force():
    from scipy.optimize import minimize_scalar

    from scalecli.analyses.allocation import optimal

    law = get_law("data-constrained")
    C, U = 1e22, 25e9
    row = optimal(None, [C], law="data-constrained", unique_tokens=U)[0]
    r = minimize_scalar(lambda u: law.value(DC, {"N": math.exp(u), "D": C / 6 / math.exp(u),
                                                 "U": U}),
                        bounds=(math.log(1e8), math.log(1e11)), method="bounded",
                        options={"xatol": 1e-10})
    assert row.n_params == pytest.approx(math.exp(r.x), rel=1e-4)
    assert row.loss <= law.value(DC, {"N": 6.34e9, "D": C / 6 / 6.34e9, "U": U}) + 1e-12


def test_s_min_is_kaplans_critical_batch_relation():
    """Eq. 5.4 with B_crit(L) = B*/L^(1/alpha_B): at B = B_crit, S_min = S/2."""
    from scalecli.laws.kaplan import ALPHA_B, B_STAR, s_min

    L = 3.0
    b_crit = B_STAR / L ** (1 / ALPHA_B)
    assert s_min(1e5, b_crit, L) == pytest.approx(5e4, rel=1e-12)
    assert s_min(1e5, 1e3 * b_crit, L) == pytest.approx(1e5 / 1.001, rel=1e-12)
    steps = np.array([1e4, 2e4])
    assert np.allclose(s_min(steps, 5e5, np.array([3.0, 2.5])),
                       steps / (1 + B_STAR / (np.array([3.0, 2.5]) ** (1 / 0.21) * 5e5)))


def test_parameter_settings_are_checked_in_laws_spec():
    """What config.py and custom laws share: bounds, init and log read from a config's
    law.parameters, one-line errors that never echo a huge value whole."""
    from scalecli.errors import ConfigError
    from scalecli.laws.spec import MAX_INIT, override_parameters, parameter_from_spec

    p = parameter_from_spec("E", {"bounds": ["1e-3", 10]}, "c.yaml")  # YAML 1.1 text
    assert p.bounds == (1e-3, 10.0) and p.log and len(p.init) == 3
    assert math.sqrt(p.init[0] * p.init[2]) == pytest.approx(p.init[1])
    for spec, words in (({"bounds": [0, 10**400]}, "too large"), ({"bounds": [1, 0]}, "not below"),
                        ({"bounds": [0, 1], "init": [2]}, "outside its bounds"),
                        ({"bounds": [0, 1], "init": [0.5] * (MAX_INIT + 1)}, "at most"),
                        ({"bounds": [-1, 1], "log": True}, ">= 0"),
                        ({"bounds": [0, 1], "step": 2}, "unknown key"),
                        ({"bounds": [0, True]}, "not a number")):
        with pytest.raises(ConfigError, match=words) as exc:
            parameter_from_spec("E", spec, "c.yaml")
        assert str(exc.value).startswith("c.yaml: ") and len(str(exc.value)) < 200
    chin = get_law("chinchilla")
    out = override_parameters(chin.parameters, {"alpha": {"init": [0.3]}}, "chinchilla", "c")
    assert out[2].init == (0.3,) and out[2].bounds == chin.parameters[2].bounds
    assert out[0] is chin.parameters[0]
    with pytest.raises(ConfigError, match="'gamma' not a parameter of chinchilla"):
        override_parameters(chin.parameters, {"gamma": {}}, "chinchilla", "c")
