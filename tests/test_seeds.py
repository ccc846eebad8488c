"""Seeds (several runs of one (N, D)): their reported spread against the noise they were drawn
with, --weights seed-variance against the law the data came from, weights in every search
plan against the fit of duplicated points, and the "fitting the noise" warning."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from conftest import TRUE, as_points, chinchilla_loss, synthetic_sweep, write_csv
from scipy.stats import chi2
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.errors import ConfigError, FitError
from scalecli.fitting import Objective, fit_points
from scalecli.fitting.seeds import check_weights, seed_weights
from scalecli.laws import get_law
from scalecli.reduce import Points

runner = CliRunner()
CHINCHILLA = get_law("chinchilla")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def seeded(seed: int, sigma, repeats: int = 3, sizes=None, ratios=None):
    """Every (N, D) of the conftest sweep (or of ``sizes`` x ``ratios``) run ``repeats`` times,
    the loss with multiplicative Gaussian noise ``sigma`` (a number, or one per (N, D))."""
    if sizes is None:
        N0, D0, _ = synthetic_sweep(0)
    else:
        N0 = np.repeat(sizes, len(ratios))
        D0 = N0 * np.tile(ratios, len(sizes))
    N, D = np.tile(N0, repeats), np.tile(D0, repeats)
    s = np.tile(np.broadcast_to(np.asarray(sigma, float), N0.shape), repeats)
    rng = np.random.default_rng(seed)
    return N, D, chinchilla_loss(TRUE, N, D) * (1 + s * rng.standard_normal(N.size))


# ---- the reported spread -------------------------------------------------------------------
def test_pooled_std_is_the_noise_within_sampling_error():
    """30 (N, D) x 3 seeds: the pooled variance has 60 degrees of freedom, so s/sigma lies in
    [0.71, 1.30] with probability 99.9% (chi-square bounds) for log loss, whose noise is sigma
    (log(1 + sigma e) = sigma e to 1e-4 here). The loss's own noise is sigma x the true loss of
    each (N, D): the same bound with Satterthwaite's effective degrees of freedom."""
    sigma = 0.01
    N, D, L = seeded(7, sigma)
    fit = fit_points(as_points(N, D, L), CHINCHILLA)
    s = fit.seeds
    assert (s["groups"], s["runs"], s["dof"], s["by"]) == (30, 90, 60, ["N", "D"])
    lo, hi = (np.sqrt(chi2.ppf(q, 60) / 60) for q in (0.0005, 0.9995))
    assert lo * sigma < s["std_log_loss"] < hi * sigma
    assert s["std_space"] == s["std_log_loss"]  # the fit's space is log
    true_var = (sigma * chinchilla_loss(TRUE, N[:30], D[:30])) ** 2  # one per (N, D)
    nu = (2 * true_var.sum()) ** 2 / (4 * (true_var ** 2).sum() / 2)
    expected = np.sqrt(true_var.mean())
    lo, hi = (np.sqrt(chi2.ppf(q, nu) / nu) for q in (0.0005, 0.9995))
    assert lo * expected < s["std_loss"] < hi * expected
    assert any(n.startswith("seeds: 30 (N, D) with several runs (90 runs)") for n in fit.notes)


def test_no_seeds_no_seeds_object():
    fit = fit_points(as_points(*synthetic_sweep(0)), CHINCHILLA)
    assert fit.seeds is None and "seeds" not in fit.to_dict()
    assert not any(n.startswith("seeds:") for n in fit.notes)


def test_seeds_group_runs_a_batch_apart():
    """Token counts that differ past the 4th significant digit are one configuration."""
    N, D, L = seeded(1, 0.01, repeats=2)
    D = D.copy()
    D[30:] *= 1 + 3e-5  # the second seed stopped a batch later
    fit = fit_points(as_points(N, D, L), CHINCHILLA)
    assert fit.seeds["groups"] == 30


def test_seeds_are_runs_of_one_n_and_d_whatever_the_law():
    """A law of N alone sees the 5 budgets of a size as one x; they are still not seeds."""
    N, D, L = seeded(2, 0.01)
    fit = fit_points(as_points(N, D, L), get_law("kaplan-n"))
    assert (fit.seeds["by"], fit.seeds["groups"], fit.seeds["dof"]) == (["N", "D"], 30, 60)
    assert not [w for w in fit.warnings if "fitting the noise" in w]


