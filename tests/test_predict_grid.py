"""`scalecli predict` over grids (lists and log-spaced ranges, units, the heat map, intervals)
and `predict --points FILE` with run names and observed against predicted; every number is
checked against the Chinchilla law written out here from its published constants."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def law(N, D, p=HOFFMANN):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def one_line_error(r, *words):
    assert r.exit_code == 1, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_grid_is_the_cartesian_product_with_log_spaced_ranges():
    r = invoke("predict", "--n", "1e9,3e9,7e9", "--tokens", "1e11..1e13", "--steps", 5,
               "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    Ds = [1e11, 10 ** 11.5, 1e12, 10 ** 12.5, 1e13]  # ends included, equal steps in log D
    cells = [(N, D) for N in (1e9, 3e9, 7e9) for D in Ds]  # N varies slowest
    assert len(rows) == len(cells) == 15
    for row, (N, D) in zip(rows, cells, strict=True):
        assert row["N"] == pytest.approx(N, rel=1e-14) and row["D"] == pytest.approx(D, rel=1e-14)
        assert row["prediction"] == pytest.approx(law(N, D), rel=1e-13)
        assert row["flops"] == pytest.approx(6 * N * D, rel=1e-14)
    assert "conf_low" not in rows[0]  # published values: no intervals to give


def test_units_lists_and_the_d_alias():
    r = invoke("predict", "--n", "1B..70B", "--d", "1.4T", "--steps", 3, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    Ns = [1e9, math.sqrt(70) * 1e9, 70e9]
    assert [float(x["N"]) for x in rows] == pytest.approx(Ns, rel=1e-14)
    assert all(float(x["D"]) == 1.4e12 for x in rows)
    assert [float(x["prediction"]) for x in rows] == pytest.approx(
        [law(N, 1.4e12) for N in Ns], rel=1e-13)
    # a single value on each axis is the old one-point predict
    r = invoke("predict", "--n", "7B", "--tokens", "1400G", "--format", "json")
    assert json.loads(r.stdout)[0]["prediction"] == pytest.approx(law(7e9, 1.4e12), rel=1e-14)


def test_library_grid_from_numbers_and_lists():
    from scalecli import api

    table = api.predict_table(n=[1e8, 1e9], d="2e10..2e12", steps=3)
    assert [s for s, _ in table.grid.axes] == ["N", "D"]
    assert [r["prediction"] for r in table.rows] == pytest.approx(
        [law(N, D) for N in (1e8, 1e9) for D in (2e10, 2e11, 2e12)], rel=1e-13)


@pytest.mark.parametrize("args,words", [
    (["--n", "1e9..1e12", "--tokens", "1e9..1e12", "--steps", "1001"], ["1,002,001", "1,000,000"]),
    (["--n", "7X", "--tokens", "1e11"], ["--n", "'X' is not a unit suffix"]),
    (["--n", "1e9", "--tokens", "1e12..1e11"], ["--tokens", "low end"]),
    (["--n", "0,1e9", "--tokens", "1e11"], ["--n", "not positive"]),
    (["--n", "1e9", "--law", "kaplan-n", "--tokens", "1e11"], ["is not a variable of kaplan-n"]),
])
def test_bad_grids_are_one_line(args, words):
    one_line_error(invoke("predict", *args), *words)


def _heat_lines(text):
    start = text.index("heat map of predicted loss")
    return [ln for ln in text[start:].splitlines() if ln.startswith("│")]


def test_heat_map_by_default_for_two_varying_axes_and_readable_without_colour():
    from scalecli.numbers import fmt

    Ns, Ds = (1e9, 3e9, 7e9), (1e11, 1e12, 1e13)
    r = invoke("predict", "--n", ",".join(map(str, Ns)), "--tokens", "1e11..1e13", "--steps", 3)
    assert r.exit_code == 0, r.stderr
    assert "\x1b[" not in r.stdout  # not a terminal: no colour, the values carry the map
    lines = _heat_lines(r.stdout)
    assert len(lines) == len(Ns)
    for line, N in zip(lines, Ns, strict=True):
        cells = [c.strip() for c in line.strip("│").split("│")]
        assert cells == [fmt(N), *(fmt(law(N, D)) for D in Ds)]
    r = invoke("predict", "--n", "1e9,3e9", "--tokens", "1e11,1e12", "--color")
    assert "\x1b[" in r.stdout and "blue (lowest)" in r.stdout
    # no heat map when asked not to, for one varying axis, or in a pipe format
    for args in (["--n", "1e9,3e9", "--tokens", "1e11,1e12", "--no-heatmap"],
                 ["--n", "1e9,3e9", "--tokens", "1e11"],
                 ["--n", "1e9,3e9", "--tokens", "1e11,1e12", "--format", "csv"]):
        r = invoke("predict", *args)
        assert r.exit_code == 0 and "heat map" not in r.stdout, args
    r = invoke("predict", "--n", "1e9,3e9", "--tokens", "1e11", "--heatmap")
    assert len(_heat_lines(r.stdout)) == 2
    r = invoke("predict", "--n", "1e9..1e10", "--tokens", "1e11..1e12", "--steps", 40)
    assert r.exit_code == 0 and "heat map not drawn" in r.stderr and "40 × 40" in r.stderr


@pytest.fixture(scope="module")
def boot_fit(tmp_path_factory):
    from conftest import synthetic_sweep, write_csv

    folder = tmp_path_factory.mktemp("grid")
    data, fit = write_csv(folder / "sweep.csv", *synthetic_sweep(7)), folder / "fit.json"
    r = invoke("fit", data, "--law", "chinchilla", "--bootstrap", 50, "--save", fit)
    assert r.exit_code == 0, r.stderr
    return fit


def test_grid_intervals_from_a_bootstrapped_fit(boot_fit):
    """Each cell's curve interval is the percentile interval of the law at the 50 saved draws,
    computed here cell by cell; each holds the point prediction."""
    from scalecli.fitting.result import FitResult

    saved = FitResult.load(boot_fit)
    draws = saved.draw_params()
    assert len(draws) >= 45
    r = invoke("predict", "--fit", boot_fit, "--n", "1e8,1e9,1e10", "--tokens", "2e9..2e11",
               "--steps", 3, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 9
    ci = float(saved.bootstrap.get("ci", 0.95))
    for row in rows:
        N, D = row["N"], row["D"]
        assert row["prediction"] == pytest.approx(law(N, D, saved.params), rel=1e-12)
        at_draws = [law(N, D, p) for p in draws]
        lo, hi = np.percentile(at_draws, [50 * (1 - ci), 50 * (1 + ci)])
        assert (row["conf_low"], row["conf_high"]) == pytest.approx((lo, hi), rel=1e-12)
        assert row["conf_low"] <= row["prediction"] <= row["conf_high"]
        assert row["pred_low"] <= row["prediction"] <= row["pred_high"]
    # a new run's interval adds noise drawn row after row: the grid's first cell draws what
    # a prediction at that cell alone draws
    r = invoke("predict", "--fit", boot_fit, "--at", "N=1e8,D=2e9", "--format", "json")
    alone = json.loads(r.stdout)[0]
    assert (alone["pred_low"], alone["pred_high"]) == (rows[0]["pred_low"], rows[0]["pred_high"])
    r = invoke("predict", "--fit", boot_fit, "--n", "1e8,1e9", "--tokens", "2e9,2e10")
    assert "curve 95%" in r.stdout and "heat map" in r.stdout


def test_points_file_names_observed_and_units(tmp_path):
    """Residuals are observed − law, relative errors (law − observed) / observed; the summary
    line's mean and max are those of the |relative errors|."""
    pts = tmp_path / "ladder.csv"
    rows = [("tiny", "150M", "3B", "2.95"), ("small", "400M", "8B", "2.61"),
            ("mid", "1.4B", "28B", "2.40"), ("big", "7B", "0.14T", "")]
    pts.write_text("run,params,tokens,eval/loss,notes\n"
                   + "".join(f"{a},{b},{c},{d},some text\n" for a, b, c, d in rows))
    r = invoke("predict", "--points", pts, "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert [g["name"] for g in got] == ["tiny", "small", "mid", "big"]
    N = [150e6, 400e6, 1.4e9, 7e9]
    D = [3e9, 8e9, 28e9, 0.14e12]
    obs = [2.95, 2.61, 2.40]
    rel = []
    for g, n, d, o in zip(got, N, D, [*obs, None], strict=True):
        pred = law(n, d)
        assert g["prediction"] == pytest.approx(pred, rel=1e-14)
        if o is None:
            assert "observed" not in g and "residual" not in g
            continue
        assert g["observed"] == o
        assert g["residual"] == pytest.approx(o - pred, rel=1e-12)
        assert g["rel_error"] == pytest.approx((pred - o) / o, rel=1e-12)
        rel.append(abs(pred - o) / o)
    mean, worst = sum(rel) / len(rel), max(rel)
    who = ["tiny", "small", "mid"][rel.index(worst)]
    assert (f"3 point(s), mean |relative error| {100 * mean:.3g}%, max {100 * worst:.3g}% "
            f"({who})") in r.stderr
    r = invoke("predict", "--points", pts, env={"COLUMNS": "200"})  # headers in full
    assert r.exit_code == 0
    assert "run" in r.stdout and "observed" in r.stdout and "rel. error %" in r.stdout
    assert "tiny" in r.stdout


def test_points_jsonl(tmp_path):
    pts = tmp_path / "points.jsonl"
    pts.write_text('{"name": "a", "N": "1B", "D": 2e10, "loss": 2.5}\n\n'
                   '{"name": "b", "n_params": 3e9, "tokens": "60B"}\n')
    r = invoke("predict", "--points", pts, "--format", "json")
    assert r.exit_code == 1 and "both" in r.stderr  # N and n_params are two columns for N
    pts.write_text('{"name": "a", "N": "1B", "D": 2e10, "loss": 2.5}\n\n'
                   '{"name": "b", "N": 3e9, "D": "60B"}\n')
    r = invoke("predict", "--points", pts, "--format", "json")
    assert r.exit_code == 0, r.stderr
    a, b = json.loads(r.stdout)
    assert a["residual"] == pytest.approx(2.5 - law(1e9, 2e10), rel=1e-12)
    assert b["name"] == "b" and b["prediction"] == pytest.approx(law(3e9, 6e10), rel=1e-14)


@pytest.mark.parametrize("text,words", [
    ("run,params,loss\na,1e9,2.5\n", ["no column for D (tokens)", "run, params, loss"]),
    ("run,params,tokens\na,1e9,2e10\nb,1e9,lots\n", [":3: tokens", "'lots' is not a number"]),
    ("run,params,tokens\na,7X,2e10\n", [":2: params", "'X' is not a unit suffix"]),
    ("run,params,tokens\na,1e9,\n", [":2: tokens: empty cell"]),
    ("run,params,tokens,loss\na,1e9,2e10,low\n", [":2: loss"]),
    ("run,params,tokens\n", ["no points"]),
])
def test_bad_points_files_are_one_line_naming_file_and_line(tmp_path, text, words):
    pts = tmp_path / "pts.csv"
    pts.write_text(text)
    one_line_error(invoke("predict", "--points", pts), str(pts), *words)


def test_missing_points_file_and_bad_jsonl(tmp_path):
    one_line_error(invoke("predict", "--points", tmp_path / "nope.csv"), "no such file")
    pts = tmp_path / "p.jsonl"
    pts.write_text('{"N": 1e9, "D": 2e10}\n[1, 2]\n')
    one_line_error(invoke("predict", "--points", pts), f"{pts}:2:", "JSON object")


def test_points_observed_against_predicted_reproduces_gadre_figure_1(tmp_path):
    """Gadre et al. 2024, Figure 1: the targets file holds the observed C4 loss and 17-task
    error; the published relative errors are 0.7103% / 0.7320% (loss) and 3.6365% / 0.0464%
    (error from the predicted loss). The observed column is the one each fit was made on."""
    from conftest import DATA, ROOT

    g = DATA / "gadre_overtraining"
    loss, err = tmp_path / "loss.json", tmp_path / "err.json"
    for data, cfg, out in (("figure1_rpj_loss.csv", "gadre2024-rpj-loss.yaml", loss),
                           ("figure1_rpj_error.csv", "gadre2024-rpj-error.yaml", err)):
        r = invoke("fit", g / data, "--config", ROOT / "scalecli" / "configs" / "papers" / cfg,
                   "--save", out)
        assert r.exit_code == 0, r.stderr
    targets = g / "figure1_rpj_targets.csv"
    for extra, want, column in (([], [0.7320, 0.7103], "loss_c4_val"),
                                (["--then", err], [0.0464, 3.6365], "err_avg_subset")):
        r = invoke("predict", "--fit", loss, "--points", targets, *extra, "--format", "json")
        assert r.exit_code == 0, r.stderr
        rows = json.loads(r.stdout)
        assert [x["name"] for x in rows] == ["rpj-open_lm_7b-1.0", "rpj-open_lm_1b-32.0"]
        assert [round(abs(x["rel_error_pct"]), 4) for x in rows] == want
        assert f"observed ({column}) vs predicted: 2 point(s)" in r.stderr


def test_every_law_of_n_and_d_agrees_cell_by_cell(tmp_path):
    """The grid's one vectorized evaluation gives what each law's scalar formula gives at each
    cell, for every registered law of N and/or D (parameters: the last start of each)."""
    from scalecli import api
    from scalecli.laws import get_law
    from scalecli.laws.registry import names

    checked = []
    for name in names():
        if " " in name:
            continue  # a family's "bnsl-K (breaks)" form
        law_obj = get_law(name)
        if not set(law_obj.variables) <= {"N", "D"}:
            continue
        params = {p.name: p.init[-1] for p in law_obj.parameters}
        fit = tmp_path / f"{name}.json"
        fit.write_text(json.dumps({"law": name, "params": params}))
        axes = {"n": "1e8..1e11", "d": "1e9,2e11,3e13"}
        table = api.predict_table(fit, **{k: v for k, v in axes.items()
                                          if k.upper() in law_obj.variables}, steps=4)
        assert len(table.rows) == math.prod(4 if s == "N" else 3 for s in law_obj.variables)
        for row in table.rows:
            want = law_obj.value(params, {s: row[s] for s in law_obj.variables})
            assert row["prediction"] == pytest.approx(want, rel=1e-12), name
        checked.append(name)
    assert {"chinchilla", "kaplan", "kaplan-n", "kaplan-d", "overtrain"} <= set(checked)
