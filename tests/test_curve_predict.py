"""``scalecli predict --fit FIT --schedule SPEC``: a saved curve-law fit predicts the loss
curve of a schedule that was never run. Truth: the paper's formula as a loop
(tests/test_curves.py) over the schedule written step by step here."""

from __future__ import annotations

import csv
import json

import pytest
from test_curve_schedules import ETAS, LOGGED, SPECS, write_runs
from test_curves import TRUE, _refused, invoke, mpl_loop, wsd_eta


@pytest.fixture
def fit_file(tmp_path):
    """A saved curve fit as ``scalecli fit --save`` writes it (law and params are what
    predict reads), at the true parameters."""
    path = tmp_path / "mpl.json"
    path.write_text(json.dumps({"kind": "curve-fit", "law": "multi-power", "params": TRUE}))
    return path


SPEC = "wsd:peak=3e-4,warmup=50,decay=0.25,final=3e-5"
ETA = wsd_eta(2000, 50, 3e-4, 3e-5, 1500)  # d0 = int(0.75 * 2000)


def test_the_curve_of_a_schedule_matches_the_formula(fit_file):
    r = invoke("predict", "--fit", fit_file, "--schedule", SPEC, "--steps", 2000, "--every",
               250, "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.stdout.splitlines()))
    steps = [int(x["step"]) for x in rows]
    assert steps == [250, 500, 750, 1000, 1250, 1500, 1750, 1999]  # every 250 and the last
    for x in rows:
        s = int(x["step"])
        assert float(x["loss"]) == pytest.approx(mpl_loop(ETA, s, TRUE), rel=1e-12)
        assert float(x["lr"]) == pytest.approx(ETA[s], rel=1e-12)
        assert float(x["lr_area"]) == pytest.approx(sum(ETA[: s + 1]), rel=1e-12)


def test_json_says_what_was_predicted_and_at_steps(fit_file):
    r = invoke("predict", "--fit", fit_file, "--schedule", SPEC + ",steps=2000", "--at-steps",
               "1600,100,1999", "-f", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["kind"] == "curve-prediction" and out["law"] == "multi-power"
    assert out["params"] == TRUE and out["params_from"] == str(fit_file)
    assert out["schedule"] == SPEC + ",steps=2000" and out["steps"] == 2000
    assert [p["step"] for p in out["points"]] == [100, 1600, 1999]
    for p in out["points"]:
        assert p["loss"] == pytest.approx(mpl_loop(ETA, p["step"], TRUE), rel=1e-12)


def test_default_rows_and_a_table(fit_file):
    r = invoke("predict", "--fit", fit_file, "--schedule", SPEC, "--steps", 2000)
    assert r.exit_code == 0, r.output
    assert "predicted loss" in r.stdout and "1,999" in r.stdout
    r = invoke("predict", "--fit", fit_file, "--schedule", SPEC, "--steps", 2000, "-f", "json")
    n = len(json.loads(r.stdout)["points"])
    assert 10 <= n <= 21


def test_step_zero_is_left_out_with_a_note_and_warmup_steps_are_noted(fit_file):
    r = invoke("predict", "--fit", fit_file, "--schedule", SPEC, "--steps", 2000,
               "--at-steps", "0,10,1000", "-f", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [p["step"] for p in out["points"]] == [10, 1000]
    assert all(p["loss"] == p["loss"] and abs(p["loss"]) < 1e6 for p in out["points"])
    assert "step(s) 0 left out" in r.stderr and "S1 = 0" in r.stderr
    assert "inside the 50-step warm-up" in r.stderr
    # nothing left to predict: refused
    _refused(invoke("predict", "--fit", fit_file, "--schedule", SPEC, "--steps", 2000,
                    "--at-steps", "0"), "no asked step")


def test_a_fit_saved_by_fit_predicts_a_held_out_schedule(tmp_path):
    """fit --save on cosine and constant curves, then predict the two-stage drop: close to
    the drop's own curve (the law is exact here; the fit recovers it)."""
    folder = write_runs(tmp_path / "p", {"cos": ETAS["cos"], "const": ETAS["const"]})
    (folder / "scalecli.yaml").write_text(
        "schedules:\n" + "".join(f"  - runs: {k}\n    spec: {SPECS[k]}\n" for k in ("cos", "const")))
    save = tmp_path / "fit.json"
    r = invoke("fit", folder, "--law", "multi-power", "--save", save)
    assert r.exit_code == 0, r.output
    r = invoke("predict", "--fit", save, "--schedule", SPECS["drop"], "--steps", 600,
               "--at-steps", ",".join(map(str, LOGGED)), "-f", "json")
    assert r.exit_code == 0, r.output
    got = {p["step"]: p["loss"] for p in json.loads(r.stdout)["points"]}
    fitted = json.loads(save.read_text())["params"]
    for s in LOGGED:
        assert got[s] == pytest.approx(mpl_loop(ETAS["drop"], s, fitted), rel=1e-12)
        assert got[s] == pytest.approx(mpl_loop(ETAS["drop"], s, TRUE), rel=5e-3)


def test_bad_predictions_are_one_line(fit_file, tmp_path):
    from conftest import TRUE as CHIN
    from conftest import chinchilla_loss, synthetic_sweep, write_csv

    N, D, _ = synthetic_sweep(0, noise=0.0)
    sweep = write_csv(tmp_path / "sweep.csv", N, D, chinchilla_loss(CHIN, N, D))
    chin = tmp_path / "chin.json"
    assert invoke("fit", sweep, "--law", "chinchilla", "--save", chin).exit_code == 0
    _refused(invoke("predict", "--fit", chin, "--schedule", SPEC, "--steps", 2000),
             "chinchilla", "final loss", "curve law")
    _refused(invoke("predict", "--schedule", SPEC, "--steps", 2000), "needs --fit")
    _refused(invoke("predict", "--fit", fit_file, "--schedule", SPEC), "steps=N")
    _refused(invoke("predict", "--fit", fit_file, "--schedule", SPEC, "--steps", 2000,
                    "--at-steps", "2000"), "past the schedule's last step")
    _refused(invoke("predict", "--fit", fit_file, "--schedule", SPEC, "--steps", 2000,
                    "--n", "1e9"), "--n", "not with --schedule")
    _refused(invoke("predict", "--fit", fit_file, "--at-steps", "10"), "--schedule")
    _refused(invoke("predict", "--fit", fit_file, "--schedule", SPEC + ",steps=100",
                    "--steps", 2000), "give one")


def test_a_piecewise_schedule_states_its_length(fit_file):
    """piecewise's steps are its breaks: length=N is its N (here the two-stage drop of
    tests/test_curve_schedules.py, 600 steps)."""
    r = invoke("predict", "--fit", fit_file, "--schedule", SPECS["drop"] + ",length=600",
               "--every", 100, "-f", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["steps"] == 600 and [p["step"] for p in out["points"]][-1] == 599
    for p in out["points"]:
        assert p["loss"] == pytest.approx(mpl_loop(ETAS["drop"], p["step"], TRUE), rel=1e-12)
    r = invoke("schedule", "piecewise:steps=0/2,values=3/1,length=4")
    assert r.exit_code == 0 and r.stdout.split() == ["step,lr", "0,3.0", "1,3.0", "2,1.0", "3,1.0"]
    _refused(invoke("schedule", "piecewise:steps=0/8,values=3/1,length=5"), "length=5",
             "last break")
    _refused(invoke("schedule", "piecewise:steps=0/8,values=3/1,length=9.5"), "whole number")
