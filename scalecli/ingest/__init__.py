"""Readers: every log format becomes the same two frames (see ``scalecli.schema``).

``read_file``/``read_paths`` read in memory; ``scalecli.store`` keeps the same frames on disk.
Both go through :func:`combine`, the one place where W&B history-only runs (no N) are joined
to the W&B runs file that knows their N, and where a run still without N is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import schema as S
from ..errors import ColumnError, DamagedSource, InputError, StrictError, clip
from . import detect as _detect

if TYPE_CHECKING:
    import polars as pl

__all__ = ["READERS", "FileInfo", "Frames", "ReadOptions", "combine", "read_file", "read_paths",
           "read_raw"]


@dataclass
class FileInfo:
    """What the store remembers of a file it read: reader, columns found, content hash, rows."""

    reader: str
    columns: list[str]
    digest: str | None = None
    rows: int = 0


@dataclass
class Frames:
    """The two normalized frames (see ``scalecli.schema``), plus what a person should be told:
    ``warnings`` (one line each, naming file and lines) and ``columns`` (one line per file,
    which column played which role). ``files``: per source file, what the store records."""

    runs: pl.DataFrame
    history: pl.DataFrame
    warnings: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    files: dict[str, FileInfo] = field(default_factory=dict)  # display path -> FileInfo
    notes: list[str] = field(default_factory=list)  # what was done to the runs (a selection)
    dropped: list[str] = field(default_factory=list)  # runs left out, each with its reason


@dataclass(frozen=True)
class ReadOptions:
    """What a read must provide and record, passed down to every reader as an argument.

    ``need``: the roles every file must provide (N and D for a sweep; fewer for a law that does
    not use them, e.g. loss against dataset size). ``digest``: hash the bytes read (the store
    needs it to detect changes; in-memory reads do not).
    """

    need: frozenset[str] = frozenset({"N", "D"})
    digest: bool = False
    experiments: tuple[str, ...] = ()  # MLflow experiments to read (none named: all)


DEFAULT = ReadOptions()

WANDB_FORMATS = ("wandb-table", "wandb-api-runs", "wandb-api-history", "wandb-panel", "wandb-run")
HISTORY_ONLY = ("wandb-api-history", "wandb-panel")


def _tidy(fmt: str) -> Callable[..., Frames]:
    def reader(path: Path, display: str, mapping=None, strict: bool = False,
               opts: ReadOptions = DEFAULT) -> Frames:
        from .jsonl import read_jsonl
        from .shape import Spec, build
        from .tabular import read_csv

        if fmt == "csv":
            table = read_csv(path, display, _detect.separator(path), digest=opts.digest)
        else:
            table = read_jsonl(path, display, digest=opts.digest)
        return finish(table, Spec(display, fmt, mapping, strict), build, opts)

    reader.__doc__ = f"Tidy {fmt.upper()}: one row per run, or one row per logged step."
    return reader


def finish(table, spec, build, opts: ReadOptions = DEFAULT) -> Frames:
    """Run a table through ``build`` and record what the store needs to know of the file."""
    spec.need_n = spec.need_n and "N" in opts.need
    spec.params = (spec.mapping or {}).get("params", spec.params)
    spec.need_d = spec.need_d and "D" in opts.need
    for w in table.warnings:
        if spec.strict:
            raise StrictError(w + " (refused: --strict)")
        spec.warnings.append(w)
    found = list(table.df.columns)
    frames = build(table, spec)
    frames.files[spec.display] = FileInfo(spec.fmt, found, table.digest, table.df.height)
    return frames


def _columnar(fmt: str) -> Callable[..., Frames]:
    def reader(path: Path, display: str, mapping=None, strict: bool = False,
               opts: ReadOptions = DEFAULT) -> Frames:
        from .columnar import read_columnar
        from .shape import Spec, build

        return finish(read_columnar(path, display, fmt), Spec(display, fmt, mapping, strict),
                      build, opts)

    reader.__doc__ = f"A {fmt} table: one row per run, or one row per logged step."
    return reader


def _wandb(name: str) -> Callable[..., Frames]:
    def reader(path: Path, display: str, mapping=None, strict: bool = False,
               opts: ReadOptions = DEFAULT) -> Frames:
        from . import wandb

        return wandb.READERS[name](path, display, mapping, strict, opts)

    return reader


def _wandb_run(path: Path, display: str, mapping=None, strict: bool = False,
               opts: ReadOptions = DEFAULT) -> Frames:
    """A W&B run directory's ``run-<id>.wandb`` log (see :mod:`.wandb_run`)."""
    from .wandb_run import read_run

    return read_run(path, display, mapping, strict, opts)


def _tensorboard(path: Path, display: str, mapping=None, strict: bool = False,
                 opts: ReadOptions = DEFAULT) -> Frames:
    """TensorBoard event files, one run per folder (see :mod:`.tensorboard`)."""
    from .tensorboard import read_tensorboard

    return read_tensorboard(path, display, mapping, strict, opts)
