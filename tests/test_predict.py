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
