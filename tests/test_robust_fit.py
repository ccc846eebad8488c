"""Fitting robustly: the over-estimate penalty (a lower-envelope fit) and --drop-outliers,
checked on sweeps drawn from a known Chinchilla law (E=1.8, A=400, B=2000, alpha=0.34,
beta=0.37) with runs made worse by known amounts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import as_points, chinchilla_loss, write_csv
from typer.testing import CliRunner

from scalecli import api
from scalecli.cli import app
from scalecli.errors import ConfigError
from scalecli.fitting import Objective, fit_points
from scalecli.fitting.batched import refine_many
from scalecli.fitting.multistart import Problem
from scalecli.laws import get_law

runner = CliRunner()
LAW = {"E": 1.8, "A": 400.0, "alpha": 0.34, "B": 2000.0, "beta": 0.37}
SIZES = np.array([2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9])
RATIOS = np.array([2.0, 5.0, 10.0, 20.0, 40.0])
N = np.repeat(SIZES, RATIOS.size)
D = N * np.tile(RATIOS, SIZES.size)
TRUTH = chinchilla_loss(LAW, N, D)
UNDER = (N > 1e8) & (N < 5e8)  # the 1.2e8 and 3e8 rungs: a third of the runs, under-tuned
WORSE = 1.03 + 0.05 * ((np.arange(N.size) * 7) % 11) / 10  # each 3% to 8% worse
OUTLIER = 17  # the run whose loss is raised by 15%


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def under_tuned(noise: float = 1e-4, seed: int = 0):
    """The sweep with the under-tuned rungs' losses raised by 3-8%, tiny multiplicative noise."""
    rng = np.random.default_rng(seed)
    return TRUTH * np.where(UNDER, WORSE, 1.0) * (1 + noise * rng.standard_normal(N.size))


def with_outlier(noise: float = 1e-5, seed: int = 0, outlier: bool = True):
    rng = np.random.default_rng(seed)
    L = TRUTH * (1 + noise * rng.standard_normal(N.size))
    if outlier:
        L[OUTLIER] *= 1.15
    return L


def predictions(params):
    return chinchilla_loss(params, N, D)


@pytest.fixture(scope="module")
def under_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("under") / "runs.csv", N, D, under_tuned())


@pytest.fixture(scope="module")
def outlier_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("outlier") / "runs.csv", N, D, with_outlier())


# ---- the objective ----------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["huber", "mse", "mae"])
@pytest.mark.parametrize("space", ["log", "log1p", "linear"])
def test_the_penalised_gradient_matches_finite_differences(loss, space):
    law = get_law("chinchilla")
    obj = Objective(loss, 0.02, space, overestimate=10.0)
    X = {"N": N, "D": D}
    y = under_tuned()
    target = obj.transform(y)
    theta = np.asarray(law.to_internal({**LAW, "E": 1.85, "alpha": 0.33}), dtype=float)
    g = obj.predicted(law, theta[None, :], X)[0] - target
    assert (g > 0).any() and (g < 0).any()  # both sides of the kink are exercised
    f, grad = obj.value_grad(law, theta, X, target)
    assert f == pytest.approx(float(obj.values(law, theta[None, :], X, target)[0]), rel=1e-12)
    h = 1e-6
    for k in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        fd = (obj.values(law, up[None, :], X, target)[0]
              - obj.values(law, down[None, :], X, target)[0]) / (2 * h)
        assert grad[k] == pytest.approx(fd, rel=1e-4, abs=1e-9 * max(1.0, abs(f)))


def test_the_penalty_weighs_only_over_estimates():
    r = np.array([-0.5, -1e-4, 0.0, 1e-4, 0.5])
    for loss in ("huber", "mse", "mae"):
        sym, asym = Objective(loss), Objective(loss, overestimate=7.0)
        np.testing.assert_allclose(asym.rho(r), np.where(r > 0, 7.0, 1.0) * sym.rho(r))
        np.testing.assert_allclose(asym.psi(r), np.where(r > 0, 7.0, 1.0) * sym.psi(r))
    # mae by hand: 7 * 0.5 over, 0.5 under, averaged over 2 points
    assert Objective("mae", overestimate=7.0).reduce(
        Objective("mae", overestimate=7.0).rho(np.array([0.5, -0.5]))) == pytest.approx(2.0)