def _mlflow(name: str) -> Callable[..., Frames]:
    def reader(path: Path, display: str, mapping=None, strict: bool = False,
               opts: ReadOptions = DEFAULT) -> Frames:
        from . import mlflow

        return mlflow.READERS[name](path, display, mapping, strict, opts)

    return reader


# name -> reader(path: Path, display: str, mapping, strict, opts: ReadOptions) -> Frames of that one file, before
# cross-file joining (use read_file/read_paths, which also join and check N).
READERS: dict[str, Callable[..., Frames]] = {
    "csv": _tidy("csv"),
    "jsonl": _tidy("jsonl"),
    "parquet": _columnar("parquet"),
    "arrow": _columnar("arrow"),
    "wandb-table": _wandb("wandb-table"),
    "wandb-api-runs": _wandb("wandb-api-runs"),
    "wandb-api-history": _wandb("wandb-api-history"),
    "wandb-panel": _wandb("wandb-panel"),
    "wandb-run": _wandb_run,
    "tensorboard": _tensorboard,
    "mlflow": _mlflow("mlflow"),
    "mlflow-sqlite": _mlflow("mlflow-sqlite"),
}


def _reader_names() -> str:
    return ", ".join(READERS)


def expand(paths: list, reader: str | None = None, warnings: list[str] | None = None,
           strict: bool = False, experiments=()) -> list[tuple[Path, str, str]]:
    """(path, display, reader) for every file to read (see :mod:`scalecli.ingest.walk`):
    directories walked, unreadable entries skipped with a line in ``warnings``, files with the
    same bytes read once; only the MLflow runs of ``experiments`` when named."""
    from .mlflow import choose, split_names
    from .walk import expand as walk

    if reader is not None and reader not in READERS:
        raise InputError(f"unknown reader {clip(reader)!r}; readers are: {_reader_names()}")
    return choose(walk(paths, reader, READERS, warnings, strict), split_names(experiments))


def read_raw(path: Path, display: str, reader: str, mapping=None, strict=False, *,
             need: tuple[str, ...] | frozenset[str] = ("N", "D"), digest: bool = False,
             experiments=()) -> Frames:
    """One file's frames before cross-file joining (what the store keeps per file).
    ``need``, ``digest`` and ``experiments``: see :class:`ReadOptions`. A gzip/zstd-compressed
    file is read decompressed (see :mod:`.compressed`); its hash is then the compressed file's."""
    from .compressed import plain
    from .mlflow import split_names

    with plain(path, display) as text:
        frames = READERS[reader](text, display, mapping, strict,
                                 ReadOptions(frozenset(need), digest and text == path,
                                             split_names(experiments)))
    if text != path and display in frames.files:
        frames.files[display].digest = None  # the store hashes the file itself
    return frames


def read_file(path, reader: str | None = None, mapping: dict[str, str] | None = None,
              strict: bool = False) -> Frames:
    """Read one log file (format detected unless ``reader`` is given)."""
    return read_paths([path], reader=reader, mapping=mapping, strict=strict)


def read_paths(paths: list, reader: str | None = None, mapping: dict[str, str] | None = None,
               strict: bool = False, need: tuple[str, ...] = ("N", "D"),
               experiments=(), listing: bool = False) -> Frames:
    """Read files and directories into one pair of frames, W&B runs joined across files.

    ``need`` names the roles every file must provide (default N and D); a law that uses
    neither (loss against dataset size, say) reads files without them. A path ``-`` is
    standard input (read once, however often it is given). ``listing``: W&B history-only runs
    still without N are kept, with a warning, instead of refused (what ``scalecli runs`` shows). ``experiments``: the MLflow
    experiments to read (a list, or names separated by commas; default all).
    """
    from .tally import collecting

    skipped: list[str] = []
    piped = [p for p in paths if str(p) == "-"]
    with collecting() as found:  # what a directory walk found and ignored, for a note
        files = expand([p for p in paths if str(p) != "-"], reader, skipped, strict,
                       experiments)
    parts = []
    for p, d, r in files:
        try:
            parts.append(read_raw(p, d, r, mapping, strict, need=need, experiments=experiments))
        except DamagedSource as exc:  # one dead run does not stop a sweep (unless --strict)
            if strict:
                raise StrictError(f"{exc} (refused: --strict)") from None
            skipped.append(f"{exc}; skipped")
    if piped:  # `-`: logs on standard input (see .stdin)
        from .stdin import read_stdin

        if reader is not None and reader not in READERS:
            raise InputError(f"unknown reader {clip(reader)!r}; readers are: {_reader_names()}")
        parts.append(read_stdin(lambda p, d, r: read_raw(p, d, r, mapping, strict, need=need),
                                reader))
    # a listing (``runs``) shows W&B history-only runs without N, with a warning; a fit refuses
    check = "ignore" if "N" not in need else "tidy" if listing else "all"
    frames = combine(parts, check=check, strict=strict, once=True)
    frames.warnings[:0] = skipped
    from .report import summarize

    frames.columns = summarize(frames.columns)
    frames.notes[:0] = found.lines()
    return frames


