"""How a backtest is shown: each prediction with its extrapolation factor and relative error,
the error per band of factor, and for ``--law all`` the laws ranked by that error.

Tables show relative errors in percent; JSON and CSV keep them as fractions, as computed.
"""

from __future__ import annotations

import json
from typing import Any

from .format import fmt
from .tables import render

_LABEL = {"n_params": "N", "flops": "C (FLOPs)", "tokens": "D"}


def backtest_output(result: Any, fmt_name: str) -> str:
    """A :class:`~scalecli.analyses.backtest.Backtest` or ``BacktestRanking`` in ``table``,
    ``json``, ``csv`` (the predictions of one law; the ranking of all) or ``markdown``."""
    if fmt_name == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    if hasattr(result, "backtests"):
        return _ranking(result, fmt_name)
    what = _LABEL.get(result.by, result.by)
    columns = [("rung", "fit on rungs"), ("run", "run"), ("value", what),
               ("factor", "× fitted"), ("observed", "observed"), ("predicted", "predicted"),
               ("rel_pct", "rel. error %")]
    if fmt_name == "csv":
        columns = [("run", "run"), ("rung", "rung"), ("run_rung", "run_rung"),
                   ("value", "value"), ("factor", "factor"), ("observed", "observed"),
                   ("predicted", "predicted"), ("rel_error", "rel_error")]
        return render(result.predictions, columns, "csv")
    rows = [{**p, "rung": _upto(p["rung"]), "rel_pct": _pct(p["rel_error"])}
            for p in result.predictions]
    split = (f"fitted without the {result.holdout_largest} largest rung(s)"
             if result.holdout_largest else "fitted on the rungs up to each, predicting every "
                                            "larger run")
    gap = "\n" if fmt_name == "markdown" else ""
    parts = [render(rows, columns, fmt_name, title=f"{result.law} backtest by {result.by}: {split}")]
    if len(result.summary["by_rung"]) > 1:
        parts.append(_per_fit(result.summary, fmt_name))
    parts.append(_bands(result.summary, fmt_name))
    return gap.join(parts)


def _per_fit(summary: dict, fmt_name: str) -> str:
    """Error by the rungs each fit saw: how far up the ladder the law becomes trustworthy."""
    rows = [{"rung": _upto(r["rung"]), "count": r["count"],
             "factor": _range(r["min_factor"], r["max_factor"]),
             "median": _pct(r["median_abs_rel_error"]), "mean": _pct(r["mean_abs_rel_error"]),
             "max": _pct(r["max_abs_rel_error"])} for r in summary["by_rung"]]
    columns = [("rung", "fit on rungs"), ("count", "predictions"), ("factor", "× fitted"),
               ("median", "median error %"), ("mean", "mean error %"), ("max", "max error %")]
    return render(rows, columns, fmt_name, title="error by the rungs fitted")


def _bands(summary: dict, fmt_name: str) -> str:
    """Error against extrapolation factor: count, median and max |rel. error| per band."""
    rows = [{"factor": b["factor"], "count": b["count"],
             "median": _pct(b["median_abs_rel_error"]), "max": _pct(b["max_abs_rel_error"]),
             "mean": _pct(b["mean_abs_rel_error"])}
            for b in summary["by_factor"] if b["count"]]
    columns = [("factor", "× fitted"), ("count", "predictions"), ("median", "median error %"),
               ("mean", "mean error %"), ("max", "max error %")]
    caption = (f"error: |relative error|; all {summary['count']} predictions: mean "
               f"{_text(summary['mean_abs_rel_error'])}, median "
               f"{_text(summary['median_abs_rel_error'])}, max "
               f"{_text(summary['max_abs_rel_error'])}")
    if fmt_name == "markdown":
        return render(rows, columns, fmt_name, title="error against extrapolation factor") + (
            f"\n{caption}\n")
    return render(rows, columns, fmt_name, title="error against extrapolation factor",
                  caption=caption)


def _ranking(result: Any, fmt_name: str) -> str:
    rows = [{**r, "shared": _pct(r["shared_mean_abs_rel_error"]),
             "mean": _pct(r["mean_abs_rel_error"]), "median": _pct(r["median_abs_rel_error"]),
             "max": _pct(r["max_abs_rel_error"])} for r in result.summary]
    if fmt_name == "csv":
        columns = [("rank", "rank"), ("law", "law"),
                   ("shared_mean_abs_rel_error", "shared_mean_abs_rel_error"),
                   ("count", "count"), ("mean_abs_rel_error", "mean_abs_rel_error"),
                   ("median_abs_rel_error", "median_abs_rel_error"),
                   ("max_abs_rel_error", "max_abs_rel_error"), ("first_rung", "first_rung")]
        return render(result.summary, columns, "csv")
    rows = [{**r, "first": _upto(r["first_rung"])} for r in rows]
    columns = [("rank", "#"), ("law", "law"), ("shared", "shared mean %"),
               ("count", "predictions"), ("mean", "mean %"), ("median", "median %"),
               ("max", "max %"), ("first", "first fit")]
    split = (f"without the {result.holdout_largest} largest rung(s)"
             if result.holdout_largest else "up each rung")
    caption = (f"%: |relative error| of the predictions; ranked by its mean over the "
               f"{result.shared} predictions every law made (a law that needs more rungs "
               "makes fewer, easier predictions)")
    return render(rows, columns, fmt_name, caption=caption,
                  title=f"laws ranked by backtest error, fitted {split} by {result.by}")


def _range(lo: float, hi: float) -> str:
    return fmt(lo, 3) if fmt(lo, 3) == fmt(hi, 3) else f"{fmt(lo, 3)}–{fmt(hi, 3)}"


def _upto(k: int) -> str:
    """Rungs 1..k, as a column shows them."""
    return "1" if k == 1 else f"1-{k}"


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def _text(x: float | None) -> str:
    return "n/a" if x is None else f"{100.0 * x:.3g}%"
