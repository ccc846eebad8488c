"""BNSL (Caballero et al. 2022) against independent truth: the authors' grid and their fit of the
4-digit-addition data, generating parameters (noiseless and noisy), U-shaped and double-descent
curves, exact derivatives, and the fit through the library."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from scalecli.errors import ConfigError, FitError
from scalecli.fitting import Objective, fit_points
from scalecli.fitting.search import search
from scalecli.laws import get_law
from scalecli.laws.bnsl import AUTHORS_OBJECTIVE, bnsl_law
from scalecli.reduce import Points

AUTHORS = Objective(**AUTHORS_OBJECTIVE)

# Figure 4 (left) data of the paper, from the reference repo's
# fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py (ffa608f); the first 14
# points are fitted, the last 3 extrapolated.
ADD_X = np.array([160, 192, 256, 320, 384, 448, 480, 512, 544, 576, 608, 640, 672, 736, 800, 864,
                  928.0])
ADD_Y = np.array([2.13809046, 2.11813418, 2.08955508, 2.06988398, 2.05404987, 2.03837089,
                  2.02814281, 2.00496872, 1.95576149, 1.86313841, 1.70891537, 1.50637664,
                  1.29754721, 0.96559684, 0.75856477, 0.64768338, 0.55695445])
# Their procedure run with scipy 1.17: scipy.optimize.brute(finish=None) over their grid gives
# (a, b', c0, c1, d1', f1) = (0.1, 5, 0, 0.75, 27.5, 0.25) with MSLE 0.006490802346780843;
# curve_fit from there gives these parameters, MSLE 1.6196132282715807e-07.
ADD_BRUTE = (0.1, 1.25**5 - 1 + 1e-8, 0.0, 0.75, 1.25**27.5 - 1 + 1e-8, 0.25)
ADD_POPT = {"a": 0.41388503329111065, "b": 2.277271726881062, "c0": 0.05507735765853336,
            "c1": 5.662908747494121, "d1": 612.583654622338, "f1": 0.05919305100171124}

FLOPS_TRUE = {"a": 0.5, "b": 2e3, "c0": 0.15, "c1": 0.4, "d1": 3e20, "f1": 0.3}


def curve(law, params, x):
    return law.predict(np.array([law.to_internal(params)]), {"x": x})[0]


def direct(theta, x):
    """The law as the authors write it (powers, not softplus)."""
    a, b, c0, *rest = theta
    y = b * x ** (-c0)
    for c, d, f in zip(rest[::3], rest[1::3], rest[2::3]):
        with np.errstate(divide="ignore"):
            y = y * (1 + (x / d) ** (1 / np.float64(f))) ** (-c * f)
    return a + y


def as_points(x, y) -> Points:
    n = len(x)
    frame = pl.DataFrame({
        "run_id": [f"r{i}" for i in range(n)], "name": [f"r{i}" for i in range(n)],
        "source": ["test"] * n, "n_params": x / 1e10, "tokens": x / 6e-10, "flops": x,
        "flops_derived": [False] * n, "y": y,
    })
    return Points(frame=frame, target="loss", reduce="last")


def test_grid_is_the_authors():
    law = get_law("bnsl")
    grid = np.mgrid[0:1:0.1, 0:40:2.5, 0:1:0.25, 0:1:0.25, 0:40:2.5, 0:1:0.25]
    axes = [np.unique(g) for g in grid]
    axes[1] = 1.25 ** axes[1] - 1 + 1e-8
    axes[4] = 1.25 ** axes[4] - 1 + 1e-8
    assert law.param_names == ["a", "b", "c0", "c1", "d1", "f1"]
    for p, ax in zip(law.parameters, axes):
        # NumPy's pow differs by an ulp between releases (4305.510275562248 vs ...249)
        np.testing.assert_allclose(p.init, ax, rtol=4e-16, atol=0, err_msg=p.name)
    assert np.prod([len(p.init) for p in law.parameters]) == 163_840


def test_grid_scores_match_direct_evaluation_and_brute():
    law = get_law("bnsl")
    x, y = ADD_X[:14], ADD_Y[:14]
    axes = [p.init for p in law.parameters]
    shape = [len(a) for a in axes]
    ix = np.unravel_index(np.arange(163_840), shape)
    scores = law._grid_scores(axes, {"x": x}, np.log1p(y), ix)
    assert scores.size == 163_840
    rng = np.random.default_rng(0)
    for k in rng.integers(0, scores.size, 300):
        theta = [axes[i][j] for i, j in enumerate(np.unravel_index(k, shape))]
        msle = np.mean((np.log1p(direct(theta, x)) - np.log1p(y)) ** 2)
        assert scores[k] == pytest.approx(msle, rel=1e-12, abs=1e-15)
    best = np.unravel_index(int(np.argmin(scores)), shape)
    assert [axes[i][j] for i, j in enumerate(best)] == pytest.approx(ADD_BRUTE, rel=1e-12)
    assert scores.min() == pytest.approx(0.006490802346780843, rel=1e-12)


def test_reproduces_the_authors_fit_of_4_digit_addition():
    law = get_law("bnsl")
    opt = search(law, {"x": ADD_X[:14]}, ADD_Y[:14], AUTHORS, {})
    got = law.to_natural(opt.theta)
    assert opt.converged
    for k, v in ADD_POPT.items():
        assert got[k] == pytest.approx(v, rel=2e-5), k
    assert opt.objective <= 1.6196132282715807e-07 * (1 + 1e-9)
    sle = (np.log(curve(law, got, ADD_X)) - np.log(ADD_Y)) ** 2  # the paper's RMSLE
    assert np.sqrt(sle[:14].mean()) == pytest.approx(5.985e-4, rel=1e-3)
    assert np.sqrt(sle[14:].mean()) == pytest.approx(1.0916e-2, rel=1e-3)


@pytest.mark.parametrize("params, x", [
    (FLOPS_TRUE, np.logspace(18, 23, 50)),  # FLOPs: fitted on x / 1e19
    ({"a": 0.3, "b": 20.0, "c0": 0.2, "c1": 0.5, "d1": 300.0, "f1": 0.4},
     np.logspace(0.5, 3.5, 50)),
    ({"a": 1.0, "b": 1.0, "c0": -0.3, "c1": 0.8, "d1": 100.0, "f1": 0.3},  # rises, then falls
     np.logspace(0, 4, 50)),
])
def test_noiseless_recovery(params, x):
    law = get_law("bnsl")
    opt = search(law, {"x": x}, curve(law, params, x), AUTHORS, {})
    got = law.to_natural(opt.theta)
    assert opt.converged
    for k, v in params.items():
        assert got[k] == pytest.approx(v, rel=1e-6), k


def test_fits_a_u_shaped_curve_with_one_break():
    """Falls as x^-0.5, then turns up (c1 = -1): the authors' grid has c >= 0 only."""
    law = get_law("bnsl")
    x = np.logspace(1, 5, 50)
    y = curve(law, {"a": 0.0, "b": 10.0, "c0": 0.5, "c1": -1.0, "d1": 1e3, "f1": 0.5}, x)
    assert np.argmin(y) not in (0, y.size - 1)  # really U-shaped
    opt = search(law, {"x": x}, y, AUTHORS, {})
    pred = curve(law, law.to_natural(opt.theta), x)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 1e-8 * y.std()
    noisy = y * (1 + 0.01 * np.random.default_rng(3).standard_normal(y.size))
    pred = curve(law, law.to_natural(search(law, {"x": x}, noisy, AUTHORS, {}).theta), x)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 0.02 * y.std()
    huber = search(law, {"x": x}, y, Objective("huber", 1e-3, "log"), {})  # the generic engine
    pred = curve(law, law.to_natural(huber.theta), x)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 1e-6 * y.std()


