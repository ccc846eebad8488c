"""Weights & Biases exports: the runs-table CSV, the public-API runs and history dumps, and the
line-panel CSV. Their layouts are described in the fixtures' README; what matters here:

- runs table: one row per run, ``Name``/``State``/``Created``... then config and summary columns
  (no marker between them, no run id);
- API runs dump: one JSON object per run with ``config`` and ``summary`` dicts; run_id is the
  W&B id, so a history dump of the same runs joins to it;
- API history dump: one row per logged step (``_step``), keyed by ``run_id``/``run_name``; it has
  no N, which comes from the runs dump (see ``ingest.join_runs``);
- panel CSV: an x column, then ``"<run> - <metric>"`` with ``__MIN``/``__MAX`` twins per run.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from .. import schema as S
from ..errors import InputError, StrictError, clip
from . import DEFAULT, Frames, ReadOptions, finish
from .jsonl import Nested, parse_json_lines, read_jsonl, records_to_frame
from .shape import Spec, build, empty_history
from .tabular import Table, read_csv

META = ("state", "group", "job_type", "created_at", "tags", "notes")


def _column(cols: list[str], *names: str) -> str | None:
    lower = {c.lower(): c for c in cols}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def read_table(path: Path, display: str, mapping=None, strict=False,
               opts: ReadOptions = DEFAULT) -> Frames:
    """Runs table "Export CSV": one row per run; every cell is quoted text."""
    from .detect import separator

    table = read_csv(path, display, separator(path), digest=opts.digest)
    cols = table.df.columns
    run = S.resolve("run", cols, mapping) if mapping and "run" in mapping else _column(cols, "Name")
    rid = _column(cols, "ID", "Run ID", "run_id")
    spec = Spec(display, "wandb-table", mapping, strict, shape="runs", need_d=False,
                run_col=rid or run, name_col=run if rid else None,
                id_prefix="wandb:" if rid else None)
    return finish(table, spec, build, opts)


def _summary(summary: dict) -> dict:
    """Summary values worth keeping: no ``_`` internals, no media/histogram objects."""
    out = {}
    for k, v in summary.items():
        if str(k).startswith("_"):
            continue
        if isinstance(v, dict):
            if "_type" in v:
                continue
            _put(out, {f"{k}.{kk}": vv for kk, vv in _flat(v).items()})
        else:
            _put(out, {k: v})
    return out


def _put(out: dict, new: dict) -> None:
    """``a.b`` both as a key and nested (``a: {b: ...}``) is one key given twice."""
    if not out.keys().isdisjoint(new):
        twice = next(iter(out.keys() & new.keys()))
        raise Nested(f"key {clip(twice)!r} is given twice (once nested)")
    out.update(new)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and set(v) <= {"value", "desc"} and "value" in v:
            v = v["value"]  # older runs.config entries are {"value": x, "desc": ...}
        _put(out, _flat(v, key) if isinstance(v, dict) else {key: v})
    return out


def read_api_runs(path: Path, display: str, mapping=None, strict=False,
                  opts: ReadOptions = DEFAULT) -> Frames:
    """``wandb.Api().runs(...)`` dumped one run per line: id, name, config{}, summary{}.
    A run whose config or summary is not an object is skipped with a warning."""
    records, lines, warnings = parse_json_lines(path, display, flat=False)
    rows, kept = [], []
    for rec, line in zip(records, lines, strict=True):
        if "id" not in rec and "name" not in rec:
            raise InputError("a W&B run needs an 'id' or 'name'", display, line)
        try:
            rows.append(_api_run(rec))
            kept.append(line)
        except Nested as exc:
            who = clip(rec.get("name") or rec.get("id"))
            text = f"{display}: line {line}: skipped run {who!r}: {exc}"
            if strict:
                raise StrictError(text + " (refused: --strict)") from None
            warnings.append(text)
    if not rows:
        raise InputError("no W&B run left to read" + (f" ({warnings[-1]})" if warnings else ""),
                         display)
    try:
        df = records_to_frame(rows, sep=".")
    except Nested as exc:
        raise InputError(str(exc), display) from None
    table = Table(df, lambda idx: [kept[i] for i in idx], None, warnings)
    spec = Spec(display, "wandb-api-runs", mapping, strict, run_col="id", name_col="name",
                id_prefix="wandb:", shape="runs", need_d=False)
    return finish(table, spec, build, opts)


def _api_run(rec: dict) -> dict:
    """One run's row: id, name, metadata, then config and summary values."""
    for part in ("config", "summary"):
        if not isinstance(rec.get(part) or {}, dict):
            raise Nested(f"its {part} is {clip(json.dumps(rec[part]))}, not an object")
    config = {k: v for k, v in _flat(rec.get("config") or {}).items()
              if not k.startswith("_") and k != "wandb_version"}
    summary = _summary(rec.get("summary") or {})
    row = {"id": str(rec.get("id") or rec.get("name")), "name": rec.get("name")}
    row.update({k: rec[k] for k in META if k in rec})
    if isinstance(row.get("tags"), list):
        row["tags"] = ", ".join(map(str, row["tags"]))
    for k, v in config.items():
        row[k if k not in row else f"config.{k}"] = v
    for k, v in summary.items():
        row[k if k not in row else f"summary.{k}"] = v
    return row


