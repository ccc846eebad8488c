"""Curve-law figures for the README, run by hand: ``python benchmarks/curves.py [DATA]``.

A. Synthetic: nine schedules of 24,000 steps (cosine, constant, linear, four WSD decays, two
   piecewise drops; warm-up 500 steps; peak 3e-4), loss logged every 125 steps from step 500
   (about 1,700 points in all), drawn without noise from the multi-power law at TRUE below:
   1. evaluating the multi-power law on all nine curves (the curves prepared once, as a fit
      does), and with its Jacobian;
   2. fitting it on three of them (cosine, constant, WSD linear) with the default starts and
      objective, then its mean relative error on the six held out; 2'. the same three curves
      with the loss logged at every step after the warm-up.
B. The authors' curves of Luo et al. 2025 (DATA, default tests/data/multi-power-law or
   ../shared/datasets/multi-power-law; see tests/test_multi_power_paper.py), one model size
   (400M): 9 curves, schedules as their data loader builds them:
   3. evaluating the multi-power law on the 9 curves at the published parameters;
   4. fitting it on the 3 curves the authors fit on, its objective beside the published
      parameters' objective on the same points.
Every figure: wall (perf_counter) and CPU (process_time) time, min and median over repeats.
"""

from __future__ import annotations

import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from scalecli.analyses.curve_search import fit_curves
from scalecli.analyses.curves import RunCurve, metrics, score
from scalecli.laws.curves import MULTI_POWER, Curve
from scalecli.schedules import parse_schedule

T, W = 24_000, 500
TRUE = {"L0": 2.8, "A": 0.55, "alpha": 0.5, "B": 400.0, "C": 1.5, "beta": 0.55, "gamma": 0.6}
SPECS = {
    "cosine": "cosine:peak=3e-4,warmup=500,final=3e-5",
    "constant": "constant:peak=3e-4,warmup=500",
    "wsd-linear": "wsd:peak=3e-4,warmup=500,decay=0.2,final=3e-5",
    "linear": "linear:peak=3e-4,warmup=500,final=3e-5",
    "wsd-cosine": "wsd:peak=3e-4,warmup=500,decay=0.1,shape=cosine,final=3e-5",
    "wsd-sqrt": "wsd:peak=3e-4,warmup=500,decay=0.2,shape=sqrt,final=0",
    "wsd-exp": "wsd:peak=3e-4,warmup=500,decay=0.3,shape=exp,final=3e-6",
    "two-stage": "piecewise:steps=0/16000,values=3e-4/3e-5,warmup=500",
    "three-stage": "piecewise:steps=0/12000/18000,values=3e-4/1e-4/3e-5,warmup=500",
}
# the authors' schedules (src/data_loader.py) as specs; their fit set (src/config.py)
PAPER_SPECS = {
    "cosine_24000": "cosine:peak=3e-4,warmup=2160,final=3e-5,steps=24000",
    "cosine_72000": "cosine:peak=3e-4,warmup=2160,final=3e-5,steps=72000",
    "constant_24000": "constant:peak=3e-4,warmup=2160,steps=24000",
    "constant_72000": "constant:peak=3e-4,warmup=2160,steps=72000",
    "wsd_20000_24000": "wsd:peak=3e-4,warmup=2160,decay=4000,shape=exp,final=3e-5,steps=24000",
    "wsdld_20000_24000": "wsd:peak=3e-4,warmup=2160,decay=4000,final=3e-5,steps=24000",
    "wsdcon_3": "piecewise:steps=0/8000,values=3e-4/3e-5,warmup=2160",
    "wsdcon_9": "piecewise:steps=0/8000,values=3e-4/9e-5,warmup=2160",
    "wsdcon_18": "piecewise:steps=0/8000,values=3e-4/1.8e-4,warmup=2160",
}
PAPER_TRAIN = ("cosine_24000", "constant_24000", "wsdcon_9")
PUBLISHED_400M = dict(zip(("L0", "A", "alpha", "B", "C", "beta", "gamma"), (
    2.374744659170942, 0.6542121550244083, 0.42878731201783993, 523.4246437117536,
    2.0246273548931515, 0.5935049336845727, 0.6347245666876161), strict=True))


