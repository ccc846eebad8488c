"""From runs and their histories to fit points: one (N, D, C, loss) row per run.

The target metric of a run is reduced over its logged history (``last``, ``min`` or
``mean-last:K``, the mean of the last K logged values); a run with no history of that metric
uses its final (summary) value. Runs the law cannot use are listed with the reason, never
silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import schema as S
from .errors import ColumnError, ConfigError, clip

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
    notes: list[str] = field(default_factory=list)  # what was done (an envelope, a derivation)
    issues: list[str] = field(default_factory=list)  # what may be wrong with these points

    @property
    def warnings(self) -> list[str]:
        """The issues, and the runs not used with their reasons: what ``--strict`` refuses."""
        if not self.dropped:
            return list(self.issues)
        head = "; ".join(self.dropped[:5])
        more = f" (and {len(self.dropped) - 5} more)" if len(self.dropped) > 5 else ""
        return [*self.issues, f"{len(self.dropped)} run(s) not used: {head}{more}"]


def parse_reduce(spec: str) -> tuple[str, int]:
    """``last`` | ``min`` | ``mean-last:K`` -> (kind, K)."""
    spec = (spec or "last").strip().lower()
    if spec in ("last", "min"):
        return spec, 1
    m = re.fullmatch(r"mean-last:(\d{1,9})", spec)
    if m and int(m.group(1)) > 0:
        return "mean-last", int(m.group(1))
    raise ConfigError(f"--reduce {clip(spec)!r}: use last, min or mean-last:K (K a positive "
                      "integer below a billion)")


def _refuse_empty_loss_columns(frames: Frames) -> None:
    """A loss-like column with no value in any row is a broken log (a misnamed or unfilled
    column): which loss is meant cannot be guessed, so it is refused unless --map names one."""
    runs = frames.runs
    hist = logged_rows(frames)
    logged = set(hist[S.METRIC].unique().to_list()) if hist.height else set()
    empty = [c for c in runs.columns
             if c.lower().startswith("loss") and c not in S.RUN_COLUMNS and c not in logged
             and runs.height and runs[c].null_count() == runs.height]
    if empty:
        sources = sorted(set(runs[S.SOURCE].cast(str).to_list()))[:3] if S.SOURCE in runs.columns else []
        raise ColumnError(f"{', '.join(sources)}: column {clip(empty[0])!r} has no value in any row; "
                          "fill or drop it, or name the loss to fit with --map loss=COLUMN")


def logged_rows(frames: Frames, kind: str = "last", multi: bool = False):
    """The history rows a question needs: a store's tails (every run's metrics, and the rows
    that decide ``last`` and ``min``) when they answer it, else the whole history."""
    tails = getattr(frames, "tails", None)
    if tails is not None and kind in ("last", "min") and not multi:
        return tails
    return frames.history


def _available(frames: Frames) -> list[str]:
    hist = logged_rows(frames)
    metrics = set(hist[S.METRIC].unique().to_list()) if hist.height else set()
    return sorted(metrics | {c for c in frames.runs.columns if c not in S.RUN_COLUMNS})


def target_metric(frames: Frames, mapping: dict[str, str] | None = None,
                  target: str | None = None) -> str | None:
    """The metric named by ``target`` or ``--map loss=col``; None means "each run's own loss
    column" (the first loss alias it logged). Refuses a name, or data, with no such metric."""
    available = _available(frames)
    want = target or (mapping or {}).get("loss")
    if want:
        if want in available:
            return want
        column, factor = S.split_scale(want, available)
        if factor != 1.0 and target:  # --y col/2: never silently the column unscaled
            raise ConfigError(f"--y {clip(want)!r} reads as {clip(column)!r} times {factor:g}: "
                              "a scaled target is a formula; write it with spaces around the "
                              "operator (e.g. 'loss / 2')")
        hit = S.resolve("loss", available, {"loss": want})
        if hit:
            return hit
        raise ColumnError(f"no metric {want!r} in the data; metrics found: {', '.join(available)}")
    _refuse_empty_loss_columns(frames)
    if S.resolve("loss", available) is None:
        raise ColumnError(
            "no loss column found; metrics found: " + (", ".join(available) or "none")
            + ". Name one with --map loss=COLUMN"
        )
    return None


