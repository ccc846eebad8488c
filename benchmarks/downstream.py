"""Downstream-fit figures for the README, run by hand: ``python benchmarks/downstream.py``.

A synthetic ladder of 1,000 runs x 100 evaluations (100,000 rows), each row with four task
losses and four accuracies (accuracy a sigmoid of the loss, plus noise), held in memory as the
readers give it. Timed: the step-2 points (a formula over the four losses as x, one over the
four accuracies as y, the first 10% of each curve skipped, a moving mean of 5, every
checkpoint a point, the anchor), then the sigmoid fitted to them. Median of 5 runs, wall and
CPU time (time.process_time).
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def frames():
    import polars as pl

    from scalecli.ingest import Frames

    rng = np.random.default_rng(0)
    runs, steps = 1000, 100
    run_id = np.repeat([f"r{i}" for i in range(runs)], steps)
    step = np.tile(np.arange(1, steps + 1), runs)
    n = np.repeat(np.geomspace(1e8, 2e9, runs), steps)
    d = n * 20 * step / steps
    base = 0.5 + 60 / n**0.25 + 90 / d**0.25
    cols = {}
    for t in range(4):
        loss = base * (1 + 0.05 * t) + 0.01 * rng.standard_normal(base.size)
        cols[f"task{t}_bpb"] = loss
        cols[f"task{t}_acc"] = (-0.7 / (1 + np.exp(-4 * (loss - 0.9))) + 0.95
                                + 0.01 * rng.standard_normal(base.size))
    history = pl.concat([pl.DataFrame({"run_id": run_id, "step": step, "tokens": d,
                                       "metric": name, "value": v})
                         for name, v in cols.items()])
    last = history.group_by("run_id", "metric").agg(pl.col("value").last()).pivot(
        on="metric", index="run_id", values="value")
    runs_frame = (pl.DataFrame({"run_id": [f"r{i}" for i in range(runs)],
                                "name": [f"r{i}" for i in range(runs)], "source": "bench",
                                "format": "csv", "n_params": np.geomspace(1e8, 2e9, runs),
                                "tokens": np.geomspace(1e8, 2e9, runs) * 20})
                  .with_columns(flops=6 * pl.col("n_params") * pl.col("tokens"),
                                flops_derived=True).join(last, on="run_id"))
    return Frames(runs_frame, history)


def main() -> None:
    from scalecli.fitting import fit_points
    from scalecli.pipeline import fit_spec, prepare

    data = frames()
    x = "mean(task*_bpb)"
    y = "mean(task*_acc)"
    prep, fit = [], []
    for _ in range(5):
        spec = fit_spec("sigmoid", x=x, target=y)
        spec.points = "all"
        w0, c0 = time.perf_counter(), time.process_time()
        pts = prepare(data, spec, skip_fraction=0.1, smooth="moving-mean:5", anchor="x=0,y=1")
        w1, c1 = time.perf_counter(), time.process_time()
        fit_points(pts, spec.law, objective=spec.objective)
        w2, c2 = time.perf_counter(), time.process_time()
        prep.append((w1 - w0, c1 - c0))
        fit.append((w2 - w1, c2 - c1))
    print(f"{data.history.height:,} logged rows of {data.runs.height} runs; "
          f"{pts.frame.height:,} points")
    for what, t in (("points (formulas, skip, smooth, anchor)", prep), ("sigmoid fit", fit)):
        print(f"{what}: {statistics.median(w for w, _ in t):.3f} s wall, "
              f"{statistics.median(c for _, c in t):.3f} s CPU")


if __name__ == "__main__":
    main()
