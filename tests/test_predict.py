"""`scalecli predict` for any law: points by symbol or column, from a file, or the law's
published values; checked against the formulas written out here."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_at_by_symbol_and_by_column_name():
    r = invoke("predict", "--at", "N=7e9,D=1.4e12", "--at", "n_params=1e9,tokens=2e10",
               "--law", "chinchilla", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    for row, (N, D) in zip(rows, [(7e9, 1.4e12), (1e9, 2e10)], strict=True):
        want = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
        assert row["prediction"] == pytest.approx(want, rel=1e-15)
        assert row["N"] == N and row["D"] == D


def test_points_file_and_one_variable_law(tmp_path):
    pts = tmp_path / "points.csv"
    pts.write_text("name,n_params\nsmall,1e8\nbig,1e10\n")
    r = invoke("predict", "--points", pts, "--law", "kaplan-n", "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = [x["prediction"] for x in json.loads(r.stdout)]
    assert got == pytest.approx([(8.8e13 / 1e8) ** 0.076, (8.8e13 / 1e10) ** 0.076], rel=1e-15)


def test_saved_fit_of_another_law(tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"law": "overtrain", "params":
                               {"E": 1.9, "a": 120.0, "b": 900.0, "eta": 0.17}}))
    r = invoke("predict", "--at", "N=1e9,D=2e10", "--fit", fit, "--format", "json")
    row = json.loads(r.stdout)[0]
    C, M = 6 * 1e9 * 2e10, 2e10 / 1e9
    assert row["prediction"] == pytest.approx(1.9 + (120 * M**0.17 + 900 * M**-0.17) * C**-0.17,
                                              rel=1e-14)


def test_missing_variable_and_no_defaults_are_one_line_errors():
    r = invoke("predict", "--at", "N=1e9", "--law", "chinchilla")
    assert r.exit_code == 1 and "D (tokens)" in r.stderr and "Traceback" not in r.stderr
    r = invoke("predict", "--at", "x=1e21", "--law", "power")
    assert r.exit_code == 1 and "--fit" in r.stderr
    r = invoke("predict", "--law", "chinchilla")
    assert r.exit_code == 1 and "--at" in r.stderr


def test_saved_custom_fit_predicts_and_allocates(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("""law:
  name: my-chinchilla
  formula: "E + A / N**alpha + B / D**beta"
  variables: {N: n_params, D: tokens}
  parameters:
    E: {bounds: [0.1, 10], init: [1, 2]}
    A: {bounds: [1, 1.0e8], init: [100, 1000]}
    alpha: {bounds: [0, 2], init: [0.3]}
    B: {bounds: [1, 1.0e8], init: [100, 1000]}
    beta: {bounds: [0, 2], init: [0.3]}
""")
    from conftest import ROOT

    fit = tmp_path / "fit.json"
    r = invoke("fit", ROOT / "sample_runs", "--config", cfg, "--save", fit, "--format", "json")
    assert r.exit_code == 0, r.stderr
    p = json.loads(r.stdout)["params"]
    r = invoke("predict", "--fit", fit, "--at", "N=1e9,D=2e10", "--format", "json")
    want = p["E"] + p["A"] / 1e9 ** p["alpha"] + p["B"] / 2e10 ** p["beta"]
    assert json.loads(r.stdout)[0]["prediction"] == pytest.approx(want, rel=1e-12)
    # no closed form for a custom law: the numeric optimum equals the Chinchilla closed form
    r = invoke("optimal", "--fit", fit, "--flops", "1e21", "--format", "json")
    row = json.loads(r.stdout)[0]
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    assert row["n_params"] == pytest.approx(G * (1e21 / 6) ** (p["beta"] / (p["alpha"] + p["beta"])),
                                            rel=1e-6)
    assert row["method"].startswith("numeric")


def test_fixing_every_parameter_is_refused():
    from conftest import ROOT

    r = invoke("fit", ROOT / "sample_runs", "--fix", "E=1.7,A=400,alpha=0.3,B=400,beta=0.3")
    assert r.exit_code == 1 and "nothing to fit" in r.stderr


def test_then_chains_downstream_error_on_predicted_loss(tmp_path):
    """Gadre et al. 2024, Figure 1: loss from (N, M), then 17-task error from that loss; the
    published relative errors are 3.6365% (1.4B, M=640) and 0.0464% (6.9B, M=20)."""
    from conftest import DATA, ROOT

    g = DATA / "gadre_overtraining"
    loss, err = tmp_path / "loss.json", tmp_path / "err.json"
    for data, cfg, out in (("figure1_rpj_loss.csv", "gadre2024-rpj-loss.yaml", loss),
                           ("figure1_rpj_error.csv", "gadre2024-rpj-error.yaml", err)):
        r = invoke("fit", g / data, "--config", ROOT / "scalecli" / "configs" / "papers" / cfg, "--save", out)
        assert r.exit_code == 0, r.stderr
    r = invoke("predict", "--fit", loss, "--points", g / "figure1_rpj_targets.csv", "--then", err,
               "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    import csv

    with open(g / "figure1_rpj_targets.csv") as f:
        truth = [float(row["err_avg_subset"]) for row in csv.DictReader(f)]
    rel = sorted(round(abs(row["prediction"] - t) / t * 100, 4) for row, t in zip(rows, truth))
    assert rel == [0.0464, 3.6365]
    assert all("L" in row and row["loss"] == row["L"] for row in rows)
    r = invoke("predict", "--law", "chinchilla", "--at", "N=1e9,D=2e10", "--then", loss)
    assert r.exit_code == 1 and "one variable" in r.stderr