def _per_run_target(frames: Frames):
    """Each run's target metric: the first loss alias (schema.ALIASES order) it has a value of."""
    import polars as pl

    aliases = {a.lower(): rank for rank, a in enumerate(S.ALIASES["loss"])}
    parts = []
    hist = logged_rows(frames)
    if hist.height:
        parts.append(hist.select(S.RUN_ID, S.METRIC).unique())
    runs = frames.runs
    for col in runs.columns:
        if col.lower() in aliases and col not in S.RUN_COLUMNS:
            has = runs.filter(pl.col(col).is_not_null()).select(S.RUN_ID)
            parts.append(has.with_columns(pl.lit(col).alias(S.METRIC)))
    if not parts:
        return pl.DataFrame(schema={S.RUN_ID: pl.Utf8, S.METRIC: pl.Utf8})
    ranks = pl.DataFrame({S.METRIC: list(aliases), "_rank": list(aliases.values())})
    return (
        pl.concat(parts)
        .with_columns(pl.col(S.METRIC).str.to_lowercase().alias("_key"))
        .join(ranks.rename({S.METRIC: "_key"}), on="_key", how="inner")
        .sort("_rank")
        .group_by(S.RUN_ID, maintain_order=True)
        .first()
        .select(S.RUN_ID, S.METRIC)
    )


_USER_Y = "_column_y"


def check_numeric(runs, column: str, shown: str | None = None,
                  hint: str = "fit a numeric metric with --y") -> None:
    """A run column whose values are not numbers is refused, naming a run and the value."""
    import polars as pl

    col = runs.get_column(column)
    if col.dtype.is_numeric() or col.dtype == pl.Null:
        return
    as_number = col.cast(pl.Float64, strict=False)
    bad = col.is_not_null() & as_number.is_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        run = runs.get_column(S.NAME)[i] if S.NAME in runs.columns else i + 1
        raise ColumnError(f"column {clip(shown or column)!r} is not a number in every run: run "
                          f"{clip(str(run))!r} has {clip(str(col[i]))!r} ({hint})")


def per_run_target(frames: Frames):
    """run_id -> the loss metric each run is fitted on when none is chosen (see below)."""
    return _per_run_target(frames)


