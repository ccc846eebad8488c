"""W&B run directories (``wandb/run-*/``, ``wandb/offline-run-*/``): one run per directory.

Config, history and summary all live in the run's transaction log, ``run-<id>.wandb`` (read by
:mod:`.wandb_log`); offline runs keep nothing else, synced runs also keep ``files/config.yaml``
and ``files/wandb-summary.json``, whose keys fill what the log lacks. The log is replayed into
one wide table, one row per history record (``_step`` is the step), with the config broadcast
to every row, and shaped like every other table (``shape.build``). The run's id is its W&B id
(``wandb:<id>``, as in an API runs export, so the same run read from both is one run); summary
values that were never logged as history (``eval/loss``) become final metrics of the run.

Speed: every record is parsed with wandb's protobuf class, as any reader must, but values are
kept as their JSON text and converted a column at a time by polars (a per-value ``json.loads``
would cost more than the protobuf parse); only non-numeric history values are decoded one by one.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from .. import schema as S
from ..errors import DamagedSource, InputError
from . import DEFAULT, Frames, ReadOptions, finish
from .jsonl import Nested
from .shape import Spec, build
from .tabular import Table
from .wandb import _flat, _summary
from .wandb_log import payloads, record_class

ID, NAME = "id", "name"  # the table's run key and display-name columns
PER_STEP = ("D", "step", "lr", "batch_size", "C")  # roles a logged history key plays first
INTERNAL = ("_wandb", "wandb_version")  # config keys W&B keeps for itself


class Replay:
    """What a run log holds once replayed: run identity, config, history columns, summary."""

    def __init__(self) -> None:
        self.run_id = self.name = None
        self.meta: dict[str, str] = {}
        self.config: dict[tuple, str] = {}  # key path -> value JSON (as last set)
        self.summary: dict[tuple, str] = {}
        self.columns: dict[str, list[str | None]] = {}  # history key -> value JSON per row
        self.records: list[int] = []  # per history row, its record's position in the log
        self.unknown: list[int] = []  # records the installed wandb's classes cannot parse


def replay(data: bytes, display: str) -> Replay:
    """Replay the log's run, config, history and summary records (others are skipped)."""
    from google.protobuf.message import DecodeError

    Record = record_class(display)
    out = Replay()
    cols, rows = out.columns, out.records
    n = 0
    for i, payload in enumerate(payloads(data, display), 1):
        try:
            rec = Record.FromString(payload)
        except DecodeError:  # its checksum holds: a record the installed wandb does not know
            out.unknown.append(i)
            continue
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            for it in rec.history.item:
                key = it.key or _joined(it.nested_key)
                col = cols.get(key)
                if col is None:
                    cols[key] = col = [None] * n
                have = len(col)
                if have < n:
                    col.extend([None] * (n - have))
                elif have > n:  # the key given twice in one record: the last counts
                    col[n] = it.value_json
                    continue
                col.append(it.value_json)
            n += 1
            rows.append(i)
        elif kind == "summary":
            _apply(out.summary, rec.summary.update, rec.summary.remove)
        elif kind == "config":
            _apply(out.config, rec.config.update, rec.config.remove)
        elif kind == "run":
            _run(out, rec.run)
    for col in cols.values():
        col.extend([None] * (n - len(col)))
    return out


def _joined(nested) -> str:
    return nested[0] if len(nested) == 1 else ".".join(nested)


def _path(item) -> tuple:
    return (item.key,) if item.key else tuple(item.nested_key)


def _apply(state: dict, update, remove) -> None:
    for it in update:
        state[_path(it)] = it.value_json
    for it in remove:
        state.pop(_path(it), None)


def _run(out: Replay, run) -> None:
    out.run_id = run.run_id or out.run_id
    out.name = run.display_name or out.name
    _apply(out.config, run.config.update, run.config.remove)
    _apply(out.summary, run.summary.update, run.summary.remove)
    meta = {"group": run.run_group, "job_type": run.job_type, "notes": run.notes,
            "tags": ", ".join(run.tags)}
    out.meta.update({k: v for k, v in meta.items() if v})


def _nested(state: dict[tuple, str]) -> dict:
    """Key paths and JSON texts as the nested dict W&B shows."""
    out: dict = {}
    for path, text in state.items():
        d = out
        for k in path[:-1]:
            nxt = d.get(k)
            d = d.setdefault(k, {}) if not isinstance(nxt, dict) else nxt
        d[path[-1]] = json.loads(text)
    return out


def _side_file(path: Path, display: str, warnings: list[str]) -> dict:
    """``files/config.yaml`` or ``files/wandb-summary.json`` beside the log, as a dict (empty
    if absent; a file that cannot be read is said and left out)."""
    if not path.is_file():
        return {}
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # UnicodeDecodeError is a ValueError
        data = exc
    if not isinstance(data, dict):
        why = type(data).__name__ if isinstance(data, Exception) else "not a mapping"
        warnings.append(f"{display}: {path.parent.name}/{path.name} not used: {why}")
        return {}
    return data


def _config(rep: Replay, extra: dict, display: str) -> dict:
    """Flat config: the log's, then keys only ``config.yaml`` has; W&B's own keys dropped."""
    merged = _nested(rep.config)
    merged.update({k: v for k, v in extra.items() if k not in merged})
    merged = {k: v for k, v in merged.items()
              if k not in INTERNAL and not str(k).startswith("_")}
    try:
        return _flat(merged)
    except Nested as exc:
        raise InputError(f"config: {exc}", display) from None


