"""Store reliability figures for the README, run by hand:
``python benchmarks/store_reliability.py [--kills 200] [--concurrent 20] [--seed 0]``.

1. Kill trials: an ingest of a realistic log directory (the sample sweep, W&B exports and a
   40,000-row JSONL history), run in a child process and killed with SIGKILL after a random
   delay within the ingest. Afterwards the store must open and equal the state before or after
   that ingest, the next ingest must succeed, equal the state after, and leave no orphan file.
   Some trials kill the first ingest into a new store, the rest replace changed files.
2. Concurrent trials: writer processes re-ingest (each its own changing file, plus a shared
   directory) while reader threads and a reader process load the store without pause. Every
   read must succeed with every run at most once; at the end every run is there exactly once.

``tests/test_store_crash.py`` runs a few of each through the same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

CHILD = """
import sys, time
from scalecli.store import Store
print("ready", flush=True)
sys.stdin.readline()
t = time.perf_counter()
Store(sys.argv[1]).ingest([sys.argv[2]], wait=60)
print("done %.4f" % (time.perf_counter() - t), flush=True)
"""

WRITER = """
import sys
from pathlib import Path
from scalecli.store import Store
root, shared, own, rounds = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
for r in range(rounds):
    lines = own.read_text().splitlines()
    lines[-1] = lines[-1].rsplit(",", 1)[0] + ",%.6f" % (3.0 - r / 1000)
    own.write_text("\\n".join(lines) + "\\n")
    Store(root).ingest([shared, str(own)], wait=120)
"""

READER = """
import json, os, sys
from scalecli.store import Store
from scalecli.errors import StoreError
root, stop = sys.argv[1], sys.argv[2]
reads, errors, dup = 0, [], 0
while not os.path.exists(stop):
    try:
        fr = Store(root).load()
    except StoreError as exc:
        errors.append(str(exc)[:200]); continue
    reads += 1
    dup += fr.runs["run_id"].is_duplicated().any()
print(json.dumps({"reads": reads, "errors": errors, "duplicated": int(dup)}))
"""


def make_logs(folder: Path, rows_per_run: int = 5000) -> Path:
    """The sample sweep (CSV, JSONL, W&B exports) plus a bigger JSONL history, in ``folder``."""
    shutil.copytree(ROOT / "sample_runs", folder, ignore=shutil.ignore_patterns("*.md", "*.json"))
    with open(folder / "history.jsonl", "w") as f:
        for i, n in enumerate((1e7, 3e7, 1e8, 3e8, 1e9, 3e9, 7e9, 1.3e10)):
            for step in range(1, rows_per_run + 1):
                tokens = step * 524288
                loss = 1.7 + 400 / n ** 0.34 + 410 / tokens ** 0.28
                f.write(json.dumps({"run": f"h{i}", "n_params": int(n), "step": step,
                                    "tokens": tokens, "loss": round(loss, 6)}) + "\n")
    return folder


def change(folder: Path, k: int) -> None:
    """Version ``k`` of the directory: the big history and the small CSV both change."""
    with open(folder / "history.jsonl", "a") as f:
        step = 10_000 + k
        f.write(json.dumps({"run": "h0", "n_params": 10_000_000, "step": step,
                            "tokens": step * 524288, "loss": round(2.5 - k / 1e4, 6)}) + "\n")
    csv = folder / "sweep_small.csv"
    lines = csv.read_text().splitlines()
    head, *rows = lines
    last = rows[-1].split(",")
    last[-1] = f"{float(last[-1]) + 0.001:.6f}"
    csv.write_text("\n".join([head, *rows[:-1], ",".join(last)]) + "\n")


def snapshot(root: Path):
    """The store's content as two sorted frames, or None where there is no store yet."""
    from scalecli.store import Store

    st = Store(root)
    if not st.exists():
        return None
    fr = st.load()
    runs = fr.runs.sort("run_id")
    hist = fr.history.sort("run_id", "step", "metric")
    return runs, hist


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a[0].equals(b[0]) and a[1].equals(b[1])