def reduce_runs(frames: Frames, target: str | None, reduce: str = "last",
                require: Sequence[str] = (S.N, S.D), points: str | None = None) -> Points:
    """One point per run: the run's columns and its reduced ``target`` as ``y`` (``target``
    None: each run's own loss metric, see :func:`_per_run_target`). Runs lacking a value of a
    ``require``d column (N and D by default) are dropped and named. ``points`` other than
    ``last`` (see :func:`scalecli.windows.parse_points`): one point per chosen checkpoint, D
    the tokens there and C = 6·N·D."""
    import polars as pl

    from .windows import MULTI_WARNING, checkpoints, parse_points

    kind, k = parse_reduce(reduce)
    spec = parse_points(points)
    if spec.multi and kind != "last":
        raise ConfigError(f"--points {spec.text} makes a point of each chosen checkpoint: "
                          f"--reduce {reduce} applies to --points last only")
    runs = frames.runs.drop([c for c in ("_metric", "_summary") if c in frames.runs.columns])
    if "y" in runs.columns:  # a run column named y (the points' target column): kept aside
        runs = runs.rename({"y": _USER_Y})
    if target is None:
        chosen = _per_run_target(frames)
    else:
        chosen = runs.select(S.RUN_ID).with_columns(pl.lit(target).alias(S.METRIC))
    h = logged_rows(frames, kind, spec.multi).join(chosen, on=[S.RUN_ID, S.METRIC], how="semi")
    no_point = None
    if spec.multi and h.height:
        picked, no_point, spec.notes = checkpoints(h, runs, spec)
        reduced = picked.select(S.RUN_ID, pl.col(S.D).cast(pl.Float64).alias("_ckpt"),
                                pl.col(S.STEP).alias("_ckstep"),
                                pl.col(S.VALUE).cast(pl.Float64).alias("_from_history"))
    elif h.height:
        h = h.sort([S.RUN_ID, S.STEP, S.D], nulls_last=False)
        value = pl.col(S.VALUE)
        agg = {"last": value.last(), "min": value.min(), "mean-last": value.tail(k).mean()}[kind]
        reduced = h.group_by(S.RUN_ID).agg(agg.alias("_from_history"))
    else:
        reduced = pl.DataFrame(schema={S.RUN_ID: pl.Utf8, "_from_history": pl.Float64})
    metrics = chosen.get_column(S.METRIC).unique().to_list()
    summary = pl.lit(None, pl.Float64)
    for m in metrics:  # the final (summary) value of the run's own metric, one column each
        col = _USER_Y if m == "y" else m
        if col in runs.columns:
            check_numeric(runs, col, m)
            summary = (pl.when(pl.col("_metric") == m)
                       .then(pl.col(col).cast(pl.Float64, strict=False)).otherwise(summary))
    base = runs.join(chosen.rename({S.METRIC: "_metric"}), on=S.RUN_ID, how="left")
    base = base.with_columns(summary.alias("_summary"))
    if no_point is not None and no_point.len():  # a curve with no checkpoint at those counts
        base = base.with_columns(pl.when(pl.col(S.RUN_ID).is_in(no_point.implode()))
                                 .then(None).otherwise(pl.col("_summary")).alias("_summary"))
    joined = base.join(reduced, on=S.RUN_ID, how="left").with_columns(
        pl.coalesce("_from_history", "_summary").alias("y")
    )
    if "_ckpt" in joined.columns:
        joined = _at_checkpoints(_variables_at(joined, frames.history, require, metrics))
    elif kind != "last" and h.height:
        joined = _variables_reduced(joined, frames, h, require, metrics, kind, k)
    missing = [c for c in require if c not in joined.columns]
    if missing:
        raise ColumnError(f"needs the column(s) {', '.join(require)}, and the runs have no "
                          f"{', '.join(missing)}; columns found: "
                          + ", ".join(c for c in runs.columns if c not in (S.RUN_ID, S.SOURCE))
                          + ". Name a column with --map, --x or a config's law.variables")
    ok = pl.col("y").is_not_null() & pl.col("y").is_finite()
    for c in require:
        ok = ok & pl.col(c).is_not_null()
    bad = joined.filter(~ok)
    dropped = list(getattr(frames, "dropped", []))
    for row in bad.iter_rows(named=True):  # only the few unusable runs, to name each one
        what = [n for n, v in ((c, row[c]) for c in require) if v is None]
        if row["y"] is None and no_point is not None and row[S.RUN_ID] in set(no_point):
            what.append(f"checkpoint at --points {spec.text}")
        elif row["y"] is None:
            what.append(row["_metric"] or "loss")
        reason = "no " + ", ".join(what) if what else f"non-finite {row['_metric']}"
        dropped.append(f"{row[S.NAME]} ({row[S.SOURCE]}): {reason}")
    frame = joined.filter(ok).sort(list(require) or [S.RUN_ID])
    used = frame.group_by("_metric").len().sort("len", descending=True)
    names = used.get_column("_metric").to_list()
    points = Points(frame=frame.drop("_from_history", "_summary", "_metric", _USER_Y,
                                     strict=False),
                    target=target or (names[0] if names else "loss"), reduce=reduce,
                    dropped=dropped, notes=list(spec.notes))
    n_runs = frame.get_column(S.RUN_ID).n_unique()
    measured = bool(require) and frame.height > n_runs and set(require) <= set(
        frames.history[S.METRIC].unique().to_list())
    if frame.height > n_runs and not measured:
        # L(N, D) along a curve; a law of logged metrics (accuracy from task loss) is not one
        points.issues.append(f"--points {spec.text}: {frame.height} points from {n_runs} runs; "
                             + MULTI_WARNING)
    elif frame.height > n_runs:
        points.notes.append(f"--points {spec.text}: {frame.height} points from {n_runs} runs")
    if len(names) > 1:
        counts = ", ".join(f"{m} for {n} runs" for m, n in used.iter_rows())
        points.issues.append(f"the runs log different loss metrics: {counts}; fitted each run's "
                            "own (choose one with --map loss=COLUMN)")
    return points


