"""From one wide table (a file's columns) to the normalized runs and history frames.

Every tidy reader and the W&B readers end here, so the rules live in one place: which column
plays which role, which cells are refused (not a number, N <= 0, negative tokens), which are
warned about and dropped (NaN/inf), whether the table is one row per run or one row per logged
step, and, in step shape, which columns are per-run config and which are metrics.
All of it is vectorized polars; Python only touches the few bad rows it must name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .. import schema as S
from ..errors import ColumnError, InputError, clip
from .cells import check_loss, check_values, coerce, rows_of
from .tabular import Table

ROLES = ("N", "D", "C", "step", "lr", "batch_size")
LOSS_NAMES = {a.lower() for a in S.ALIASES["loss"]}


def lossy(col: str) -> bool:
    """Loss-like columns (``loss``, ``eval/loss``, ``loss_c4_val``) are metrics, never config."""
    return col.lower() in LOSS_NAMES or "loss" in col.lower()


@dataclass
class Spec:
    """How to read one table: who it is for (display path, reader) and the reader's knowledge."""

    display: str
    fmt: str
    mapping: dict[str, str] | None = None
    strict: bool = False
    run_col: str | None = None  # the column that keys runs; None: resolve the "run" role
    name_col: str | None = None  # a separate display-name column (W&B run_name)
    id_prefix: str | None = None  # run_id = prefix + key; None: "<display>::"
    shape: str | None = None  # "runs" forces one row per run, "steps" one row per step
    need_n: bool = True
    need_d: bool = True
    ignore_prefix: str | None = None  # e.g. "_" for W&B internals (_runtime, _timestamp)
    single_run: str | None = None  # name of the one run when no run column exists
    loss_col: str | None = None  # the column of the loss role (its final value must be > 0)
    scales: dict[str, str] = field(default_factory=dict)  # role -> "*1e6" (--map N=col*1e6)
    params: str = "total"  # N derived from the config counts these (see .derive)
    derived: dict = field(default_factory=dict)  # role -> derive.Derived, when not logged
    check: object = None  # called (raw df, checked df) before shaping: see ingest.batch
    warnings: list[str] = field(default_factory=list)


def columns_found(cols: list[str]) -> str:
    shown = ", ".join(clip(c) for c in cols[:30])
    return shown if len(cols) <= 30 else shown + f", ... ({len(cols)})"


def resolve_roles(cols: list[str], spec: Spec) -> dict[str, str | None]:
    """Role -> column, by ``--map`` then the alias table; a mapped column that is absent fails."""
    mapping = spec.mapping or {}
    for role, col in mapping.items():
        if role in S.SETTINGS:
            continue
        optional = not spec.need_n or (role == "run" and spec.run_col)
        if S.resolve(role, cols, mapping) is None and not optional:
            raise ColumnError(f"--map {role}={clip(col)}: no column {clip(col)!r}; columns found: "
                              f"{columns_found(cols)}", spec.display)
    roles = {r: S.resolve(r, cols, mapping) for r in ROLES}
    roles["run"] = spec.run_col or S.resolve("run", cols, mapping)
    _derive(cols, spec, roles)
    d_from_c = roles["C"] is not None and roles["N"] is not None  # D = C / (6·N), see build
    missing = [r for r, need in (("N", spec.need_n), ("D", spec.need_d and not d_from_c))
               if need and not roles[r]]
    if missing:
        what = " and ".join({"N": "model size (N)", "D": "tokens (D)"}[r] for r in missing)
        raise ColumnError(f"no {what} column; columns found: {columns_found(cols)}. Name them "
                          "with --map N=col,D=col", spec.display)
    return roles


def _derive(cols: list[str], spec: Spec, roles: dict) -> None:
    """N and D the log does not give, from its config (see :mod:`.derive`); said as derived."""
    from . import derive

    if not roles["N"] and (der := derive.params(cols, spec.params)):
        spec.derived["N"] = der
        roles["N"] = der.column
    if not roles["D"] and not roles["C"] and (der := derive.tokens(cols, roles["step"])):
        spec.derived["D"] = der
        roles["D"] = der.column