def test_fits_double_descent_with_two_breaks():
    """Falls, rises (c1 < -c0), falls again (c2 > 0): two breaks recover it; one cannot."""
    law = bnsl_law(2)
    assert law.name == "bnsl-2" and law.param_names[6:] == ["c2", "d2", "f2"]
    x = np.logspace(0, 4.5, 60)
    true = {"a": 0.5, "b": 5.0, "c0": 0.4, "c1": -0.9, "d1": 1e2, "f1": 0.3,
            "c2": 1.2, "d2": 1e3, "f2": 0.2}
    y = curve(law, true, x)
    assert (np.diff(np.sign(np.diff(y))) != 0).sum() == 2  # two turning points
    for noise, tol in ((0.0, 1e-8), (0.01, 0.02)):
        yy = y * (1 + noise * np.random.default_rng(0).standard_normal(y.size))
        pred = curve(law, law.to_natural(search(law, {"x": x}, yy, AUTHORS, {}).theta), x)
        assert np.sqrt(np.mean((pred - y) ** 2)) < tol * y.std()
    one = get_law("bnsl")
    pred = curve(one, one.to_natural(search(one, {"x": x}, y, AUTHORS, {}).theta), x)
    assert np.sqrt(np.mean((pred - y) ** 2)) > 0.1 * y.std()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_recovers_generating_parameters_with_noise(seed):
    law = get_law("bnsl")
    x = np.logspace(18, 23, 50)
    y0 = curve(law, FLOPS_TRUE, x)
    y = y0 * (1 + 0.005 * np.random.default_rng(seed).standard_normal(x.size))
    opt = search(law, {"x": x}, y, AUTHORS, {})
    got = law.to_natural(opt.theta)
    # Tolerances: about 2.5x the largest error over 50 seeds at 0.5% noise.
    assert got["a"] == pytest.approx(0.5, rel=0.05)
    assert got["b"] == pytest.approx(2e3, rel=0.3)
    assert got["c0"] == pytest.approx(0.15, abs=0.007)
    assert got["c1"] == pytest.approx(0.4, abs=0.035)
    assert got["d1"] == pytest.approx(3e20, rel=0.1)
    assert got["f1"] == pytest.approx(0.3, rel=0.35)
    truth = np.mean((np.log1p(y0) - np.log1p(y)) ** 2)
    assert opt.objective <= truth * (1 + 1e-9)


