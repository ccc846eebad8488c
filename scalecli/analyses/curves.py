"""Whole-curve fits: runs' loss curves and learning rates -> a curve law's parameters, and
per-curve metrics of any parameters (``scalecli fit --law multi-power``, ``scalecli evaluate``).

A run's dense learning rate comes from, first found wins: its ``lr`` column when that is
logged at every step from the first (rows with an lr and no loss are kept by the reader for
this); ``--schedule SPEC`` (every run); the project file's ``schedules:`` entries (per run: by
name, glob or a column, see :mod:`scalecli.run_schedules`); a run-level ``schedule`` column
holding a spec (see :mod:`scalecli.schedules`). With a logged lr, position 0 is the first
logged step; with a schedule, step s is position s.

The fit itself (starts, objective, refinement) is :mod:`scalecli.analyses.curve_search`;
the curve of a schedule never run, :mod:`scalecli.analyses.curve_prediction`.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, InputError

METRICS = ("huber", "mse", "rmse", "mae", "pred_e", "worst_e", "r2")
MOST_LR = 1e6  # far above any learning rate; beyond it the LR area can overflow


@dataclass
class RunCurve:
    run_id: str
    name: str
    split: str
    steps: Any  # logged steps (as logged)
    y: Any  # the loss there
    curve: Any  # laws.curves.Curve
    lr_from: str  # "lr column" or the schedule spec
    lr_source: str = "lr column"  # or "--schedule", the project file, "schedule column"


@dataclass
class CurveResult:
    """A curve law's parameters and how well they describe each curve; ``fitted`` says
    whether they were fitted here (else given: ``scalecli evaluate``)."""

    law: str
    formula: str
    source: str
    params: dict[str, float]
    curves: list[dict]
    splits: dict[str, dict]
    fitted: bool
    objective: dict = field(default_factory=dict)
    fit: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    runs: list = field(default_factory=list, repr=False)  # the RunCurve objects scored

    def series(self) -> list[tuple[str, Any, Any, Any]]:
        """Per run ``(name, steps, observed loss, predicted loss)``, for plotting."""
        from ..laws import get_law

        law = get_law(self.law)
        return [(c.name, c.steps, c.y, law.predict_natural(self.params, [c.curve]))
                for c in self.runs]

    def to_dict(self) -> dict:
        from .. import __version__

        return {"kind": "curve-fit" if self.fitted else "curve-evaluation", "law": self.law,
                "formula": self.formula, "source": self.source, "params": self.params,
                "objective": self.objective, "fit": self.fit, "curves": self.curves,
                "splits": self.splits, "data": self.data, "notes": self.notes,
                "warnings": self.warnings, "version": __version__}


# ---- curves from frames ---------------------------------------------------------------------
def run_curves(frames, *, target: str | None = None, schedule: str | None = None,
               split: str | None = None, train_runs: list[str] | None = None,
               notes: list[str] | None = None, schedules=None) -> list[RunCurve]:
    """Every run's curve (loss at logged steps, dense LR), with its split (train/test)."""
    import numpy as np
    import polars as pl

    from .. import schema as S
    from ..laws.curves import Curve
    from ..schedules import parse_schedule

    runs, hist = frames.runs, frames.history
    metrics = hist[S.METRIC].unique().to_list() if hist.height else []
    metric = target or S.resolve("loss", [m for m in metrics if m != "lr"], None)
    if metric is None or metric not in metrics:
        raise InputError(f"no loss curve in the runs' history (metrics: "
                         f"{', '.join(map(str, metrics[:10])) or 'none'}); name it with --y")
    given = parse_schedule(schedule) if schedule else None
    splits = _splits(runs, split, train_runs)
    has_lr = S.LR in hist.columns
    col_sched = "schedule" if "schedule" in runs.columns and runs.schema["schedule"] == pl.String \
        else None
    loss_parts = hist.filter(pl.col(S.METRIC) == metric).partition_by(S.RUN_ID, as_dict=True)
    lr_parts = (hist.filter(pl.col(S.LR).is_not_null()).select(S.RUN_ID, S.STEP, S.LR)
                .unique([S.RUN_ID, S.STEP], keep="last", maintain_order=True)
                .partition_by(S.RUN_ID, as_dict=True) if has_lr else {})
    out, dropped, before, no_curve = [], 0, 0, []
    run_lr = S.LR if S.LR in runs.columns and runs.schema[S.LR].is_numeric() else None
    by_cols = []
    if schedules is not None:
        schedules.check_columns(runs.columns)
        by_cols = [c for c in dict.fromkeys(schedules.columns()) if c != col_sched]
    for row in runs.select(S.RUN_ID, S.NAME,
                           (pl.col(run_lr) if run_lr else pl.lit(None)).alias("_lr"),
                           (pl.col(col_sched) if col_sched else pl.lit(None)).alias("_sched"),
                           *by_cols).iter_rows():
        rid, name, lr_value = row[0], row[1], row[2]
        loss = loss_parts.get((rid,))
        if loss is None or loss.height == 0:
            no_curve.append(str(name))
            continue
        again = loss.height - loss[S.STEP].n_unique()
        if again:  # a resumed run logs the steps after its checkpoint again: the last counts
            loss = loss.unique(S.STEP, keep="last", maintain_order=True)
            if notes is not None:
                notes.append(f"run {name!r}: {again} step(s) logged more than once; the last "
                             "value logged at each is used")
        loss = loss.sort(S.STEP)
        steps = loss[S.STEP].to_numpy()
        y = loss[S.VALUE].to_numpy().astype(float)
        bad = np.flatnonzero(~((y > 0) & np.isfinite(y)))
        if bad.size:  # the curve laws are fitted and scored in log space
            i = int(bad[0])
            raise InputError(f"run {name!r}: {metric} is {y[i]:g} at step {int(steps[i])}; a "
                             "curve law needs a positive, finite loss at every logged point")
        spec, source = given, "--schedule"
        if spec is None and schedules is not None:
            cells = dict(zip(by_cols, row[4:], strict=True))
            if col_sched:
                cells[col_sched] = row[3]
            spec, source = schedules.lookup(name, cells), str(schedules.path)
        if spec is None and col_sched and row[3]:
            spec, source = parse_schedule(row[3]), "schedule column"
        lr = lr_parts.get((rid,))
        eta, offset, lr_from = _dense_lr(name, lr, spec, steps, S,
                                         None if lr is not None else lr_value)
        t = steps - offset
        early = t < 0  # a loss logged before the run's first logged lr: no LR area known
        no_area = np.cumsum(eta)[np.maximum(t, 0)] <= 0  # S1 = 0: the law is infinite there
        before += int(early.sum())
        dropped += int((no_area & ~early).sum())
        ok = ~early & ~no_area
        if not ok.any():
            continue
        out.append(RunCurve(rid, name, splits.get(rid, "train"), steps[ok], y[ok],
                            Curve.make(eta, t[ok]), lr_from,
                            "lr column" if lr_from == "lr column" else source))
    if not out:
        raise InputError("no run has a loss curve with a learning rate")
    if dropped and notes is not None:
        notes.append(f"{dropped} logged point(s) at zero LR area (S1 = 0) left out")
    if no_curve and notes is not None:
        notes.append(f"{len(no_curve)} run(s) with no {metric} logged left out: "
                     + ", ".join(no_curve[:5]) + (" ..." if len(no_curve) > 5 else ""))
    if before and notes is not None:
        notes.append(f"{before} logged point(s) before their run's first logged lr left out")
    return out