def test_the_objective_says_and_records_its_penalty():
    obj = Objective("mae", space="linear", overestimate=10)
    assert "over-estimates weighted 10x" in obj.describe()
    assert obj.to_dict()["overestimate_penalty"] == 10.0
    assert Objective().to_dict()["overestimate_penalty"] == 1.0 and Objective().symmetric


@pytest.mark.parametrize("bad", [0.5, 0.0, -3, float("nan"), float("inf"), "ten", True, 1e7])
def test_a_penalty_below_one_or_not_a_number_is_refused(bad):
    with pytest.raises(ConfigError, match="--overestimate-penalty"):
        Objective(overestimate=bad)


# ---- the lower-envelope fit -----------------------------------------------------------------
@pytest.mark.parametrize("options", [
    {"overestimate_penalty": 10},
    {"loss": "mae", "space": "linear", "overestimate_penalty": 10},
])
def test_the_penalty_recovers_the_lower_envelope_law(under_csv, options):
    fit = api.fit(under_csv, "chinchilla", **options)
    assert fit.converged
    predicted = predictions(fit.params)
    # the generating (well-tuned) law's predictions on the whole grid, to 0.2%
    np.testing.assert_allclose(predicted, TRUTH, rtol=2e-3)
    # and far out: 70B params, 1.4T tokens (Chinchilla's own size), to 1%
    far = chinchilla_loss(LAW, 7e10, 1.4e12)
    assert fit.predict(N=7e10, D=1.4e12) == pytest.approx(far, rel=0.01)
    assert fit.fit["overestimate_penalty"] == 10.0
    assert "over-estimates weighted 10x" in fit.fit["objective"]
    assert fit.covariance == {}  # lack-of-fit bands assume symmetric residuals
    assert any("lack-of-fit" in n for n in fit.notes)


def test_the_symmetric_fit_is_biased_upward(under_csv):
    fit = api.fit(under_csv, "chinchilla")
    bias = predictions(fit.params) / TRUTH - 1
    assert bias.mean() > 0.01  # over 1% above the well-tuned runs' law on average
    assert bias.max() > 0.03
    # and 10%+ off at 70B params, 1.4T tokens
    far = chinchilla_loss(LAW, 7e10, 1.4e12)
    assert abs(fit.predict(N=7e10, D=1.4e12) / far - 1) > 0.1


def test_a_penalty_of_one_is_the_symmetric_fit(under_csv):
    a = api.fit(under_csv, "chinchilla")
    b = api.fit(under_csv, "chinchilla", overestimate_penalty=1)
    assert a.params == b.params


def test_the_batched_bootstrap_refit_reaches_the_penalised_optimum():
    """refine_many (the bootstrap's batched IRLS) from the symmetric optimum, all runs drawn
    once, ends where the penalised fit does."""
    law = get_law("chinchilla")
    pts = as_points(N, D, under_tuned())
    obj = Objective(overestimate=10.0)
    target_fit = fit_points(pts, law, objective=obj)
    start = fit_points(pts, law)
    prob = Problem(law, {"N": N, "D": D}, under_tuned(), obj, {})
    x0 = np.asarray(law.to_internal(start.params), dtype=float)[prob.free][None, :]
    batch = refine_many(law, prob.X, prob.target, obj, np.ones((1, N.size)), x0,
                        np.array(prob.free), prob.base, prob.lo, prob.hi, max_iter=500)
    reached = law.to_natural(prob.full(batch.x)[0])
    np.testing.assert_allclose(predictions(reached), predictions(target_fit.params), rtol=2e-4)
    np.testing.assert_allclose(predictions(reached), TRUTH, rtol=2e-3)


