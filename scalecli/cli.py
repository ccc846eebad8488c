"""The command line: a thin Typer layer. Each command parses options, calls one library
function, and renders; every error a user can cause becomes one line on stderr and exit 1.

Only typer and the standard library are imported at start-up; polars, scipy and rich load in
the commands that use them, so ``scalecli --help`` and ``scalecli optimal`` are fast.
"""

from __future__ import annotations

import functools
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Fit neural scaling laws to experiment logs: ingest, fit, allocate compute, plot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


# ---- shared options (one definition, every command) ---------------------------------------
Paths = Annotated[list[Path] | None, typer.Argument(help="Log files or directories.",
                                                       show_default=False)]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="A scalecli store directory.")]
ReaderOpt = Annotated[str | None, typer.Option(
    "--reader", help="Force a reader: csv, jsonl, wandb-table, wandb-api-runs, wandb-api-history.")]
MapOpt = Annotated[str | None, typer.Option(
    "--map", help="Column names by role, e.g. N=params,D=tokens_seen,loss=eval/loss.")]
StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="Refuse instead of warn: non-finite losses, a truncated last line.")]
FormatOpt = Annotated[Fmt, typer.Option("--format", "-f", help="Output format.")]
LawOpt = Annotated[str | None, typer.Option("--law", help="Law name (see the README).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML law/fit config.")]
ReduceOpt = Annotated[str | None, typer.Option(
    "--reduce", help="Per-run target value: last, min or mean-last:K. [default: last]")]
FitFileOpt = Annotated[Path | None, typer.Option(
    "--fit", help="A fit saved by `scalecli fit --save`; default: the law's published values.")]


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def handles_errors(fn):
    """Turn library errors into one line on stderr and exit code 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .errors import ScaleCLIError

        try:
            return fn(*args, **kwargs)
        except ScaleCLIError as exc:
            _err(f"Error: {exc}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            _err("Interrupted")
            raise typer.Exit(130) from None

    return wrapper


def _mapping(text: str | None) -> dict[str, str]:
    from .schema import parse_mapping

    return parse_mapping(text)


def _spec(config, map_text):
    """The config (if any) and the column mapping: the config's ``data.columns``, then --map."""
    mapping = _mapping(map_text)
    if config is None:
        return None, mapping
    from .config import load_config

    spec = load_config(config)
    return spec, {**spec.mapping, **mapping}


def _load(paths, store, reader, mapping, strict, need=("N", "D")):
    """Frames from raw paths and/or a store; columns used and warnings go to stderr."""
    from .api import load

    frames = load(*(paths or []), store=store, reader=reader, mapping=mapping, strict=strict,
                  need=need)
    for line in frames.columns:
        _err(f"columns: {line}")
    for w in frames.warnings:
        _err(f"warning: {w}")
    return frames


# ---- commands -----------------------------------------------------------------------------
@app.command()
@handles_errors
def ingest(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None,
           map: MapOpt = None, strict: StrictOpt = False) -> None:
    """Normalize logs into a Parquet store; unchanged files are skipped, changed ones replaced.

    Example: scalecli ingest runs/ --store .scalecli
    """
    from .api import ingest as do_ingest
    from .errors import InputError

    if not paths:
        raise InputError("give the log files or directories to ingest")
    if store is None:
        first = paths[0]
        store = (first if first.is_dir() else first.parent) / ".scalecli"
    rep = do_ingest(*paths, store=store, reader=reader, mapping=_mapping(map), strict=strict)
    for line in rep.columns:
        _err(f"columns: {line}")
    for w in rep.warnings:
        _err(f"warning: {w}")
    _out(f"{store}: {len(rep.added)} added, {len(rep.replaced)} replaced, "
         f"{len(rep.unchanged)} unchanged; {rep.n_runs} runs, {rep.n_rows} history rows")


