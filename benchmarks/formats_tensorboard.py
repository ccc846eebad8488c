"""TensorBoard ingest at sweep size, run by hand: ``python benchmarks/formats_tensorboard.py``.

Generates R runs × S steps of event files with tensorboard's own ``EventFileWriter`` (3 scalar
tags per step, ``train/loss``, ``tokens_seen`` and ``train/lr``, plus the hparams plugin's
summary per run; no torch or TensorFlow), then times, each in a child process of its own:

  A. the library alone: ``LegacyEventFileLoader`` over every event file, collecting each
     scalar's (step, value) per tag. That is tensorboard's cheapest complete path (the record
     reader with its CRC checks, then the Event protobuf); ``EventFileLoader`` adds data-compat
     migrations (~4× slower here) and ``EventAccumulator`` adds reservoir bookkeeping;
  B. ``scalecli ingest DIR --store S`` into a fresh store.

and prints wall and CPU times, B/A (target ≤ 1.5), and each child's peak memory (RSS). On a
shared machine compare CPU seconds: wall times there measure the neighbours. Paired and
alternating (A, B, A, B...) so machine noise hits both. Default 1000 × 1000 (its generation
alone takes ~1 s per run per core: the writer's CRC is pure Python); scale down with
``--runs 100 --steps 1000`` while developing. ``--data DIR`` keeps (and reuses) the generated
logs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PY = sys.executable
EXE = shutil.which("scalecli") or str(Path(PY).parent / "scalecli")

LIBRARY = """
import sys
from pathlib import Path
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
scalars = 0
for f in sorted(Path(sys.argv[1]).rglob("events.out.tfevents.*")):
    run = {}
    for event in LegacyEventFileLoader(str(f)).Load():
        for v in event.summary.value:
            if v.WhichOneof("value") == "simple_value":
                steps, values = run.setdefault(v.tag, ([], []))
                steps.append(event.step)
                values.append(v.simple_value)
    scalars += sum(len(s) for s, _ in run.values())
print(scalars)
"""


def write_run(args) -> None:
    """One run folder: S steps × 3 scalars and the hparams, written the way a trainer would."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder, i, steps = args
    n = 1e7 * (1 + i % 97)
    w = EventFileWriter(str(folder))
    w.add_event(event_pb2.Event(wall_time=time.time(), summary=hp.hparams_pb(
        {"n_params": n, "batch_size": 256, "seq_len": 2048, "lr": 1e-3, "run": i})))
    for s in range(1, steps + 1):
        loss = 1.7 + 400 / n ** 0.34 + 410 / (s * 524288.0) ** 0.28
        lr = 1e-3 * min(1.0, s / 100)
        values = [("train/loss", loss), ("tokens_seen", s * 524288.0), ("train/lr", lr)]
        for tag, v in values:
            w.add_event(event_pb2.Event(wall_time=time.time(), step=s, summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=v)])))
    w.close()


def generate(root: Path, runs: int, steps: int, jobs: int) -> None:
    stamp = root / f".made-{runs}x{steps}"
    if stamp.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    todo = [(root / f"run-{i:05d}", i, steps) for i in range(runs)]
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(write_run, todo, chunksize=8))
    stamp.touch()
    print(f"generated {runs} runs × {steps} steps in {time.perf_counter() - t0:.1f} s "
          f"({sum(f.stat().st_size for f in root.rglob('events*')) / 2**20:.1f} MiB)")


def child(cmd: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS (MiB; the kernel's rusage of that child), stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read().decode()[-2000:]}")
        cpu = usage.ru_utime + usage.ru_stime
        return wall, cpu, usage.ru_maxrss / 1024, out.read().decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=1, help="paired A/B repetitions")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="generation processes")
    ap.add_argument("--data", type=Path, help="keep (and reuse) the generated logs here")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="scalecli-tb-"))
    data = a.data or tmp / "logs"
    try:
        generate(data, a.runs, a.steps, a.jobs)
        lib, ing = [], []
        for _ in range(a.repeats):
            t, cpu, mem, out = child([PY, "-c", LIBRARY, str(data)])
            assert int(out) == a.runs * a.steps * 3, out
            lib.append((t, cpu, mem))
            store = tmp / "store"
            shutil.rmtree(store, ignore_errors=True)
            ing.append(child([EXE, "ingest", str(data), "--store", str(store)])[:3])
        print(f"{a.runs} runs × {a.steps} steps × 3 scalars ({a.runs * a.steps * 3:,} values); "
              "medians of wall and CPU seconds, the largest peak RSS")
        ta = tb = ca = cb = 0.0
        for label, rows in (("A library alone (LegacyEventFileLoader)", lib),
                            ("B scalecli ingest --store", ing)):
            wall = statistics.median(r[0] for r in rows)
            cpu = statistics.median(r[1] for r in rows)
            print(f"  {label:40s} {wall:7.2f} s wall, {cpu:7.2f} s CPU, "
                  f"peak {max(r[2] for r in rows):6.0f} MiB")
            ta, ca, tb, cb = (wall, cpu, tb, cb) if label[0] == "A" else (ta, ca, wall, cpu)
        print(f"  B/A = {tb / ta:.2f} wall, {cb / ca:.2f} CPU (target ≤ 1.5); per run: "
              f"A {ta / a.runs * 1e3:.0f} ms, B {tb / a.runs * 1e3:.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
