"""The ``runs`` listing: one row per run with N, D, C and its final loss."""

from __future__ import annotations

from .. import schema as S
from .table import Table


def runs_rows(frames, mapping=None):
    """Rows (dicts) and columns for the runs table: the final loss where one is found, and
    which metric it is for each run (runs may log different loss columns)."""
    import polars as pl

    from ..errors import ColumnError
    from ..reduce import per_run_target, reduce_runs, target_metric

    runs = frames.runs.sort([S.N, S.D], nulls_last=True)
    try:
        chosen = target_metric(frames, mapping)
        points = reduce_runs(frames, chosen)
        final = points.frame.select(S.RUN_ID, pl.col("y").alias("_final"))
        runs = runs.join(final, on=S.RUN_ID, how="left", maintain_order="left")
        if chosen is None:
            own = per_run_target(frames).rename({S.METRIC: "_own"})
            runs = runs.join(own, on=S.RUN_ID, how="left", maintain_order="left")
        else:
            runs = runs.with_columns(pl.lit(chosen).alias("_own"))
        target = points.target
    except ColumnError:
        target = None
    rows = []
    for r in runs.iter_rows(named=True):
        derived = bool(r[S.C_DERIVED])
        row = {"name": r[S.NAME], "n_params": r[S.N], "tokens": r[S.D], "flops": r[S.C],
               "flops_derived": derived, "flops_mark": "*" if derived else " ",
               "source": r[S.SOURCE], "format": r[S.FORMAT], "run_id": r[S.RUN_ID]}
        for key, col, mark in (("n_params", S.N_DERIVED, "†"), ("tokens", S.D_DERIVED, "‡")):
            rule = r.get(col)
            if rule:  # worked out from the config, not logged (see ingest.derive)
                row[f"{key}_derived"] = rule
                row[f"{key}_mark"] = mark
        if target is not None:
            row["loss"] = r.get("_final")
            row["metric"] = r.get("_own") if r.get("_final") is not None else None
        rows.append(row)
    columns = [("name", "run"), ("n_params", "N"), ("tokens", "D"), ("flops", "C")]
    if target is not None:
        columns += [("loss", "final loss"), ("metric", "metric")]
    columns.append(("source", "source"))
    return rows, columns


def runs_table(frames, mapping=None) -> Table:
    """What ``scalecli runs`` prints, with the reading's notes and warnings; a C computed as
    6·N·D is marked ``*`` in the table (``flops_derived`` in CSV and JSON); an N or D worked
    out from the config ``†``/``‡``, with its rule (``n_params_derived``/``tokens_derived``)."""
    rows, columns = runs_rows(frames, mapping)
    said = ["* C derived as 6·N·D"] if any(r.get("flops_derived") for r in rows) else []
    extra = [("flops_derived", "flops_derived")]
    for key, mark, what in (("n_params", "†", "N"), ("tokens", "‡", "D")):
        rules = list(dict.fromkeys(r[f"{key}_derived"] for r in rows if r.get(f"{key}_derived")))
        if rules:
            said.append(f"{mark} {what} derived from the config: " + "; ".join(rules))
            extra.append((f"{key}_derived", f"{key}_derived"))
    return Table(rows, columns, f"{len(rows)} runs",
                 caption="\n".join(said) or None,
                 csv_extra=extra,
                 notes=[f"columns: {c}" for c in frames.columns],
                 warnings=list(frames.warnings))
