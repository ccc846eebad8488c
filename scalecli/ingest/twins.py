"""Runs read twice: the same run name in two files.

A run's id is its file and name (W&B runs: the W&B id), so the same run exported twice, or a log
copied under another name and edited, would be counted twice: one point weighing double in the
fit. A run whose name and values (N, D, C, metrics, config) equal those of a run from another
file is counted once (if they logged the same history too), with a warning naming both files.
Same name with different values may be
two runs or a rerun: both are kept, and the warning says so. (Files with the same bytes never
get here: they are read once, see ``walk.py``.)
"""

from __future__ import annotations

import polars as pl

from .. import schema as S
from ..errors import StrictError, clip

FROM = (S.RUN_ID, S.SOURCE, S.FORMAT)  # where a run was read, not what it is


def count_once(runs: pl.DataFrame, history: pl.DataFrame, warnings: list[str],
               strict: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop runs equal to a run of another file (same name and values), saying so; say so too
    of a name shared by runs that differ. Runs without N (W&B history waiting for its runs
    file) are left alone."""
    if runs.height < 2 or S.NAME not in runs.columns:
        return runs, history
    known = pl.col(S.NAME).is_not_null() & pl.col(S.N).is_not_null()
    shared = pl.col(S.SOURCE).n_unique().over(S.NAME) > 1
    cand = runs.with_row_index("__i").filter(known).filter(shared)
    if not cand.height:
        return runs, history
    values = [c for c in runs.columns if c not in FROM]
    groups = cand.group_by(values, maintain_order=True).agg("__i", S.SOURCE, S.RUN_ID)
    logs = _histories(history, groups)
    drop: list[int] = []
    said: dict[tuple[str, str], list[str]] = {}
    for name, idx, sources, ids in groups.select(S.NAME, "__i", S.SOURCE, S.RUN_ID).iter_rows():
        for i, src, rid in zip(idx[1:], sources[1:], ids[1:], strict=True):
            if src != sources[0] and _same_log(logs, ids[0], rid):
                drop.append(i)
                said.setdefault((src, sources[0]), []).append(name)
    texts = [f"{src}: {_names(names)} the same as in {first} (same name and values); "
             "counted once" for (src, first), names in said.items()]
    left = cand.filter(~pl.col("__i").is_in(drop))
    differ = left.filter(pl.col(S.SOURCE).n_unique().over(S.NAME) > 1)
    for (name,), grp in differ.group_by(S.NAME, maintain_order=True):
        where = " and ".join(clip(s) for s in grp[S.SOURCE].unique(maintain_order=True)[:3])
        texts.append(f"run {clip(name)!r} is in {where} with different values; kept as "
                     f"{grp.height} runs (give them different names if they are different runs)")
    for text in texts:
        if strict:
            raise StrictError(text + " (refused: --strict)")
        warnings.append(text)
    if not drop:
        return runs, history
    gone = runs[S.RUN_ID].gather(drop)
    runs = runs.with_row_index("__i").filter(~pl.col("__i").is_in(drop)).drop("__i")
    if history.height:
        history = history.filter(~pl.col(S.RUN_ID).is_in(gone.implode()))
    return runs, history


def _histories(history: pl.DataFrame, groups: pl.DataFrame) -> dict:
    """run_id -> its logged points, for the runs that may be twins."""
    ids = groups.filter(pl.col(S.RUN_ID).list.len() > 1)[S.RUN_ID].explode()
    if not history.height or not ids.len():
        return {}
    mine = history.filter(pl.col(S.RUN_ID).is_in(ids.implode()))
    return {k[0]: v.drop(S.RUN_ID) for k, v in mine.partition_by(S.RUN_ID, as_dict=True).items()}


def _same_log(logs: dict, a: str, b: str) -> bool:
    """Whether two runs logged the same points (both none counts as the same)."""
    x, y = logs.get(a), logs.get(b)
    if x is None or y is None:
        return x is None and y is None
    return x.equals(y)


def _names(names: list[str]) -> str:
    if len(names) == 1:
        return f"run {clip(names[0])!r} is"
    shown = ", ".join(clip(n) for n in names[:4]) + (", ..." if len(names) > 4 else "")
    return f"{len(names)} runs ({shown}) are"
