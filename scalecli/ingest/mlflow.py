"""MLflow tracking stores, read without MLflow: the ``mlruns/`` file store, where a run is a
directory, and the SQLite store (``mlflow.db``), one file holding many runs.

File store (one source per run directory; the walk finds them, see :func:`is_run`)::

    mlruns/<experiment_id>/meta.yaml              name: <experiment name>
    mlruns/<experiment_id>/<run_id>/meta.yaml     run_name, status, lifecycle_stage
        params/<key>            the value as text (MLflow keeps every param as a string)
        tags/<key>              mlflow.runName and the user's tags
        metrics/<name>          "<timestamp_ms> <value> <step>" per line; a "/" in a metric's
                                name is a sub-folder (metrics/train/loss)

SQLite store: tables ``experiments``, ``runs``, ``params``, ``tags`` and ``metrics`` (key,
value, timestamp, step, run_uuid, is_nan), read with the standard library's sqlite3.

Both become one wide table, one row per (run, step), metrics logged at one step side by side
and params (numbers read as numbers) as constant columns, then go through the shared
:func:`~scalecli.ingest.finish`, so roles, validation and the column report are those of every
reader. A token counter logged as a metric (``tokens_seen``) is D rather than a planned
``total_tokens`` param: it is what was trained, step by step.

Module level imports stay light (the walk and the store's change detection use the layout
helpers); polars is imported where a run is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .. import schema as S
from ..errors import DamagedSource, InputError, clip

if TYPE_CHECKING:  # (detect and walk import this module while the package initialises)
    import polars as pl

    from . import Frames, ReadOptions

RUN_KEY = "mlflow.run_id"  # columns of the wide table that key and name runs
RUN_NAME = "mlflow.runName"
STEP = "step"
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_EXT = (".db", ".sqlite", ".sqlite3")
TABLES = {"experiments", "runs", "params", "metrics", "tags"}


# ---- the file store's layout (no polars) ---------------------------------------------------
def is_run(folder: Path) -> bool:
    """A run directory: ``meta.yaml`` beside ``metrics/`` or ``params/`` (an experiment folder
    has a ``meta.yaml`` too, but neither)."""
    return (folder / "meta.yaml").is_file() and (
        (folder / "metrics").is_dir() or (folder / "params").is_dir())


def meta(path: Path) -> dict[str, str]:
    """The flat ``key: value`` lines of an MLflow ``meta.yaml`` (values unquoted); {} if it
    cannot be read. A tiny parser, not YAML: these files are one level of scalars."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and not key[0].isspace():
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            out[key.strip()] = value
    return out


def live(run: Path) -> bool:
    """Not deleted (a deleted run stays in place, marked ``lifecycle_stage: deleted``), nor in a
    deleted experiment."""
    return (meta(run / "meta.yaml").get("lifecycle_stage", "active") != "deleted"
            and meta(run.parent / "meta.yaml").get("lifecycle_stage", "active") != "deleted")


def experiment_of(run: Path) -> str:
    """The name of the experiment a run directory belongs to (its folder's id if unnamed)."""
    return meta(run.parent / "meta.yaml").get("name") or run.parent.name


def members(run: Path) -> list[Path]:
    """The files a run is read from (``artifacts/`` is not): what the store sizes and hashes."""
    out = [run / "meta.yaml"]
    for part in ("params", "tags", "metrics"):
        for top, dirs, files in os.walk(run / part):
            dirs.sort()
            out += [Path(top) / f for f in sorted(files)]
    return out


def is_db(path: Path) -> bool:
    """An SQLite file (by its header) holding MLflow's tables, or too damaged to tell (the
    reader then says what is wrong, rather than the walk passing over it in silence)."""
    if not _sqlite(path):
        return False
    try:
        return TABLES <= _tables(path)
    except DamagedSource:
        return True


def _sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


