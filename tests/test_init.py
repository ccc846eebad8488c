"""`scalecli init`: the mapping guessed from a folder's logs, the commented scalecli.yaml it
writes, and later commands in that folder (or given it) reading it."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT, TRUE, synthetic_sweep
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.project import read_project

runner = CliRunner()
SAMPLE = ROOT / "sample_runs"
FIX = ROOT / "tests" / "data" / "fixtures"
ODD = "experiment,model_param_count,tokens_processed,val_nll"


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def odd_sweep(folder, seed=3):
    """A sweep drawn from the known law TRUE, one row per run, under names no alias knows."""
    N, D, L = synthetic_sweep(seed)
    rows = [ODD] + [f"r{i},{n:.0f},{d:.0f},{float(y)!r}" for i, (n, d, y) in enumerate(zip(N, D, L))]
    folder.mkdir(exist_ok=True)
    (folder / "ladder.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_init_guesses_odd_names_and_a_later_fit_there_recovers_the_law(tmp_path, monkeypatch):
    folder = odd_sweep(tmp_path / "runs")
    r = invoke("init", folder, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {(x["role"], x["column"], x["how"]) for x in rows} == {
        ("run", "experiment", "name"), ("N", "model_param_count", "guessed"),
        ("D", "tokens_processed", "guessed"), ("loss", "val_nll", "guessed")}
    assert "30 runs read with this mapping" in r.stderr
    project = read_project(folder / "scalecli.yaml")
    assert project.mapping == {"N": "model_param_count", "D": "tokens_processed",
                               "loss": "val_nll"}
    assert project.options["law"] == "chinchilla"
    text = (folder / "scalecli.yaml").read_text()
    assert text.startswith("# scalecli project file") and "ladder.csv" in text
    # without the file, the odd names are not understood
    (folder / "scalecli.yaml").rename(tmp_path / "kept.yaml")
    assert invoke("fit", folder).exit_code == 1
    (tmp_path / "kept.yaml").rename(folder / "scalecli.yaml")
    # in that folder, with no path and no --law: the file's map and law
    monkeypatch.chdir(folder)
    r = invoke("fit", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert "note: project: scalecli.yaml" in r.stderr
    out = json.loads(r.stdout)
    assert out["law"] == "chinchilla" and out["n_runs"] == 30
    assert out["params"]["alpha"] == pytest.approx(TRUE["alpha"], abs=0.05)
    assert out["params"]["beta"] == pytest.approx(TRUE["beta"], abs=0.05)
    assert out["params"]["E"] == pytest.approx(TRUE["E"], rel=0.05)


def test_the_command_line_wins_over_the_project_file(tmp_path, monkeypatch):
    folder = odd_sweep(tmp_path / "runs")
    assert invoke("init", folder, "--law", "kaplan").exit_code == 0
    assert read_project(folder / "scalecli.yaml").options["law"] == "kaplan"
    r = invoke("fit", folder, "--format", "json")  # the folder given as a path
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["law"] == "kaplan"
    r = invoke("fit", folder / "ladder.csv", "--law", "chinchilla", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["law"] == "chinchilla"
    # --map replaces the file's entry for its role only: a run column that does not exist
    r = invoke("runs", folder, "--map", "N=nope")
    assert r.exit_code == 1 and "nope" in r.stderr


def test_init_on_sample_runs_maps_nothing_and_fits_the_generating_law(tmp_path, monkeypatch):
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE, folder)
    r = invoke("init", folder, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert all(x["how"] in ("name", "reader") for x in rows)
    readers = {x["file"].rsplit("/", 1)[-1]: x["reader"] for x in rows}
    assert readers == {"sweep_mid.jsonl": "jsonl", "sweep_small.csv": "csv",
                       "history.jsonl": "wandb-api-history", "runs.jsonl": "wandb-api-runs"}
    assert read_project(folder / "scalecli.yaml").mapping == {}
    monkeypatch.chdir(folder)
    out = json.loads(invoke("fit", "--format", "json").stdout)
    truth = json.loads((SAMPLE / "truth.json").read_text())
    assert out["n_runs"] == len(truth["runs"]) == 24
    assert out["params"]["alpha"] == pytest.approx(truth["alpha"], abs=0.05)


def test_init_refuses_to_overwrite_without_force(tmp_path):
    folder = odd_sweep(tmp_path / "runs")
    (folder / "scalecli.yaml").write_text("law: power\n")
    r = invoke("init", folder)
    assert r.exit_code == 1 and "--force" in r.stderr
    assert (folder / "scalecli.yaml").read_text() == "law: power\n"
    assert invoke("init", folder, "--force").exit_code == 0
    assert read_project(folder / "scalecli.yaml").options["law"] == "chinchilla"


@pytest.mark.parametrize("text,message", [
    ("colour: red\n", "unknown key 'colour'"),
    ("map: {width: params}\n", "unknown role 'width'"),
    ("map: [N, params]\n", "map must give column names"),
    ("law: 3\n", "law must be a name"),
])
def test_a_bad_project_file_is_one_line(tmp_path, text, message):
    folder = odd_sweep(tmp_path / "runs")
    (folder / "scalecli.yaml").write_text(text)
    r = invoke("runs", folder)
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_init_refuses_a_file_and_a_misspelt_law(tmp_path):
    folder = odd_sweep(tmp_path / "runs")
    r = invoke("init", folder / "ladder.csv")
    assert r.exit_code == 1 and "not a folder" in r.stderr
    r = invoke("init", folder, "--law", "chinchila")
    assert r.exit_code == 1 and "did you mean chinchilla?" in r.stderr
    assert not (folder / "scalecli.yaml").exists()


def test_a_tsv_and_jsonl_with_steps_are_guessed_too(tmp_path):
    folder = tmp_path / "steps"
    folder.mkdir()
    src = (FIX / "plain.csv").read_text().splitlines()
    head = "exp_name\tmodel_param_count\ttokens_processed\ttrain_iter\tval_nll"
    (folder / "a.tsv").write_text("\n".join([head] + [x.replace(",", "\t") for x in src[1:]]))
    r = invoke("init", folder, "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = {x["role"]: x["column"] for x in json.loads(r.stdout)}
    assert got == {"run": "exp_name", "N": "model_param_count", "D": "tokens_processed",
                   "step": "train_iter", "loss": "val_nll"}
    truth = json.loads((FIX / "ground_truth.json").read_text())
    out = json.loads(invoke("runs", folder, "--format", "json").stdout)
    assert sorted(x["n_params"] for x in out) == sorted(t["n_params"] for t in truth["runs"])


def test_files_naming_a_role_differently_are_warned_about(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(FIX / "plain.csv", folder / "a.csv")
    src = (FIX / "plain.csv").read_text().splitlines()
    (folder / "b.csv").write_text("\n".join(
        ["exp_name,model_param_count,tokens_processed,train_iter,val_nll", *src[1:]]) + "\n")
    r = invoke("init", folder)
    assert r.exit_code == 0, r.stderr
    assert "a.csv: N is 'n_params' here but 'model_param_count' elsewhere" in r.stderr