def timed(fn, repeats: int):
    """(result, wall min, wall median, CPU min, CPU median) in seconds over ``repeats`` calls."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, min(walls), statistics.median(walls), min(cpus), statistics.median(cpus)


def show(label: str, w0, w1, c0, c1, unit: str = "ms") -> None:
    k = 1e3 if unit == "ms" else 1.0
    print(f"{label}: wall min {k * w0:.1f} / median {k * w1:.1f} {unit}, "
          f"CPU min {k * c0:.1f} / median {k * c1:.1f} {unit}")


def synthetic() -> None:
    logged = np.arange(W, T, 125)
    curves = []
    for i, (name, spec) in enumerate(SPECS.items()):
        eta = parse_schedule(spec).dense(T)
        c = Curve.make(eta, logged)
        y = MULTI_POWER.predict_natural(TRUE, [c])
        curves.append(RunCurve(name, name, "train" if i < 3 else "test", logged, y, c, spec))
    prepared = [c.curve for c in curves]
    theta = np.array(MULTI_POWER.to_internal(TRUE))
    n = sum(len(c.t) for c in prepared)
    pairs = sum(int(np.searchsorted(c.k, c.t, side="right").sum()) for c in prepared)
    print(f"A. {len(curves)} curves x {T} steps, {n} logged points, "
          f"{sum(len(c.k) for c in prepared)} change points, {pairs:,} (point, earlier change "
          "point) pairs")
    for jac in (False, True):
        _, *f = timed(lambda jac=jac: MULTI_POWER.evaluate(theta, prepared, jac=jac), 20)
        show(f"1. evaluate ({'value and Jacobian' if jac else 'value'}, 20 runs)", *f)
    (params, value, info), *f = timed(lambda: fit_curves(MULTI_POWER, curves), 3)
    show("2. fit on 3 curves (3 runs)", *f, unit="s")
    rows, splits = score(MULTI_POWER, params, curves, 1e-3)
    print(f"   {info['evaluations']} evaluations, converged {info['converged']}, objective "
          f"{value:.3g}; held-out mean pred_e {splits['test']['pred_e']:.2e}, worst curve "
          f"{max(r['pred_e'] for r in rows if r['split'] == 'test'):.2e}")
    dense = np.arange(W, T)  # the loss logged at every step after the warm-up
    every = []
    for c in curves[:3]:
        y = MULTI_POWER.predict_natural(TRUE, [Curve.make(c.curve.eta, dense)])
        every.append(RunCurve(c.run_id, c.name, "train", dense, y,
                              Curve.make(c.curve.eta, dense), c.lr_from))
    (params, value, info), *f = timed(lambda: fit_curves(MULTI_POWER, every), 1)
    show(f"2'. fit on the same 3 curves logged at every step ({3 * len(dense):,} points)", *f,
         unit="s")
    print(f"   {info['evaluations']} evaluations, objective {value:.3g}, largest relative "
          f"parameter error {max(abs(params[k] / v - 1) for k, v in TRUE.items()):.1e}")


def paper(folder: Path) -> None:
    runs: dict = {}
    with open(folder / "400M.csv") as f:
        for row in csv.DictReader(f):
            runs.setdefault(row["run"], []).append((int(row["step"]), float(row["loss"])))
    curves = []
    for name, pts in runs.items():
        steps = np.array([s for s, _ in pts])
        y = np.array([v for _, v in pts])
        sched = parse_schedule(PAPER_SPECS[name])
        eta = sched.dense(sched.length or int(steps[-1]) + 1)
        curves.append(RunCurve(name, name, "train" if name in PAPER_TRAIN else "test", steps, y,
                               Curve.make(eta, steps), PAPER_SPECS[name]))
    prepared = [c.curve for c in curves]
    pairs = sum(int(np.searchsorted(c.k, c.t, side="right").sum()) for c in prepared)
    print(f"B. the authors' 400M curves: {len(curves)} curves, "
          f"{sum(len(c.t) for c in prepared)} logged points, "
          f"{sum(len(c.k) for c in prepared)} change points, {pairs:,} (point, earlier change "
          "point) pairs")
    theta = np.array(MULTI_POWER.to_internal(PUBLISHED_400M))
    _, *f = timed(lambda: MULTI_POWER.evaluate(theta, prepared), 20)
    show("3. evaluate at the published parameters (value, 20 runs)", *f)
    train = [c for c in curves if c.split == "train"]
    published = sum(metrics(c.y, MULTI_POWER.predict_natural(PUBLISHED_400M, [c.curve]),
                            1e-3)["huber"] for c in train)
    (params, value, info), *f = timed(lambda: fit_curves(MULTI_POWER, curves), 3)
    show(f"4. fit on {', '.join(PAPER_TRAIN)} (3 runs)", *f, unit="s")
    _, splits = score(MULTI_POWER, params, curves, 1e-3)
    _, pub_splits = score(MULTI_POWER, PUBLISHED_400M, curves, 1e-3)
    print(f"   objective {value:.4g} (published parameters: {published:.4g}); "
          f"{info['evaluations']} evaluations; test mean pred_e {splits['test']['pred_e']:.4g} "
          f"(published: {pub_splits['test']['pred_e']:.4g})")
    print("   params: " + ", ".join(f"{k}={v:.4g}" for k, v in params.items()))


def main() -> None:
    synthetic()
    root = Path(__file__).resolve().parent.parent
    given = [Path(sys.argv[1])] if len(sys.argv) > 1 else []
    for folder in (*given, root / "tests" / "data" / "multi-power-law",
                   root.parent / "shared" / "datasets" / "multi-power-law"):
        if (folder / "400M.csv").is_file():
            paper(folder)
            return
    print("B. skipped: the authors' curves are not in tests/data/multi-power-law (give DATA)")


if __name__ == "__main__":
    main()