def _dense_lr(name, lr, spec, steps, S, run_lr=None):
    """(eta, offset, how): eta[i] is the LR at step offset + i."""
    import numpy as np

    if lr is not None and lr.height:
        lr = lr.sort(S.STEP)
        st = lr[S.STEP].to_numpy()
        first, last = int(st[0]), int(st[-1])
        if len(st) == last - first + 1:  # dense (losses before its first step: see below)
            if steps[-1] > last:
                raise InputError(f"run {name!r}: the lr column ends at step {last}, before the "
                                 f"last logged loss (step {int(steps[-1])})")
            eta = lr[S.LR].to_numpy().astype(float)
            below = np.flatnonzero(~((eta >= 0) & (eta <= MOST_LR)))
            if below.size:
                i = int(below[0])
                raise InputError(f"run {name!r}: the lr column is {eta[i]:g} at step "
                                 f"{int(st[i])}: a learning rate is a number from 0 to "
                                 f"{MOST_LR:g}")
            return eta, first, "lr column"
        if spec is None:
            gaps = np.flatnonzero(np.diff(st) > 1)
            hole = f" (none at step {int(st[gaps[0]]) + 1})" if gaps.size else ""
            raise InputError(f"run {name!r}: lr is logged at {len(st)} of the {last - first + 1}"
                             f" steps {first}..{last}{hole}, not at every step (a value that is"
                             " not a finite number is not logged); give its schedule "
                             "(--schedule SPEC, e.g. cosine:peak=3e-4,warmup=300,final=3e-5, or "
                             "a schedules: entry in scalecli.yaml)")
    if spec is None and run_lr is not None:
        raise InputError(f"run {name!r}: its lr ({run_lr:g}) is one value for the whole run (a "
                         "setting, not a schedule); give the schedule: --schedule SPEC (or a "
                         "schedules: entry in scalecli.yaml, or a run-level schedule column)")
    if spec is None:
        raise InputError(f"run {name!r}: a curve law needs the learning rate at every step: "
                         "log an lr column at every step, or give --schedule SPEC (or a "
                         "schedules: entry in scalecli.yaml, or a run-level schedule column)")
    if spec.length is None and spec.kind in ("cosine", "linear", "wsd"):
        raise InputError(f"run {name!r}: the schedule {spec.text!r} depends on the run's length:"
                         " give steps=N in the spec")
    n = spec.length if spec.length is not None else int(steps[-1]) + 1
    if steps[-1] >= n:
        raise InputError(f"run {name!r}: the schedule {spec.text!r} has {n} steps, but the loss "
                         f"is logged up to step {int(steps[-1])}")
    if steps[0] < 0:
        raise InputError(f"run {name!r}: a negative step ({int(steps[0])})")
    return spec.dense(n), 0, spec.text