DERIVED_COLUMNS = {"N": S.N_DERIVED, "D": S.D_DERIVED}


def build(table: Table, spec: Spec):
    """The runs and history frames (and a one-line column report) of one table."""
    from . import Frames

    cols = list(table.df.columns)
    roles = resolve_roles(cols, spec)
    if spec.ignore_prefix:
        keep = {v for v in roles.values() if v} | {spec.name_col}
        drop = [c for c in cols if c.startswith(spec.ignore_prefix) and c not in keep]
        table.df = table.df.drop(drop)
    loss = [c for c in table.df.columns if lossy(c)]
    spec.loss_col = S.resolve("loss", list(table.df.columns), spec.mapping)
    mapped = (spec.mapping or {}).get("loss")
    if mapped and (hit := S.resolve("loss", cols, spec.mapping)) and hit not in loss:
        loss.append(hit)
    # must be numbers: the roles and the loss aliases (a text "loss_fn" config column is fine)
    numeric = {v for k, v in roles.items() if v and k != "run"}
    numeric |= {c for der in spec.derived.values() for c in der.inputs}
    numeric |= {c for c in loss if c.lower() in LOSS_NAMES or c.lower() == str(mapped).lower()}
    df = coerce(table, spec, numeric, {roles["run"], spec.name_col}, roles["step"])
    if spec.derived:
        df = df.with_columns(der.expr.alias(der.column) for der in spec.derived.values())
    df = _scaled(df, spec, roles, cols)
    df = check_values(df, table, spec, roles)
    if spec.check is not None:
        spec.check(table.df, df)
    if roles["D"] is None and roles["C"] and roles["N"]:
        # Logged compute but no tokens (e.g. Epoch AI's Chinchilla data): D = C / (6·N).
        df = df.with_columns((pl.col(roles["C"]) / (6.0 * pl.col(roles["N"]))).alias(D_FROM_C))
        roles["D"] = D_FROM_C
    run = roles["run"]
    if run is None and spec.single_run is None and roles["step"] and roles["N"] and (
        df[roles["N"]].drop_nulls().n_unique() == 1 and df[roles["step"]].n_unique() > 1
    ):
        spec.single_run = Path(spec.display).stem  # one run's log: a step column, one size
    if run is None:
        run = "__run"
        name = (pl.lit(spec.single_run) if spec.single_run
                else pl.format("row{}", pl.int_range(1, pl.len() + 1)))
        df = df.with_columns(name.alias(run))
    else:
        df = df.with_columns(pl.col(run).cast(pl.String))
        if df[run].null_count():
            row = df[run].is_null().arg_true()[0]
            raise InputError(f"no run name in column {clip(run)!r}", spec.display,
                             table.line_of([row])[0], table.unit)
    if spec.shape == "runs":
        if df[run].n_unique() < df.height:  # one row per run, but a name repeats
            nth = pl.int_range(1, pl.len() + 1).over(run)
            df = df.with_columns(pl.when(nth > 1).then(pl.format("{}#{}", pl.col(run), nth))
                                 .otherwise(pl.col(run)).alias(run))
        frames = _runs(df, table, spec, roles, run, loss)
    else:  # decides itself: if no run name repeats, the table is one row per run
        frames = _steps(df, table, spec, roles, run, loss)
    return Frames(runs=frames[0], history=frames[1], warnings=spec.warnings,
                  columns=[frames[2]])


def _warn_unordered_repeats(df, spec: Spec, run: str, d: str | None) -> None:
    """Names that repeat with neither a step column nor a growing token count to order their
    rows: read as one run's log in file order, which a sweep of runs sharing names is not."""
    twice = (df.group_by(run, maintain_order=True)
             .agg(pl.len().alias("_rows"), (pl.col(d).n_unique() if d else pl.lit(1)).alias("_d"))
             .filter(pl.col("_rows") > 1))
    if twice.height and (twice["_d"] <= 1).all():
        spec.warnings.append(
            f"{spec.display}: {twice.height} run name(s) repeat (e.g. {clip(str(twice[run][0]))!r}"
            f", {twice['_rows'][0]} rows) and there is no step column: each name's rows are read "
            "as one run's log in file order, its last row its final values; if every row is a "
            "run of its own, give each its own name")


