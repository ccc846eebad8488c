"""Windows on curve data and checkpoint points: which part of each run's logged curve a fit
reads (``--min-step``, ``--min-tokens``, ``--max-tokens``) and how many points a run gives
(``--points last|all|every:K|at-tokens:LIST``).

A window cuts every run's history before reduction: warm-up steps dropped, a run capped at a
token count (its D then is the tokens at its last kept checkpoint, C = 6·N·D). A run the window
empties is dropped with the reason; a window that empties every run is refused. Checkpoint
points turn a run's logged checkpoints into fit points, L(N, D) along each curve, each keeping
its run's id so that a bootstrap still resamples runs. All of it is Polars expressions over
the history: no loop over rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import schema as S
from .errors import ColumnError, ConfigError, InputError, clip
from .numbers import fmt

if TYPE_CHECKING:
    import polars as pl

    from .ingest import Frames

NEAR = 0.05  # at-tokens: a checkpoint at most this fraction below the asked count is "at" it
MULTI_WARNING = ("several points per run are sound only for schedules without a final decay "
                 "(constant, or WSD before its decay) unless the learning-rate schedule is "
                 "modelled")


@dataclass
class Window:
    """The part of each curve kept: steps >= ``min_step``, tokens in [min_tokens, max_tokens]."""

    min_step: float | None = None
    min_tokens: float | None = None
    max_tokens: float | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.min_step, self.min_tokens, self.max_tokens))

    def to_dict(self) -> dict[str, float]:
        """The bounds given (provenance records only those)."""
        return {k: v for k, v in (("min_step", self.min_step), ("min_tokens", self.min_tokens),
                                  ("max_tokens", self.max_tokens)) if v is not None}

    def describe(self) -> str:
        """``--min-step 100 --max-tokens 1B`` as the user typed it (numbers formatted)."""
        return " ".join(f"--{k.replace('_', '-')} {fmt(v)}" for k, v in self.to_dict().items())

    @property
    def on_tokens(self) -> bool:
        return self.min_tokens is not None or self.max_tokens is not None


def as_window(min_step=None, min_tokens=None, max_tokens=None, *, base: dict | None = None,
              where: str = "") -> Window:
    """A :class:`Window` from numbers or text with units (``1B``, ``300M``); ``base`` (a
    config's ``window:``) gives the bounds the arguments leave unset."""
    from .units import UnitError, parse_quantity

    base = dict(base or {})
    unknown = set(base) - {"min_step", "min_tokens", "max_tokens"}
    if unknown:
        raise ConfigError(f"{where}window: unknown key(s) {', '.join(sorted(map(str, unknown)))}"
                          "; use min_step, min_tokens, max_tokens")
    given = {"min_step": min_step, "min_tokens": min_tokens, "max_tokens": max_tokens}
    values: dict[str, float | None] = {}
    for key, value in given.items():
        value = base.get(key) if value is None else value
        option = f"{where}window.{key}" if given[key] is None else f"--{key.replace('_', '-')}"
        if value is None:
            values[key] = None
            continue
        try:
            number = parse_quantity(value)
        except UnitError as exc:
            raise ConfigError(f"{option}: {exc}") from None
        if not number >= 0 or number == float("inf"):
            raise ConfigError(f"{option} {clip(str(value))}: give a finite number >= 0")
        values[key] = number
    w = Window(**values)
    if w.min_tokens is not None and w.max_tokens is not None and w.min_tokens > w.max_tokens:
        raise ConfigError(f"--min-tokens {fmt(w.min_tokens)} is above --max-tokens "
                          f"{fmt(w.max_tokens)}: the window is empty")
    return w


@dataclass
class PointSpec:
    """``--points``: ``last`` (one per run), ``all``, ``every`` K-th, or ``at`` token counts."""

    kind: str = "last"
    every: int = 1
    at: tuple[float, ...] = ()
    text: str = "last"
    notes: list[str] = field(default_factory=list)

    @property
    def multi(self) -> bool:
        return self.kind != "last"


def parse_points(spec: str | None) -> PointSpec:
    """``last`` | ``all`` | ``every:K`` | ``at-tokens:1B,2B,5B`` -> :class:`PointSpec`."""
    from .units import UnitError, parse_quantity

    if not isinstance(spec, (str, type(None))):
        raise ConfigError(f"--points {clip(str(spec))}: use last, all, every:K or at-tokens:LIST")
    text = (spec or "last").strip()
    low = text.lower()
    if low in ("last", "all"):
        return PointSpec(low, text=low)
    m = re.fullmatch(r"every:(\d{1,9})", low)
    if m and int(m.group(1)) > 0:
        return PointSpec("every", every=int(m.group(1)), text=low)
    if low.startswith("at-tokens:"):
        items = [t.strip() for t in text.split(":", 1)[1].split(",") if t.strip()]
        try:
            at = tuple(sorted({parse_quantity(t) for t in items}))
        except UnitError as exc:
            raise ConfigError(f"--points {clip(text)}: {exc}") from None
        if at and all(0 < t < float("inf") for t in at):
            return PointSpec("at", at=at, text=text)
    raise ConfigError(f"--points {clip(text)!r}: use last, all, every:K (K a positive integer) "
                      "or at-tokens:LIST (token counts such as 1B,2B,5B)")


def with_tokens(history: pl.DataFrame, runs: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """History rows without a token count get one from their step where the run's total tokens
    and final step are known: tokens = step · D / final step (a linear interpolation, said in
    a note). Rows that still have none keep a null."""
    import polars as pl

    if not history.height or history[S.D].null_count() == 0 or S.STEP not in history.columns:
        return history, []
    final = history.group_by(S.RUN_ID).agg(pl.col(S.STEP).max().alias("_final"))
    per = (runs.select(S.RUN_ID, pl.col(S.D).cast(pl.Float64).alias("_total"))
           .join(final, on=S.RUN_ID, how="inner")
           .filter(pl.col("_final") > 0)
           .select(S.RUN_ID, (pl.col("_total") / pl.col("_final")).alias("_per_step")))
    out = history.join(per, on=S.RUN_ID, how="left", maintain_order="left")
    fill = pl.col(S.D).is_null() & pl.col("_per_step").is_not_null() & pl.col(S.STEP).is_not_null()
    n_runs = out.filter(fill).get_column(S.RUN_ID).n_unique()
    out = out.with_columns(
        pl.when(fill).then(pl.col(S.STEP).cast(pl.Float64) * pl.col("_per_step"))
        .otherwise(pl.col(S.D).cast(pl.Float64)).alias(S.D)).drop("_per_step")
    note = (f"tokens at each checkpoint interpolated linearly from the step for {n_runs} "
            "run(s) that log steps but no tokens (tokens per step = the run's total tokens / "
            "its final step)")
    notes = [note] if n_runs else []
    return out, notes


def _refuse_no_tokens(history: pl.DataFrame, runs: pl.DataFrame, what: str) -> None:
    """A token window or checkpoint points on a run whose checkpoints have no token count."""
    import polars as pl

    bad = history.filter(pl.col(S.D).is_null())
    if not bad.height:
        return
    run_id = bad.get_column(S.RUN_ID)[0]
    name = runs.filter(pl.col(S.RUN_ID) == run_id).get_column(S.NAME)
    shown = name[0] if name.len() else run_id
    raise ColumnError(f"{what} needs the tokens at each checkpoint: run {clip(str(shown))!r} "
                      "logs no tokens, and its total tokens or final step is unknown to "
                      "interpolate them (log a tokens column, or --map D=COLUMN)")


def apply_window(frames: Frames, window: Window) -> Frames:
    """``frames`` with each run's history cut to ``window``; a capped run's D (and C = 6·N·D)
    become those at its last kept checkpoint and its final (summary) metrics are cleared, since
    they belong to the whole run. Runs the window empties leave, their reasons in ``dropped``."""
    import dataclasses

    import polars as pl

    if not window:
        return frames
    runs, history = frames.runs, frames.history
    notes: list[str] = []
    if window.on_tokens:
        history, notes = with_tokens(history, runs)
        _refuse_no_tokens(history, runs, window.describe())
    keep = pl.lit(True)
    if window.min_step is not None:
        keep = keep & (pl.col(S.STEP).is_null() | (pl.col(S.STEP) >= window.min_step))
    if window.min_tokens is not None:
        keep = keep & (pl.col(S.D) >= window.min_tokens)
    if window.max_tokens is not None:
        keep = keep & (pl.col(S.D) <= window.max_tokens)
    kept = history.filter(keep)
    logged = history.group_by(S.RUN_ID).agg(pl.len().alias("_logged"))
    left = kept.group_by(S.RUN_ID).agg(pl.len().alias("_kept"), pl.col(S.D).max().alias("_end"))
    status = (runs.select(S.RUN_ID, S.NAME, S.SOURCE, pl.col(S.D).alias("_total"))
              .join(logged, on=S.RUN_ID, how="left").join(left, on=S.RUN_ID, how="left"))
    # a run with no curve is one point at its total tokens: in a token window or not
    total = pl.col("_total")
    outside = pl.lit(False)
    if window.min_tokens is not None:
        outside = outside | (total < window.min_tokens)
    if window.max_tokens is not None:
        outside = outside | (total > window.max_tokens)
    emptied = status.filter(
        (pl.col("_logged").is_not_null() & pl.col("_kept").is_null())
        | (pl.col("_logged").is_null() & outside.fill_null(False)))
    what = window.describe()
    dropped = [f"{r[S.NAME]} ({r[S.SOURCE]}): {what} leaves none of its "
               + (f"{r['_logged']} logged points" if r["_logged"] else
                  f"final value (at {fmt(r['_total'])} tokens)")
               for r in emptied.iter_rows(named=True)]  # only the emptied runs
    if emptied.height and emptied.height == runs.height:
        raise InputError(f"the window {what} leaves no run with a point: "
                         + _span(history, runs))
    gone = emptied.get_column(S.RUN_ID).implode()
    runs = runs.filter(~pl.col(S.RUN_ID).is_in(gone))
    kept = kept.filter(~pl.col(S.RUN_ID).is_in(gone))
    if window.max_tokens is not None:
        runs, capped = _cap(runs, left, history, window.max_tokens)
        if capped:
            notes.append(f"--max-tokens {fmt(window.max_tokens)}: {capped} run(s) capped; each "
                         "one's point is read from its curve up to that count, its D is the "
                         "tokens at its last kept checkpoint (not the run's total) and C = 6·N·D")
    if window.min_step is not None or window.min_tokens is not None:
        cut = history.height - kept.height
        notes.append(f"{what}: {cut} of {history.height} logged points left out")
    return dataclasses.replace(frames, runs=runs, history=kept,
                               notes=[*frames.notes, *notes],
                               dropped=[*getattr(frames, "dropped", []), *dropped])


def _cap(runs, left, history, max_tokens: float):
    """Runs whose curve goes past ``max_tokens``: D = last kept checkpoint's tokens, C = 6·N·D,
    final metrics cleared (they were read at the run's end)."""
    import polars as pl

    runs = runs.join(left.select(S.RUN_ID, "_end"), on=S.RUN_ID, how="left",
                     maintain_order="left")
    capped = pl.col("_end").is_not_null() & (
        pl.col(S.D).is_null() | (pl.col(S.D).cast(pl.Float64) > pl.col("_end")))
    n = int(runs.select(capped.sum()).item())
    if not n:
        return runs.drop("_end"), 0
    metrics = set(history.get_column(S.METRIC).unique().to_list()) if history.height else set()
    aliases = {a.lower() for a in S.ALIASES["loss"]}
    final = [c for c in runs.columns if c not in S.RUN_COLUMNS and c != "_end"
             and (c in metrics or c.lower() in aliases)]
    dtype = runs.schema[S.D] if runs.schema[S.D] != pl.Null else pl.Float64
    runs = runs.with_columns(  # the run's own length stays: capped runs of two are not seeds
        pl.col(S.D).cast(pl.Float64).alias("run_tokens"),
        pl.when(capped).then(pl.col("_end")).otherwise(pl.col(S.D)).cast(dtype).alias(S.D),
        pl.when(capped).then(6.0 * pl.col(S.N).cast(pl.Float64) * pl.col("_end"))
        .otherwise(pl.col(S.C).cast(pl.Float64)).alias(S.C),
        pl.when(capped).then(True).otherwise(pl.col(S.C_DERIVED)).alias(S.C_DERIVED),
        *(pl.when(capped).then(None).otherwise(pl.col(c)).alias(c) for c in final),
    )
    return runs.drop("_end"), n


def _span(history, runs) -> str:
    """What the curves hold: their step and token ranges, to choose a window that fits."""
    import polars as pl

    if not history.height:
        d = runs.get_column(S.D).drop_nulls()
        return (f"the runs log no curves, their total tokens span {fmt(d.min())} to "
                f"{fmt(d.max())}" if d.len() else "the runs log no curves")
    s = history.select(pl.col(S.STEP).min().alias("s0"), pl.col(S.STEP).max().alias("s1"),
                       pl.col(S.D).min().alias("d0"), pl.col(S.D).max().alias("d1")).row(0)
    parts = []
    if s[0] is not None:
        parts.append(f"steps {fmt(s[0])} to {fmt(s[1])}")
    if s[2] is not None:
        parts.append(f"tokens {fmt(s[2])} to {fmt(s[3])}")
    return "the curves span " + (", ".join(parts) or "no step or token count")


def checkpoints(history: pl.DataFrame, runs: pl.DataFrame, spec: PointSpec):
    """The checkpoints of the target metric's ``history`` that become fit points under
    ``spec`` (run_id, tokens, value), the runs left without any (with the reason), notes."""
    import polars as pl

    history, notes = with_tokens(history, runs)
    _refuse_no_tokens(history, runs, f"--points {spec.text}")
    h = history.sort([S.RUN_ID, S.STEP, S.D], nulls_last=False)
    if spec.kind == "all":
        chosen = h
    elif spec.kind == "every":
        k = spec.every
        idx = pl.int_range(pl.len()).over(S.RUN_ID)
        chosen = h.filter(((idx + 1) % k == 0) | (idx == pl.len().over(S.RUN_ID) - 1))
    else:
        at = pl.DataFrame({"_at": list(spec.at)})
        chosen = (h.join(at, how="cross")
                  .filter((pl.col(S.D) <= pl.col("_at"))
                          & (pl.col(S.D) >= (1 - NEAR) * pl.col("_at")))
                  .group_by(S.RUN_ID, "_at", maintain_order=True).last())
        notes += _missing_at(h, chosen, runs, spec)
        chosen = chosen.sort([S.RUN_ID, S.D]).unique([S.RUN_ID, S.D], maintain_order=True)
    chosen = chosen.select(S.RUN_ID, S.STEP, S.D, S.VALUE)
    missing = h.join(chosen, on=S.RUN_ID, how="anti").get_column(S.RUN_ID).unique()
    return chosen, missing, notes


def _missing_at(h, chosen, runs, spec: PointSpec) -> list[str]:
    """For each asked token count, the runs with no checkpoint within NEAR below it."""
    import polars as pl

    have = chosen.select(S.RUN_ID, "_at")
    every = h.select(S.RUN_ID).unique().join(pl.DataFrame({"_at": list(spec.at)}), how="cross")
    lacking = (every.join(have, on=[S.RUN_ID, "_at"], how="anti")
               .join(runs.select(S.RUN_ID, S.NAME), on=S.RUN_ID, how="left")
               .group_by("_at").agg(pl.col(S.NAME).sort(), pl.len()).sort("_at"))
    notes = []
    for at, names, n in lacking.iter_rows():  # one line per asked count
        shown = ", ".join(clip(str(x), 40) for x in names[:5]) + (" ..." if n > 5 else "")
        notes.append(f"--points at-tokens {fmt(at)}: {n} run(s) have no checkpoint within "
                     f"{NEAR:.0%} below it, so no point there: {shown}")
    return notes
