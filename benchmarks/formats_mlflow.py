"""MLflow stores at sweep size, run by hand: ``python benchmarks/formats_mlflow.py``.

Writes R runs x S logged steps (default 1,000 x 1,000; ``--runs``/``--steps`` scale down) of
three metrics (train/loss, tokens_seen, train/lr) and eleven params per run, in:
  1. the ``mlruns/`` file store, written directly in MLflow's layout (MLflow's own client takes
     minutes for this); the writer is first checked against a small store MLflow wrote itself:
     the same files, and the same runs and histories read back;
  2. an SQLite store that MLflow creates (its own schema and migrations), filled by SQL inserts
     in MLflow's table layout (``log_batch`` through the client is far slower), then checked by
     reading one run's history back with MLflow's client.
For each it times the whole ``scalecli ingest`` command against reading the same metric
histories with MLflow alone: a process that lists the runs (``MlflowClient.search_runs``) and
calls ``MlflowClient.get_metric_history`` for each run and metric, which is MLflow's cheapest
public read of whole histories (``search_runs`` returns only the latest values). Both figures
are whole processes, start-up included; peak memory is each process's maximum RSS.

MLflow may live in another interpreter: ``--mlflow-python PATH`` (default: this one). Without
MLflow the library-alone figures and the checks are skipped, with a line saying so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PY = sys.executable
EXE = shutil.which("scalecli") or str(Path(PY).parent / "scalecli")
METRICS = ("train/loss", "tokens_seen", "train/lr")
TOKENS_PER_STEP = 524_288
EXPERIMENT = "bench-sweep"

MEASURE = """import resource, subprocess, sys, time
t0 = time.perf_counter()
r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{dt} {use.ru_utime + use.ru_stime} {use.ru_maxrss} {r.returncode}")
if r.returncode:
    sys.stderr.write(r.stderr.decode()[-2000:])
"""

LIBRARY = """import os, sys, time
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
exp = client.get_experiment_by_name(sys.argv[2])
runs, token = [], None
while True:
    page = client.search_runs([exp.experiment_id], max_results=1000, page_token=token)
    runs += page
    token = page.token
    if not token:
        break
points = 0
for run in runs:
    for key in run.data.metrics:
        points += len(client.get_metric_history(run.info.run_id, key))
print(len(runs), points)
"""


# ---- the simulated sweep ---------------------------------------------------------------------
def sweep(n_runs: int, n_steps: int):
    """Per run: name, params (as MLflow keeps them: text) and arrays of step, loss, tokens, lr."""
    import numpy as np

    rng = np.random.default_rng(7)
    sizes = np.logspace(7, 9.5, n_runs)
    for i, n in enumerate(sizes):
        total = 20 * n
        last = max(n_steps, math.ceil(total / TOKENS_PER_STEP))
        steps = np.unique(np.linspace(last / n_steps, last, n_steps).round().astype(np.int64))
        if steps.size < n_steps:  # tiny models: fewer optimizer steps than points asked
            steps = np.arange(1, n_steps + 1, dtype=np.int64)
        tokens = steps * TOKENS_PER_STEP
        loss = (1.7 + 400 / n ** 0.34 + 410 / tokens ** 0.28) * (1 + rng.normal(0, 0.01, steps.size))
        lr = 3e-4 * np.minimum(1, steps / max(1, last // 100)) * (0.55 + 0.45 * np.cos(
            np.pi * steps / last))
        params = {"n_params": str(int(n)), "n_layers": str(6 + i % 24), "d_model": "1024",
                  "n_heads": "16", "lr": "0.0003", "batch_size": "256", "seq_len": "2048",
                  "total_tokens": str(int(tokens[-1])), "warmup_steps": str(max(1, last // 100)),
                  "optimizer": "adamw", "dataset": "synthetic-web"}
        yield f"run-{i:05d}", params, steps, {"train/loss": loss, "tokens_seen":
                                              tokens.astype(float), "train/lr": lr}


# ---- 1. the file store, written directly -----------------------------------------------------
def write_files(root: Path, runs, t0: int = 1_700_000_000_000) -> int:
    """MLflow's file-store layout (see scalecli.ingest.mlflow), one run directory per run."""
    exp_id = "123456789012345678"
    (root / "0").mkdir(parents=True)
    (root / "0" / "meta.yaml").write_text(_yaml({
        "artifact_location": f"{root.as_uri()}/0", "creation_time": t0, "experiment_id": "'0'",
        "last_update_time": t0, "lifecycle_stage": "active", "name": "Default"}))
    exp = root / exp_id
    exp.mkdir()
    (exp / "meta.yaml").write_text(_yaml({
        "artifact_location": f"{exp.as_uri()}", "creation_time": t0,
        "experiment_id": f"'{exp_id}'", "last_update_time": t0, "lifecycle_stage": "active",
        "name": EXPERIMENT}))
    points = 0
    for name, params, steps, metrics in runs:
        rid = uuid.uuid4().hex
        run = exp / rid
        for sub in ("params", "tags", "metrics/train", "artifacts"):
            (run / sub).mkdir(parents=True)
        (run / "meta.yaml").write_text(_yaml({
            "artifact_uri": f"{run.as_uri()}/artifacts", "end_time": t0 + 1, "entry_point_name":
            "''", "experiment_id": f"'{exp_id}'", "lifecycle_stage": "active", "run_id": rid,
            "run_name": name, "source_name": "''", "source_type": 4, "source_version": "''",
            "start_time": t0, "status": 3, "tags": "[]", "user_id": "bench"}))
        for k, v in params.items():
            (run / "params" / k).write_text(v)
        (run / "tags" / "mlflow.runName").write_text(name)
        ts = [str(t0 + 1000 * i) for i in range(steps.size)]
        st = [str(int(s)) for s in steps]
        for key, values in metrics.items():
            lines = [f"{t} {float(v)!r} {s}\n" for t, v, s in zip(ts, values.tolist(), st)]
            (run / "metrics" / key).write_text("".join(lines))
            points += len(lines)
    return points


