"""A store of RUNS runs x STEPS logged steps (issue 18: 10,000 x 10,000 = 10^8 history rows):
generate one CSV per run, ingest it (whole command: wall time and peak RSS of the child), then
time ``scalecli fit --store S --law chinchilla``.

    python benchmarks/store_scale.py --runs 10000 --steps 10000 --dir /tmp/store-scale
    python benchmarks/store_scale.py --runs 500 --steps 2000        # a quick one

The generated files are kept in ``DIR/logs`` (reused when they are already there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TRUE = {"E": 1.8, "A": 482.0, "alpha": 0.35, "B": 2085.0, "beta": 0.37}


def generate(folder: Path, runs: int, steps: int) -> None:
    import numpy as np
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    done = folder / ".complete"
    if done.exists() and done.read_text() == f"{runs}x{steps}:ladder":
        return
    rng = np.random.default_rng(0)
    sizes = np.geomspace(2e7, 2e9, 16)
    ratios = np.geomspace(5, 80, 5)  # tokens per parameter: a ladder, not one D per N
    step = np.arange(1, steps + 1)
    for i in range(runs):
        n = sizes[i % sizes.size]
        tokens = step * (ratios[(i // sizes.size) % ratios.size] * n / steps)
        loss = (TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / tokens ** TRUE["beta"]) \
            * np.exp(rng.normal(0, 0.005, steps))
        pl.DataFrame({"run": f"r{i:05d}", "n_params": np.full(steps, n), "tokens": tokens,
                      "step": step, "loss": loss}).write_csv(folder / f"r{i:05d}.csv",
                                                              float_precision=6)
    done.write_text(f"{runs}x{steps}:ladder")


def timed(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (bytes) of ``cmd`` run in a child that measures it."""
    probe = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(json.dumps([time.perf_counter() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode, "
             "r.stderr[-400:]]))")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True,
                         check=False)
    wall, peak_kib, rc, err = json.loads(out.stdout)
    if rc:
        raise SystemExit(f"{' '.join(cmd[:3])} ... exited {rc}: {err}")
    return wall, peak_kib * 1024, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--dir", default="/tmp/scalecli-store-scale")
    args = ap.parse_args()
    exe = shutil.which("scalecli") or str(Path(sys.executable).parent / "scalecli")
    root = Path(args.dir)
    t = time.perf_counter()
    generate(root / "logs", args.runs, args.steps)
    print(f"logs: {args.runs} runs x {args.steps} steps in {root / 'logs'} "
          f"({time.perf_counter() - t:.1f} s)")
    store = root / "store"
    shutil.rmtree(store, ignore_errors=True)
    wall, peak, _ = timed([exe, "ingest", str(root / "logs"), "--store", str(store), "-q"])
    rows = args.runs * args.steps
    print(f"ingest: {wall:.1f} s, peak RSS {peak / 2**20:.0f} MiB ({rows:,} history rows)")
    wall, peak, _ = timed([exe, "fit", "--store", str(store), "--law", "chinchilla",
                           "--format", "json"])
    print(f"fit --store: {wall:.2f} s, peak RSS {peak / 2**20:.0f} MiB")
    n_parts = len(os.listdir(store / "parts"))
    print(f"store: {n_parts} part files, manifest {os.path.getsize(store / 'manifest.json'):,} "
          f"bytes")


if __name__ == "__main__":
    main()