def _scaled(df, spec: Spec, roles: dict, cols: list[str]):
    """N, D and C mapped as ``col*1e6`` (``--map N=params_m*1e6``) read in their units; the
    factor is kept in ``spec.scales`` for the column report."""
    for role in S.SCALED_ROLES:
        given = (spec.mapping or {}).get(role)
        col = roles[role]
        if not given or not col:
            continue
        factor = S.split_scale(given, cols)[1]
        if factor != 1.0:
            df = df.with_columns(pl.col(col) * factor)
            spec.scales[role] = "".join(given.rsplit(col, 1)[-1].split()) or f"*{factor:g}"
    return df


D_FROM_C = "C/(6·N)"  # the name a derived D column goes by in the column report


def _prefix(spec: Spec) -> str:
    return spec.display + "::" if spec.id_prefix is None else spec.id_prefix


def _id(spec: Spec, run: str) -> pl.Expr:
    return (pl.lit(_prefix(spec)) + pl.col(run)).alias(S.RUN_ID)


def _name(spec: Spec, run: str) -> pl.Expr:
    col = spec.name_col if spec.name_col else run
    return pl.col(col).cast(pl.String).fill_null(pl.col(run)).alias(S.NAME)


def _extra(c: str) -> str:
    return f"file:{c}" if c in S.RUN_COLUMNS else c


def _fixed(spec: Spec, roles: dict) -> list[pl.Expr]:
    def num(role):
        return (pl.col(roles[role]) if roles[role] else pl.lit(None)).cast(pl.Float64)

    flops = num("C")
    derived = 6.0 * num("N") * num("D")
    return [pl.lit(spec.display).alias(S.SOURCE), pl.lit(spec.fmt).alias(S.FORMAT),
            num("N").alias(S.N), num("D").alias(S.D),
            pl.coalesce(flops, derived).alias(S.C),
            pl.when(flops.is_not_null()).then(False)
            .when(derived.is_not_null()).then(True).alias(S.C_DERIVED),
            *[pl.lit(der.rule).alias(DERIVED_COLUMNS[role]) for role, der in spec.derived.items()]]


def _report(spec: Spec, roles: dict, run: str, metrics: list[str], config: list[str],
            ignored: list[str], shape: str) -> str:
    parts = [f"run={roles['run'] or '(' + run.lstrip('_') + ')'}"]
    for r in ("N", "D", "C", "step", "lr", "batch_size"):
        if roles[r]:
            parts.append(f"{r}={roles[r]}{spec.scales.get(r, '')}")
    missing = [r for r in ("N", "D") if not roles[r]]
    if not roles["C"]:  # 6·N·D is claimed only where this file gives both
        parts.append(f"C=none (no {' or '.join(missing)} in this file)" if missing else "C=6·N·D")
    text = f"{spec.display} [{spec.fmt}, {shape}]: " + " ".join(parts)
    text += " metrics: " + (", ".join(metrics) or "none")
    if config:
        text += "; config: " + ", ".join(config[:12]) + (" ..." if len(config) > 12 else "")
    if ignored:
        text += "; ignored: " + ", ".join(ignored)
    for der in spec.derived.values():
        text += f"; derived: {der.rule}"
    return text


def _check_final(runs: pl.DataFrame, spec: Spec, table: Table, df: pl.DataFrame, run: str,
                 step: str | None = None):
    """N (if known), D and C of every run must be positive; D must be known for tidy files;
    the final loss must be positive."""
    def key_of(bad: pl.DataFrame) -> str:
        return bad[S.RUN_ID][0][len(_prefix(spec)):]

    for col, what, need in ((S.D, "final tokens (D)", spec.need_d), (S.C, "FLOPs (C)", False)):
        bad = runs.filter((pl.col(col) <= 0) | (pl.col(col).is_null() & need))
        if bad.height:
            key, name = key_of(bad), bad[S.NAME][0]
            rows = rows_of(df[run] == key)
            line = table.line_of([rows[-1]])[0] if rows else None
            value = bad[col][0]
            say = "is missing" if value is None else f"is {value:g}, must be positive"
            raise InputError(f"run {clip(name)!r}: {what} {say}", spec.display, line, table.unit)
    loss = spec.loss_col
    check_loss(runs, df, table, spec, run, loss, loss and _extra(loss), step, key_of)