# ---- --weights seed-variance ---------------------------------------------------------------
def _error(params):
    """Squared log error of the parameters against the generating law's."""
    return sum(np.log(params[k] / TRUE[k]) ** 2 for k in TRUE)


def _compare(loss: str, sims: int, sigma=None, first: int = 100):
    """Unweighted and seed-variance-weighted errors, 3 seeds per (N, D), fixed seeds; by default
    every other (N, D) is 15x noisier (0.2% and 3%)."""
    if sigma is None:
        N0, _, _ = synthetic_sweep(0)
        sigma = np.where(np.arange(N0.size) % 2 == 0, 0.002, 0.03)
    plain, weighted = [], []
    for k in range(sims):
        pts = as_points(*seeded(first + k, sigma))
        plain.append(_error(fit_points(pts, CHINCHILLA, objective=Objective(loss)).params))
        w = fit_points(pts, CHINCHILLA, objective=Objective(loss), weights="seed-variance")
        assert w.fit["weights"] == "seed-variance"
        weighted.append(_error(w.params))
    return np.array(plain), np.array(weighted)


def test_seed_variance_weights_recover_the_law_better_under_least_squares():
    """Inverse-variance weights are the efficient ones for squared error: every simulation's
    parameters come out closer to the truth here, on average by far (measured over 12: 0.21
    -> 0.10; with the true variances as weights, 0.011)."""
    plain, weighted = _compare("mse", 6)
    assert np.all(weighted < plain)
    assert weighted.mean() < plain.mean() / 5


def test_seed_variance_weights_help_the_default_objective():
    """Under the default Huber loss the weights standardize the residuals (its delta then in
    units of the noise); measured over 12 simulations 0.026 -> 0.014."""
    plain, weighted = _compare("huber", 6)
    assert weighted.mean() < 0.8 * plain.mean()


def test_seed_variance_weights_do_little_harm_when_the_noise_is_even():
    """Equal noise everywhere: the moderated variances come out (nearly) equal, so the fit is
    (nearly) the unweighted one, not one skewed by three seeds' chance variances (measured
    over 12: 0.084 -> 0.088; the groups' own variances as weights give 0.31)."""
    plain, weighted = _compare("mse", 6, sigma=0.01, first=200)
    assert weighted.mean() < 1.5 * plain.mean()


def test_moderated_weights_follow_the_noise_not_the_chance():
    """30 (N, D) x 3 seeds. Noise 15x apart: the weights of quiet and noisy groups stand
    about 15^2 = 225 apart (their geometric means). Even noise: they stay within 2.5x, where
    the groups' own variances (chi-square on 2 degrees of freedom) spread over 100x."""
    N0, _, _ = synthetic_sweep(0)
    quiet = np.arange(N0.size) % 2 == 0
    for seed in range(3):
        N, D, L = seeded(seed, np.where(quiet, 0.002, 0.03))
        w, _ = seed_weights({"N": N, "D": D}, np.log(L))
        ratio = np.exp(np.log(w[:30][quiet]).mean() - np.log(w[:30][~quiet]).mean())
        assert 50 < ratio < 1000
        N, D, L = seeded(seed, 0.01)
        w, note = seed_weights({"N": N, "D": D}, np.log(L))
        assert w.max() / w.min() < 2.5, note
    # a configuration run once takes the common value: between the extremes
    N, D, L = seeded(0, np.where(quiet, 0.002, 0.03))
    keep = np.ones(N.size, bool)
    keep[[30, 60]] = False  # (N, D) number 0 now has one run
    w, _ = seed_weights({"N": N[keep], "D": D[keep]}, np.log(L[keep]))
    assert w.min() < w[0] < w.max()


def _points_x(x, y):
    n = len(x)
    frame = pl.DataFrame({"run_id": [f"r{i}" for i in range(n)], "name": [f"r{i}" for i in
                                                                            range(n)],
                          "source": ["t"] * n, "flops": x, "y": y})
    return Points(frame=frame, target="loss", reduce="last")


def _bnsl_data(scale: float):
    law = get_law("bnsl")
    x = np.logspace(0, 3, 20)
    p = {"a": 0.5, "b": 5.0, "c0": 0.2, "c1": 0.5, "d1": 30.0, "f1": 0.3}
    y = np.array([law.value(p, {"x": v}) for v in x])
    y = y * np.exp(0.01 * np.random.default_rng(0).standard_normal(20))
    return x * scale, y


@pytest.mark.parametrize("case", ["start grid mse", "start grid huber", "start grid mae",
                                  "closed form", "least squares", "least squares, scaled data"])