def _splits(runs, split: str | None, train_runs: list[str] | None) -> dict[str, str]:
    import polars as pl

    from .. import schema as S

    if split and train_runs:
        raise ConfigError("give --split COL or --train-runs GLOB, not both")
    if split:
        if split not in runs.columns:
            raise InputError(f"--split {split}: the runs have no column {split!r} with one "
                             "value (train or test) per run; a column that changes within a "
                             f"run is not one (run columns: {', '.join(runs.columns[:20])})")
        vals = runs.select(S.RUN_ID, pl.col(split).cast(pl.String).str.to_lowercase())
        bad = vals.filter(~pl.col(split).is_in(["train", "test"]) | pl.col(split).is_null())
        if bad.height:
            raise InputError(f"--split {split}: run {bad[S.RUN_ID][0]!r} has "
                             f"{bad[split][0] or 'no value'!r}; the column must say train or "
                             "test for every run")
        out = dict(vals.iter_rows())
    elif train_runs:
        names = runs.select(S.RUN_ID, S.NAME).iter_rows()
        out = {rid: "train" if any(fnmatch.fnmatchcase(str(n), g) for g in train_runs)
               else "test" for rid, n in names}
    else:
        return {}
    if "test" not in out.values():
        raise InputError(f"{'--split ' + split if split else '--train-runs'}: no test runs "
                         "(every run is a training run): nothing is held out to score")
    if "train" not in out.values():
        raise InputError(f"{'--split ' + split if split else '--train-runs'}: no training runs")
    return out


# ---- metrics --------------------------------------------------------------------------------
def metrics(y, yhat, delta: float) -> dict[str, float]:
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(y) - np.log(yhat)
    a = np.abs(r)
    huber = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)).sum()
    e = yhat - y
    rel = np.abs(e) / y
    ss = ((y - y.mean()) ** 2).sum()
    return {"huber": float(huber), "mse": float((e * e).mean()),
            "rmse": float(math.sqrt((e * e).mean())), "mae": float(np.abs(e).mean()),
            "pred_e": float(rel.mean()), "worst_e": float(rel.max()),
            "r2": float(1 - (e * e).sum() / ss) if ss > 0 else None}


def score(law, params: dict[str, float], curves: list[RunCurve], delta: float):
    """Per-curve metrics and their plain means per split."""
    rows = []
    for c in curves:
        yhat = law.predict_natural(params, [c.curve])
        rows.append({"run": c.name, "run_id": c.run_id, "split": c.split,
                     "n_points": len(c.y), **metrics(c.y, yhat, delta)})
    return rows, split_means(rows)


def split_means(rows: list[dict]) -> dict[str, dict]:
    """Per split: the plain mean of each metric over its curves (undefined values skipped)."""
    splits = {}
    for s in sorted({r["split"] for r in rows}, key=lambda s: (s != "train", s)):
        sub = [r for r in rows if r["split"] == s]
        means = {}
        for m in METRICS:
            vals = [r[m] for r in sub if r[m] is not None]
            means[m] = sum(vals) / len(vals) if vals else None
        splits[s] = {"curves": len(sub), "n_points": sum(r["n_points"] for r in sub), **means}
    return splits


# ---- the two commands -----------------------------------------------------------------------
def curve_fit(frames, law_name: str, *, params: dict[str, float] | None = None,
              target=None, schedule=None, split=None, train_runs=None,
              loss: str | None = None, delta: float | None = None,
              schedules=None) -> CurveResult:
    """Fit (``params`` None) or score given ``params`` of a curve law on the runs' curves."""
    from ..laws import get_law

    law = get_law(law_name)
    notes: list[str] = []
    curves = run_curves(frames, target=target, schedule=schedule, split=split,
                        train_runs=train_runs, notes=notes, schedules=schedules)
    loss = loss or "huber"
    delta = 1e-3 if delta is None else float(delta)
    fitted = params is None
    objective = {"loss": loss, "delta": delta, "space": "log"}
    info: dict = {}
    if fitted:
        from .curve_search import fit_curves

        params, value, info = fit_curves(law, curves, loss=loss, delta=delta)
        objective["value"] = value
        notes.append(f"fitted on {info['train_curves']} curve(s), {info['train_points']} points;"
                     f" {info['evaluations']} evaluations in {info['seconds']:.2f} s")
    else:
        params = check_params(law, params)
    rows, splits = score(law, params, curves, delta)
    data = {"runs": len(curves), "points": sum(len(c.y) for c in curves),
            "lr": {c.name: c.lr_from for c in curves},
            "lr_source": {c.name: c.lr_source for c in curves}}
    return CurveResult(law.name, law.formula, law.source, params, rows, splits, fitted,
                       objective, info, data, notes, list(getattr(frames, "warnings", [])),
                       curves)