def _final(rep: Replay, extra: dict, display: str, warnings: list[str]) -> dict:
    """Summary values (no ``_`` internals, no media), the log's first."""
    merged = _nested(rep.summary)
    merged.update({k: v for k, v in extra.items() if k not in merged})
    try:
        return _summary(merged)
    except Nested as exc:
        warnings.append(f"{display}: summary not used: {exc}")
        return {}


def _history(cols: dict[str, list], display: str) -> tuple[pl.DataFrame, list[str]]:
    """The history columns as a frame: numbers cast by polars, other JSON values decoded one
    by one (text and booleans kept as text; objects such as media and histograms left out)."""
    df = pl.DataFrame([pl.Series(k, v, dtype=pl.String) for k, v in cols.items()])
    num = [pl.col(k).cast(pl.Float64, strict=False) for k in df.columns]
    odd = df.select((pl.col(k).is_not_null() & (pl.col(k) != "null") & e.is_null()).any()
                    for k, e in zip(df.columns, num, strict=True)).row(0)
    df = df.with_columns(e for e, o in zip(num, odd, strict=True) if not o)
    dropped = []
    for k, o in zip(list(df.columns), odd, strict=True):
        if not o:
            continue
        values = [None if v is None else json.loads(v) for v in df[k]]
        if any(isinstance(v, dict | list) for v in values):
            df = df.drop(k)
            dropped.append(k)
            continue
        text = [v if isinstance(v, str) or v is None else json.dumps(v) for v in values]
        df = df.with_columns(pl.Series(k, text, dtype=pl.String))
    return df, dropped


def _lit(key: str, value) -> pl.Expr:
    if isinstance(value, list | dict):
        value = json.dumps(value)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 63:
        value = float(value)
    return pl.lit(value).alias(key)


def read_run(path: Path, display: str, mapping=None, strict: bool = False,
             opts: ReadOptions = DEFAULT) -> Frames:
    """One W&B run log (and the files beside it) as the normalized frames."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", display) from None
    rep = replay(data, display)
    if not rep.records:
        raise DamagedSource("the run logged no history (no step in its log)", display)
    warnings: list[str] = []
    if rep.unknown:
        warnings.append(_unknown(rep.unknown, display))
    files = path.parent / "files"
    config = _config(rep, _side_file(files / "config.yaml", display, warnings), display)
    summary = _final(rep, _side_file(files / "wandb-summary.json", display, warnings), display,
                     warnings)
    df, media = _history(rep.columns, display)
    logged = set(df.columns)
    run_id = rep.run_id or _id_from_name(path)
    fixed = {ID: run_id, NAME: rep.name}
    consts = [_lit(k if k not in logged and k not in fixed else f"config.{k}", v)
              for k, v in {**rep.meta, **config}.items()]
    df = df.with_columns(pl.lit(run_id).alias(ID), pl.lit(rep.name, pl.String).alias(NAME),
                         *consts)
    mapping = dict(mapping or {})
    for role in PER_STEP:  # a logged token counter beats the config's planned total
        if role not in mapping and (hit := S.resolve(role, list(logged))):
            mapping[role] = hit
    digest = None
    if opts.digest and not (files / "config.yaml").is_file() and not (
            files / "wandb-summary.json").is_file():
        import zlib

        digest = f"crc32:{zlib.crc32(data):08x}"  # as scan.file_digest would hash the file
    rows = rep.records
    table = Table(df, lambda idx: [rows[i] for i in idx], digest, warnings)
    spec = Spec(display, "wandb-run", mapping, strict, run_col=ID, name_col=NAME,
                id_prefix="wandb:", shape="steps", need_d=False, ignore_prefix="_")
    frames = finish(table, spec, build, opts)
    return _with_summary(frames, summary, media, logged)


def _with_summary(frames: Frames, summary: dict, media: list[str], logged: set) -> Frames:
    """Summary values never logged as history (``eval/loss``) as final metrics of the run."""
    have = set(frames.runs.columns)
    final = {(k if k not in have else f"summary.{k}"): v for k, v in summary.items()
             if k not in logged and not k.startswith("_")}
    final = {k: v for k, v in final.items() if k not in have}
    if final:
        frames.runs = frames.runs.with_columns(_lit(k, v) for k, v in final.items())
    notes = []
    if final:
        notes.append("summary: " + ", ".join(final))
    if media:
        notes.append("not scalars: " + ", ".join(media))
    if notes and frames.columns:
        frames.columns[-1] += "; " + "; ".join(notes)
    return frames


def _unknown(records: list[int], display: str) -> str:
    """Records whose bytes are whole (their checksums hold) but that the installed wandb's
    classes cannot parse: a newer wandb wrote them (wandb 0.16 cannot parse the environment
    record of wandb 0.31's logs)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        have = f"wandb {version('wandb')}"
    except PackageNotFoundError:
        have = "the installed wandb"
    return (f"{display}: {len(records)} records (record {records[0]} first) cannot be parsed "
            f"by {have}, probably written by a newer wandb; left out (pip install -U wandb)")


def _id_from_name(path: Path) -> str:
    """``run-<id>.wandb`` -> ``<id>`` (a log without a run record)."""
    return path.stem.removeprefix("run-")