def read_api_history(path: Path, display: str, mapping=None, strict=False,
                     opts: ReadOptions = DEFAULT) -> Frames:
    """``run.scan_history()`` rows, one per ``_step``, with ``run_id``/``run_name`` added."""
    table = read_jsonl(path, display, digest=opts.digest)
    cols = table.df.columns
    rid = _column(cols, "run_id", "id")
    name = _column(cols, "run_name", "name")
    if mapping and "run" in mapping:
        rid, name = S.resolve("run", cols, mapping), None
    key = rid or name
    spec = Spec(display, "wandb-api-history", mapping, strict, run_col=key,
                name_col=name if rid else None, id_prefix="wandb:" if rid else None,
                shape="steps", need_n=False, need_d=False, ignore_prefix="_",
                single_run=None if key else Path(display).stem)
    if key is None:
        spec.id_prefix = "wandb:"  # one run per file, named by its id: <id>.jsonl
    return finish(table, spec, build, opts)


def read_panel(path: Path, display: str, mapping=None, strict=False,
               opts: ReadOptions = DEFAULT) -> Frames:
    """Line-plot panel "Export CSV": x column, then a value/__MIN/__MAX triple per run."""
    from .detect import is_panel

    table = read_csv(path, display, digest=opts.digest)
    df = table.df
    if not is_panel([c.strip() for c in df.columns]):
        raise InputError("not a W&B panel export: expected an x column, then '<run> - <metric>' "
                         "columns, each with __MIN and __MAX twins", display)
    x, cols = df.columns[0], df.columns[1:]
    role = ("step" if S.resolve("step", [x]) or x.lower() == "step" else
            "D" if S.resolve("D", [x]) else "step")
    xs = df[x].cast(pl.Float64, strict=False)
    parts, seen, warnings = [], [], list(table.warnings)
    for c in cols[::3]:
        run, _, metric = c.rpartition(" - ")
        if metric in S.RUN_COLUMNS or metric in ("name", "x"):  # not to clash with ours
            metric = f"file:{metric}"
        v = df[c].cast(pl.Float64, strict=False)
        part = pl.DataFrame({"name": pl.Series([run] * df.height, dtype=pl.String),
                             "x": xs, S.METRIC: [metric] * df.height, S.VALUE: v})
        bad = int((~v.is_finite()).sum())
        if bad:
            text = f"{display}: dropped {bad} non-finite values of {clip(c)!r}"
            if strict:
                raise StrictError(text + " (refused: --strict)")
            warnings.append(text)
        parts.append(part.filter(pl.col(S.VALUE).is_not_null() & pl.col(S.VALUE).is_finite()))
        seen.append(metric)
    long = pl.concat(parts).with_columns((pl.lit(display + "::") + pl.col("name")).alias(S.RUN_ID))
    if not long.height:
        raise InputError("no values in any '<run> - <metric>' column", display)
    history = long.select(
        S.RUN_ID,
        (pl.col("x").cast(pl.Int64, strict=False) if role == "step" else pl.lit(None, pl.Int64))
        .alias(S.STEP),
        (pl.col("x") if role == "D" else pl.lit(None, pl.Float64)).alias(S.D),
        S.METRIC, S.VALUE)
    finals = (long.sort("x").group_by(S.RUN_ID, "name", S.METRIC, maintain_order=True)
              .agg(pl.col(S.VALUE).last(), pl.col("x").max())
              .pivot(S.METRIC, index=[S.RUN_ID, "name"], values=S.VALUE, aggregate_function="last"))
    tokens = (long.group_by(S.RUN_ID).agg(pl.col("x").max().alias(S.D)) if role == "D" else
              finals.select(S.RUN_ID, pl.lit(None, pl.Float64).alias(S.D)))
    order = list(dict.fromkeys(long[S.RUN_ID].to_list()))
    runs = finals.join(tokens, on=S.RUN_ID).select(
        S.RUN_ID, pl.col("name").alias(S.NAME), pl.lit(display).alias(S.SOURCE),
        pl.lit("wandb-panel").alias(S.FORMAT), pl.lit(None, pl.Float64).alias(S.N), S.D,
        pl.lit(None, pl.Float64).alias(S.C), pl.lit(None, pl.Boolean).alias(S.C_DERIVED),
        *[m for m in dict.fromkeys(seen) if m in finals.columns])
    runs = runs.sort(pl.col(S.RUN_ID).replace_strict(order, list(range(len(order)))))
    metrics = ", ".join(dict.fromkeys(seen))
    report = (f"{display} [wandb-panel]: x={x} as {role}, {len(order)} runs from "
              f"'<run> - <metric>' columns; metrics: {metrics}")
    frames = Frames(runs, history if history.height else empty_history(), warnings, [report])
    from . import FileInfo

    frames.files[display] = FileInfo("wandb-panel", list(df.columns), table.digest, df.height)
    return frames


READERS = {
    "wandb-table": read_table,
    "wandb-api-runs": read_api_runs,
    "wandb-api-history": read_api_history,
    "wandb-panel": read_panel,
}
