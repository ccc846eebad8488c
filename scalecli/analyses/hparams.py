"""Hyper-parameter laws: the optimal learning rate and batch size against N and D, by Step
Law's procedure (Li et al. 2025, arXiv:2503.04715; their code: step-law/steplaw,
``code/fit_tool.py``).

A sweep trains runs over a grid of learning rates and batch sizes at several (N, D)
settings. Per setting, every run whose final loss lies within a relative margin of the
setting's best loss (``near``, 0.25% as in the paper) is kept: the loss landscape is flat near
its optimum, so one argmin would pick among near-ties by noise. The laws
``lr = coef·N^α·D^β`` and ``batch = coef·D^γ`` (the regressors of each are chosen) are then
fitted by least squares in log space over *all* kept runs, one row each, as the paper does:
no single optimum per setting enters the fit. A setting's rows share its N and D, so each
setting enters through its kept runs' geometric-mean lr and batch (shown per setting beside
the best run's), weighted by how many it kept. Batch sizes are in tokens: sequences ×
``seq_len`` when given.

Without ``bootstrap`` the fit is plain least squares, deterministic. With it, the rows are
resampled (:mod:`.hparams_fit`: whole settings by default, single runs as Step Law does) and
the law reported is the mean of the bootstrap coefficients (Step Law's published constants
are that mean) or, with ``estimate="fit"``, the full-data fit; intervals are percentiles of
the bootstrap coefficients, or their mean ± z·sd (``interval="normal"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .. import schema as S
from ..errors import ColumnError, ConfigError, FitError, InputError, clip
from ..numbers import fmt
from .hparams_fit import LogLaw, bootstrap_laws, check_bootstrap, fit_log_law, summarize

__all__ = ["HparamsResult", "hparams", "parse_options"]

VARIABLES = ("N", "D", "C")
BATCH_ALIASES = ("bs", "batch", "global_bs")  # beside schema's batch_size aliases
WIDE = 0.05  # a margin above this was most likely meant in percent (0.25 for 0.25%)
SMALL_BATCH = 16384  # batches all under this many "tokens" are likely counted in sequences
METHOD = "Step Law (Li et al. 2025, arXiv:2503.04715)"


@dataclass
class HparamsResult:
    """The two laws, the per-setting optima, the recommendations at the targets asked for."""

    lr: LogLaw
    batch: LogLaw
    settings: list[dict]
    recommendations: list[dict]
    options: dict
    bootstrap: dict | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": "hparams", "method": METHOD, **self.options,
                               "lr": self.lr.to_dict(), "batch": self.batch.to_dict(),
                               "settings": [dict(s) for s in self.settings],
                               "recommendations": [dict(r) for r in self.recommendations]}
        if self.bootstrap:
            out["bootstrap"] = self.bootstrap
        out["warnings"] = list(self.warnings)
        return out


def parse_options(near="0.25%", lr_on="N,D", batch_on="D", seq_len=None, at=None,
                  bootstrap=None, ci=0.95, interval="percentile", estimate="mean",
                  resample="settings") -> dict:
    """Every option checked and read before any log is: ConfigError naming the option."""
    from ..pairs import finite_number, parse_numbers

    check_bootstrap(bootstrap, ci, interval, estimate, resample)
    out = {"near": _near(near), "lr_on": _on(lr_on, "--lr-on"),
           "batch_on": _on(batch_on, "--batch-on"), "seq_len": None, "at": []}
    if seq_len is not None:
        value = finite_number(seq_len, "--seq-len")
        if value <= 0:
            raise ConfigError(f"--seq-len {clip(seq_len)}: give the tokens per sequence, e.g. "
                              "2048")
        out["seq_len"] = value
    need = sorted(set(out["lr_on"]) | set(out["batch_on"]), key=VARIABLES.index)
    for text in [at] if isinstance(at, (str, dict)) else (at or []):
        given = dict(text) if isinstance(text, dict) else parse_numbers(text, "--at")
        point = {}
        for key, value in given.items():
            var = key.upper()
            if var not in VARIABLES:
                raise ConfigError(f"--at {clip(key)}: unknown variable; use N, D (and C)")
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"--at {var}={clip(value)}: give a positive number")
            point[var] = float(value)
        if "C" in need and "C" not in point and {"N", "D"} <= set(point):
            point["C"] = 6.0 * point["N"] * point["D"]
        if {"N", "D", "C"} <= set(point):
            six_nd = 6.0 * point["N"] * point["D"]
            if abs(point["C"] / six_nd - 1.0) > 0.01:
                raise ConfigError(f"--at {clip(text, 60)}: C = {point['C']:g} but 6·N·D = "
                                  f"{six_nd:g}; give two of N, D and C, or three that agree")
        missing = [v for v in need if v not in point]
        if missing:
            raise ConfigError(f"--at {clip(text, 60)}: the laws use {', '.join(need)}; give "
                              f"{', '.join(missing)} too (e.g. --at N=1e9,D=1e11)")
        out["at"].append(point)
    return out


def _near(text) -> float:
    """``0.25%`` or ``0.0025``: a relative margin, zero or more and under 100%."""
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw) / (100.0 if percent else 1.0)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value < 1):
        raise ConfigError(f"--near {clip(raw)!r}: give a relative margin of the best loss, zero "
                          "or more and under 100%, e.g. 0.25% or 0.0025")
    return value


def _on(text, option: str) -> list[str]:
    """``N,D`` -> ``["N", "D"]``: known variables, each once, at least one."""
    names = [p.strip() for p in str(text or "").split(",") if p.strip()]
    if not names:
        raise ConfigError(f"{option}: name the law's variables, e.g. {option} N,D")
    out: list[str] = []
    for name in names:
        var = name.upper()
        if var not in VARIABLES:
            raise ConfigError(f"{option} {clip(name)!r}: unknown variable; use N, D or C "
                              "(parameters, tokens, compute)")
        if var in out:
            raise ConfigError(f"{option}: {var} is given twice")
        out.append(var)
    return out


def hparams(frames, *, options: dict, target: str | None = None, reduce: str = "last",
            mapping: dict[str, str] | None = None, bootstrap: int | None = None, seed: int = 0,
            ci: float = 0.95, interval: str = "percentile", estimate: str = "mean",
            resample: str = "settings", progress=None) -> HparamsResult:
    """Step Law's fit on :class:`~scalecli.ingest.Frames`; ``options`` from
    :func:`parse_options` (near, lr_on, batch_on, seq_len, at)."""
    import numpy as np

    table, name, columns, warnings = _runs_table(frames, target, reduce, mapping or {},
                                                 options["seq_len"])
    settings, rows = _settings(table, options["near"], name)
    if len(settings) < 2:
        s = settings[0]
        raise FitError(f"hparams fits laws across (N, D) settings; the sweep has one (N="
                       f"{fmt(s['N'])}, D={fmt(s['D'])}, {s['runs']} runs): sweep lr and "
                       "batch size at two or more (N, D)")
    warnings += _unswept(settings, columns)
    logs = {v: np.log(rows[v]) for v in VARIABLES}
    fits = []
    for law, on, col, option in (("lr", options["lr_on"], "lr", "--lr-on"),
                                 ("batch", options["batch_on"], "batch", "--batch-on")):
        x = np.column_stack([logs[v] for v in on])
        y = np.log(rows[col])
        fits.append((fit_log_law(law, on, x, y, len(settings), option), x, y))
    lr_law, batch_law = fits[0][0], fits[1][0]
    boot = None
    if bootstrap:
        boot = _bootstrap(fits, rows["setting"], bootstrap, seed, ci, interval, estimate,
                          resample, progress)
        if boot["failed"]:
            warnings.append(f"{boot['failed']} of {bootstrap} resamples drew too few distinct "
                            "settings to identify the laws and were left out")
    warnings += _edge_warnings(settings)
    if options["near"] > WIDE:
        warnings.append(f"--near {options['near']:g} keeps runs within {options['near']:.0%} of "
                        "each setting's best loss; for 0.25% write 0.25% or 0.0025")
    recs = [_recommend(lr_law, batch_law, point, options["seq_len"], ci, interval)
            for point in options["at"]]
    opts = {"loss": name, "columns": columns, "near": options["near"],
            "seq_len": options["seq_len"], "batch_unit": "tokens",
            "estimate": boot["estimate"] if boot else "least squares on all near-best runs",
            "kept_runs": int(rows["lr"].size), "runs": int(sum(s["runs"] for s in settings))}
    return HparamsResult(lr_law, batch_law, settings, recs, opts, boot, warnings)


def _bootstrap(fits, setting_of, resamples, seed, ci, interval, estimate, resample,
               progress) -> dict:
    """Draws of both laws over the same resamples, their intervals, and what was done."""
    failed = bootstrap_laws(fits, setting_of, resamples, seed, resample, progress)
    if resamples - failed < 2:
        raise FitError(f"--bootstrap {resamples}: {failed} resample(s) could not identify the "
                       "laws (too few distinct settings drawn); add settings")
    for law, _, _ in fits:
        summarize(law, ci, interval, estimate)
    return {"resamples": resamples, "seed": seed, "ci": ci, "failed": failed,
            "resample": ("(N, D) settings with replacement" if resample == "settings"
                         else "near-best runs with replacement (Step Law's)"),
            "interval": ("percentiles of the bootstrap coefficients" if interval ==
                         "percentile" else "mean ± z·sd of the bootstrap coefficients"),
            "estimate": ("mean of the bootstrap coefficients" if estimate == "mean"
                         else "least squares on all near-best runs")}


def _runs_table(frames, target, reduce, mapping, seq_len):
    """Each run's N, D, C, lr, batch (tokens) and reduced loss (NaN where it has none); the
    loss's name, the columns used, and the reading's warnings."""
    import polars as pl

    from ..pipeline import points
    from ..reduce import check_numeric

    runs = frames.runs
    lr_col = _column(runs, "lr", mapping, (), "learning-rate", "lr")
    b_col = _column(runs, "batch_size", mapping, BATCH_ALIASES, "batch-size", "batch_size")
    for col, role in ((lr_col, "lr"), (b_col, "batch_size")):
        check_numeric(runs, col, hint=f"give numbers, or another column with --map {role}=COLUMN")
    pts = points(frames, target=target, mapping=mapping, reduce=reduce)
    table = (runs.select(S.RUN_ID, S.NAME, S.N, S.D, S.C, pl.col(lr_col).cast(pl.Float64)
                         .alias("lr"), pl.col(b_col).cast(pl.Float64).alias("batch"))
             .join(pts.frame.select(S.RUN_ID, "y"), on=S.RUN_ID, how="left"))
    warnings = list(pts.warnings)
    ok_nd = (pl.col(S.N) > 0) & (pl.col(S.D) > 0)
    table = table.filter(ok_nd.fill_null(False))
    ok_hp = ((pl.col("lr") > 0) & (pl.col("batch") > 0) & pl.col("lr").is_finite()
             & pl.col("batch").is_finite()).fill_null(False)
    bad = table.filter(~ok_hp)
    if bad.height:
        names = ", ".join(map(str, bad[S.NAME].to_list()[:5]))
        warnings.append(f"{bad.height} run(s) have no positive {lr_col} or {b_col} and are left "
                        f"out: {names}" + (" ..." if bad.height > 5 else ""))
        table = table.filter(ok_hp)
    if not table.height:
        raise ColumnError(f"no run has N, D, a positive {lr_col} and a positive {b_col}")
    if seq_len is not None:
        table = table.with_columns(pl.col("batch") * seq_len)
    elif table["batch"].max() < SMALL_BATCH:
        warnings.append(f"every {b_col} is under {SMALL_BATCH:,}: read as tokens; if it counts "
                        "sequences, give --seq-len (e.g. --seq-len 2048)")
    table = table.with_columns(pl.col("y").fill_null(math.nan),
                               pl.col(S.C).fill_null(6.0 * pl.col(S.N) * pl.col(S.D)))
    name = pts.target
    columns = {"lr": lr_col, "batch": b_col + (f" × {fmt(seq_len)}" if seq_len else "")}
    return table, name, columns, warnings


def _column(runs, role: str, mapping: dict, extra: tuple, what: str, flag: str) -> str:
    """The run column of ``role`` (its normalized name, a mapped name, an alias)."""
    cols = runs.columns
    if role in cols:
        return role
    hit = S.resolve(role, cols, mapping if role in mapping else None)
    if hit is None:
        lower = {c.lower(): c for c in cols}
        hit = next((lower[a] for a in extra if a in lower), None)
    if hit is None:
        where = ""
        if S.SOURCE in cols and runs.height:
            where = ", ".join(sorted({str(s) for s in runs[S.SOURCE].to_list()})[:3]) + ": "
        looked = ", ".join((*S.ALIASES.get(role, ()), *extra))
        shown = [c for c in cols if c not in S.RUN_COLUMNS]
        raise ColumnError(f"{where}no {what} column (looked for {looked}); run columns: "
                          f"{', '.join(shown) or 'none'}. Name it with --map {flag}=COLUMN")
    return hit


def _settings(table, near: float, name: str) -> tuple[list[dict], dict]:
    """Per (N, D): its best run and the runs within ``near`` of its best loss; and the kept
    runs' rows (N, D, C, lr, batch, setting index) for the fit."""
    import numpy as np
    import polars as pl

    keyed = table.with_columns(pl.col(S.N).log().round(6).alias("_n"),
                               pl.col(S.D).log().round(6).alias("_d")).sort("_n", "_d")
    settings, parts = [], []
    for (_, _), g in keyed.group_by("_n", "_d", maintain_order=True):
        y, lr, b = (g[c].to_numpy() for c in ("y", "lr", "batch"))
        n, d = float(g[S.N].median()), float(g[S.D].median())
        finite = np.isfinite(y)
        where = f"setting N={fmt(n)}, D={fmt(d)}"
        if not finite.any():
            names = ", ".join(map(str, g[S.NAME].to_list()[:4]))
            raise InputError(f"{where}: no run has a finite {name} ({g.height} run(s): {names}"
                             + (" ..." if g.height > 4 else "") + "); leave the setting out "
                             "(--where, --exclude-run) or fix its logs")
        i = int(np.flatnonzero(finite)[np.argmin(y[finite])])
        if not y[i] > 0:
            raise InputError(f"{where}: the best {name} is {fmt(float(y[i]))}; a relative margin "
                             "(--near) needs positive losses")
        kept = finite & (y <= y[i] * (1.0 + near))
        settings.append({
            "N": n, "D": d, "runs": int(g.height), "kept": int(kept.sum()),
            "best_run": str(g[S.NAME][i]), "best_lr": float(lr[i]), "best_batch": _whole(b[i]),
            "best_loss": float(y[i]),
            "lr_kept": float(np.exp(np.log(lr[kept]).mean())),
            "batch_kept": float(np.exp(np.log(b[kept]).mean())),
            "lr_edge": _edge(lr[finite], lr[i]), "batch_edge": _edge(b[finite], b[i]),
            "lr_values": int(np.unique(lr[finite]).size),
            "batch_values": int(np.unique(b[finite]).size)})
        parts.append(g.filter(pl.Series(kept)).select(
            S.N, S.D, S.C, "lr", "batch", pl.lit(len(settings) - 1).alias("setting")))
    kept = pl.concat(parts)
    rows = {"N": kept[S.N].to_numpy(), "D": kept[S.D].to_numpy(), "C": kept[S.C].to_numpy(),
            "lr": kept["lr"].to_numpy(), "batch": kept["batch"].to_numpy(),
            "setting": kept["setting"].to_numpy()}
    return settings, rows