# ---- choosing experiments ------------------------------------------------------------------
def split_names(experiments) -> tuple[str, ...]:
    """``--experiment a --experiment b,c`` -> ("a", "b", "c")."""
    if not experiments:
        return ()
    items = [experiments] if isinstance(experiments, str) else list(experiments)
    names = [n.strip() for item in items for n in str(item).split(",")]
    return tuple(dict.fromkeys(n for n in names if n))


def choose(found: list, experiments: tuple[str, ...]) -> list:
    """Only the MLflow runs (and SQLite stores) of the named experiments; other logs stay.
    A name no store holds is an error listing the experiments found."""
    if not experiments:
        return found
    names: dict[str, None] = {}
    out = []
    for path, display, reader in found:
        if reader == "mlflow":
            name = experiment_of(path)
            names[name] = None
            if name in experiments:
                out.append((path, display, reader))
        elif reader == "mlflow-sqlite":
            held = set(db_experiments(path, display))
            names.update(dict.fromkeys(sorted(held)))
            if held & set(experiments):
                out.append((path, display, reader))
        else:
            out.append((path, display, reader))
    unknown = [n for n in experiments if n not in names]
    if unknown:
        listed = ", ".join(repr(n) for n in names) if names else "none (no MLflow store here)"
        raise InputError(f"--experiment {clip(unknown[0])!r}: no MLflow runs in an experiment "
                         f"of that name; experiments found with runs: {listed}")
    return out


# ---- the file store ------------------------------------------------------------------------
def read_run(path: Path, display: str, mapping=None, strict: bool = False,
             opts: ReadOptions | None = None) -> Frames:
    """One run directory of the file store: its params, tags and metric histories."""
    import polars as pl

    from . import DEFAULT

    opts = opts or DEFAULT
    info = meta(path / "meta.yaml")
    if not info:
        raise DamagedSource("an MLflow run without a readable meta.yaml", display)
    run_id = info.get("run_id") or path.name
    params = _texts(path / "params")
    tags = _texts(path / "tags")
    name = tags.get("mlflow.runName") or info.get("run_name") or run_id
    metrics = _metric_files(path)
    if not metrics:
        raise DamagedSource(f"MLflow run {clip(name)!r} has no metrics", display)
    wide = _read_metrics(path, display, name, metrics)
    if not wide.height:
        raise DamagedSource(f"MLflow run {clip(name)!r} has no metric values", display)
    config = _config({k: v for k, v in tags.items() if not k.startswith("mlflow.")}, params)
    df = wide.with_columns(pl.lit(run_id).alias(RUN_KEY), pl.lit(name).alias(RUN_NAME),
                           *[pl.lit(_number(v)).alias(k) for k, v in config.items()
                             if k not in wide.columns])
    return _finish(df, display, "mlflow", mapping, strict, opts, list(metrics))


def _number(text: str):
    """A param's text as MLflow logged it: a number if it is one (as Float64, like every
    reader's numbers), else the text."""
    try:
        return float(text)
    except ValueError:
        return text


def _texts(folder: Path) -> dict[str, str]:
    """``params/<key>`` or ``tags/<key>`` files: key -> text (keys with a "/" are folders)."""
    out = {}
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            p = Path(top) / f
            try:
                out[p.relative_to(folder).as_posix()] = p.read_text(encoding="utf-8",
                                                                    errors="replace").strip()
            except OSError:
                continue
    return out


def _metric_files(run: Path) -> dict[str, Path]:
    root = run / "metrics"
    out = {}
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = Path(top) / f
            out[p.relative_to(root).as_posix()] = p
    return out


METRIC_SCHEMA = {"timestamp": "Int64", "value": "Float64", STEP: "Int64"}


