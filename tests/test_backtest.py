"""scalecli backtest: fit on the smaller rungs of a ladder, predict the larger runs.

The data come from known laws: a Chinchilla sweep (tests/conftest.py), with and without
noise, and a one-break BNSL (Caballero et al. 2022, Eq. 1, written out below) whose break lies
past the rungs the early fits see. Expected values (observed losses, factors, the law's true
values) are computed here from the generating arrays, not read back from the command.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TRUE, as_points, chinchilla_loss, synthetic_sweep, write_csv
from test_cli_hardening import invoke, refused

from scalecli import api


def bnsl(x, a, b, c0, c1, d1, f1):
    """One-break BNSL: slope c0 in log-log, steepening by c1 past x = d1 (sharpness f1)."""
    return a + b * x ** -c0 * (1 + (x / d1) ** (1 / f1)) ** (-c1 * f1)


# A ladder of 12 sizes, one run each at 20 tokens per parameter (C = 120·N²). The break sits at
# the 7th run's compute: fits on rungs 1-6 never see it.
LADDER_N = np.geomspace(1e7, 3e9, 12)
LADDER_D = 20 * LADDER_N
LADDER_C = 6 * LADDER_N * LADDER_D
BREAK = LADDER_C[6]


def broken_ladder(c1: float, noise: float = 0.003, seed: int = 0):
    """Loss of the ladder from a BNSL in compute (in units of 1e15 FLOPs); c1 = 0: no break."""
    rng = np.random.default_rng(seed)
    clean = bnsl(LADDER_C / 1e15, 1.8, 3.0, 0.12, c1, BREAK / 1e15, 0.1)
    return clean * (1 + noise * rng.standard_normal(clean.size))


def run_json(*args):
    r = invoke("backtest", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout), r.stderr


# ---- the library, on data from a known law --------------------------------------------------
def test_noiseless_chinchilla_is_predicted_exactly_once_three_sizes_are_fitted():
    N, D, L = synthetic_sweep(0, noise=0.0)
    res = api.backtest(as_points(N, D, L), "chinchilla", min_rungs=3)
    assert [f["rung"] for f in res.fits] == [3, 4, 5]
    sizes = np.unique(N)
    for p in res.predictions:
        i = int(p["run_id"][1:])  # as_points names run i "r{i}"
        assert p["observed"] == L[i]
        assert p["factor"] == pytest.approx(N[i] / sizes[p["rung"] - 1], rel=1e-12)
        assert abs(p["rel_error"]) < 1e-3
        assert p["predicted"] == pytest.approx(chinchilla_loss(TRUE, N[i], D[i]), rel=1e-3)
    # every run of each larger size, predicted from each fit: 15 + 10 + 5
    assert len(res.predictions) == 30


def test_the_roll_starts_at_the_first_rung_the_fit_accepts():
    """One size cannot separate the N term: rung 1 is skipped with the fit's own reason."""
    N, D, L = synthetic_sweep(0, noise=0.0)
    res = api.backtest(as_points(N, D, L), "chinchilla")
    assert [f["rung"] for f in res.fits] == [2, 3, 4, 5]
    assert list(res.skipped) == [1] and "one model size" in res.skipped[1]
    assert any("first fit is on rungs 1-2" in n and "rung 1 cannot identify" in n
               for n in res.notes)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_errors_on_a_noisy_known_law_are_of_the_size_of_the_noise(seed):
    """0.5% multiplicative noise: a prediction's error is the run's own noise (median
    |z|·0.5% = 0.34%) plus the fit's extrapolation error; from three sizes on, the median
    stays below three times the noise."""
    noise = 0.005
    N, D, L = synthetic_sweep(seed, noise=noise)
    res = api.backtest(as_points(N, D, L), "chinchilla", min_rungs=3)
    err = np.abs([p["rel_error"] for p in res.predictions])
    assert np.median(err) < 3 * noise
    assert res.summary["median_abs_rel_error"] == pytest.approx(np.median(err), rel=1e-12)
    assert res.summary["count"] == err.size