def test_every_search_plan_honours_weights(case):
    """A weight w multiplies a point's residual by sqrt(w): under squared error, weight 3 is the
    same fit as the point three times; under absolute error, weight 9 is. The Huber loss is
    checked in its quadratic range (delta 1 against residuals of ~1%), its linear range through
    mae (fitted through Huber losses of shrinking delta). Independent of how a plan applies
    the weights: every plan against the fit of repeated points."""
    rng = np.random.default_rng(0)
    options = {}
    if case.startswith("start grid"):
        law = CHINCHILLA
        N, D, L = synthetic_sweep(3, noise=0.01)
        data = lambda idx: as_points(N[idx], D[idx], L[idx])
        loss = case.split()[-1]
        n, options["objective"] = N.size, Objective(loss, delta=1.0 if loss == "huber" else 1e-3)
    elif case == "closed form":
        law, n = get_law("power"), 12
        x = np.logspace(18, 22, n)
        y = 3e3 * x ** -0.15 * np.exp(0.02 * rng.standard_normal(n))
        data = lambda idx: _points_x(x[idx], y[idx])
        options = {"objective": Objective("mse"), "fixed": {"E": 0.0}}
    else:
        law, n = get_law("bnsl"), 20
        x, y = _bnsl_data(1e18 if "scaled" in case else 1.0)
        data = lambda idx: _points_x(x[idx], y[idx])
        options = {"objective": Objective("mse", space="log1p")}  # the authors' objective
    copies = np.ones(n, dtype=int)
    copies[[1, 5, 9]] = [3, 2, 4]
    weights = copies.astype(float) ** (2 if case.endswith("mae") else 1)
    once = np.arange(n)
    weighted = fit_points(data(once), law, weights=weights, **options)
    repeated = fit_points(data(np.repeat(once, copies)), law, **options)
    plan = {"closed form": "closed form", "least squares": "Levenberg-Marquardt",
            "least squares, scaled data": "Levenberg-Marquardt"}
    assert plan.get(case, "CONVERGENCE") in weighted.fit["message"]
    for k, v in repeated.params.items():
        assert weighted.params[k] == pytest.approx(v, rel=1e-6, abs=1e-12), k


def test_weights_are_refused_without_seeds():
    with pytest.raises(FitError, match="needs seeds"):
        fit_points(as_points(*synthetic_sweep(0)), CHINCHILLA, weights="seed-variance")
    N, D, _ = seeded(0, 0.01, repeats=2)
    with pytest.raises(FitError, match="identical targets"):
        fit_points(as_points(N, D, chinchilla_loss(TRUE, N, D)), CHINCHILLA,
                   weights="seed-variance")


def test_unknown_weighting_is_refused():
    assert check_weights(None) is None and check_weights("none") is None
    assert check_weights("Seed-Variance") == "seed-variance"
    with pytest.raises(ConfigError, match="'inverse'"):
        check_weights("inverse")


# ---- fitting the noise ---------------------------------------------------------------------
def _noise_warnings(fit):
    return [w for w in fit.warnings if "fitting the noise" in w]


def test_as_many_parameters_as_configurations_is_fitting_the_noise():
    """Chinchilla's 5 free parameters on 5 (N, D), 4 seeds each: the law can pass through
    every configuration, whatever the seeds say."""
    sizes, ratios = np.array([5e7, 3e8, 1.5e9]), np.array([5.0, 40.0])
    N, D, L = seeded(0, 0.01, repeats=4, sizes=sizes, ratios=ratios)
    keep = ~((N == 1.5e9) & (D == 40 * 1.5e9))  # five configurations
    fit = fit_points(as_points(N[keep], D[keep], L[keep]), CHINCHILLA)
    (warning,) = _noise_warnings(fit)
    assert "5 free parameters for 5 distinct (N, D)" in warning


def test_few_configurations_for_many_parameters_warn_an_ordinary_sweep_does_not():
    """With p = 5 free parameters and G configurations, a right law leaves between-
    configuration residuals of about sqrt(1 - p/G) of the seed noise: 0.41 for G = 6 (the
    warning's line is ~0.35-0.4 here), 0.91 for the ordinary 30. Fixed simulations: the first
    warns in most (measured 10 of 12 with 4 seeds), the second in none."""
    sizes, ratios = np.array([5e7, 3e8, 1.5e9]), np.array([5.0, 40.0])
    few = [_noise_warnings(fit_points(as_points(*seeded(s, 0.01, 4, sizes, ratios)),
                                      CHINCHILLA)) for s in range(6)]
    assert sum(bool(w) for w in few) >= 4
    assert all("5 free parameters for 6 distinct (N, D)" in w[0] for w in few if w)
    ordinary = [fit_points(as_points(*seeded(s, 0.01)), CHINCHILLA) for s in range(4)]
    assert not any(_noise_warnings(f) for f in ordinary)
    assert all(0.7 < f.seeds["fit_to_noise"] < 1.4 for f in ordinary)