def _read_metrics(run: Path, display: str, name: str, files: dict[str, Path]) -> pl.DataFrame:
    """Every metric file of a run in one polars parse, then one row per step, a column per
    metric (metrics logged at one step side by side; a step logged twice keeps its last value,
    MLflow's own "latest" rule). A line that is not ``<timestamp> <value> <step>`` is a damaged
    run, named with its line."""
    import numpy as np
    import polars as pl

    chunks, counts = [], []
    for key, p in files.items():
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise DamagedSource(f"MLflow run {clip(name)!r}: metric {clip(key)!r} cannot be "
                                f"read ({exc.strerror})", display) from None
        if data and not data.endswith(b"\n"):
            data += b"\n"
        chunks.append(data)
        counts.append(data.count(b"\n"))
    schema = {k: getattr(pl, v) for k, v in METRIC_SCHEMA.items()}
    try:
        df = pl.read_csv(b"".join(chunks), separator=" ", has_header=False, schema=schema)
    except Exception:  # noqa: BLE001 - polars raises several types; the bad line is found below
        df = None
    if df is None or df.height != sum(counts) or df.null_count().sum_horizontal().item():
        _find_bad_line(run, display, name, files, chunks)
    steps, values = df[STEP].to_numpy(), df["value"].to_numpy()
    ends = np.cumsum(counts)
    blocks = []  # each metric's rows are one block of the parse, in file (= logging) order
    for key, end, n in zip(files, ends, counts, strict=True):
        st, va = steps[end - n:end], values[end - n:end]
        if n > 1 and not (np.diff(st) > 0).all():  # unsorted or repeated steps
            last = st.size - 1 - np.unique(st[::-1], return_index=True)[1]
            st, va = st[last], va[last]
        if n:
            blocks.append((key, st, va))
    if blocks and all(b[1].size == blocks[0][1].size and (b[1] == blocks[0][1]).all()
                      for b in blocks):
        return pl.DataFrame({STEP: blocks[0][1], **{k: v for k, _, v in blocks}})
    every = np.unique(np.concatenate([b[1] for b in blocks])) if blocks else np.array([], int)
    cols, missing = {STEP: every}, {}
    for key, st, va in blocks:
        at = np.searchsorted(every, st)
        col = np.full(every.size, np.nan)
        col[at] = va
        cols[key] = col
        if st.size < every.size:
            gap = np.ones(every.size, dtype=bool)
            gap[at] = False
            missing[key] = gap
    wide = pl.DataFrame(cols)
    if missing:  # steps a metric was not logged at are empty (null), not NaN (logged NaN)
        wide = wide.with_columns(pl.when(pl.Series(gap)).then(None).otherwise(pl.col(key))
                                 .alias(key) for key, gap in missing.items())
    return wide


def _find_bad_line(run, display, name, files, chunks) -> None:
    """The first line of the run's metric files that does not parse (the rare, slow path)."""
    for (key, p), data in zip(files.items(), chunks, strict=True):
        for i, line in enumerate(data.decode("utf-8", errors="replace").split("\n")[:-1], 1):
            parts = line.split()
            try:
                ok = len(parts) == 3 and int(parts[0]) is not None and float(parts[1]) is not None \
                    and int(parts[2]) is not None
            except ValueError:
                ok = False
            if not ok:
                where = os.path.join(display, "metrics", key)
                raise DamagedSource(f"MLflow run {clip(name)!r}: line {i} of metric "
                                    f"{clip(key)!r} is {clip(line)}, not '<timestamp> <value> "
                                    "<step>'", where)
    raise DamagedSource(f"MLflow run {clip(name)!r}: its metric files cannot be read", display)