def _runs(df, table, spec, roles, run, loss):
    """One row per run: every other numeric column is a final metric or config value."""
    used = {v for v in roles.values() if v} | {run, spec.name_col}
    rest = [c for c in df.columns if c not in used]
    schema, losses = df.schema, set(loss)
    metrics = [c for c in rest if c in losses and schema[c] == pl.Float64]
    chosen = set(metrics)
    config = [c for c in rest if c not in chosen]
    runs = df.select(_id(spec, run), _name(spec, run), *_fixed(spec, roles),
                     *[pl.col(c).alias(_extra(c)) for c in metrics + config],
                     *[pl.col(roles[r]).alias(r if r not in rest else roles[r])
                       for r in ("step", "lr", "batch_size") if roles[r]])
    _check_final(runs, spec, table, df, run)
    history = empty_history()
    return runs, history, _report(spec, roles, run, metrics, config, [], "one row per run")


def _steps(df, table, spec, roles, run, loss):
    """One row per logged step: N constant per run, D = max tokens, finals = last logged.
    A numeric column constant within every run is config; one that varies is a metric."""
    n, d, c, step = roles["N"], roles["D"], roles["C"], roles["step"]
    used = {v for v in roles.values() if v} | {run, spec.name_col}
    rest = [k for k in df.columns if k not in used]
    schema, losses = df.schema, set(loss)  # (looked up once: a log may have 1000s of columns)
    num = {k for k in rest if schema[k] == pl.Float64}

    def last(k):  # the value at the largest step (sorting sorted data is nearly free)
        e = pl.col(k).sort_by(step, maintain_order=True) if step else pl.col(k)
        return e.drop_nulls().last()

    def spread(k):  # min != max: the column varies within the run (min/max skip nulls)
        return (pl.col(k).min() != pl.col(k).max()).fill_null(False).alias(f"__v{k}")

    aggs = [pl.len().alias("__rows")]
    if spec.name_col:
        aggs.append(pl.col(spec.name_col).drop_nulls().first().alias("__name"))
    if n:
        aggs += [pl.col(n).min().alias(n), pl.col(n).max().alias("__nmax")]
    aggs += [pl.col(k).max().alias(k) for k in (d, c) if k]
    for k in rest:
        if k in num:
            aggs.append(last(k).alias(f"__l{k}"))
        if k not in losses or k not in num:  # a text column named like a loss is config
            aggs += [spread(k), pl.col(k).drop_nulls().first().alias(f"__f{k}")]
    for r in ("lr", "batch_size"):
        if roles[r]:
            k = roles[r]
            aggs += [spread(k), pl.col(k).drop_nulls().first().alias(f"__f{k}"),
                     pl.col(k).max().alias(k)]
    per = df.group_by(run, maintain_order=True).agg(aggs)
    if spec.shape is None and per.height == df.height:  # no name repeats: one row per run
        return _runs(df, table, spec, roles, run, loss)
    if spec.shape is None and not step and not spec.single_run:
        _warn_unordered_repeats(df, spec, run, d)
    if n and (per[n] != per["__nmax"]).any():
        _two_sizes(df, table, spec, run, n, per)

    flags = [c for c in per.columns if c.startswith("__v")]
    anyv = per.select(pl.col(flags).any()).row(0) if flags else ()
    varied = {c[3:] for c, v in zip(flags, anyv, strict=True) if v}

    def varies(k):
        return k in varied

    metrics = [k for k in rest if k in num and (k in losses or varies(k))]
    chosen = set(metrics)
    config = [k for k in rest if k not in chosen and not varies(k)]
    ignored = [k for k in rest if k not in chosen and varies(k)]
    logged = [r for r in ("lr", "batch_size") if roles[r] and varies(roles[r])]
    name = pl.col("__name").fill_null(pl.col(run)) if spec.name_col else pl.col(run)
    runs = per.select(_id(spec, run), name.cast(pl.String).alias(S.NAME), *_fixed(spec, roles),
                      *[pl.col(f"__l{k}").alias(_extra(k)) for k in metrics],
                      *[pl.col(f"__f{k}").alias(_extra(k)) for k in config],
                      *[pl.col(roles[r] if r in logged else f"__f{roles[r]}")
                        .alias(r if r not in rest else roles[r])
                        for r in ("lr", "batch_size") if roles[r]])
    _check_final(runs, spec, table, df, run, step)
    keys = per[run]
    history = _history(df, spec, run, roles, metrics, logged, keys, runs[S.RUN_ID])
    report = _report(spec, roles, run, metrics, config, ignored, "one row per step")
    return runs, history, report


