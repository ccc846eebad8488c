"""Curve fits and evaluations as text: the parameters, one row per curve, the split means."""

from __future__ import annotations

import json

from .format import fmt
from .tables import render

COLUMNS = [("run", "run"), ("split", "split"), ("n_points", "points"), ("huber", "huber"),
           ("rmse", "rmse"), ("mae", "mae"), ("pred_e", "pred_e"), ("worst_e", "worst_e"),
           ("r2", "R²")]


def curve_output(result, fmt_name: str) -> str:
    """JSON: the whole result; CSV: one row per curve; table/markdown: parameters, curves,
    and the means per split."""
    if fmt_name == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    rows = [{**r, **{k: _num(r[k]) for k, _ in COLUMNS[3:]}} for r in result.curves]
    if fmt_name == "csv":
        return render(result.curves, COLUMNS + [("mse", "mse")], "csv")
    verb = "fitted" if result.fitted else "given"
    params = ", ".join(f"{k}={fmt(v)}" for k, v in result.params.items())
    head = f"{result.law} ({verb}): {params}"
    obj = result.objective
    if obj.get("value") is not None:
        how = (f"huber, delta {obj['delta']:g}, on log residuals, summed" if obj["loss"] == "huber"
               else "mean squared log residual")
        head += f"\nobjective ({how}): {obj['value']:.6g}"
    splits = [{"run": f"mean ({s})", "split": s, "n_points": v["n_points"],
               **{k: _num(v[k]) for k, _ in COLUMNS[3:]}} for s, v in result.splits.items()]
    body = render(rows + splits, COLUMNS, fmt_name, title=f"{result.law}: per-curve error")
    return head + "\n" + body


def _num(v) -> str:
    return "" if v is None else fmt(v) if isinstance(v, float) else str(v)


def schedule_output(values, fmt_name: str) -> str:
    """The dense schedule: ``step,lr`` CSV (or JSON list) for checking against logs."""
    if fmt_name == "json":
        return json.dumps([float(v) for v in values]) + "\n"
    return "step,lr\n" + "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(values))


PREDICTION_COLUMNS = [("step", "step"), ("lr", "lr"), ("lr_area", "S1 (LR area)"),
                      ("loss", "predicted loss")]


def prediction_output(pred, fmt_name: str) -> str:
    """A schedule's predicted curve: JSON (kind curve-prediction), CSV step,lr,lr_area,loss,
    or a table under a line saying the law, where its parameters came from and the schedule."""
    if fmt_name == "json":
        return json.dumps(pred.to_dict(), indent=2) + "\n"
    if fmt_name == "csv":
        return render(pred.rows, PREDICTION_COLUMNS[:2] + [("lr_area", "lr_area"),
                                                           ("loss", "loss")], "csv")
    rows = [{"step": f"{r['step']:,}", "lr": fmt(r["lr"]), "lr_area": fmt(r["lr_area"]),
             "loss": f"{r['loss']:.5g}"} for r in pred.rows]
    head = (f"{pred.law} ({pred.params_from}) along {pred.schedule} ({pred.steps:,} steps)")
    return head + "\n" + render(rows, PREDICTION_COLUMNS, fmt_name,
                                title=f"{pred.law}: predicted loss curve")