def test_the_bootstrap_resamples_the_penalised_fit(under_csv):
    fit = api.fit(under_csv, "chinchilla", overestimate_penalty=10, bootstrap=40, seed=1)
    draws = np.array([predictions(p) for p in fit.draw_params()])
    assert len(draws) >= 38
    # each resample's law stays near the lower envelope (measured: 0.05% typical)...
    assert np.median(np.abs(draws / TRUTH - 1)) < 3e-3
    # ...where the symmetric fit's resamples sit high (measured: 2%)
    sym = api.fit(under_csv, "chinchilla", bootstrap=40, seed=1)
    high = np.array([predictions(p) for p in sym.draw_params()]) / TRUTH - 1
    assert np.median(high) > 0.01


def test_a_closed_form_law_falls_back_to_the_start_grid():
    """The pure power law is a closed form for symmetric mse in log space; penalised, it is
    searched from its start grid, says so, and recovers the lower envelope."""
    x = np.logspace(18, 22, 12)
    y = 3e3 * x ** -0.15
    raised = y * np.where(np.arange(12) % 3 == 1, 1.06, 1.0)
    import polars as pl

    from scalecli.reduce import Points

    frame = pl.DataFrame({"run_id": [f"r{i}" for i in range(12)],
                          "name": [f"r{i}" for i in range(12)], "flops": x, "y": raised})
    pts = Points(frame=frame, target="loss", reduce="last")
    law = get_law("power")
    sym = fit_points(pts, law, objective=Objective("mse"), fixed={"E": 0.0})
    assert "closed form" in sym.fit["message"]
    fit = fit_points(pts, law, objective=Objective("mse", overestimate=1000.0), fixed={"E": 0.0})
    assert "closed form" not in fit.fit["message"]
    assert any("start grid" in n and "closed form" in n for n in fit.notes)
    # mse with W = 1000 sits within ~W^-1/2 of the envelope's ~6% gap: well below the
    # symmetric line (which splits the difference), near the true one
    assert fit.params["alpha"] == pytest.approx(0.15, rel=0.01)
    assert fit.params["A"] == pytest.approx(3e3, rel=0.05)
    assert sym.params["A"] > 3e3 * 1.01