@pytest.mark.parametrize("breaks", [1, 2, 3])
def test_predict_matches_value_and_jacobian_matches_finite_differences(breaks):
    law = bnsl_law(breaks)
    rng = np.random.default_rng(breaks)
    x = np.logspace(0, 5, 40)
    thetas = np.column_stack([rng.uniform(0, 1, 5), rng.uniform(0.5, 20, 5),
                              rng.uniform(-0.3, 0.8, 5)]
                             + [col for _ in range(breaks) for col in (
                                 rng.uniform(-1, 1.5, 5), 10 ** rng.uniform(1, 4, 5),
                                 rng.uniform(0.05, 1, 5))])
    pred = law.predict(thetas, {"x": x})
    for s, theta in enumerate(thetas):
        params = law.to_natural(theta)
        assert pred[s] == pytest.approx(direct(theta, x), rel=1e-12)
        for m in (0, 17, 39):
            assert pred[s, m] == pytest.approx(law.value(params, {"x": x[m]}), rel=1e-12)
        f, J = law.predict_jac(theta, {"x": x})
        assert f == pytest.approx(pred[s], rel=1e-14)
        for j in range(theta.size):
            h = 1e-5 * max(abs(theta[j]), 1.0)
            up, dn = theta.copy(), theta.copy()
            up[j] += h
            dn[j] -= h
            fd = (law.predict(up, {"x": x})[0] - law.predict(dn, {"x": x})[0]) / (2 * h)
            roundoff = 10 * np.finfo(float).eps * np.abs(f).max() / h
            assert J[:, j] == pytest.approx(fd, rel=1e-6, abs=roundoff + 1e-8 * np.abs(fd).max()), j


def test_no_break_when_f_is_zero():
    """The authors' arithmetic: (1 + (x/d)^(1/0))^(-c·0) = 1."""
    law = get_law("bnsl")
    x = np.array([0.5, 2.0, 50.0])
    theta = np.array([0.2, 3.0, 0.4, 0.7, 2.0, 0.0])
    assert law.predict(theta, {"x": x})[0] == pytest.approx(direct(theta, x), rel=1e-15)
    assert law.value(law.to_natural(theta), {"x": 50.0}) == pytest.approx(0.2 + 3 * 50 ** -0.4)
    _, J = law.predict_jac(theta, {"x": x})
    assert np.all(np.isfinite(J)) and not J[:, 3:].any()


def test_fit_points_with_the_authors_objective_and_with_another():
    law = get_law("bnsl")
    assert law.variables == {"x": "flops"} and law.fit_defaults == AUTHORS_OBJECTIVE
    x = np.logspace(18, 23, 50)
    y = curve(law, FLOPS_TRUE, x) * (1 + 0.003 * np.random.default_rng(7).standard_normal(50))
    pts = as_points(x, y)
    res = fit_points(pts, law, objective=AUTHORS)
    assert res.converged and res.n_points == 50 and res.fit["space"] == "log1p"
    assert res.fit["starts"] == 163_840 + 122_880 and "scaled by 1e+19" in res.fit["message"]
    assert res.params["c1"] == pytest.approx(0.4, abs=0.03)
    assert res.rmse_log < 0.006
    other = fit_points(pts, law, objective=Objective("huber", 1e-3, "log"))  # generic engine
    assert other.converged and other.fit["space"] == "log"
    assert other.params["c0"] == pytest.approx(res.params["c0"], abs=0.01)
    assert other.rmse_log < 0.006


def test_fixed_parameters_are_held():
    law = get_law("bnsl")
    x = np.logspace(0.5, 3.5, 40)
    true = {"a": 0.3, "b": 20.0, "c0": 0.2, "c1": 0.5, "d1": 300.0, "f1": 0.4}
    opt = search(law, {"x": x}, curve(law, true, x), AUTHORS, {"a": 0.3})
    got = law.to_natural(opt.theta)
    assert got["a"] == 0.3 and opt.n_starts == 16_384 + 12_288
    for k, v in true.items():
        assert got[k] == pytest.approx(v, rel=1e-6), k


def test_config_is_the_builtin_law():
    from scalecli.config import load_config

    spec = load_config(str(Path(__file__).resolve().parent.parent / "scalecli" / "configs" / "bnsl.yaml"))
    assert spec.law.name == "bnsl" and spec.objective == AUTHORS
    assert spec.law.parameters == get_law("bnsl").parameters


def test_bad_input():
    law = get_law("bnsl")
    with pytest.raises(FitError, match="positive"):
        search(law, {"x": np.array([0.0, 1.0, 2.0])}, np.ones(3), AUTHORS, {})
    with pytest.raises(ConfigError, match="1 to 12 breaks"):
        bnsl_law(0)


def test_one_break_fit_with_the_full_grid_is_fast():
    law = get_law("bnsl")
    x = np.logspace(18, 23, 50)
    y = curve(law, FLOPS_TRUE, x) * (1 + 0.005 * np.random.default_rng(0).standard_normal(50))
    search(law, {"x": x}, y, AUTHORS, {})  # warm (imports)
    t0 = time.perf_counter()
    search(law, {"x": x}, y, AUTHORS, {})
    assert time.perf_counter() - t0 < 1.0
