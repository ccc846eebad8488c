"""Data far from a law's start grid (models near 1e15 parameters, losses near 1e-8) still find
the optimum: recovered parameters of known generating laws, in such units and in the usual
range; and the rescaling each law declares is exact."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import TRUE, as_points, chinchilla_loss, synthetic_sweep

from scalecli.fitting import Objective, fit_points
from scalecli.laws import get_law
from scalecli.reduce import Points


def far_chinchilla(n_scale, y_scale, noise=0.0, seed=0):
    """The conftest sweep with N and D times n_scale and the loss times y_scale, drawn from
    TRUE expressed in those units."""
    N, D, _ = synthetic_sweep(seed, noise=0.0)
    N, D = N * n_scale, D * n_scale
    p = {"E": TRUE["E"] * y_scale, "A": TRUE["A"] * y_scale * n_scale ** TRUE["alpha"],
         "alpha": TRUE["alpha"], "B": TRUE["B"] * y_scale * n_scale ** TRUE["beta"],
         "beta": TRUE["beta"]}
    L = chinchilla_loss(p, N, D) * (1 + noise * np.random.default_rng(seed).standard_normal(N.size))
    return p, N, D, L


@pytest.mark.parametrize("n_scale, y_scale", [
    (1e6, 1e-8),  # models of 2e13 to 1.5e15 parameters, losses near 1e-8
    (1e6, 1.0), (1.0, 1e-8), (1e-4, 1e3), (1e9, 1e4),
])
def test_chinchilla_far_from_its_grid_is_recovered(n_scale, y_scale):
    p, N, D, L = far_chinchilla(n_scale, y_scale)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"))
    assert res.converged and res.warnings == []
    for k, v in p.items():
        assert res.params[k] == pytest.approx(v, rel=1e-6), k
    assert res.notes and "divided by powers of ten" in res.notes[0]


def test_chinchilla_far_with_noise_is_as_good_as_in_the_usual_range():
    _, N, D, L = far_chinchilla(1e6, 1e-8, noise=0.003, seed=4)
    _, N0, D0, L0 = far_chinchilla(1.0, 1.0, noise=0.003, seed=4)
    far = fit_points(as_points(N, D, L), get_law("chinchilla"))
    usual = fit_points(as_points(N0, D0, L0), get_law("chinchilla"))
    assert usual.notes == []  # the usual range is not scaled: its digits are the paper's
    assert far.params["alpha"] == pytest.approx(usual.params["alpha"], rel=1e-6)
    assert far.params["beta"] == pytest.approx(usual.params["beta"], rel=1e-6)
    assert far.params["E"] / 1e-8 == pytest.approx(usual.params["E"], rel=1e-6)
    assert far.objective == pytest.approx(usual.objective, rel=1e-6)


def test_a_held_value_is_kept_to_the_digit_through_scaling():
    p, N, D, L = far_chinchilla(1e6, 1e-8)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"), fixed={"E": p["E"]})
    assert res.params["E"] == p["E"] and res.notes
    assert res.params["alpha"] == pytest.approx(TRUE["alpha"], rel=1e-6)


def test_a_held_value_that_depends_on_the_units_leaves_the_data_unscaled():
    p, N, D, L = far_chinchilla(1e6, 1e-8)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"), fixed={"A": p["A"]})
    assert res.params["A"] == p["A"]
    assert "were not scaled" in res.notes[0]


def frame_points(**cols):
    n = len(cols["y"])
    return Points(frame=pl.DataFrame({"run_id": [f"r{i}" for i in range(n)], **cols}),
                  target="loss", reduce="last")


@pytest.mark.parametrize("name, params, x", [
    ("power", {"E": 2e-7, "A": 1e-11, "alpha": 0.3}, np.geomspace(1e-14, 1e-9, 25)),
    ("power", {"E": 2e4, "A": 5e9, "alpha": 0.25}, np.geomspace(1e33, 1e38, 25)),
    ("kaplan-n", {"N_c": 8.8e19, "alpha_N": 0.076}, np.geomspace(1e14, 1e16, 20)),
])
def test_one_variable_laws_far_from_their_grids(name, params, x):
    law = get_law(name)
    sym = next(iter(law.variables))
    y = np.array([law.value(params, {sym: v}) for v in x])
    res = fit_points(frame_points(**{law.variables[sym]: x, "y": y}), law)
    for k, v in params.items():
        assert res.params[k] == pytest.approx(v, rel=1e-5), k
    assert res.notes


def test_overtrain_and_kaplan_far_from_their_grids():
    N, D, _ = synthetic_sweep(0, noise=0.0)
    N, D = N * 1e6, D * 1e6
    for name, p in (("overtrain", {"E": 1.8e-8, "a": 3e-2, "b": 9e-1, "eta": 0.15}),
                    ("kaplan", {"N_c": 8.8e19, "alpha_N": 0.076, "D_c": 5.4e19,
                                "alpha_D": 0.095})):
        law = get_law(name)
        L = np.array([law.value(p, {"N": n, "D": d}) for n, d in zip(N, D)])
        res = fit_points(as_points(N, D, L), law)
        for k, v in p.items():
            assert res.params[k] == pytest.approx(v, rel=1e-5), (name, k)


@pytest.mark.parametrize("name", ["chinchilla", "kaplan", "kaplan-n", "kaplan-d", "kaplan-s",
                                  "overtrain", "parscale", "power", "bnsl", "bnsl-2"])
def test_rescale_is_exact(name):
    """f(X · s; rescale(theta, s)) = s_y · f(X; theta) for random parameters and scales."""
    law = get_law(name)
    rng = np.random.default_rng(len(name))
    X = {sym: np.geomspace(2.0, 50.0, 7) if sym == "P" else np.geomspace(1e2, 1e6, 7)
         for sym in law.variables}
    theta = np.array([[law.parameters[i].to_internal(v) for i, v in enumerate(init)]
                      for init in zip(*(rng.choice(p.init, 4) for p in law.parameters))])
    spans = law.scale_spans()
    scales = {k: 10.0 ** rng.integers(-6, 7) for k in spans}
    mapped = law.rescale(theta, scales)
    Xs = {k: v * scales.get(k, 1.0) for k, v in X.items()}
    with np.errstate(all="ignore"):
        want = law.predict(theta, X) * scales.get("y", 1.0)
        got = law.predict(mapped, Xs)
    ok = np.isfinite(want)
    assert ok.any()
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9)
    back = law.rescale(mapped, {k: 1 / v for k, v in scales.items()})
    np.testing.assert_allclose(back, theta, rtol=1e-7, atol=1e-9)  # 1/alpha ~ 1e8 costs digits


def test_log1p_and_linear_objectives_never_scale_the_target():
    _, N, D, L = far_chinchilla(1.0, 1e-8)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"),
                     objective=Objective("mse", space="linear"))
    assert not any("the target" in n for n in res.notes)


def test_the_refinements_ends_come_back_in_the_data_s_units():
    """After a search on scaled data, the other refinements' ends (alternatives, bootstrap
    starts) are mapped back too: no spurious alternative optimum, and the bootstrap on far data
    gives the usual range's intervals in the far units."""
    _, N, D, L = far_chinchilla(1e6, 1e-8, noise=0.003, seed=4)
    _, N0, D0, L0 = far_chinchilla(1.0, 1.0, noise=0.003, seed=4)
    far = fit_points(as_points(N, D, L), get_law("chinchilla"), resamples=100, seed=2)
    usual = fit_points(as_points(N0, D0, L0), get_law("chinchilla"), resamples=100, seed=2)
    assert far.alternatives == [] and usual.alternatives == []
    for k in ("alpha", "beta"):
        assert far.intervals[k] == pytest.approx(usual.intervals[k], rel=1e-4), k
    assert [v / 1e-8 for v in far.intervals["E"]] == pytest.approx(usual.intervals["E"], rel=1e-4)