# ---- --drop-outliers --------------------------------------------------------------------------
def test_drop_outliers_names_the_run_and_recovers_the_law(outlier_csv):
    r = invoke("fit", outlier_csv, "--law", "chinchilla", "--drop-outliers", "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    for k, v in LAW.items():
        assert out["params"][k] == pytest.approx(v, rel=1e-3)
    assert out["n_runs"] == 29 and out["n_points"] == 29
    (dropped,) = out["data"]["outliers_dropped"]
    assert dropped["run"] == f"run{OUTLIER}"
    # its residual (log observed - log predicted) is the 15% it was raised by
    assert dropped["residual"] == pytest.approx(math.log(1.15), abs=2e-3)
    assert dropped["robust_sd"] > 10
    assert f"dropped outliers: run{OUTLIER} (residual +0.14" in r.stderr
    assert "refitted on 29 of 30 runs" in r.stderr


def test_without_drop_outliers_the_outlier_bends_an_mse_fit(outlier_csv):
    fit = api.fit(outlier_csv, "chinchilla", loss="mse")
    assert max(abs(fit.params[k] / v - 1) for k, v in LAW.items()) > 0.01
    kept = api.fit(outlier_csv, "chinchilla", loss="mse", drop_outliers=True)
    for k, v in LAW.items():
        assert kept.params[k] == pytest.approx(v, rel=1e-3)


def test_clean_data_drop_nothing(tmp_path):
    csv = write_csv(tmp_path / "clean.csv", N, D, with_outlier(outlier=False))
    r = invoke("fit", csv, "--drop-outliers", "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["data"]["outliers_dropped"] == [] and out["n_runs"] == 30
    assert "nothing dropped" in r.stderr


def test_the_bootstrap_runs_on_the_refit_data(outlier_csv):
    fit = api.fit(outlier_csv, "chinchilla", drop_outliers=True, bootstrap=20, seed=3)
    assert fit.n_runs == 29
    assert f"run{OUTLIER}" not in fit.points["name"].to_list()
    # without the outlier every resample is near-noiseless: E within 0.1% in all of them
    es = np.array([p["E"] for p in fit.draw_params()])
    assert es.size == 20 and np.all(np.abs(es / 1.8 - 1) < 1e-3)


def test_backtest_drops_outliers_in_each_split(outlier_csv):
    res = api.backtest(outlier_csv, "chinchilla", drop_outliers=True, holdout_largest=2)
    (fit,) = res.fits
    assert fit["outliers_dropped"] == [f"run{OUTLIER}"]
    assert any("--drop-outliers" in n and f"run{OUTLIER}" in n for n in res.notes)
    # the two largest rungs predicted from the law without the outlier: within 0.1%
    assert max(abs(p["rel_error"]) for p in res.predictions) < 1e-3


def test_drop_outliers_with_law_all_is_refused(outlier_csv):
    r = invoke("fit", outlier_csv, "--law", "all", "--drop-outliers")
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: --drop-outliers")


# ---- the command line and the config ------------------------------------------------------------
def test_the_penalty_on_the_command_line(under_csv):
    r = invoke("fit", under_csv, "--overestimate-penalty", "10", "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["fit"]["overestimate_penalty"] == 10.0
    assert "over-estimates weighted 10x" in out["fit"]["objective"]
    np.testing.assert_allclose(predictions(out["params"]), TRUTH, rtol=2e-3)


@pytest.mark.parametrize("bad", ["0.5", "nan", "ten", "-1", "inf"])
@pytest.mark.parametrize("command", ["fit", "backtest"])
def test_a_bad_penalty_is_one_line_and_exit_1(under_csv, bad, command):
    r = invoke(command, under_csv, "--overestimate-penalty", bad)
    assert r.exit_code == 1, r.stdout
    assert r.stderr.startswith(f"Error: --overestimate-penalty {bad}:")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_compare_takes_the_penalty(tmp_path):
    a = write_csv(tmp_path / "a.csv", N, D, under_tuned())
    b = write_csv(tmp_path / "b.csv", N, D, under_tuned(seed=1) * 1.01)
    res = api.compare([a, b], overestimate_penalty=10)
    for name, scale in (("a", 1.0), ("b", 1.01)):  # b's well-tuned law is 1.01 x the law
        fit = res.groups[name].fit
        assert fit.fit["overestimate_penalty"] == 10.0
        np.testing.assert_allclose(predictions(fit.params), scale * TRUTH, rtol=2e-3)
    bad = invoke("compare", a, b, "--overestimate-penalty", "0")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: --overestimate-penalty 0:")


def test_the_config_takes_the_penalty(tmp_path, under_csv):
    cfg = tmp_path / "envelope.yaml"
    cfg.write_text("law: {name: chinchilla}\n"
                   "fit: {loss: mae, space: linear, overestimate_penalty: 10}\n")
    fit = api.fit(under_csv, config=str(cfg))
    assert fit.fit["overestimate_penalty"] == 10.0 and fit.fit["loss"] == "mae"
    np.testing.assert_allclose(predictions(fit.params), TRUTH, rtol=2e-3)
    # a command-line --loss keeps the config's penalty; --overestimate-penalty overrides it
    assert api.fit(under_csv, config=str(cfg), loss="huber").fit["overestimate_penalty"] == 10
    assert api.fit(under_csv, config=str(cfg),
                   overestimate_penalty=1).fit["overestimate_penalty"] == 1
    cfg.write_text("law: {name: chinchilla}\nfit: {overestimate_penalty: 0.2}\n")
    r = invoke("fit", under_csv, "--config", cfg)
    assert r.exit_code == 1 and "overestimate_penalty 0.2" in r.stderr
    assert r.stderr.count("\n") == 1