def _unswept(settings: list[dict], columns: dict) -> list[str]:
    """Refuse a sweep that searched neither variable anywhere (its "optimum" would be the only
    value tried, and the law a fit of the settings' defaults); warn where a setting tried one."""
    out = []
    for key, what in (("lr", "learning rate"), ("batch", "batch size")):
        single = [s for s in settings if s[f"{key}_values"] < 2]
        if len(single) == len(settings):
            raise InputError(f"no (N, D) setting was run at more than one {what} (column "
                             f"{columns.get(key, key)!r}; {len(settings)} settings): hparams "
                             f"finds the best {what} among several runs per setting; sweep it")
        if single:
            at = [f"N={fmt(s['N'], 3)} D={fmt(s['D'], 3)}" for s in single]
            out.append(f"{len(single)} setting(s) tried one {what}, so their optimum is that "
                       "value: " + ", ".join(at[:4]) + (" ..." if len(at) > 4 else ""))
    return out


def _whole(x) -> int | float:
    """A batch that is a whole number of tokens as an int (read as 370,688, not 3.707e+05)."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def _edge(values, best) -> str | None:
    """``low``/``high`` when the best value is the smallest/largest sampled (of several)."""
    import numpy as np

    distinct = np.unique(values)
    if distinct.size < 2:
        return None
    return "low" if best == distinct[0] else "high" if best == distinct[-1] else None


def _edge_warnings(settings: list[dict]) -> list[str]:
    out = []
    for key, what in (("lr_edge", "learning rate"), ("batch_edge", "batch size")):
        at = [f"N={fmt(s['N'], 3)} D={fmt(s['D'], 3)} ({s[key]})" for s in settings if s[key]]
        if at:
            out.append(f"the best {what} is the lowest or highest sampled at {len(at)} setting(s): "
                       + ", ".join(at[:4]) + (" ..." if len(at) > 4 else "")
                       + "; the optimum may lie outside the sweep (widen it there)")
    return out


def _recommend(lr_law: LogLaw, batch_law: LogLaw, point: dict, seq_len, ci, interval) -> dict:
    """The laws' lr and batch at ``point`` (and their intervals when bootstrapped)."""
    from .hparams_fit import predict_interval

    out = {**point, "lr": lr_law(point), "batch": batch_law(point)}
    lo = predict_interval(lr_law, point, ci, interval)
    if lo is not None:
        out["lr_interval"] = lo
        out["batch_interval"] = predict_interval(batch_law, point, ci, interval)
    if seq_len:
        out["batch_sequences"] = out["batch"] / seq_len
    return out