def _yaml(d: dict) -> str:
    return "".join(f"{k}: {v}\n" for k, v in d.items())


# ---- 2. the SQLite store: MLflow's schema, filled by SQL -------------------------------------
def write_db(db: Path, runs, mlflow_py: str | None, t0: int = 1_700_000_000_000) -> int:
    if mlflow_py:  # MLflow creates the database and its schema (tables, indexes, migrations)
        code = ("import sys; from mlflow.tracking import MlflowClient; "
                "MlflowClient(tracking_uri='sqlite:///' + sys.argv[1]).create_experiment("
                f"{EXPERIMENT!r})")
        subprocess.run([mlflow_py, "-c", code, str(db)], check=True, capture_output=True,
                       cwd=db.parent)
    else:
        shutil.copyfile(Path(__file__).resolve().parent.parent
                        / "tests/data/fixtures/mlflow_sqlite/mlflow.db", db)
        con = sqlite3.connect(db)
        with con:
            for t in ("metrics", "latest_metrics", "params", "tags", "runs"):
                con.execute(f"DELETE FROM {t}")
            con.execute("UPDATE experiments SET name = ? WHERE experiment_id = 1", (EXPERIMENT,))
        con.close()
    con = sqlite3.connect(db)
    exp_id = con.execute("SELECT experiment_id FROM experiments WHERE name = ?",
                         (EXPERIMENT,)).fetchone()[0]
    points = 0
    with con:
        for name, params, steps, metrics in runs:
            rid = uuid.uuid4().hex
            con.execute("INSERT INTO runs (run_uuid, name, source_type, source_name, "
                        "entry_point_name, user_id, status, start_time, end_time, "
                        "source_version, lifecycle_stage, artifact_uri, experiment_id) "
                        "VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', "
                        "'active', '', ?)", (rid, name, t0, t0 + 1, exp_id))
            con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                            [(k, v, rid) for k, v in params.items()])
            con.execute("INSERT INTO tags (key, value, run_uuid) VALUES "
                        "('mlflow.runName', ?, ?)", (name, rid))
            ts = [t0 + 1000 * i for i in range(steps.size)]
            st = steps.tolist()
            for key, values in metrics.items():
                vals = values.tolist()
                con.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, "
                                "is_nan) VALUES (?, ?, ?, ?, ?, 0)",
                                [(key, v, t, rid, s) for v, t, s in zip(vals, ts, st)])
                con.execute("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, "
                            "run_uuid) VALUES (?, ?, ?, ?, 0, ?)",
                            (key, vals[-1], ts[-1], st[-1], rid))
                points += len(vals)
    con.close()
    return points