def _two_sizes(df, table, spec, run, n, per):
    name = per.filter(pl.col(n) != pl.col("__nmax"))[run][0]
    sub = df.with_row_index("__row").filter(pl.col(run) == name)
    sizes = sub[n].drop_nulls().unique(maintain_order=True).to_list()
    row = sub.filter(pl.col(n) == sizes[1])["__row"][0]
    raise InputError(f"run {clip(name)!r} has two model sizes, {sizes[0]:g} and {sizes[1]:g} (from "
                     f"{table.unit} {table.line_of([row])[0]}); give each size its own run "
                     "name, or name the run column with --map run=col", spec.display)


def _history(df, spec, run, roles, metrics, logged, keys, ids) -> pl.DataFrame:
    """Long form, one cheap select per metric (no unpivot copy of the index). run_id comes
    from a per-run lookup, which shares one string per run instead of building 1M strings."""
    step, d = roles["step"], roles["D"]
    rid = pl.col(run).replace_strict(keys, ids, return_dtype=pl.String).alias(S.RUN_ID)
    index = [rid,
             (pl.col(step).cast(pl.Int64, strict=False) if step else pl.lit(None, pl.Int64))
             .alias(S.STEP),
             (pl.col(d) if d else pl.lit(None, pl.Float64)).alias(S.D)]
    extra = [pl.col(roles[r]).alias(r) for r in ("lr", "batch_size") if r in logged]
    base = df.select(*index, *extra, *[pl.col(m).alias(f"__m{i}") for i, m in enumerate(metrics)])
    keep = [S.RUN_ID, S.STEP, S.D, *[r for r in ("lr", "batch_size") if r in logged]]
    parts = []
    for i, m in enumerate(metrics):
        part = base.select(*keep[:3], pl.lit(m).alias(S.METRIC), pl.col(f"__m{i}").alias(S.VALUE),
                           *keep[3:])
        if df[m].null_count():
            part = part.filter(pl.col(S.VALUE).is_not_null())
        parts.append(part)
    if "lr" in logged:  # the schedule: rows with an lr and no metric are kept as metric lr
        parts.append(_lr_only(base, keep, len(metrics)))
    if not parts:
        return empty_history()
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


def _lr_only(base: pl.DataFrame, keep: list[str], n_metrics: int) -> pl.DataFrame:
    """Rows that log the learning rate and no metric (the dense LR of a curve whose loss is
    logged every K steps), as rows of metric ``lr``: the curve laws read the schedule from
    them (:mod:`scalecli.analyses.curves`); a row with a metric carries its lr already."""
    none = pl.all_horizontal([pl.col(f"__m{i}").is_null() for i in range(n_metrics)]
                             ) if n_metrics else pl.lit(True)
    return base.filter(none & pl.col("lr").is_not_null()).select(
        *keep[:3], pl.lit("lr").alias(S.METRIC), pl.col("lr").alias(S.VALUE), *keep[3:])


def empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=HISTORY_SCHEMA)


HISTORY_SCHEMA = {S.RUN_ID: pl.String, S.STEP: pl.Int64, S.D: pl.Float64, S.METRIC: pl.String,
                  S.VALUE: pl.Float64}
RUNS_SCHEMA = {S.RUN_ID: pl.String, S.NAME: pl.String, S.SOURCE: pl.String, S.FORMAT: pl.String,
               S.N: pl.Float64, S.D: pl.Float64, S.C: pl.Float64, S.C_DERIVED: pl.Boolean}