def _variables_at(joined, history, require, targets):
    """A variable that is itself a logged metric (``--x task_loss``) takes its value at each
    point's checkpoint (the same step, or the same tokens where steps are not logged), not the
    run's final value."""
    import polars as pl

    logged = set(history[S.METRIC].unique().to_list()) if history.height else set()
    by_step = history[S.STEP].null_count() == 0 and joined["_ckstep"].null_count() == 0
    keys = [S.RUN_ID, "_ckstep"] if by_step else [S.RUN_ID, "_ckpt"]
    for col in require:
        if col not in logged or col in targets or col in (S.N, S.D, S.C):
            continue
        at = (history.filter(pl.col(S.METRIC) == col)
              .select(S.RUN_ID, pl.col(S.STEP).alias("_ckstep"),
                      pl.col(S.D).cast(pl.Float64).alias("_ckpt"),
                      pl.col(S.VALUE).cast(pl.Float64).alias("_var"))
              .unique(keys, keep="last", maintain_order=True).select(*keys, "_var"))
        joined = (joined.join(at, on=keys, how="left", maintain_order="left")
                  .with_columns(pl.col("_var").alias(col)).drop("_var"))
    return joined.drop("_ckstep")


def _variables_reduced(joined, frames, target_rows, require, targets, kind: str, k: int):
    """A variable that is itself a logged metric, reduced as the target is: the mean of its
    last K values for ``mean-last:K``, its value at the target's minimum for ``min`` (the
    runs' final columns already hold ``last``). A store's whole history is read only then."""
    import polars as pl

    some = logged_rows(frames, kind)  # a store's tails name every logged metric
    logged = set(some[S.METRIC].unique().to_list()) if some.height else set()
    cols = [c for c in require if c in logged and c not in targets and c not in (S.N, S.D, S.C)]
    if not cols:
        return joined
    history = frames.history
    order = [S.RUN_ID, S.STEP, S.D]
    if kind == "min":
        at = (target_rows.sort(order, nulls_last=False).group_by(S.RUN_ID)
              .agg(pl.all().sort_by(S.VALUE).first()).select(S.RUN_ID, S.STEP))
    for col in cols:
        rows = history.filter(pl.col(S.METRIC) == col).sort(order, nulls_last=False)
        if kind == "min":
            v = rows.join(at, on=[S.RUN_ID, S.STEP], how="inner").group_by(S.RUN_ID).agg(
                pl.col(S.VALUE).last().alias("_var"))
        else:
            v = rows.group_by(S.RUN_ID).agg(pl.col(S.VALUE).tail(k).mean().alias("_var"))
        joined = (joined.join(v, on=S.RUN_ID, how="left", maintain_order="left")
                  .with_columns(pl.coalesce("_var", pl.col(col).cast(pl.Float64, strict=False))
                                .alias(col)).drop("_var"))
    return joined


def _at_checkpoints(joined):
    """Points read at a checkpoint take its tokens as D and C = 6·N·D (said as derived); the
    run's own total stays as ``run_tokens`` (seeds are runs of one length, not one checkpoint)."""
    import polars as pl

    at = pl.col("_ckpt").is_not_null()
    total = pl.col(S.D).cast(pl.Float64)
    if "run_tokens" in joined.columns:  # a window capped it: its length is the uncapped one
        total = pl.coalesce("run_tokens", total)
    cols = [total.alias("run_tokens"),
            pl.when(at).then(pl.col("_ckpt")).otherwise(pl.col(S.D).cast(pl.Float64)).alias(S.D)]
    if S.N in joined.columns:
        c = 6.0 * pl.col(S.N).cast(pl.Float64) * pl.col("_ckpt")
        old = pl.col(S.C).cast(pl.Float64) if S.C in joined.columns else pl.lit(None, pl.Float64)
        cols.append(pl.when(at).then(c).otherwise(old).alias(S.C))
        derived = pl.col(S.C_DERIVED) if S.C_DERIVED in joined.columns else pl.lit(None)
        cols.append(pl.when(at).then(True).otherwise(derived).alias(S.C_DERIVED))
    return joined.with_columns(cols).drop("_ckpt")
