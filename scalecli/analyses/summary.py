"""What a shared report holds (``scalecli report``): the data described, the fit with its
residuals, the allocation at a few budgets and where it all came from. Gathered here as data;
:mod:`scalecli.report.document` writes it as HTML or Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReportData:
    """Everything a report shows, as data."""

    fit: Any  # FitResult, with residuals (and bootstrap draws when asked for)
    summary: dict[str, Any]  # see data_summary
    allocation: Any  # analyses.table.Table of optimal N, D, loss per budget
    provenance: dict[str, Any]  # law, options, data hash, version, time
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_RANGES = (("n_params", "N (parameters)"), ("tokens", "D (tokens)"), ("flops", "C (FLOPs)"))


def data_summary(points, dropped: list | None = None, target: str = "loss") -> dict[str, Any]:
    """Runs fitted, the range of N, D, C and the target, runs per source, whether C was
    derived as 6·N·D, and the runs left out (with why)."""
    import polars as pl

    ranges = []
    for col, label in (*_RANGES, ("y", target)):
        if col in points.columns:
            v = points[col].cast(pl.Float64, strict=False).drop_nulls()
            if v.len():
                ranges.append({"quantity": label, "min": float(v.min()), "max": float(v.max())})
    sources = []
    if "source" in points.columns:
        counts = points.group_by("source").len().sort("source")
        sources = [{"source": s, "runs": int(n)} for s, n in counts.iter_rows()]
    derived = ("flops_derived" in points.columns
               and bool(points["flops_derived"].fill_null(False).any()))
    return {"runs": points.height, "ranges": ranges, "sources": sources,
            "flops_derived": derived, "dropped": list(dropped or [])}


def default_budgets(points, count: int = 4) -> list[float]:
    """Powers of ten from the largest run's compute up: where an allocation is asked for."""
    import math

    top = float(points["flops"].max()) if "flops" in points.columns else 1e20
    start = math.ceil(math.log10(top)) if top > 0 else 20
    return [float(f"1e{k}") for k in range(start, start + count)]