def test_a_law_that_cannot_bend_misses_a_break_beyond_the_fitted_rungs(tmp_path):
    """The same ladder and fits, with and without a break past rung 6: the power law fitted on
    rungs before the break predicts the runs before it to the noise and misses every run well
    past it by more than 5%; without the break the same fits stay within 5% everywhere."""
    args = ("--law", "power", "--x", "flops", "--by", "flops", "--min-rungs", "4")
    early = {}
    for c1 in (0.0, 0.3):
        path = write_csv(tmp_path / f"ladder-{c1}.csv", LADDER_N, LADDER_D, broken_ladder(c1),
                         flops=LADDER_C)
        out, _ = run_json(path, *args)
        early[c1] = [p for p in out["predictions"] if p["rung"] <= 6]  # fitted before the break
    assert len(early[0.0]) == 8 + 7 + 6
    assert max(abs(p["rel_error"]) for p in early[0.0]) < 0.05
    past = [p for p in early[0.3] if p["value"] >= 2 * BREAK]
    before = [p for p in early[0.3] if p["value"] < BREAK]
    assert len(past) == 5 * 3 and len(before) == 2 + 1
    assert min(abs(p["rel_error"]) for p in past) > 0.05
    assert max(abs(p["rel_error"]) for p in before) < 0.015
    assert all(p["rel_error"] > 0 for p in past)  # the loss fell faster than the law allows


def test_law_all_ranks_the_law_that_can_bend_first_once_it_has_seen_the_break(tmp_path):
    """Fitted without the 4 largest rungs (two runs past the break are fitted), BNSL, the
    generating law, predicts the last four runs; laws that cannot bend miss them by 10%+."""
    L = broken_ladder(0.3, noise=0.0)
    path = write_csv(tmp_path / "ladder.csv", LADDER_N, LADDER_D, L, flops=LADDER_C)
    out, err = run_json(path, "--law", "all", "--x", "flops", "--holdout-largest", "4")
    summary = out["summary"]
    assert summary[0]["law"] == "bnsl" and summary[0]["max_abs_rel_error"] < 1e-3
    assert [row["rank"] for row in summary] == list(range(1, len(summary) + 1))
    means = [row["shared_mean_abs_rel_error"] for row in summary]
    assert means == sorted(means)
    power = next(row for row in summary if row["law"] == "power")
    assert power["mean_abs_rel_error"] > 0.10
    assert "streams" in out["skipped"]["parscale"] and "parscale skipped" in err
    preds = [p for p in out["predictions"] if p["law"] == "bnsl"]
    assert [p["run"] for p in preds] == [f"run{i}" for i in range(8, 12)]
    assert [p["observed"] for p in preds] == pytest.approx(L[8:], rel=1e-15)
    assert {p["rung"] for p in preds} == {8}


# ---- the command line ------------------------------------------------------------------------
def sweep_csv(tmp_path, noise=0.0, seed=0):
    N, D, L = synthetic_sweep(seed, noise=noise)
    return write_csv(tmp_path / "sweep.csv", N, D, L), (N, D, L)


def test_json_has_predictions_and_summary(tmp_path):
    path, (N, D, L) = sweep_csv(tmp_path)
    out, _ = run_json(path, "--law", "chinchilla", "--min-rungs", "3")
    assert {"predictions", "summary"} <= set(out)
    sizes = np.unique(N)
    for p in out["predictions"]:
        assert {"run", "rung", "factor", "observed", "predicted", "rel_error"} <= set(p)
        i = int(p["run"][3:])  # write_csv names run i "run{i}"
        assert p["observed"] == L[i] and p["value"] == N[i]
        assert p["factor"] == pytest.approx(N[i] / sizes[p["rung"] - 1], rel=1e-12)
        want = chinchilla_loss(TRUE, N[i], D[i])
        assert p["rel_error"] == pytest.approx((p["predicted"] - L[i]) / L[i], abs=1e-15)
        assert abs(p["predicted"] / want - 1) < 1e-3
    bands = {b["factor"]: b for b in out["summary"]["by_factor"]}
    factors = np.array([p["factor"] for p in out["predictions"]])
    assert bands["2–4×"]["count"] == int(((factors > 2) & (factors <= 4)).sum())
    assert bands[">10×"]["count"] == int((factors > 10).sum())
    assert sum(b["count"] for b in bands.values()) == out["summary"]["count"] == 30
    per_fit = out["summary"]["by_rung"]
    assert [(r["rung"], r["count"]) for r in per_fit] == [(3, 15), (4, 10), (5, 5)]
    assert per_fit[0]["max_factor"] == pytest.approx(sizes[-1] / sizes[2], rel=1e-12)