def check_params(law, params: dict, where: str = "--params") -> dict[str, float]:
    """``params`` as floats in the law's order: every parameter given, none unknown, each a
    finite number inside its bounds (a value outside them describes no law that was fitted);
    refused naming ``where`` otherwise."""
    missing = [p for p in law.param_names if p not in params]
    extra = [p for p in params if p not in law.param_names]
    if missing or extra:
        raise ConfigError(f"{where} for {law.name}: "
                          + (f"missing {', '.join(missing)}" if missing else "")
                          + ("; " if missing and extra else "")
                          + (f"unknown {', '.join(map(str, extra))}" if extra else "")
                          + f" (its parameters: {', '.join(law.param_names)})")
    values = law.check_fixed(params, where)
    return {k: values[k] for k in law.param_names}


def is_curve_law(name: str | None) -> bool:
    from ..laws.registry import BUILTINS

    return bool(name) and BUILTINS.get(name.lower()) == "curves"


def load_params(law: str | None, params, fit_file) -> tuple[str, dict[str, float]]:
    """(law name, values) from ``--law`` with ``--params NAME=VALUE,...`` or a saved fit."""
    if fit_file is not None:
        import json
        from pathlib import Path

        try:
            saved = json.loads(Path(fit_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"--fit {fit_file}: cannot be read as a saved fit ({exc})") from None
        if not isinstance(saved, dict) or "params" not in saved or "law" not in saved:
            raise InputError(f"--fit {fit_file}: no law and params in it")
        if law is not None and law.lower() != str(saved["law"]).lower():
            raise ConfigError(f"--law {law} but the fit {fit_file} is of {saved['law']}")
        if not isinstance(saved["params"], dict):
            raise InputError(f"--fit {fit_file}: its params are not NAME: VALUE pairs")
        from ..laws import get_law

        name = str(saved["law"])
        return name, check_params(get_law(name), saved["params"], f"--fit {fit_file}")
    if law is None or params is None:
        raise ConfigError("give --fit FIT, or --law NAME with --params NAME=VALUE,...")
    if isinstance(params, str):
        from ..laws.checks import number
        from ..pairs import parse_pairs

        params = {k: number(v, k, "--params") for k, v in
                  parse_pairs(params, "--params", example="NAME=VALUE (e.g. L0=2.8)").items()}
    return law, dict(params)


def final_evaluate(frames, law_name: str, params: dict[str, float], *, mapping=None,
                   reduce=None, target=None, x=None, split=None, train_runs=None,
                   delta: float | None = None) -> CurveResult:
    """A final-loss law's given parameters scored on the runs: one point per run (its reduced
    target, as a fit sees it), so each run is a "curve" of one point; the split means are
    means over runs. R² is undefined for one point (null)."""
    import numpy as np

    from ..pipeline import fit_spec, prepare

    spec = fit_spec(law_name, x=x, target=target)
    law = spec.law
    values = check_params(law, params)
    pts = prepare(frames, spec, mapping=mapping, reduce=reduce)
    frame = pts.frame
    X = {sym: frame[col].cast(float).to_numpy() for sym, col in law.variables.items()}
    y = frame["y"].cast(float).to_numpy()
    with np.errstate(all="ignore"):
        yhat = law.predict(np.asarray([law.to_internal(values)], float), X)[0]
    splits = _splits(frames.runs, split, train_runs)
    delta = 1e-3 if delta is None else float(delta)
    rows = [{"run": name, "run_id": rid, "split": splits.get(rid, "train"), "n_points": 1,
             **metrics(y[i : i + 1], yhat[i : i + 1], delta)}
            for i, (rid, name) in enumerate(zip(frame["run_id"], frame["name"], strict=True))]
    data = {"runs": len(rows), "points": len(rows), "target": pts.target
            if hasattr(pts, "target") else "loss"}
    notes = [f"{law.name} is a law of each run's final value: one point per run"]
    return CurveResult(law.name, law.formula, law.source, values, rows, split_means(rows),
                       False, {"loss": "huber", "delta": delta, "space": "log"}, {}, data,
                       notes, list(getattr(frames, "warnings", [])))
