"""From runs and their histories to fit points: one (N, D, C, loss) row per run.

The target metric of a run is reduced over its logged history (``last``, ``min`` or
``mean-last:K``, the mean of the last K logged values); a run with no history of that metric
uses its final (summary) value. Runs the law cannot use are listed with the reason, never
silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import schema as S
from .errors import ColumnError, ConfigError

if TYPE_CHECKING:
    import polars as pl

    from .ingest import Frames


@dataclass
class Points:
    """Fit points (``frame``: run_id, name, source, n_params, tokens, flops, flops_derived, y)."""

    frame: pl.DataFrame
    target: str
    reduce: str
    dropped: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        if not self.dropped:
            return []
        head = "; ".join(self.dropped[:5])
        more = f" (and {len(self.dropped) - 5} more)" if len(self.dropped) > 5 else ""
        return [f"{len(self.dropped)} run(s) not used: {head}{more}"]


def parse_reduce(spec: str) -> tuple[str, int]:
    """``last`` | ``min`` | ``mean-last:K`` -> (kind, K)."""
    spec = (spec or "last").strip().lower()
    if spec in ("last", "min"):
        return spec, 1
    m = re.fullmatch(r"mean-last:(\d+)", spec)
    if m and int(m.group(1)) > 0:
        return "mean-last", int(m.group(1))
    raise ConfigError(f"--reduce {spec!r}: use last, min or mean-last:K (K a positive integer)")


def target_metric(frames: Frames, mapping: dict[str, str] | None = None,
                  target: str | None = None) -> str:
    """The metric to fit: ``target`` or ``--map loss=col`` if given, else the first loss alias."""
    metrics = set(frames.history[S.METRIC].unique().to_list()) if frames.history.height else set()
    columns = [c for c in frames.runs.columns if c not in S.RUN_COLUMNS]
    available = sorted(metrics | set(columns))
    want = target or (mapping or {}).get("loss")
    if want:
        if want in available:
            return want
        hit = S.resolve("loss", available, {"loss": want})
        if hit:
            return hit
        raise ColumnError(f"no metric {want!r} in the data; metrics found: {', '.join(available)}")
    hit = S.resolve("loss", available)
    if hit is None:
        raise ColumnError(
            "no loss column found; metrics found: " + (", ".join(available) or "none")
            + ". Name one with --map loss=COLUMN"
        )
    return hit


def reduce_runs(frames: Frames, target: str, reduce: str = "last") -> Points:
    """One point per run: the run's N, D, C and its reduced ``target``."""
    import polars as pl

    kind, k = parse_reduce(reduce)
    h = frames.history.filter(pl.col(S.METRIC) == target)
    if h.height:
        order = [S.STEP, S.D] if S.STEP in h.columns else [S.D]
        h = h.sort([S.RUN_ID, *order], nulls_last=False)
        value = pl.col(S.VALUE)
        agg = {"last": value.last(), "min": value.min(), "mean-last": value.tail(k).mean()}[kind]
        reduced = h.group_by(S.RUN_ID).agg(agg.alias("_from_history"))
    else:
        reduced = pl.DataFrame(schema={S.RUN_ID: pl.Utf8, "_from_history": pl.Float64})
    runs = frames.runs
    summary = pl.col(target).cast(pl.Float64) if target in runs.columns else pl.lit(None, pl.Float64)
    base = runs.select(S.RUN_ID, S.NAME, S.SOURCE, S.N, S.D, S.C, S.C_DERIVED, summary.alias("_summary"))
    joined = base.join(reduced, on=S.RUN_ID, how="left").with_columns(
        pl.coalesce("_from_history", "_summary").alias("y")
    )
    ok = (
        pl.col("y").is_not_null() & pl.col("y").is_finite()
        & pl.col(S.N).is_not_null() & pl.col(S.D).is_not_null()
    )
    bad = joined.filter(~ok)
    dropped = []
    for row in bad.iter_rows(named=True):  # only the few unusable runs, to name each one
        what = [n for n, v in (("N", row[S.N]), ("D", row[S.D]), (target, row["y"])) if v is None]
        reason = "no " + ", ".join(what) if what else f"non-finite {target}"
        dropped.append(f"{row[S.NAME]} ({row[S.SOURCE]}): {reason}")
    frame = joined.filter(ok).drop("_from_history", "_summary").sort([S.N, S.D])
    return Points(frame=frame, target=target, reduce=reduce, dropped=dropped)