class Child:
    """An ingest in a child process, started on demand so a kill lands inside the ingest."""

    def __init__(self, root: Path, logs: Path):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        self.p = subprocess.Popen([PY, "-c", CHILD, str(root), str(logs)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env)
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError("ingest child failed to start: " + self.p.stderr.read()[-500:])

    def run(self, kill_after: float | None) -> float | None:
        """Start the ingest; kill it after ``kill_after`` s. Returns its time if it finished."""
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        if kill_after is None:
            out, err = self.p.communicate(timeout=120)
            if self.p.returncode:
                raise RuntimeError("ingest child failed: " + err[-500:])
            return float(out.split()[-1])
        time.sleep(kill_after)
        self.p.send_signal(signal.SIGKILL)
        out, _ = self.p.communicate(timeout=60)
        return float(out.split()[-1]) if "done" in out else None


def calibrate(work: Path) -> float:
    """Seconds a full ingest of the log directory takes inside the child."""
    logs = make_logs(work / "cal-logs")
    times = [Child(work / f"cal-{i}", logs).run(None) for i in range(2)]
    return max(times)


def kill_trials(n: int, work: Path, rng: random.Random, span: float | None = None) -> dict:
    """``n`` kill trials (see the module docstring); returns the figures, raises on a failure."""
    from scalecli.store import Store

    span = span or calibrate(work)
    stats = {"trials": 0, "before": 0, "after": 0, "finished": 0, "swept": 0, "first": 0}
    for t in range(n):
        logs = work / f"logs-{t}"
        root = work / f"store-{t}"
        make_logs(logs)
        first = t % 4 == 0
        if not first:
            Store(root).ingest([logs])
            change(logs, t)
        before = snapshot(root)
        ref = work / f"ref-{t}"
        Store(ref).ingest([logs])
        after = snapshot(ref)
        child = Child(root, logs)
        finished = child.run(kill_after=rng.uniform(0, span * 1.1))
        got = snapshot(root)
        if not (same(got, before) or same(got, after)):
            raise AssertionError(f"kill trial {t}: the store is neither the state before nor after")
        stats["before" if same(got, before) and not same(before, after) else "after"] += 1
        rep = Store(root).ingest([logs])
        if not same(snapshot(root), after):
            raise AssertionError(f"kill trial {t}: the next ingest did not reach the state after")
        check = Store(root).check()
        if check.orphans or check.damaged or check.stale:
            raise AssertionError(f"kill trial {t}: left {check.to_dict()}")
        stats["trials"] += 1
        stats["first"] += first
        stats["finished"] += finished is not None
        stats["swept"] += bool(rep.swept)
        shutil.rmtree(logs)
        shutil.rmtree(ref)
        shutil.rmtree(root)
    return stats


def concurrent_trial(work: Path, writers: int = 3, rounds: int = 3, threads: int = 2) -> dict:
    """Writers re-ingest while readers load; returns reads made and raises on any failure."""
    from scalecli.errors import StoreError
    from scalecli.store import Store

    shared = work / "shared"
    if not shared.exists():
        shutil.copytree(ROOT / "sample_runs", shared,
                        ignore=shutil.ignore_patterns("*.md", "*.json"))
    root = work / f"store-{time.monotonic_ns()}"
    own = []
    for i in range(writers):
        p = work / f"own-{root.name}-{i}.csv"
        p.write_text("run,n_params,tokens,loss\n" + "".join(
            f"w{i}-r{j},{(j + 1) * 1e7:.0f},{(j + 1) * 2e8:.0f},{3.5 - j / 10:.4f}\n"
            for j in range(4)))
        own.append(p)
    Store(root).ingest([shared])
    stop = work / f"stop-{root.name}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    reader = subprocess.Popen([PY, "-c", READER, str(root), str(stop)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    errors: list[str] = []
    reads = [0]
    done = threading.Event()

    def read_loop() -> None:
        while not done.is_set():
            try:
                fr = Store(root).load()
            except StoreError as exc:
                errors.append(str(exc)[:200])
                continue
            reads[0] += 1
            if fr.runs["run_id"].is_duplicated().any():
                errors.append("a run read twice")

    pool = [threading.Thread(target=read_loop) for _ in range(threads)]
    for th in pool:
        th.start()
    procs = [subprocess.Popen([PY, "-c", WRITER, str(root), str(shared), str(p), str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for p in own]
    for p in procs:
        _, err = p.communicate(timeout=300)
        if p.returncode:
            errors.append("writer failed: " + err.strip()[-300:])
    done.set()
    for th in pool:
        th.join()
    stop.touch()
    out, err = reader.communicate(timeout=120)
    child = json.loads(out) if reader.returncode == 0 else {"reads": 0, "errors": [err[-300:]]}
    errors += child["errors"] + (["a run read twice"] if child.get("duplicated") else [])
    fr = Store(root).load()
    names = fr.runs["name"].to_list()
    want = 24 + 4 * writers
    if len(names) != want or len(set(names)) != want:
        errors.append(f"{len(names)} runs at the end ({len(set(names))} distinct), {want} wanted")
    check = Store(root).check()
    if not check.ok:
        errors.append(f"check: {check.to_dict()}")
    if errors:
        raise AssertionError(f"concurrent trial: {errors[:3]}")
    return {"reads": reads[0] + child["reads"], "ingests": writers * rounds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--concurrent", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        span = calibrate(work)
        k = kill_trials(args.kills, work, rng, span)
        print(f"kill trials: {k['trials']} ingests killed with SIGKILL (ingest takes {span:.2f} s"
              f" in the child; {k['first']} first ingests into a new store): store found in the "
              f"state before {k['before']}x, after {k['after']}x ({k['finished']} had finished); "
              f"leftovers swept by the next ingest {k['swept']}x; nothing lost, no orphan "
              f"({time.perf_counter() - t0:.0f} s)")
        t0 = time.perf_counter()
        reads = ingests = 0
        for _ in range(args.concurrent):
            c = concurrent_trial(work)
            reads += c["reads"]
            ingests += c["ingests"]
        print(f"concurrent trials: {args.concurrent} trials, {ingests} ingests by 3 writer "
              f"processes while 2 reader threads and a reader process made {reads} reads: no read "
              f"error, every run once ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
