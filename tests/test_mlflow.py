"""MLflow tracking stores: the real ``mlruns/`` file store written by mlflow-skinny 3.17.2 and the
real SQLite store written by MLflow 3.18.0 (``fixtures/make_mlflow_sqlite.py``), both holding the
fixtures' 6-run sweep; truth is ``ground_truth.json`` and the generating law, never this code."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from scalecli import api
from scalecli.cli import app
from scalecli.errors import DamagedSource, InputError, StrictError
from scalecli.ingest import read_paths
from scalecli.ingest.detect import detect
from scalecli.ingest.mlflow import read_run
from scalecli.store import Store

FX = Path(__file__).parent / "data" / "fixtures"
FILES = FX / "mlflow"
DB = FX / "mlflow_sqlite" / "mlflow.db"
TRUTH = json.loads((FX / "ground_truth.json").read_text())
TRUE_RUNS = {r["name"]: r for r in TRUTH["runs"]}
TOKENS_PER_STEP = 256 * 2048
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def runs_json(*args) -> list[dict]:
    r = invoke("runs", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    return rows["runs"] if isinstance(rows, dict) else rows


def copy_files(tmp_path: Path) -> Path:
    dest = tmp_path / "mlflow"
    shutil.copytree(FILES, dest)
    return dest


def copy_db(tmp_path: Path) -> Path:
    dest = tmp_path / "mlflow.db"
    shutil.copyfile(DB, dest)
    return dest


def run_dirs(root: Path) -> dict[str, Path]:
    """Run name -> run directory, read from the files MLflow wrote (tags/mlflow.runName)."""
    return {p.read_text().strip(): p.parent.parent
            for p in root.glob("mlruns/*/*/tags/mlflow.runName")}


# --- both stores read to the true sweep -------------------------------------------------------
@pytest.mark.parametrize("where", [FILES, DB.parent, DB])
def test_reads_the_six_true_runs(where):
    rows = runs_json(where)
    assert sorted(r["name"] for r in rows) == sorted(TRUE_RUNS)
    for r in rows:
        true = TRUE_RUNS[r["name"]]
        assert r["n_params"] == true["n_params"]
        assert r["tokens"] == true["final_tokens"]  # max of the logged tokens_seen
        assert r["loss"] == true["eval_loss"] and r["metric"] == "eval/loss"
        assert r["run_id"].startswith("mlflow:") and r["format"].startswith("mlflow")


def test_file_store_run_ids_and_sources_are_the_run_directories():
    frames = read_paths([FILES])
    dirs = run_dirs(FILES)
    for rid, name, source in frames.runs.select("run_id", "name", "source").iter_rows():
        assert rid == f"mlflow:{dirs[name].name}"
        assert Path(source) == dirs[name]


def test_sqlite_run_ids_are_the_run_uuids():
    con = sqlite3.connect(DB)
    uuids = dict(con.execute("SELECT name, run_uuid FROM runs").fetchall())
    con.close()
    frames = read_paths([DB])
    assert dict(zip(frames.runs["name"], frames.runs["run_id"], strict=True)) == {
        n: f"mlflow:{u}" for n, u in uuids.items()}


@pytest.mark.parametrize("where", [FILES, DB])
def test_params_are_config_with_numbers_as_numbers(where):
    runs = read_paths([where]).runs
    one = runs.filter(pl.col("name") == "gpt-1B").row(0, named=True)
    assert one["n_layers"] == 24 and one["d_model"] == 1856 and one["seq_len"] == 2048
    assert one["lr"] == pytest.approx(5.62e-4) and isinstance(one["lr"], float)
    assert one["optimizer"] == "adamw" and one["dataset"] == "synthetic-web"
    assert one["sweep"] == "chinchilla-sweep"  # a user tag
    assert runs.schema["n_layers"] == pl.Float64 and runs.schema["optimizer"] == pl.String
    assert not any(c.startswith("mlflow.") for c in runs.columns)


@pytest.mark.parametrize("where", [FILES, DB])
def test_metric_histories_one_row_per_step(where):
    frames = read_paths([where])
    h = frames.history.join(frames.runs.select("run_id", "name"), on="run_id")
    loss = h.filter(pl.col("metric") == "train/loss")
    assert loss.group_by("name").len()["len"].to_list() == [50] * 6
    # metrics logged at one step joined on it: tokens is tokens_seen = step x 524288
    assert (loss["tokens"] == loss["step"] * TOKENS_PER_STEP).all()
    last = loss.sort("step").group_by("name").agg(pl.col("tokens").last())
    for name, tokens in last.iter_rows():
        assert tokens == TRUE_RUNS[name]["final_tokens"]
    assert set(h["metric"].unique()) == {"train/loss", "train/lr", "eval/loss"}


def test_both_stores_fit_the_same_law_near_the_generating_one():
    fits = [api.fit(p, "chinchilla", mapping="loss=train/loss", points="all")
            for p in (FILES, DB)]
    a, b = (f.to_dict()["params"] for f in fits)
    assert fits[0].to_dict()["n_points"] == 300
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-9, abs=0)
        assert a[k] == pytest.approx(TRUTH[k], rel=0.15)  # 1% noise on 300 points


# --- detection and the walk -------------------------------------------------------------------
def test_detection_by_content(tmp_path):
    assert detect(DB) == "mlflow-sqlite"
    (tmp_path / "notes.db").write_bytes(b"not sqlite at all")
    assert detect(tmp_path / "notes.db") is None
    other = tmp_path / "app.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE runs (x)")
    con.close()
    assert detect(other) is None  # SQLite, but not MLflow's tables


def test_walk_reads_each_run_directory_once_and_nothing_inside(tmp_path):
    root = copy_files(tmp_path)
    run = run_dirs(root)["gpt-1B"]
    (run / "artifacts").mkdir(exist_ok=True)
    (run / "artifacts" / "eval.csv").write_text("run,n_params,tokens,loss\nx,1,2,3\n")
    trash = root / "mlruns" / ".trash" / "1"
    trash.mkdir(parents=True)
    shutil.copytree(run, trash / run.name)
    r = invoke("runs", root, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert sorted(x["name"] for x in json.loads(r.stdout)) == sorted(TRUE_RUNS)
    # a run directory named on its own is one run
    assert [x["name"] for x in runs_json(run)] == ["gpt-1B"]


def test_deleted_runs_are_skipped(tmp_path):
    root = copy_files(tmp_path)
    meta = run_dirs(root)["gpt-30M"] / "meta.yaml"
    meta.write_text(meta.read_text().replace("lifecycle_stage: active",
                                              "lifecycle_stage: deleted"))
    db = copy_db(tmp_path)
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE runs SET lifecycle_stage = 'deleted' WHERE name = 'gpt-30M'")
    con.close()
    for where in (root, db):
        assert sorted(x["name"] for x in runs_json(where)) == sorted(set(TRUE_RUNS) - {"gpt-30M"})


# --- --experiment -----------------------------------------------------------------------------
def _second_experiment(tmp_path: Path) -> tuple[Path, Path]:
    """gpt-3B moved to an experiment "big" in a copy of each store."""
    root = copy_files(tmp_path)
    run = run_dirs(root)["gpt-3B"]
    exp = root / "mlruns" / "77"
    exp.mkdir()
    (exp / "meta.yaml").write_text("experiment_id: '77'\nlifecycle_stage: active\nname: big\n")
    shutil.move(run, exp / run.name)
    db = copy_db(tmp_path)
    con = sqlite3.connect(db)
    with con:
        con.execute("INSERT INTO experiments (experiment_id, name, lifecycle_stage, workspace) "
                    "VALUES (77, 'big', 'active', 'default')")
        con.execute("UPDATE runs SET experiment_id = 77 WHERE name = 'gpt-3B'")
    con.close()
    return root, db


@pytest.mark.parametrize("store", [0, 1])
def test_experiment_chooses_runs(tmp_path, store):
    where = _second_experiment(tmp_path)[store]
    assert [x["name"] for x in runs_json(where, "--experiment", "big")] == ["gpt-3B"]
    assert len(runs_json(where, "--experiment", "scaling-sweep")) == 5
    assert len(runs_json(where, "--experiment", "big,scaling-sweep")) == 6
    assert len(runs_json(where, "--experiment", "big", "--experiment", "scaling-sweep")) == 6
    assert len(runs_json(where)) == 6  # default: every experiment


def test_unknown_experiment_lists_those_found(tmp_path):
    root, db = _second_experiment(tmp_path)
    for where in (root, db):
        r = invoke("runs", where, "--experiment", "nope")
        assert r.exit_code == 1
        assert "'nope'" in r.stderr and "'big'" in r.stderr and "'scaling-sweep'" in r.stderr
        assert "Traceback" not in r.stderr
    r = invoke("runs", FX / "plain.csv", "--experiment", "big")
    assert r.exit_code == 1 and "no MLflow store" in r.stderr


def test_experiment_on_fit_and_ingest(tmp_path):
    db = _second_experiment(tmp_path)[1]
    r = invoke("fit", db, "--experiment", "scaling-sweep", "--points", "all", "--map",
               "loss=train/loss", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n_runs"] == 5
    store = tmp_path / "store"
    r = invoke("ingest", db, "--store", store, "--experiment", "big")
    assert r.exit_code == 0, r.stderr
    assert [x["name"] for x in runs_json("--store", store)] == ["gpt-3B"]
    # another choice of experiments re-reads the database
    r = invoke("ingest", db, "--store", store)
    assert r.exit_code == 0, r.stderr
    assert len(runs_json("--store", store)) == 6


# --- the store sees a run grow ----------------------------------------------------------------
def test_reingest_after_a_run_grew_rewrites_only_that_run(tmp_path):
    root = copy_files(tmp_path)
    st = Store(tmp_path / "store")
    assert len(st.ingest([root]).added) == 6
    run = run_dirs(root)["gpt-100M"]
    last = run.joinpath("metrics", "train", "loss").read_text().splitlines()[-1].split()
    step = int(last[2]) + 100
    with open(run / "metrics" / "train" / "loss", "a") as f:
        f.write(f"{int(last[0]) + 1000} 3.25 {step}\n")
    with open(run / "metrics" / "tokens_seen", "a") as f:
        f.write(f"{int(last[0]) + 1000} {float(step * TOKENS_PER_STEP)} {step}\n")
    rep = st.ingest([root])
    assert [Path(p) for p in rep.replaced] == [run] and len(rep.unchanged) == 5
    frames = st.load()
    grown = frames.runs.filter(pl.col("name") == "gpt-100M").row(0, named=True)
    assert grown["tokens"] == step * TOKENS_PER_STEP
    h = frames.history.filter((pl.col("run_id") == grown["run_id"])
                              & (pl.col("metric") == "train/loss")).sort("step")
    assert h["step"][-1] == step and h["value"][-1] == 3.25
    assert len(st.ingest([root]).unchanged) == 6


# --- bad input --------------------------------------------------------------------------------
def test_run_without_metrics_is_skipped_with_its_name_or_refused(tmp_path):
    root = copy_files(tmp_path)
    run = run_dirs(root)["gpt-10M"]
    shutil.rmtree(run / "metrics")
    (run / "metrics").mkdir()
    r = invoke("runs", root, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 5
    assert "gpt-10M" in r.stderr and "no metrics" in r.stderr and run.name in r.stderr
    r = invoke("runs", root, "--strict")
    assert r.exit_code == 1 and "gpt-10M" in r.stderr and "strict" in r.stderr


def test_garbled_metric_line_names_file_and_line(tmp_path):
    root = copy_files(tmp_path)
    run = run_dirs(root)["gpt-300M"]
    f = run / "metrics" / "train" / "lr"
    lines = f.read_text().splitlines()
    lines[6] = "1795518012756 0.00x1 229"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DamagedSource, match=r"line 7 of metric 'train/lr'.*0\.00x1"):
        read_run(run, str(run))
    store = tmp_path / "store"
    r = invoke("ingest", root, "--store", store)
    assert r.exit_code == 0, r.stderr
    assert "train/lr" in r.stderr and "line 7" in r.stderr and "skipped" in r.stderr
    assert len(runs_json("--store", store)) == 5
    before = sorted(p.name for p in (store / "parts").iterdir())
    r = invoke("ingest", root, "--store", store, "--strict")
    assert r.exit_code == 1 and "strict" in r.stderr
    assert sorted(p.name for p in (store / "parts").iterdir()) == before  # nothing half-written


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_database_is_skipped_or_refused(tmp_path, damage):
    db = copy_db(tmp_path)
    data = db.read_bytes()
    if damage == "garbage":
        db.write_bytes(data[:16] + b"\xff" * 4096)
    else:
        db.write_bytes(data[: len(data) // 3])
    shutil.copyfile(FX / "plain.csv", tmp_path / "plain.csv")
    r = invoke("runs", tmp_path, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 6  # plain.csv's runs; the database skipped
    assert "mlflow.db" in r.stderr and "skipped" in r.stderr
    r = invoke("ingest", tmp_path, "--store", tmp_path / "store", "--strict")
    assert r.exit_code == 1 and "mlflow.db" in r.stderr
    assert not (tmp_path / "store" / "manifest.json").exists()


def test_database_run_without_metrics_is_warned(tmp_path):
    db = copy_db(tmp_path)
    con = sqlite3.connect(db)
    with con:
        uuid = con.execute("SELECT run_uuid FROM runs WHERE name = 'gpt-1B'").fetchone()[0]
        con.execute("DELETE FROM metrics WHERE run_uuid = ?", (uuid,))
    con.close()
    frames = read_paths([db])
    assert frames.runs.height == 5
    assert any("gpt-1B" in w and "no metrics" in w for w in frames.warnings)
    with pytest.raises(StrictError, match="gpt-1B"):
        read_paths([db], strict=True)


def test_forced_reader_on_a_wrong_file_is_an_error(tmp_path):
    with pytest.raises(InputError):
        api.runs(FX / "plain.csv", reader="mlflow-sqlite")


def test_metrics_at_different_steps_and_a_step_logged_twice(tmp_path):
    root = copy_files(tmp_path)
    run = run_dirs(root)["gpt-30M"]
    f = run / "metrics" / "train" / "loss"
    lines = f.read_text().splitlines()
    ts, _, step = lines[9].split()
    f.write_text("\n".join([*lines, f"{int(ts) + 1} 9.5 {step}"]) + "\n")  # step 10 again
    frames = read_paths([run])
    h = frames.history
    assert h.filter(pl.col("metric") == "eval/loss").height == 1  # one point, at the last step
    loss = h.filter(pl.col("metric") == "train/loss").sort("step")
    assert loss.height == 50 and loss["value"][9] == 9.5  # the later value of step 10 kept
    assert loss["step"].to_list() == sorted(int(x.split()[2]) for x in lines)


def test_experiment_from_python(tmp_path):
    import scalecli

    root, db = _second_experiment(tmp_path)
    assert scalecli.load(db, experiment="big").runs["name"].to_list() == ["gpt-3B"]
    assert scalecli.load(root, experiment=["scaling-sweep"]).runs.height == 5
    fit = scalecli.fit(root, "chinchilla", experiment="big,scaling-sweep",
                       mapping="loss=train/loss", points="all")
    assert fit.to_dict()["n_runs"] == 6


def test_store_check_and_prune_know_run_directories(tmp_path):
    root = copy_files(tmp_path)
    store = tmp_path / "store"
    assert invoke("ingest", root, "--store", store).exit_code == 0
    assert invoke("store", "check", store).exit_code == 0
    run = run_dirs(root)["gpt-300M"]
    with open(run / "metrics" / "train" / "loss", "a") as f:
        f.write("1795518999999 2.9 20000\n")
    r = invoke("store", "check", store, "--format", "json")
    assert r.exit_code == 1 and "stale" in r.stdout and run.name in r.stdout
    assert r.stdout.count("stale") == 1
    shutil.rmtree(run)
    assert invoke("store", "prune", store).exit_code == 0
    assert sorted(x["name"] for x in runs_json("--store", store)) == sorted(
        set(TRUE_RUNS) - {"gpt-300M"})
