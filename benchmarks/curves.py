"""Curve-law figures for the README, run by hand: ``python benchmarks/curves.py``.

Nine schedules of 24,000 steps (cosine, constant, linear, four WSD decays, two piecewise
drops; warm-up 500 steps; peak 3e-4), loss logged every 125 steps from step 500 (about 1,700
points in all), drawn without noise from the multi-power law at the parameters below:
  1. evaluating the multi-power law on all nine curves (the curves prepared once, as a fit
     does): median of 20 evaluations, and with its Jacobian;
  2. fitting it on three of them (cosine, constant, WSD linear) with the default starts and
     objective, then its mean relative error on the six held out.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from scalecli.analyses.curves import RunCurve, fit_curves, score
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


def main() -> None:
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
    print(f"{len(curves)} curves x {T} steps, {n} logged points, "
          f"{sum(len(c.k) for c in prepared)} change points")
    for jac in (False, True):
        times, cpu = [], []
        for _ in range(20):
            t0, c0 = time.perf_counter(), time.process_time()
            MULTI_POWER.evaluate(theta, prepared, jac=jac)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        what = "value and Jacobian" if jac else "value"
        print(f"1. evaluate ({what}): median {1e3 * statistics.median(times):.1f} ms wall, "
              f"{1e3 * statistics.median(cpu):.1f} ms CPU")
    t0, c0 = time.perf_counter(), time.process_time()
    params, value, info = fit_curves(MULTI_POWER, curves)
    secs, cpu_secs = time.perf_counter() - t0, time.process_time() - c0
    rows, splits = score(MULTI_POWER, params, curves, 1e-3)
    print(f"2. fit on 3 curves: {secs:.1f} s wall, {cpu_secs:.1f} s CPU "
          f"({info['evaluations']} evaluations, converged "
          f"{info['converged']}), objective {value:.3g}")
    print("   params: " + ", ".join(f"{k}={v:.4g}" for k, v in params.items()))
    print(f"   held-out mean pred_e {splits['test']['pred_e']:.2e}, worst curve "
          f"{max(r['pred_e'] for r in rows if r['split'] == 'test'):.2e}")


if __name__ == "__main__":
    main()