# ---- checks against MLflow itself ------------------------------------------------------------
CLIENT_WRITES = """import os, sys, json
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
spec = json.load(open(sys.argv[2]))
client = MlflowClient(tracking_uri=sys.argv[1])
exp = client.create_experiment(spec["experiment"])
for r in spec["runs"]:
    rid = client.create_run(exp, run_name=r["name"]).info.run_id
    ms = [Metric(k, v, 1_700_000_000_000 + 1000 * i, s)
          for k, vals in r["metrics"].items() for i, (v, s) in enumerate(zip(vals, r["steps"]))]
    client.log_batch(rid, metrics=ms, params=[Param(k, v) for k, v in r["params"].items()])
    client.set_terminated(rid, "FINISHED")
"""

CLIENT_READS = """import os, sys, json
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
exp = client.get_experiment_by_name(sys.argv[2])
out = {}
for run in client.search_runs([exp.experiment_id], max_results=50000):
    out[run.info.run_name] = {"params": run.data.params, "metrics": {
        k: [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, k)]
        for k in run.data.metrics}}
print(json.dumps(out))
"""


def read_with_scalecli(path: Path) -> dict:
    """Run name -> params and metric histories, as scalecli reads them."""
    import polars as pl

    from scalecli.ingest import read_paths

    frames = read_paths([path])
    out = {}
    for row in frames.runs.iter_rows(named=True):
        h = frames.history.filter(pl.col("run_id") == row["run_id"]).sort("step")
        out[row["name"]] = {
            "n_params": row["n_params"], "tokens": row["tokens"],
            "metrics": {m: [[s, v] for s, v in g.select("step", "value").iter_rows()]
                        for (m,), g in h.group_by("metric", maintain_order=True)}}
        # tokens_seen is the tokens (D) column of every history row, not a metric of its own
        tokens = h.select("step", "tokens").unique(maintain_order=True)
        out[row["name"]]["metrics"]["tokens_seen"] = [list(r) for r in tokens.iter_rows()]
    return out


def check_writer(tmp: Path, mlflow_py: str) -> None:
    """The direct writer against MLflow's client on 2 runs x 5 steps: the same file tree
    (ids aside) and the same runs and histories read back, by scalecli and by MLflow."""
    runs = list(sweep(2, 5))
    spec = {"experiment": EXPERIMENT, "runs": [
        {"name": n, "params": p, "steps": s.tolist(),
         "metrics": {k: v.tolist() for k, v in m.items()}} for n, p, s, m in runs]}
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "spec.json").write_text(json.dumps(spec))
    real, mine = tmp / "real" / "mlruns", tmp / "mine" / "mlruns"
    subprocess.run([mlflow_py, "-c", CLIENT_WRITES, real.as_uri(), str(tmp / "spec.json")],
                   check=True, capture_output=True)
    write_files(mine, runs)

    def tree(root: Path) -> set[str]:
        out = set()
        for p in root.rglob("*"):
            parts = p.relative_to(root).parts
            if p.is_file() and parts[0] not in ("0", ".trash"):
                out.add("/".join(("EXP", "RUN", *parts[2:]) if len(parts) > 2 else ("EXP",
                                                                                    *parts[1:])))
        return out

    extra_real = tree(real) - tree(mine)
    extra_mine = tree(mine) - tree(real)
    # MLflow also tags the run with user/source (tags/mlflow.user, mlflow.source.*)
    extra_real = {p for p in extra_real if not p.startswith("EXP/RUN/tags/mlflow.")}
    assert not extra_real and not extra_mine, (extra_real, extra_mine)
    for key in METRICS:
        a = next(real.glob(f"*/*/metrics/{key}")).read_text().splitlines()[0].split()
        b = next(mine.glob(f"*/*/metrics/{key}")).read_text().splitlines()[0].split()
        assert len(a) == len(b) == 3, (a, b)
    ours_real, ours_mine = read_with_scalecli(real.parent), read_with_scalecli(mine.parent)
    assert ours_real == ours_mine, "scalecli reads the two stores differently"
    lib = json.loads(subprocess.run([mlflow_py, "-c", CLIENT_READS, mine.as_uri(), EXPERIMENT],
                                    check=True, capture_output=True, text=True).stdout)
    for name, run in lib.items():
        assert run["params"] == dict(runs[[r[0] for r in runs].index(name)][1])
        for key, points in run["metrics"].items():
            assert points == ours_mine[name]["metrics"][key], (name, key)
    print("  writer check: the direct file-store writer matches MLflow's client (2 runs x 5 "
          "steps: same files, same runs and histories read by scalecli and by MLflow)")


