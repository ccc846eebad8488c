"""Residuals of a fit, one per run: checked against the Chinchilla law the data were drawn
from (conftest.TRUE), on the command line (table, JSON, CSV, plot) and from a saved fit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import TRUE, as_points, chinchilla_loss, synthetic_sweep, write_csv
from typer.testing import CliRunner

from scalecli import api
from scalecli.analyses.residuals import residuals, robust_band
from scalecli.cli import app
from scalecli.fitting import FitResult, Objective, fit_points
from scalecli.laws import get_law

runner = CliRunner()
SHIFTED = 13  # the run whose loss is raised by 10%


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def shifted_sweep(seed: int = 0):
    """The conftest sweep (0.5% noise) with one run's loss raised by 10%."""
    N, D, L = synthetic_sweep(seed)
    L = L.copy()
    L[SHIFTED] *= 1.10
    return N, D, L


@pytest.fixture(scope="module")
def shifted_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("shifted") / "runs.csv", *shifted_sweep())


# ---- the library, against the known law ----------------------------------------------------
def test_a_run_shifted_by_ten_percent_is_the_only_outlier():
    N, D, L = shifted_sweep()
    fit = fit_points(as_points(N, D, L), get_law("chinchilla"))
    res = residuals(fit, fit.points)
    assert res.outliers == [f"r{SHIFTED}"]
    row = res.rows[SHIFTED]
    # its residual is the shift plus the run's own noise, against the generating law: the
    # fitted law lies within 1% of it, the noise is 0.5%
    truth = math.log(L[SHIFTED] / chinchilla_loss(TRUE, N[SHIFTED], D[SHIFTED]))
    assert truth > 0.08
    assert row["residual"] == pytest.approx(truth, abs=0.01)


def test_with_no_noise_every_residual_vanishes_and_none_is_flagged():
    N, D, L = synthetic_sweep(0, noise=0.0)
    fit = fit_points(as_points(N, D, L), get_law("chinchilla"))
    res = residuals(fit, fit.points)
    assert max(abs(r["residual"]) for r in res.rows) < 1e-7
    assert res.outliers == []
    truth = chinchilla_loss(TRUE, N, D)
    np.testing.assert_allclose([r["predicted"] for r in res.rows], truth, rtol=1e-7)
    np.testing.assert_array_equal([r["observed"] for r in res.rows], L)


def test_columns_agree_with_the_generating_law():
    N, D, L = synthetic_sweep(1)
    fit = fit_points(as_points(N, D, L), get_law("chinchilla"))
    rows = residuals(fit, fit.points).rows
    assert [r["N"] for r in rows] == list(N) and [r["D"] for r in rows] == list(D)
    assert [r["C"] for r in rows] == pytest.approx(list(6 * N * D))
    observed = np.array([r["observed"] for r in rows])
    predicted = np.array([r["predicted"] for r in rows])
    np.testing.assert_array_equal(observed, L)
    np.testing.assert_allclose(predicted, chinchilla_loss(TRUE, N, D), rtol=0.01)
    # log space: log observed - log predicted, and the noise is 0.5% of the loss
    resid = np.array([r["residual"] for r in rows])
    np.testing.assert_allclose(resid, np.log(observed) - np.log(predicted), atol=1e-12)
    assert np.sqrt(np.mean(resid ** 2)) < 0.01


def test_residuals_follow_the_fit_space():
    N, D, L = synthetic_sweep(2)
    fit = fit_points(as_points(N, D, L), get_law("chinchilla"),
                     objective=Objective("mse", space="linear"))
    rows = residuals(fit, fit.points).rows
    for r in rows:
        assert r["residual"] == pytest.approx(r["observed"] - r["predicted"], abs=1e-12)


def test_clean_sweeps_are_rarely_flagged():
    """Gaussian noise beyond 3 standard deviations: 0.27% of runs, 0.08 per 30-run sweep. The
    band's estimate of the deviation wobbles with 30 runs, so allow some more, but far fewer
    than the plain 3 x MAD rule's 0.9 per sweep (see analyses/residuals.py)."""
    law = get_law("chinchilla")
    flagged = 0
    for seed in range(10):
        fit = fit_points(as_points(*synthetic_sweep(100 + seed)), law)
        flagged += len(residuals(fit, fit.points).outliers)
    assert flagged <= 4


def test_robust_band_ignores_the_wild_runs():
    rng = np.random.default_rng(0)
    r = 0.01 * rng.standard_normal(200)
    center, threshold = robust_band(r)
    wild = np.concatenate([r, [5.0, -7.0, 9.0]])
    _, threshold2 = robust_band(wild)
    assert threshold == pytest.approx(threshold2, rel=0.1)  # three wild runs barely move it
    assert threshold == pytest.approx(3 * 0.01, rel=0.2)  # 3 sd of the noise
    assert abs(center) < 0.003


