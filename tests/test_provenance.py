"""A saved fit carries its provenance (law, options, selection, data hash, runs used and dropped,
versions, time); `show` prints it; every command reading --fit says where its parameters came
from; fit files of another law, a newer format, or not fits at all are refused in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import TRUE, synthetic_sweep
from typer.testing import CliRunner

import scalecli
from scalecli.cli import app
from scalecli.fitting import FitResult

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def sweep_csv(path, order=None, bump: int | None = None):
    """The synthetic sweep as a CSV: runs run0..run29, one run (noloss) without a loss; ``order``
    permutes the rows, ``bump`` raises one run's loss."""
    N, D, L = synthetic_sweep(11)
    L = L.copy()
    if bump is not None:
        L[bump] *= 1.01
    rows = [f"run{i},{float(N[i])!r},{float(D[i])!r},{float(L[i])!r}" for i in range(len(N))]
    rows.append("noloss,1e8,2e9,")
    if order is not None:
        rows = [rows[i] for i in order]
    path.write_text("run,n_params,tokens,loss\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("prov")
    data = sweep_csv(d / "sweep.csv")
    fit = d / "fit.json"
    r = cli("fit", data, "--law", "chinchilla", "--save", fit, "--seed", "7", "--loss", "mse",
            "--exclude-run", "run2?")
    assert r.exit_code == 0, r.stderr
    return d, data, fit, json.loads(fit.read_text())


def test_saved_fit_records_options_selection_runs_and_versions(saved):
    _, data, _, d = saved
    p = d["provenance"]
    assert d["format_version"] == 3
    assert p["law"] == "chinchilla" and p["formula"] == "E + A / N**alpha + B / D**beta"
    assert p["options"] == {"data": [str(data)], "law": "chinchilla", "loss": "mse", "seed": 7,
                            "exclude_runs": ["run2?"]}
    assert p["selection"] == {"include": [], "exclude": ["run2?"]}
    assert p["seed"] == 7 and p["objective"].startswith("mse")
    # run20..run29 excluded, noloss dropped for lack of a loss: 20 runs used, named in order
    assert p["runs_used"] == [f"run{i}" for i in range(20)]
    assert p["data"]["rows"] == 20 and d["n_points"] == 20
    assert len(p["runs_dropped"]) == 1 and p["runs_dropped"][0].startswith("noloss")
    assert "loss" in p["runs_dropped"][0]
    assert p["versions"]["scalecli"] == scalecli.__version__
    assert p["versions"]["numpy"] == np.__version__
    created = datetime.fromisoformat(p["created"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 600
    assert p["data"]["hash"] == d["data"]["hash"] and p["data"]["hash"].startswith("sha256:")


def _hash_of(tmp_path, name, **kw):
    data = sweep_csv(tmp_path / f"{name}.csv", **kw)
    r = cli("fit", data, "--law", "chinchilla", "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)["provenance"]["data"]["hash"]


def test_data_hash_follows_the_points_not_their_order(tmp_path):
    base = _hash_of(tmp_path, "a")
    shuffled = _hash_of(tmp_path, "b", order=list(np.random.default_rng(3).permutation(31)))
    changed = _hash_of(tmp_path, "c", bump=4)
    assert base == shuffled
    assert changed != base


def test_show_prints_the_full_report(saved):
    _, _, fit, d = saved
    r = cli("show", fit)
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    for text in ("chinchilla", d["provenance"]["data"]["hash"], scalecli.__version__,
                 "option loss", "mse", "exclude run2?", "runs dropped", "noloss",
                 "RMSE of log loss", d["provenance"]["created"]):
        assert text in out, text
    md = cli("show", fit, "--format", "markdown")
    assert md.exit_code == 0 and "| option seed | 7 |" in md.stdout


def test_provenance_round_trips_through_load_save_and_show(saved, tmp_path):
    _, _, fit, d = saved
    again = tmp_path / "again.json"
    FitResult.load(fit).save(again)
    assert json.loads(again.read_text())["provenance"] == d["provenance"]
    r = cli("show", again, "--format", "json")
    assert r.exit_code == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["provenance"] == d["provenance"] and shown["path"] == str(again)
    assert shown["params"] == d["params"]


def test_version_2_files_still_load(saved, tmp_path):
    d = saved[3]
    old = {k: v for k, v in d.items() if k != "provenance"}
    old["format_version"] = 2
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert FitResult.load(path).provenance == {}
    r = cli("show", path)
    assert r.exit_code == 0, r.stderr
    assert "saved before scalecli recorded provenance" in r.stdout
    o = cli("optimal", "--flops", "1e21", "--fit", path, "--format", "json")
    assert o.exit_code == 0, o.stderr
    assert "saved without provenance" in o.stderr


@pytest.mark.parametrize("content, says", [
    ({"format_version": 4}, "newer than this scalecli"),
    ([1, 2, 3], "not a scalecli fit"),
    ({"runs": 3}, "not a scalecli fit"),
    ({"format_version": "three"}, "not a version number"),
    ("{\"law\": ", "cannot read as a fit JSON"),
])
@pytest.mark.parametrize("command", [
    ["show"], ["optimal", "--fit"], ["predict", "--n", "1e9", "--d", "2e10", "--fit"],
    ["plan", "--fit"]])
def test_bad_fit_files_are_refused_in_one_line(saved, tmp_path, content, says, command):
    d = saved[3]
    path = tmp_path / "bad.json"
    if isinstance(content, dict) and "format_version" in content:
        content = {**d, **content}
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    r = cli(*command, path)
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(path) in lines[0]
    assert says in lines[0]


@pytest.mark.parametrize("command", [
    ["optimal", "--flops", "1e21"], ["predict", "--n", "1e9", "--d", "2e10"], ["plan"]])
def test_a_fit_of_another_law_is_refused(saved, command):
    _, _, fit, _ = saved
    r = cli(*command, "--fit", fit, "--law", "kaplan")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "kaplan" in lines[0] and "chinchilla" in lines[0]
    assert str(fit) in lines[0]


def test_commands_reading_a_fit_name_it(saved):
    _, _, fit, d = saved
    h = d["provenance"]["data"]["hash"]
    o = cli("optimal", "--flops", "1e21", "--fit", fit, "--format", "json")
    assert o.exit_code == 0, o.stderr
    assert json.loads(o.stdout)[0]["params_source"] == f"fit: {fit}"
    p = cli("predict", "--n", "1e9", "--d", "2e10", "--fit", fit, "--format", "json")
    assert p.exit_code == 0, p.stderr
    row = json.loads(p.stdout)[0]
    assert row["params_source"] == f"fit: {fit}"
    # the prediction is the saved law at that point, not a default's
    assert row["prediction"] == pytest.approx(
        d["params"]["E"] + d["params"]["A"] / 1e9 ** d["params"]["alpha"]
        + d["params"]["B"] / 2e10 ** d["params"]["beta"], rel=1e-12)
    for r in (o, p):
        note = [line for line in r.stderr.splitlines() if line.startswith("note: parameters from")]
        assert len(note) == 1 and str(fit) in note[0] and h in note[0]
        assert d["provenance"]["created"] in note[0] and "20 points" in note[0]


def test_the_saved_fit_is_read_once(saved, monkeypatch):
    _, _, fit, _ = saved
    reads = []
    real = FitResult.load.__func__

    def counting(cls, path):
        reads.append(path)
        return real(cls, path)

    monkeypatch.setattr(FitResult, "load", classmethod(counting))
    for args in (["optimal", "--flops", "1e20..1e22"], ["predict", "--n", "1e9", "--d", "2e10"],
                 ["plan"]):
        reads.clear()
        r = cli(*args, "--fit", fit)
        assert r.exit_code == 0, r.stderr
        assert len(reads) == 1, (args, reads)


def test_fit_recovers_the_generating_law_it_records(saved):
    """The provenance describes a fit that is right: the recorded data gave back TRUE."""
    _, _, fit, _ = saved
    res = FitResult.load(fit)
    assert res.params["alpha"] == pytest.approx(TRUE["alpha"], abs=0.05)
    assert res.params["beta"] == pytest.approx(TRUE["beta"], abs=0.05)


def test_library_fit_records_bootstrap_settings_and_only_what_was_given(tmp_path):
    """api.fit records every non-default option it received, whatever its name."""
    from scalecli import api
    from scalecli.pipeline import load

    frames = load(sweep_csv(tmp_path / "s.csv"))
    res = api.fit(frames, "chinchilla", bootstrap=20, ci=0.9, seed=2, jobs=2, space="log")
    opts = res.provenance["options"]
    assert opts == {"bootstrap": 20, "ci": 0.9, "seed": 2, "space": "log",
                    "data": "<Frames in memory>", "law": "chinchilla"}
    assert res.to_dict()["provenance"]["options"] == opts  # what --save writes
    assert res.bootstrap["resamples"] == 20 and res.provenance["seed"] == 2


def test_plot_names_the_fit_it_draws(saved):
    _, data, fit, d = saved
    r = cli("plot", data, "--fit", fit, "--no-color")
    assert r.exit_code == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [line for line in notes if "parameters from" in line] and len(notes) == 1
    assert str(fit) in notes[0] and d["provenance"]["data"]["hash"] in notes[0]
    other = cli("plot", data, "--fit", fit, "--law", "kaplan")
    assert other.exit_code == 1 and str(fit) in other.stderr and "kaplan" in other.stderr