def isoflop_csv(tmp_path):
    """Four compute budgets, five sizes each; D jittered so C varies by up to ±3% in a
    budget, as logged compute does. Noise-free Chinchilla losses."""
    rng = np.random.default_rng(7)
    budgets = np.array([1e18, 1e19, 1e20, 1e21])
    n_opt = 0.1 * (budgets / 6) ** 0.5
    N = (n_opt[:, None] * np.array([0.25, 0.5, 1, 2, 4])).ravel()
    C = np.repeat(budgets, 5) * (1 + 0.03 * rng.uniform(-1, 1, N.size))
    D = C / (6 * N)
    return write_csv(tmp_path / "iso.csv", N, D, chinchilla_loss(TRUE, N, D), flops=C), N, C


def test_by_flops_makes_one_rung_per_budget(tmp_path):
    path, _, C = isoflop_csv(tmp_path)
    out, err = run_json(path, "--law", "chinchilla", "--by", "flops")
    assert [r["runs"] for r in out["rungs"]] == [5, 5, 5, 5]
    assert "first fit is on rungs 1-2 (flops" in err  # five points for five parameters
    assert [f["rung"] for f in out["fits"]] == [2, 3]
    fitted_max = {k: C[: 5 * k].max() for k in (2, 3)}
    assert len(out["predictions"]) == 10 + 5
    for p in out["predictions"]:
        i = int(p["run"][3:])
        assert p["run_rung"] == i // 5 + 1
        assert p["factor"] == pytest.approx(C[i] / fitted_max[p["rung"]], rel=1e-12)
        assert abs(p["rel_error"]) < 1e-3
    # tolerance 0: every run its own compute value, its own rung
    out, _ = run_json(path, "--law", "chinchilla", "--by", "flops", "--tolerance", "0",
                      "--holdout-largest", "1")
    assert len(out["rungs"]) == 20


def test_holdout_largest_is_one_split(tmp_path):
    path, (N, _, _) = sweep_csv(tmp_path)
    out, _ = run_json(path, "--law", "chinchilla", "--holdout-largest", "2")
    assert [f["rung"] for f in out["fits"]] == [4]
    held = sorted(f"run{i}" for i in np.flatnonzero(N >= 7e8))
    assert sorted(p["run"] for p in out["predictions"]) == held
    assert all(p["factor"] == pytest.approx(p["value"] / 3e8) for p in out["predictions"])
    assert out["holdout_largest"] == 2