# ---- the command line ---------------------------------------------------------------------
def test_fit_residuals_table(shifted_csv):
    r = invoke("fit", shifted_csv, "--residuals")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("residual (log)" in line for line in lines)
    runs = [line for line in lines if line.lstrip("│ ").startswith("run") and "runs" not in line]
    assert len(runs) == 30  # one row per run
    flagged = [line for line in runs if line.rstrip(" │").endswith("yes")]
    assert len(flagged) == 1 and f"run{SHIFTED} " in flagged[0]
    assert "1 of 30 runs flagged" in r.stdout
    assert f"run{SHIFTED}" in r.stderr and "1 of 30 runs lie more than" in r.stderr


def test_fit_residuals_json_and_csv(shifted_csv):
    r = invoke("fit", shifted_csv, "--residuals", "--format", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["law"] == "chinchilla" and "params" in d  # the fit, with its residuals
    rows = d["residuals"]
    assert len(rows) == 30
    assert set(rows[0]) == {"run", "N", "D", "C", "observed", "predicted", "residual", "outlier"}
    assert [row["run"] for row in rows if row["outlier"]] == [f"run{SHIFTED}"]
    r = invoke("fit", shifted_csv, "--residuals", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    head, *body = r.stdout.splitlines()
    assert head == "run,N,D,C,observed,predicted,residual,outlier"
    assert len(body) == 30 and sum(line.endswith("True") for line in body) == 1
    r = invoke("fit", shifted_csv, "--residuals", "--format", "markdown")
    assert r.exit_code == 0 and "| run | N | D | observed |" in r.stdout


def test_a_fit_without_residuals_has_no_residuals_key(shifted_csv):
    r = invoke("fit", shifted_csv, "--format", "json")
    assert r.exit_code == 0 and "residuals" not in json.loads(r.stdout)


def test_plot_residuals_from_a_saved_fit(shifted_csv, tmp_path):
    saved = tmp_path / "fit.json"
    r = invoke("fit", shifted_csv, "--residuals", "--save", saved)
    assert r.exit_code == 0, r.stderr
    fresh = json.loads(saved.read_text())["residuals"]
    r = invoke("plot", shifted_csv, "--fit", saved, "--residuals", "--no-color")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 24 and max(map(len, lines)) <= 80
    assert lines[0].startswith("residual (log)") and "residuals vs compute" in lines[0]
    assert "compute C (FLOPs)" in r.stdout and "X outlier" in r.stdout
    body = "\n".join(lines[1:-3])
    assert body.count("X") == 1  # the one outlier, drawn as X
    # the saved fit's residuals at the runs are the fresh fit's, to rounding
    fit, _ = api.plot_data(shifted_csv, fit_file=saved, residuals=True)
    for a, b in zip(fit.residuals, fresh, strict=True):
        assert a["run"] == b["run"] and a["outlier"] == b["outlier"]
        assert a["residual"] == pytest.approx(b["residual"], abs=1e-12)


def test_plot_residuals_of_a_fit_made_now(shifted_csv):
    r = invoke("plot", shifted_csv, "--residuals", "--width", 60, "--height", 16)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 16 and max(map(len, lines)) <= 60


def test_residuals_of_a_one_variable_law_by_column(tmp_path):
    rng = np.random.default_rng(3)
    x = np.logspace(18, 22, 15)
    y = 1.5 + 3e3 * x ** -0.2 * (1 + 0.005 * rng.standard_normal(15))
    path = tmp_path / "power.csv"
    path.write_text("run,flops,loss\n" + "".join(f"r{i},{float(a)!r},{float(b)!r}\n"
                                                  for i, (a, b) in enumerate(zip(x, y))))
    r = invoke("fit", path, "--law", "power", "--x", "flops", "--residuals", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["residuals"]
    assert set(rows[0]) == {"run", "flops", "C", "observed", "predicted", "residual", "outlier"}
    assert [row["flops"] for row in rows] == pytest.approx(list(x))
    r = invoke("plot", path, "--law", "power", "--x", "flops", "--residuals")
    assert r.exit_code == 0, r.stderr
    assert "residuals vs flops" in r.stdout


# ---- refusals -------------------------------------------------------------------------------
def refused(r, *words):
    text = r.stdout + r.stderr
    assert r.exit_code == 1, (r.exit_code, text)
    assert "Traceback" not in text and text.count("Error") == 1
    for w in words:
        assert w in text, (w, text)


def test_residuals_with_law_all_is_refused(shifted_csv):
    refused(invoke("fit", shifted_csv, "--law", "all", "--residuals"), "--residuals",
            "--law all", "--law NAME")


def test_a_fit_file_with_malformed_residuals_is_refused(tmp_path):
    bad = tmp_path / "fit.json"
    bad.write_text(json.dumps({"law": "chinchilla", "params": dict(TRUE), "residuals": 3}))
    with pytest.raises(Exception, match="'residuals' must be a list"):
        FitResult.load(bad)