@app.command()
@handles_errors
def runs(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None,
         map: MapOpt = None, strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """One row per run: N, D, C (* = derived as 6ND), final loss, source.

    Example: scalecli runs runs/ --format json
    """
    from .report.runs import runs_rows
    from .report.tables import render

    frames = _load(paths, store, reader, _mapping(map), strict)
    rows, columns = runs_rows(frames, _mapping(map))
    _out(render(rows, columns, format.value, title=f"{len(rows)} runs",
                caption="* C derived as 6·N·D" if any(r.get("flops_derived") for r in rows)
                else None))


@app.command()
@handles_errors
def fit(paths: Paths = None, store: StoreOpt = None, law: LawOpt = None, config: ConfigOpt = None,
        reader: ReaderOpt = None, map: MapOpt = None, reduce: ReduceOpt = None,
        x: Annotated[str | None, typer.Option(
            "--x", help="Column of a one-variable law's variable (e.g. flops, dataset_size).")] = None,
        y: Annotated[str | None, typer.Option(
            "--y", help="Column or metric to fit. [default: the loss]")] = None,
        loss: Annotated[str | None, typer.Option(help="Objective: huber, mse or mae.")] = None,
        delta: Annotated[float | None, typer.Option(help="Huber delta.")] = None,
        space: Annotated[str | None, typer.Option(
            help="Residual space: log, log1p or linear.")] = None,
        fix: Annotated[str | None, typer.Option(
            "--fix", help="Hold parameters: NAME=VALUE[,NAME=VALUE...].")] = None,
        breaks: Annotated[int | None, typer.Option(
            min=1, help="Breaks of a broken neural scaling law (--law bnsl).")] = None,
        envelope: Annotated[str | None, typer.Option(
            help="Fit the lower envelope: pareto or bins (Cherti et al. 2023).")] = None,
        bins: Annotated[int, typer.Option(help="Bins of log10 x for --envelope bins.")] = 5,
        bin_pad: Annotated[float, typer.Option(
            help="Decades added to the largest x for --envelope bins.")] = 0.1,
        holdout: Annotated[int | None, typer.Option(
            help="With --law all: rank laws by error on the K largest runs by compute, "
                 "each law fitted without them. [default: 3]")] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of the random extra starts.")] = None,
        save: Annotated[Path | None, typer.Option(help="Write the fit as JSON here.")] = None,
        strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Fit a scaling law to the runs' final losses (--law all: compare every applicable law).

    Example: scalecli fit runs/ --law chinchilla --save fit.json
    """
    from .api import fit as do_fit
    from .api import fit_spec, roles_needed
    from .report.fit import fit_output

    mapping = _mapping(map)
    fixed = _fixed(fix)
    if law is not None and law.lower() == "all":
        from .compare import compare_laws
        from .report.fit import compare_output

        frames = _load(paths, store, reader, mapping, strict, need=())
        ranking = compare_laws(frames, holdout=3 if holdout is None else holdout, x=x,
                               target=y, mapping=mapping, reduce=reduce or "last", seed=seed or 0)
        for w in ranking.warnings:
            _err(f"warning: {w}")
        _out(compare_output(ranking, format.value))
        return
    if breaks is not None:
        if (law or "").lower() not in ("bnsl", "") or config is not None:
            from .errors import ConfigError

            raise ConfigError("--breaks K applies to --law bnsl")
        law = "bnsl" if breaks == 1 else f"bnsl-{breaks}"
    spec = fit_spec(law, config, x=x, target=y, loss=loss, delta=delta, space=space, fixed=fixed)
    mapping = {**spec.mapping, **mapping}
    frames = _load(paths, store, reader, mapping, strict,
                   need=roles_needed(spec.law.variables.values()))
    result = do_fit(frames, config=spec, mapping=mapping, reduce=reduce, seed=seed,
                    envelope=envelope, bins=bins, bin_pad=bin_pad)
    for w in result.warnings:
        _err(f"warning: {w}")
    if strict and result.warnings:
        from .errors import StrictError

        raise StrictError(f"--strict: {result.warnings[0]}")
    if save is not None:
        result.save(save)
        _err(f"saved fit to {save}")
    _out(fit_output(result, format.value))


def _fixed(text: str | None) -> dict[str, float]:
    """``E=1.69,alpha=0.34`` -> ``{"E": 1.69, "alpha": 0.34}``."""
    from .errors import ConfigError

    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--fix entry {part.strip()!r} is not NAME=NUMBER") from None
        if not sep or not name.strip():
            raise ConfigError(f"--fix entry {part.strip()!r} is not NAME=NUMBER")
    return out


@app.command()
@handles_errors
def optimal(
    flops: Annotated[str | None, typer.Option(
        help="Budget(s): 1e21, 1e20,1e21, 1e19..1e25, or - for stdin.")] = None,
    steps: Annotated[int, typer.Option(help="Budgets in a range (log-spaced).")] = 5,
    fit: FitFileOpt = None, law: LawOpt = None,
    target_loss: Annotated[float | None, typer.Option(
        help="The least compute (and its N, D) that reaches this loss.")] = None,
    inference_tokens: Annotated[float | None, typer.Option(
        help="With --target-loss: minimize 6ND + 2NT for T inference tokens.")] = None,
    max_tokens: Annotated[float | None, typer.Option(help="Cap the training tokens D.")] = None,
    unique_tokens: Annotated[float | None, typer.Option(
        help="Unique tokens available (data-constrained law).")] = None,
    n: Annotated[float | None, typer.Option(
        "--n", help="Score a planned model size at --flops: its loss and wasted compute.")] = None,
    tokens: Annotated[float | None, typer.Option(
        "--tokens", help="Score planned training tokens at --flops.")] = None,
    format: FormatOpt = Fmt.table,
) -> None:
    """Compute-optimal model size and tokens for compute budgets (C = 6·N·D).

    Example: scalecli optimal --flops 1e19..1e25 --steps 7 --fit fit.json
    """
    from .allocation import optimal as do_optimal
    from .allocation import parse_budgets
    from .errors import ConfigError
    from .report.tables import render

    if inference_tokens is not None and target_loss is None:
        raise ConfigError("--inference-tokens needs --target-loss (the loss to reach)")
    budgets = parse_budgets(flops, steps) if flops is not None else None
    rows = [a.to_dict() for a in do_optimal(
        fit, budgets, law=law, max_tokens=max_tokens, unique_tokens=unique_tokens,
        target_loss=target_loss, inference_tokens=inference_tokens, n_params=n, tokens=tokens)]
    columns = [("flops", "C (FLOPs)"), ("n_params", "N opt" if n is None and tokens is None
                                         else "N"),
               ("tokens", "D opt" if n is None and tokens is None else "D"),
               ("tokens_per_param", "D/N"), ("loss", "loss")]
    for key, head in (("wasted_flops", "wasted C"), ("inference_flops", "inference C")):
        if any(key in r for r in rows):
            columns.append((key, head))
    if format.value == "csv":
        columns = [*columns, ("params_source", "params_source"), ("method", "method")]
    caption = (f"parameters: {rows[0]['params_source']}; {rows[0]['method']}" if rows else None)
    _out(render(rows, columns, format.value, title="compute-optimal allocation",
                caption=caption))


@app.command()
@handles_errors
def predict(
    at: Annotated[list[str] | None, typer.Option(
        "--at", help="A point: N=7e9,D=1.4e12 (symbols or column names); repeatable.")] = None,
    points: Annotated[Path | None, typer.Option(
        "--points", help="A CSV file of points, one per row.")] = None,
    n: Annotated[float | None, typer.Option("--n", help="Model size N (parameters).")] = None,
    d: Annotated[float | None, typer.Option("--d", help="Training tokens D.")] = None,
    fit: FitFileOpt = None, law: LawOpt = None,
    then: Annotated[list[Path] | None, typer.Option(
        "--then", help="A fit of one variable to apply to the prediction (e.g. downstream "
                       "error from loss); repeatable.")] = None,
    format: FormatOpt = Fmt.table,
) -> None:
    """Predict with a fitted law (or a law's published values) at chosen points.

    Example: scalecli predict --n 7e9 --d 1.4e12 --fit fit.json
    """
    from .allocation import resolve_params
    from .errors import ConfigError
    from .prediction import parse_at, predict_points, read_points
    from .report.tables import render

    wanted: list[dict[str, float]] = [parse_at(a) for a in at or []]
    if points is not None:
        wanted += read_points(points)
    if n is not None or d is not None:
        wanted.append({k: v for k, v in (("N", n), ("D", d)) if v is not None})
    if not wanted:
        raise ConfigError("give points: --at N=7e9,D=1.4e12, --points FILE.csv, or --n/--d")
    for p in wanted:
        for k, v in p.items():
            if not v > 0 and k.upper() in ("N", "D", "N_PARAMS", "TOKENS"):
                raise ConfigError(f"{k} must be positive, got {v:g}")
    params, law_obj, where = resolve_params(fit, law)
    rows = predict_points(law_obj, params, wanted)
    symbols = list(law_obj.variables)
    for r in rows:
        if law_obj.target == "loss":
            r["loss"] = r["prediction"]
        if "N" in r and "D" in r:
            r["n_params"], r["tokens"], r["flops"] = r["N"], r["D"], 6.0 * r["N"] * r["D"]
        r["params_source"] = where
    columns = [(s, f"{s} ({law_obj.variables[s]})") for s in symbols]
    if "N" in symbols and "D" in symbols:
        columns.append(("flops", "C = 6ND"))
    columns.append(("prediction", law_obj.target))
    title = f"{law_obj.name} prediction"
    for step in then or []:  # a chain: loss from (N, D), then error from loss, ...
        from .prediction import chain

        p2, law2, where2 = resolve_params(step)
        rows = chain(rows, law2, p2, where2)
        (sym,) = law2.variables
        columns[-1] = (sym, columns[-1][1])
        columns.append(("prediction", law2.target))
        title += f" -> {law2.name}"
        where += f"; then {where2}"
    if format.value == "csv":
        columns = [*columns, ("params_source", "params_source")]
    _out(render(rows, columns, format.value, title=title, caption=f"parameters: {where}"))


@app.command()
@handles_errors
def plot(paths: Paths = None, store: StoreOpt = None, law: LawOpt = None,
         config: ConfigOpt = None, fit: FitFileOpt = None, reader: ReaderOpt = None,
         map: MapOpt = None, reduce: ReduceOpt = None,
         x: Annotated[str | None, typer.Option(
             "--x", help="Column of a one-variable law's variable.")] = None,
         width: Annotated[int, typer.Option(help="Plot width in columns.")] = 80,
         height: Annotated[int, typer.Option(help="Plot height in rows.")] = 24,
         color: Annotated[bool | None, typer.Option(
             "--color/--no-color", help="Colour (default: when stdout is a terminal).",
             show_default=False)] = None,
         strict: StrictOpt = False) -> None:
    """Terminal plot: loss vs compute, the fitted law per model size, the compute-optimal frontier.

    Example: scalecli plot runs/ --law chinchilla
    """
    from .api import fit_spec, roles_needed
    from .report.fit import plot_fit

    spec, mapping = _spec(config, map)
    need = ("N", "D")
    if fit is None:
        spec = fit_spec(law, spec, x=x)
        law, need = None, roles_needed(spec.law.variables.values())
    frames = _load(paths, store, reader, mapping, strict, need=need)
    text = plot_fit(frames, law=law, config=spec, fit_file=fit, mapping=mapping,
                    reduce=reduce, width=width, height=height,
                    color=sys.stdout.isatty() if color is None else color)
    _out(text)


FlopsOpt = Annotated[str | None, typer.Option(
    "--flops", help="Budget(s) to predict N_opt, D_opt at: 1e21, 1e20,1e21, 1e19..1e25, or -.")]
StepsOpt = Annotated[int, typer.Option(help="Budgets in a --flops range (log-spaced).")]
PlotOpt = Annotated[bool, typer.Option("--plot", help="Print the terminal plot instead of tables.")]
ColorOpt = Annotated[bool | None, typer.Option(
    "--color/--no-color", show_default=False, help="Colour (default: when stdout is a terminal).")]


def _approach_output(res, frames, budgets, mapping, fmt_name, plot, color):
    """Approach 1 or 2's result next to approach 3's, as the user asked to see it."""
    import json

    from .approaches import approach3, render_approach3

    for w in res.warnings:
        _err(f"warning: {w}")
    if plot:
        _out(res.plot(color=sys.stdout.isatty() if color is None else color))
        return
    third = approach3(frames, budgets, mapping=mapping)
    if fmt_name == "json":
        _out(json.dumps({**res.to_dict(), "approach3": third}, indent=2))
    elif fmt_name == "csv":
        _out(res.render("csv"))
    else:
        _out(res.render(fmt_name) + "\n" + render_approach3(third, fmt_name))


@app.command()
@handles_errors
def isoflop(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None,
            map: MapOpt = None, reduce: ReduceOpt = None, flops: FlopsOpt = None,
            steps: StepsOpt = 5,
            optimum: Annotated[str, typer.Option(
                help="Per-budget minimum: spline, window, parabola (Hoffmann et al.) or lowest."
            )] = "spline",
            tolerance: Annotated[float, typer.Option(
                help="Runs whose compute differs by at most this fraction share a budget.")] = 0.1,
            group_by: Annotated[str | None, typer.Option(
                "--group-by", help="A run column: one a, b per value.")] = None,
            weighted: Annotated[bool, typer.Option(
                help="Weight each budget by its number of runs in the exponent fit.")] = False,
            plot: PlotOpt = False, color: ColorOpt = None,
            strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Chinchilla approach 2: IsoFLOP profiles -> N_opt ∝ C^a, D_opt ∝ C^b (with approach 3's).

    Example: scalecli isoflop runs/ --flops 1e21,1e22 --optimum spline
    """
    from .allocation import parse_budgets
    from .isoflop import isoflop as do_isoflop

    mapping = _mapping(map)
    frames = _load(paths, store, reader, mapping, strict)
    budgets = parse_budgets(flops, steps) if flops else None
    res = do_isoflop(frames, flops=budgets, tolerance=tolerance, optimum=optimum,
                     weighted=weighted, group_by=group_by, mapping=mapping,
                     reduce=reduce or "last")
    _approach_output(res, frames, budgets, mapping, format.value, plot, color)


@app.command()
@handles_errors
def frontier(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None,
             map: MapOpt = None, flops: FlopsOpt = None, steps: StepsOpt = 5,
             buckets: Annotated[int, typer.Option(
                 help="Log-spaced compute values the envelope is read at.")] = 1500,
             regress: Annotated[str, typer.Option(
                 "--regress", help="sizes (one point per winning size) or buckets (the paper's).")
             ] = "sizes",
             plot: PlotOpt = False, color: ColorOpt = None,
             strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Chinchilla approach 1: the lower envelope of loss curves -> N_opt ∝ C^a, D_opt ∝ C^b.

    Example: scalecli frontier runs/ --flops 1e21
    """
    from .allocation import parse_budgets
    from .frontier import frontier as do_frontier

    mapping = _mapping(map)
    frames = _load(paths, store, reader, mapping, strict)
    budgets = parse_budgets(flops, steps) if flops else None
    res = do_frontier(frames, flops=budgets, buckets=buckets, regress=regress, mapping=mapping)
    _approach_output(res, frames, budgets, mapping, format.value, plot, color)


@app.command()
@handles_errors
def laws(format: FormatOpt = Fmt.table) -> None:
    """The law catalogue: name, formula, variables (symbol=default column), parameters, source.

    Example: scalecli laws --format json
    """
    from .laws import all_laws
    from .report.tables import render

    rows = [{"name": law.name, "formula": law.summary or law.formula,
             "variables": ", ".join(f"{k}={v}" for k, v in law.variables.items()),
             "parameters": ", ".join(law.param_names), "target": law.target,
             "defaults": "yes" if law.defaults else "", "source": law.source}
            for law in all_laws()]
    if format.value == "json":
        _out(render([], [], "json", json_value=[
            {"name": law.name, "formula": law.formula, "variables": dict(law.variables),
             "parameters": law.param_names, "target": law.target,
             "defaults": dict(law.defaults), "source": law.source} for law in all_laws()]))
        return
    columns = [("name", "law"), ("formula", "formula"), ("variables", "variables"),
               ("parameters", "parameters"), ("source", "source")]
    _out(render(rows, columns, format.value, title=f"{len(rows)} laws"))


def main() -> None:
    import os

    # The arrays here are small: BLAS threads only contend (15x slower fits under load).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    app()


if __name__ == "__main__":
    main()