def concat(parts: list[Frames]) -> Frames:
    import polars as pl

    from .shape import RUNS_SCHEMA, empty_history

    runs = [p.runs for p in parts if p.runs.width]
    hist = [p.history for p in parts if p.history.height]
    files: dict[str, FileInfo] = {}
    for p in parts:
        files.update(p.files)
    return Frames(
        runs=pl.concat(runs, how="diagonal_relaxed") if runs else pl.DataFrame(schema=RUNS_SCHEMA),
        history=pl.concat(hist, how="diagonal_relaxed") if hist else empty_history(),
        warnings=[w for p in parts for w in p.warnings],
        columns=[c for p in parts for c in p.columns],
        files=files,
    )


def combine(parts: list[Frames], check: str = "all", strict: bool = False,
            once: bool = False) -> Frames:
    """Concatenate per-file frames, join history-only W&B runs to their N, derive 6·N·D.

    A run that still has no N is refused (ColumnError naming run, file and the columns found)
    when ``check`` is "all"; "tidy" lets W&B history-only runs wait (with a warning) for a runs
    file a later ingest brings; "none" (loading a store) only warns; "ignore" (a law without N) says nothing.
    With ``once``, a run equal to one from another file (same name, values and history) is
    counted once, and a name shared by different runs is said (see :mod:`~.twins`).
    """
    from .twins import count_once

    frames = concat(parts) if len(parts) != 1 else parts[0]
    frames.runs, frames.history = join_runs(frames.runs, frames.history)
    if once:
        frames.runs, frames.history = count_once(frames.runs, frames.history, frames.warnings,
                                                 strict)
    for fmt, text in no_size(frames) if check != "ignore" else ():
        if check == "all" or (check == "tidy" and fmt not in HISTORY_ONLY):
            raise ColumnError(text)
        frames.warnings.append(text)
    return frames


def join_runs(runs: pl.DataFrame, history: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """History-only W&B runs take N, D and config from the W&B run with the same run_id (or,
    when a panel export knows only names, the same unique name); rows of one run_id merge."""
    import polars as pl

    if not runs.height:
        return runs, history
    orphan = pl.col(S.N).is_null() & pl.col(S.FORMAT).is_in(HISTORY_ONLY)
    known = pl.col(S.N).is_not_null() & pl.col(S.FORMAT).is_in(WANDB_FORMATS)
    if runs.select(orphan.any()).item():
        ids = set(runs.filter(known)[S.RUN_ID].to_list())
        cand = runs.filter(known).group_by(S.NAME).agg(pl.col(S.RUN_ID).unique())
        cand = cand.filter(pl.col(S.RUN_ID).list.len() == 1)
        by_name = dict(zip(cand[S.NAME].to_list(), cand[S.RUN_ID].list.first().to_list(),
                           strict=True))
        old, new = [], []
        for rid, name in runs.filter(orphan).select(S.RUN_ID, S.NAME).iter_rows():
            if rid not in ids and name in by_name:
                old.append(rid)
                new.append(by_name[name])
        if old:
            runs = runs.with_columns(pl.col(S.RUN_ID).replace(old, new))
            history = history.with_columns(pl.col(S.RUN_ID).replace(old, new))
    if runs[S.RUN_ID].is_duplicated().any():
        runs = (runs.with_row_index("__o")
                .sort(pl.col(S.N).is_null(), "__o")
                .group_by(S.RUN_ID, maintain_order=True)
                .agg(pl.all().drop_nulls().first())
                .sort("__o").drop("__o"))
    derive = pl.col(S.C).is_null() & pl.col(S.N).is_not_null() & pl.col(S.D).is_not_null()
    if runs.select(derive.any()).item():
        runs = runs.with_columns(
            pl.when(derive).then(6.0 * pl.col(S.N) * pl.col(S.D)).otherwise(pl.col(S.C))
            .alias(S.C),
            pl.when(derive).then(True).otherwise(pl.col(S.C_DERIVED)).alias(S.C_DERIVED),
        )
    return runs, history


def no_size(frames: Frames) -> list[tuple[str, str]]:
    """(format, message) per file that has runs without N."""
    import polars as pl

    from .shape import columns_found

    bad = frames.runs.filter(pl.col(S.N).is_null())
    out = []
    for (source,), grp in bad.group_by(S.SOURCE, maintain_order=True):
        names = grp[S.NAME].to_list()
        who = f"run {clip(names[0])!r}" + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")
        info = frames.files.get(source)
        found = columns_found(info.columns) if info else "unknown"
        fmt, hint = grp[S.FORMAT][0], ""
        if fmt in HISTORY_ONLY:
            hint = (" W&B history and panel exports carry no N: read the W&B runs export "
                    "(runs-table CSV or API runs dump) with it, or")
        text = (f"{source}: {who} has no model size (N); columns found: {found}.{hint} name the "
                "N column with --map N=col")
        out.append((fmt, text))
    return out
