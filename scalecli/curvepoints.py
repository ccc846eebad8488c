"""Points read from curves as the OLMo ladder reads them (Bhagia et al. 2024; allenai/
OLMo-ladder ``scaling/utils.py``): ``--skip-fraction F`` drops the first ceil(F·n) of each run's
n logged rows of a metric (early checkpoints, far from the law); ``--smooth moving-mean:K``
replaces each logged value by the mean of the last K values up to it (fewer at the start of
the curve), for every metric alike, so x and y of a point are smoothed the same way; skipping
comes first, then smoothing. ``--anchor x=0,y=1`` adds a fixed point, such as the ideal model
(zero task loss, perfect accuracy) the ladder's step 2 adds. Polars expressions over the
history: no loop over rows.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from . import schema as S
from .errors import ConfigError, clip

if TYPE_CHECKING:
    from .ingest import Frames
    from .reduce import Points

ANCHOR_RUN = "anchor"


def check_skip(value) -> float | None:
    """A share in [0, 1): None or a float."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--skip-fraction {clip(value)!r}: give a share between 0 and 1, "
                          "e.g. 0.1") from None
    if not (0.0 <= f < 1.0):
        raise ConfigError(f"--skip-fraction {clip(value)}: give a share in [0, 1) (0.1 drops "
                          "the first tenth of each run's logged rows)")
    return f


def parse_smooth(spec) -> int | None:
    """``moving-mean:K`` -> K (a positive integer); None for none."""
    if spec is None or str(spec).strip().lower() in ("", "none"):
        return None
    m = re.fullmatch(r"moving-mean:(\d{1,6})", str(spec).strip().lower())
    if not m or int(m.group(1)) < 1:
        raise ConfigError(f"--smooth {clip(spec)!r}: use moving-mean:K (K a positive integer, "
                          "the trailing window in logged values)")
    return int(m.group(1))


def smooth_history(frames: Frames, skip: float | None, window: int | None) -> Frames:
    """``frames`` with each run's history of every metric cut by ``skip`` and smoothed by a
    trailing mean of ``window`` values; the runs' final metric values follow the curves."""
    import polars as pl

    from .ingest import Frames

    hist = frames.history
    if (not skip and not window) or hist is None or not hist.height:
        return frames
    by = [S.RUN_ID, S.METRIC]
    h = hist.sort([S.RUN_ID, S.METRIC, S.STEP, S.D], nulls_last=False)
    notes = []
    if skip:
        idx = pl.int_range(pl.len()).over(by)
        cut = (pl.len().over(by) * skip).ceil()
        before = h.height
        h = h.filter(idx >= cut)
        notes.append(f"--skip-fraction {skip:g}: the first {skip:.0%} of each run's logged rows "
                     f"of each metric left out ({before - h.height} of {before} rows)")
    if window and window > 1:
        h = h.with_columns(pl.col(S.VALUE).rolling_mean(window, min_samples=1).over(by))
        notes.append(f"--smooth moving-mean:{window}: each logged value is the mean of the last "
                     f"{window} values up to it (fewer at a curve's start)")
    runs = frames.runs
    last = h.group_by(by).agg(pl.col(S.VALUE).last())
    metrics = [m for m in last[S.METRIC].unique().to_list() if m in runs.columns]
    for m in metrics:  # a run's final value is its curve's (smoothed) last
        v = last.filter(pl.col(S.METRIC) == m).select(S.RUN_ID, pl.col(S.VALUE).alias("_v"))
        runs = (runs.join(v, on=S.RUN_ID, how="left")
                .with_columns(pl.coalesce("_v", pl.col(m).cast(pl.Float64, strict=False))
                              .alias(m)).drop("_v"))
    return Frames(runs, h, frames.warnings, frames.columns, frames.files,
                  [*frames.notes, *notes], frames.dropped)


def parse_anchor(text, law) -> dict[str, float] | None:
    """``x=0,y=1`` (the law's variables by symbol or column, and ``y``) -> column -> value,
    with ``y`` for the target."""
    if text is None:
        return None
    from .pairs import parse_numbers

    pairs = parse_numbers(str(text), "--anchor", example="x=0,y=1")
    out: dict[str, float] = {}
    by_name = {s.lower(): c for s, c in law.variables.items()}
    by_name.update({c.lower(): c for c in law.variables.values()})
    for name, v in pairs.items():
        key = str(name).lower()
        if key == "y":
            out["y"] = float(v)
        elif key in by_name:
            out[by_name[key]] = float(v)
        else:
            known = ", ".join(f"{s} ({c})" for s, c in law.variables.items())
            raise ConfigError(f"--anchor: {clip(name)!r} is neither y nor a variable of "
                              f"{law.name} ({known})")
        if not math.isfinite(out.get("y", 0.0)) or not all(map(math.isfinite, out.values())):
            raise ConfigError(f"--anchor {clip(text)}: values must be finite numbers")
    lacking = [f"{s} ({c})" for s, c in law.variables.items() if c not in out]
    if "y" not in out:
        lacking.append("y")
    if lacking:
        raise ConfigError(f"--anchor {clip(text)}: give {', '.join(lacking)} too "
                          "(e.g. --anchor x=0,y=1)")
    return out


def add_anchor(pts: Points, anchor: dict[str, float]) -> Points:
    """``pts`` with one more point at ``anchor`` (run ``anchor``, source ``--anchor``)."""
    import dataclasses

    import polars as pl

    row = {S.RUN_ID: ANCHOR_RUN, S.NAME: ANCHOR_RUN, S.SOURCE: "--anchor", S.FIXED_POINT: True,
           **anchor}
    frame = pl.concat([pts.frame, pl.DataFrame([row])], how="diagonal_relaxed")
    frame = frame.with_columns(pl.col(S.FIXED_POINT).fill_null(False))
    shown = ", ".join(f"{clip(k, 30)}={v:g}" for k, v in anchor.items())
    return dataclasses.replace(pts, frame=frame,
                               notes=[*pts.notes, f"--anchor: a fixed point added at {shown}"])