def check_db(db: Path, mlflow_py: str) -> None:
    lib = json.loads(subprocess.run(
        [mlflow_py, "-c", CLIENT_READS.replace("max_results=50000", "max_results=3"),
         f"sqlite:///{db}", EXPERIMENT], check=True, capture_output=True, text=True).stdout)
    ours = read_with_scalecli(db)
    for name, run in lib.items():
        for key, points in run["metrics"].items():
            assert points == ours[name]["metrics"][key], (name, key)
    print(f"  db check: MLflow's client reads the filled database ({len(lib)} runs compared "
          "with scalecli's reading)")


# ---- timing --------------------------------------------------------------------------------
def measure(cmd: list[str], tmp: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of one whole command, in a fresh parent
    process. CPU time (user + system) is the fairer figure on a shared, loaded machine."""
    out = tmp / "measure.txt"
    subprocess.run([PY, "-c", MEASURE, str(out), *cmd], check=True)
    dt, cpu, rss, rc = out.read_text().split()
    if rc != "0":
        raise SystemExit(f"failed ({rc}): {' '.join(cmd)}")
    return float(dt), float(cpu), int(rss) / 1024


def compare(label: str, where: Path, uri: str, tmp: Path, mlflow_py: str | None,
            repeat: int) -> None:
    def ingest(i):
        store = tmp / f"store-{label}-{i}"
        got = measure([EXE, "ingest", str(where), "--store", str(store), "-q"], tmp)
        shutil.rmtree(store)
        return got

    t, c, m = min((ingest(i) for i in range(repeat)), key=lambda x: x[1])
    print(f"  {label}: scalecli ingest {t:.1f} s wall, {c:.1f} s CPU, peak {m:.0f} MiB",
          flush=True)
    if mlflow_py:
        lt, lc, lm = min((measure([mlflow_py, "-c", LIBRARY, uri, EXPERIMENT], tmp)
                          for _ in range(repeat)), key=lambda x: x[1])
        print(f"  {label}: MLflow alone (search_runs + get_metric_history per run and metric) "
              f"{lt:.1f} s wall, {lc:.1f} s CPU, peak {lm:.0f} MiB; scalecli/MLflow: "
              f"{t / lt:.2f} wall, {c / lc:.2f} CPU (target <= 1.5)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1, help="best of N timings")
    ap.add_argument("--mlflow-python", default=PY,
                    help="an interpreter with mlflow installed (default: this one)")
    ap.add_argument("--keep", type=Path, help="write the stores here and keep them (stores "
                    "already there are reused)")
    ap.add_argument("--only", choices=("files", "sqlite"), help="one store only")
    args = ap.parse_args()
    mlflow_py = args.mlflow_python
    if subprocess.run([mlflow_py, "-c", "import mlflow, sqlalchemy"],
                      check=False, capture_output=True).returncode:
        print(f"MLflow (with sqlalchemy) is not importable by {mlflow_py}: the library-alone "
              "timings and the checks against MLflow are skipped (pip install mlflow, or "
              "--mlflow-python PATH)")
        mlflow_py = None
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="bench_mlflow_"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        if args.only != "sqlite":
            files = tmp / "files" / "mlruns"
            if mlflow_py and not (tmp / "check").exists():
                check_writer(tmp / "check", mlflow_py)
            if not files.exists():
                t0 = time.perf_counter()
                points = write_files(files, sweep(args.runs, args.steps))
                print(f"file store: {args.runs} runs x {args.steps} steps x {len(METRICS)} "
                      f"metrics = {points:,} points written in {time.perf_counter() - t0:.1f} s")
            compare("file store", files.parent, files.as_uri(), tmp, mlflow_py, args.repeat)
        if args.only != "files":
            db = tmp / "db" / "mlflow.db"
            if not db.exists():
                t0 = time.perf_counter()
                db.parent.mkdir(parents=True, exist_ok=True)
                points = write_db(db, sweep(args.runs, args.steps), mlflow_py)
                print(f"SQLite store: {points:,} points written in "
                      f"{time.perf_counter() - t0:.1f} s ({db.stat().st_size / 2**20:.0f} MiB)")
                if mlflow_py:
                    check_db(db, mlflow_py)
            compare("SQLite store", db, f"sqlite:///{db}", tmp, mlflow_py, args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    main()