def test_runs_without_a_model_size_climb_the_law_s_own_variable(tmp_path):
    """A file of dataset_size, error (no N): the ladder is the power law's variable. Error
    = 0.1 + 5·x^-0.5 exactly, so every prediction is the law's value."""
    x = np.array([100.0, 200, 400, 800, 1600, 3200, 6400])
    err = 0.1 + 5 * x ** -0.5
    path = tmp_path / "data.csv"
    path.write_text("dataset_size,error\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), err.tolist())))
    out, notes = run_json(path, "--law", "power", "--x", "dataset_size", "--y", "error")
    assert out["by"] == "dataset_size"
    assert "first fit is on rungs 1-4 (dataset_size ≤ 800)" in notes  # 3 parameters
    assert len(out["predictions"]) == 3 + 2 + 1
    for p in out["predictions"]:
        assert p["predicted"] == pytest.approx(0.1 + 5 * p["value"] ** -0.5, rel=1e-6)
        assert p["factor"] == pytest.approx(p["value"] / x[p["rung"] - 1], rel=1e-12)


def test_table_csv_and_markdown(tmp_path):
    path, _ = sweep_csv(tmp_path)
    args = (path, "--law", "chinchilla", "--holdout-largest", "1")
    r = invoke("backtest", *args)
    assert r.exit_code == 0, r.stderr
    assert "chinchilla backtest by n_params" in r.stdout
    assert "error against extrapolation factor" in r.stdout and "2–4×" in r.stdout
    r = invoke("backtest", *args, "--format", "csv")
    lines = r.stdout.splitlines()
    assert lines[0] == "run,rung,run_rung,value,factor,observed,predicted,rel_error"
    assert len(lines) == 1 + 5
    r = invoke("backtest", *args, "--format", "markdown")
    assert "| fit on rungs | run |" in r.stdout and "all 5 predictions" in r.stdout


def test_the_seed_and_objective_options_reach_every_fit(tmp_path):
    path, _ = sweep_csv(tmp_path, noise=0.005)
    base = (path, "--law", "chinchilla", "--holdout-largest", "3")
    a, _ = run_json(*base)
    b, _ = run_json(*base, "--fix", "E=1.8")
    assert a["fits"][0]["params"]["E"] != 1.8 and b["fits"][0]["params"]["E"] == 1.8
    c, _ = run_json(*base, "--loss", "mse", "--seed", "3")
    assert c["fits"][0]["params"] != a["fits"][0]["params"]


def test_warnings_of_the_fits_are_named_and_strict_refuses_them(tmp_path):
    N, D, L = synthetic_sweep(0, noise=0.0)
    keep = np.isin(N, np.unique(N)[:4]) & np.isin(D / N, [5.0, 20.0, 40.0])  # 4 sizes x 3
    path = write_csv(tmp_path / "small.csv", N[keep], D[keep], L[keep])
    r = invoke("backtest", path, "--law", "chinchilla")
    assert r.exit_code == 0
    assert "warning: fit on rungs 1-2: only 6 points for 5 free parameters" in r.stderr
    refused(invoke("backtest", path, "--law", "chinchilla", "--strict"), "--strict", "6 points")


# ---- bad input: one line, exit 1 ----------------------------------------------------------
def one_size_csv(tmp_path):
    D = np.array([1e9, 2e9, 4e9, 8e9, 1.6e10, 3.2e10, 6.4e10])
    N = np.full(D.size, 1e8)
    return write_csv(tmp_path / "one.csv", N, D, chinchilla_loss(TRUE, N, D))


def test_one_rung_leaves_nothing_to_predict(tmp_path):
    refused(invoke("backtest", one_size_csv(tmp_path)), "one rung", "nothing larger to predict")


def test_too_few_runs_to_fit_on_any_rung(tmp_path):
    N = np.array([1e8, 2e8, 4e8])
    path = write_csv(tmp_path / "three.csv", N, 20 * N, chinchilla_loss(TRUE, N, 20 * N))
    refused(invoke("backtest", path, "--law", "chinchilla"), "chinchilla cannot be fitted",
            "more points than parameters")


@pytest.mark.parametrize("args,words", [
    (["--holdout-largest", "6"], ["--holdout-largest 6", "nothing to fit", "6 rungs"]),
    (["--holdout-largest", "5"], ["--holdout-largest 5", "too little", "one model size"]),
    (["--min-rungs", "6"], ["--min-rungs 6", "nothing to predict"]),
    (["--min-rungs", "2", "--holdout-largest", "1"], ["--min-rungs", "fits once"]),
    (["--envelope", "pareto"], ["--envelope", "larger runs"]),
    (["--holdout", "3"], ["--holdout", "--holdout-largest K"]),
    (["--by", "nothing"], ["--by nothing", "n_params"]),
    (["--tolerance", "1.5"], ["--tolerance 1.5", "[0, 1)"]),
    (["--law", "all", "--fix", "E=1.8"], ["--fix", "--law all"]),
])
def test_refusals(tmp_path, args, words):
    path, _ = sweep_csv(tmp_path)
    refused(invoke("backtest", path, *args), *words)