# ---- the command line ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds_csv(tmp_path_factory):
    N0, _, _ = synthetic_sweep(0)
    sigma = np.where(np.arange(N0.size) % 2 == 0, 0.002, 0.03)
    return write_csv(tmp_path_factory.mktemp("seeds") / "seeds.csv", *seeded(5, sigma))


def test_fit_reports_seeds(seeds_csv):
    r = invoke("fit", seeds_csv, "--format", "json")
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)["seeds"]
    assert {"groups", "runs", "std_loss", "std_log_loss"} <= set(s)
    assert (s["groups"], s["runs"]) == (30, 90)
    assert "note: seeds: 30 (N, D) with several runs (90 runs)" in r.stderr
    # pooled across the two noise levels: sqrt((0.002^2 + 0.03^2) / 2) in log loss
    assert s["std_log_loss"] == pytest.approx(np.sqrt((0.002 ** 2 + 0.03 ** 2) / 2), rel=0.3)


def test_fit_with_seed_variance_weights(seeds_csv):
    r = invoke("fit", seeds_csv, "--weights", "seed-variance", "--format", "json")
    assert r.exit_code == 0, r.stderr
    fit = json.loads(r.stdout)["fit"]
    assert fit["weights"] == "seed-variance"
    assert fit["objective"].endswith("weighted by inverse seed variance")
    r = invoke("fit", seeds_csv, "--weights", "seed-variance")
    assert r.exit_code == 0 and "weighted by inverse seed variance" in r.stdout


def refused(r, *words):
    text = r.stdout + r.stderr
    assert r.exit_code == 1, (r.exit_code, text)
    assert "Traceback" not in text and text.count("Error") == 1
    for w in words:
        assert w in text, (w, text)


def test_bad_weights_are_refused(tmp_path, seeds_csv):
    refused(invoke("fit", seeds_csv, "--weights", "inverse"), "--weights 'inverse'",
            "seed-variance")
    plain = write_csv(tmp_path / "plain.csv", *synthetic_sweep(0))
    refused(invoke("fit", plain, "--weights", "seed-variance"), "needs seeds", "(N, D)")
    refused(invoke("fit", plain, "--law", "all", "--weights", "seed-variance"), "needs seeds")


@pytest.mark.parametrize("law_name", ["chinchilla", "power"])
def test_bootstrap_refits_keep_the_weights(law_name):
    """Under squared error, weight 3 on a run is the run three times; repeated rows keep their
    run, so the bootstrap draws the same runs for both, and each resample's refit (batched
    for the start grid, one by one for the closed form) must agree."""
    copies = np.ones(30, dtype=int)
    copies[[1, 5, 9]] = [3, 2, 4]
    once = np.arange(30)
    if law_name == "chinchilla":
        N, D, L = synthetic_sweep(3, noise=0.01)
        data = lambda idx: as_points(N[idx], D[idx], L[idx])
        options = {"objective": Objective("mse")}
    else:
        rng = np.random.default_rng(0)
        x = np.logspace(18, 22, 30)
        y = 3e3 * x ** -0.15 * np.exp(0.02 * rng.standard_normal(30))
        data = lambda idx: _points_x(x[idx], y[idx])
        options = {"objective": Objective("mse"), "fixed": {"E": 0.0}}
    def runs(idx):  # the rows of one run keep its id
        pts = data(idx)
        pts.frame = pts.frame.with_columns(pl.Series("run_id", [f"r{i}" for i in idx]))
        return pts

    weighted = fit_points(runs(once), get_law(law_name), weights=copies.astype(float),
                          resamples=20, seed=1, **options)
    repeated = fit_points(runs(np.repeat(once, copies)), get_law(law_name), resamples=20,
                          seed=1, **options)
    assert weighted.se and set(weighted.se) == set(repeated.se)
    for k, (lo, hi) in repeated.intervals.items():
        assert weighted.intervals[k] == pytest.approx([lo, hi], rel=1e-4), k