def _wide(long: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """(run, metric, step, value) -> one row per (run, step), one column per metric; a metric
    logged twice at one step keeps its last value (MLflow's own "latest" rule)."""
    import polars as pl

    long = long.unique([RUN_KEY, "metric", STEP], keep="last", maintain_order=True)
    wide = long.pivot(on="metric", index=[RUN_KEY, STEP], values="value",
                      aggregate_function=None, maintain_order=True)
    rename = {c: names[int(c)] for c in wide.columns if c not in (RUN_KEY, STEP)}
    return wide.rename(rename).sort(RUN_KEY, STEP, maintain_order=True).select(
        RUN_KEY, STEP, *[pl.col(n) for n in names if n in rename.values()])


def _config(tags: dict[str, str], params: dict[str, str]) -> dict[str, str]:
    """Params, and the user's tags that no param already names (tags may repeat them)."""
    return {**{k: v for k, v in tags.items() if k not in params}, **params}


def _typed(df: pl.DataFrame) -> pl.DataFrame:
    """MLflow keeps params as text: a column whose every value is a number reads as numbers
    (Float64, as every reader's numbers); any other text stays text."""
    import polars as pl

    out = []
    for c in df.columns:
        if c == RUN_KEY:
            continue
        f = df[c].str.strip_chars().cast(pl.Float64, strict=False)
        if not (f.is_null() & df[c].is_not_null()).any():
            out.append(f)
    return df.with_columns(out) if out else df


def _finish(df: pl.DataFrame, display: str, fmt: str, mapping, strict: bool,
            opts: ReadOptions, metrics: list[str], warnings: list[str] | None = None) -> Frames:
    from . import finish
    from .shape import Spec, build
    from .tabular import Table

    mapping = dict(mapping or {})
    if "D" not in mapping and (counter := S.resolve("D", metrics)):
        mapping["D"] = counter  # the logged token counter, not a planned total (see above)
    table = Table(df, lambda idx: [None for _ in idx], None, list(warnings or []))
    spec = Spec(display, fmt, mapping, strict, run_col=RUN_KEY, name_col=RUN_NAME,
                id_prefix="mlflow:", shape="steps")
    return finish(table, spec, build, opts)


# ---- the SQLite store ----------------------------------------------------------------------
def _connect(path: Path, display: str):
    import sqlite3

    try:
        return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DamagedSource(f"cannot open the SQLite store ({exc})", display) from None


def _tables(path: Path, display: str | None = None) -> set[str]:
    import sqlite3

    con = _connect(path, display or str(path))
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error as exc:
        raise DamagedSource(f"a damaged SQLite store ({exc})", display or str(path)) from None
    finally:
        con.close()
    return {r[0] for r in rows}


def db_experiments(path: Path, display: str) -> list[str]:
    """The names of the active experiments of an SQLite store."""
    import sqlite3

    con = _connect(path, display)
    try:
        return [r[0] for r in con.execute(
            "SELECT name FROM experiments WHERE lifecycle_stage != 'deleted' "
            "ORDER BY experiment_id")]
    except sqlite3.Error as exc:
        raise DamagedSource(f"a damaged MLflow SQLite store ({exc})", display) from None
    finally:
        con.close()


def read_db(path: Path, display: str, mapping=None, strict: bool = False,
            opts: ReadOptions | None = None) -> Frames:
    """An SQLite tracking store: every active run of the chosen (default: all) experiments."""
    import sqlite3

    from . import DEFAULT

    opts = opts or DEFAULT
    if not _sqlite(path):
        raise InputError("not an SQLite database (an MLflow store such as mlflow.db is one)",
                         display)
    con = _connect(path, display)
    try:
        return _read_db(con, display, mapping, strict, opts)
    except sqlite3.Error as exc:
        raise DamagedSource(f"a damaged MLflow SQLite store ({exc})", display) from None
    finally:
        con.close()


def _read_db(con, display, mapping, strict, opts) -> Frames:
    import polars as pl

    runs = _query(con, "SELECT r.run_uuid, r.name, e.name FROM runs r JOIN experiments e "
                  "ON r.experiment_id = e.experiment_id WHERE r.lifecycle_stage != 'deleted' "
                  "AND e.lifecycle_stage != 'deleted' ORDER BY r.start_time, r.run_uuid",
                  {RUN_KEY: pl.String, RUN_NAME: pl.String, "experiment": pl.String})
    if opts.experiments:
        runs = runs.filter(pl.col("experiment").is_in(list(opts.experiments)))
    if not runs.height:
        raise DamagedSource("no MLflow runs in this store" + (
            f" in experiment(s) {', '.join(opts.experiments)}" if opts.experiments else ""),
            display)
    ids = runs[RUN_KEY].to_list()
    where, args = _in_runs(ids, len(runs) != _count(con))
    long = _query(con, f"SELECT run_uuid, key, step, value, is_nan FROM metrics{where} "
                  "ORDER BY run_uuid, key, step, timestamp", {
                      RUN_KEY: pl.String, "key": pl.String, STEP: pl.Int64,
                      "value": pl.Float64, "is_nan": pl.Boolean}, args)
    long = long.with_columns(pl.when(pl.col("is_nan")).then(float("nan"))
                             .otherwise(pl.col("value")).alias("value"))
    warnings = []
    empty = runs.join(long.select(RUN_KEY).unique(), on=RUN_KEY, how="anti")
    for rid, name in empty.select(RUN_KEY, RUN_NAME).iter_rows():
        warnings.append(f"{display}: MLflow run {clip(name or rid)!r} ({rid}) has no metrics; "
                        "skipped")
    if not long.height:
        raise DamagedSource("no MLflow run here has metrics", display)
    names = long["key"].unique(maintain_order=True).sort().to_list()
    long = long.with_columns(pl.col("key").replace_strict(names, list(range(len(names))),
                                                          return_dtype=pl.UInt32).alias("metric"))
    wide = _wide(long.select(RUN_KEY, "metric", STEP, "value"), names)
    params = _query(con, f"SELECT run_uuid, key, value FROM params{where}",
                    {RUN_KEY: pl.String, "key": pl.String, "value": pl.String}, args)
    tags = _query(con, f"SELECT run_uuid, key, value FROM tags{where}",
                  {RUN_KEY: pl.String, "key": pl.String, "value": pl.String}, args)
    run_names = tags.filter(pl.col("key") == "mlflow.runName").select(
        RUN_KEY, pl.col("value").alias("__tagname"))
    tags = tags.filter(~pl.col("key").str.starts_with("mlflow."))
    tags = tags.join(params.select(RUN_KEY, "key"), on=[RUN_KEY, "key"], how="anti")
    config = pl.concat([tags, params])
    if config.height:
        config = _typed(config.pivot(on="key", index=RUN_KEY, values="value",
                                     aggregate_function="last"))
    named = runs.join(run_names, on=RUN_KEY, how="left").select(
        RUN_KEY, pl.coalesce("__tagname", RUN_NAME, RUN_KEY).alias(RUN_NAME))
    df = wide.join(named, on=RUN_KEY, how="left")
    if config.height:
        df = df.join(config, on=RUN_KEY, how="left")
    order = pl.col(RUN_KEY).replace_strict(ids, list(range(len(ids))), return_dtype=pl.Int64)
    df = df.sort(order, STEP, maintain_order=True)
    return _finish(df, display, "mlflow-sqlite", mapping, strict, opts, names, warnings)


def _count(con) -> int:
    return con.execute("SELECT count(*) FROM runs").fetchone()[0]


def _in_runs(ids: list[str], some: bool) -> tuple[str, tuple]:
    """A WHERE clause for the chosen runs (none when every run is read)."""
    if not some:
        return "", ()
    return f" WHERE run_uuid IN ({','.join('?' * len(ids))})", tuple(ids)


def _query(con, sql: str, schema: dict, args: tuple = ()) -> pl.DataFrame:
    """A query's rows as a frame, fetched in batches (columns built per batch, not per row)."""
    import polars as pl

    cur = con.execute(sql, args)
    parts = []
    while rows := cur.fetchmany(200_000):
        cols = list(zip(*rows, strict=True))
        parts.append(pl.DataFrame({k: pl.Series(k, c, dtype=t, strict=False)
                                   for (k, t), c in zip(schema.items(), cols, strict=True)}))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts) if len(parts) > 1 else parts[0]


READERS = {"mlflow": read_run, "mlflow-sqlite": read_db}
