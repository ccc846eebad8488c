"""The command line: a thin Typer layer. Each command parses options, calls one library
function, and renders; every error a user can cause becomes one line on stderr and exit 1.

Only typer and the standard library are imported at start-up; polars, scipy and rich load in
the commands that use them, so ``scalecli --help`` and ``scalecli optimal`` are fast. There is
no ``from __future__ import annotations`` here: Typer reads every parameter's annotation at
start-up, and a string annotation costs it an eval and a compile each (100 ms over the CLI).
"""

import contextlib
import functools
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Fit neural scaling laws to experiment logs: ingest, fit, allocate compute, plot.",
    no_args_is_help=True,
    add_completion=True,
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
    "--reader", help="Force a reader (default: detected per file): csv, jsonl, parquet, arrow, "
                     "wandb-table, wandb-api-runs, wandb-api-history, wandb-panel, wandb-run, "
                     "tensorboard, mlflow, mlflow-sqlite. CSV and JSONL may be gzip- or "
                     "zstd-compressed (.csv.gz, .jsonl.zst).")]
ExperimentOpt = Annotated[list[str] | None, typer.Option(
    "--experiment", help="MLflow stores: read only this experiment (repeatable, or a,b). "
                         "[default: all]")]
MapOpt = Annotated[str | None, typer.Option(
    "--map", help="Column names by role, e.g. N=params,D=tokens_seen,loss=eval/loss.")]
ParamsOpt = Annotated[str | None, typer.Option(
    "--params", help="N worked out from a config without a parameter count counts: total "
    "(with embeddings, the default) or non-embedding.")]
StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="Refuse instead of warn: whatever would print a warning: line.")]
FormatOpt = Annotated[Fmt, typer.Option("--format", "-f", help="Output format.")]
LawOpt = Annotated[str | None, typer.Option("--law", help="Law name (see the README).")]
ConfigOpt = Annotated[str | None, typer.Option(
    "--config", help="YAML law/fit config: a file, or a built-in config's name (chinchilla).")]
ReduceOpt = Annotated[str | None, typer.Option(
    "--reduce", help="Per-run target value: last, min or mean-last:K. [default: last]")]
IncludeOpt = Annotated[list[str] | None, typer.Option(
    "--include-run", help="Keep only runs whose name matches this glob (repeatable).")]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude-run", help="Leave out runs whose name matches this glob (repeatable).")]
WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", help="Keep runs whose columns pass this filter, e.g. \"n_params >= 100M and "
                    "dataset == 'rpj'\" (repeatable: all must hold).")]
FitFileOpt = Annotated[Path | None, typer.Option(
    "--fit", help="A fit saved by `scalecli fit --save`; default: the law's published values.")]
XOpt = Annotated[str | None, typer.Option(
    "--x", help="Column of a one-variable law's variable (e.g. flops, dataset_size), or a "
                "formula over columns.")]
YOpt = Annotated[str | None, typer.Option(
    "--y", help="Column or metric to fit, or a formula over columns: \"0.5*a + 0.5*b\", "
                "\"mean(1 - acc_*)\". [default: the loss]")]
LossOpt = Annotated[str | None, typer.Option("--loss", help="Objective: huber, mse or mae.")]
DeltaOpt = Annotated[float | None, typer.Option("--delta", help="Huber delta.")]
SpaceOpt = Annotated[str | None, typer.Option(
    "--space", help="Residual space: log, log1p or linear.")]
FixOpt = Annotated[str | None, typer.Option(
    "--fix", help="Hold parameters: NAME=VALUE[,NAME=VALUE...].")]
BreaksOpt = Annotated[int | None, typer.Option(
    "--breaks", min=1, max=10, help="Breaks of a broken neural scaling law (--law bnsl).")]
SeedOpt = Annotated[int | None, typer.Option(
    "--seed", min=0, max=2**32 - 1, help="Seed of the random extra starts.")]

FlopsOpt = Annotated[str | None, typer.Option(
    "--flops", help="Budget(s) to predict N_opt, D_opt at: 1e21, 1e20,1e21, 1e19..1e25, or -.")]
StepsOpt = Annotated[int, typer.Option(min=1, max=10_000,
                                       help="Budgets in a --flops range (log-spaced).")]
PlotOpt = Annotated[bool, typer.Option("--plot", help="Print the terminal plot instead of tables.")]
ColorOpt = Annotated[bool | None, typer.Option(
    "--color/--no-color", show_default=False, help="Colour (default: when stdout is a terminal).")]


# ---- whole-curve laws ------------------------------------------------------------------------
SplitOpt = Annotated[str | None, typer.Option(
    "--split", help="Curve laws: a run column saying train or test; fit on train, score all.")]
TrainRunsOpt = Annotated[list[str] | None, typer.Option(
    "--train-runs", help="Curve laws: fit on runs matching this glob (repeatable), score all.")]
ScheduleOpt = Annotated[str | None, typer.Option(
    "--schedule", help="Curve laws: the LR schedule of runs without a dense lr column, e.g. "
                       "cosine:peak=3e-4,warmup=300,final=3e-5 (wins over the schedules: of "
                       "scalecli.yaml).")]


# ---- robust fitting options ----------------------------------------------------------------
# The penalty is read as text and checked by the library: a bad value is one line, exit 1.
PenaltyOpt = Annotated[str | None, typer.Option(
    "--overestimate-penalty", metavar="W",
    help="Weigh residuals where the prediction lies above the observed loss W times (W >= 1; "
         "10: the lower envelope under-tuned runs call for). [default: 1, symmetric]")]
DropOutliersOpt = Annotated[bool, typer.Option(
    "--drop-outliers", help="Refit once without the runs whose residual lies beyond 3 robust "
                            "standard deviations, and name them.")]
# ---- curve windows and checkpoint points (numbers take unit suffixes: 1B, 300M) ------------
MinStepOpt = Annotated[str | None, typer.Option(
    "--min-step", help="Leave out each run's logged points before this step (warm-up).")]
MinTokensOpt = Annotated[str | None, typer.Option(
    "--min-tokens", help="Leave out each run's logged points before this many tokens.")]
MaxTokensOpt = Annotated[str | None, typer.Option(
    "--max-tokens", help="Cap each run at this many tokens: its point and D are read there.")]
SkipOpt = Annotated[float | None, typer.Option(
    "--skip-fraction", help="Drop the first share of each run's logged rows of each metric "
                            "(e.g. 0.1).")]
SmoothOpt = Annotated[str | None, typer.Option(
    "--smooth", help="moving-mean:K: each logged value becomes the mean of the last K up to "
                     "it (x and y alike).")]
AnchorOpt = Annotated[str | None, typer.Option(
    "--anchor", help="A fixed point added to the fit, e.g. x=0,y=1 (the ideal model).")]
PointsOpt = Annotated[str | None, typer.Option(
    "--points", help="Fit points per run: last, all, every:K or at-tokens:1B,2B,5B (one per "
                     "checkpoint: sound only without a final LR decay). [default: last]")]
# ---- figure files (the plots extra: matplotlib) ---------------------------------------------
PngOpt = Annotated[Path | None, typer.Option(
    "--png", help="Also write the figure as a PNG here (needs scalecli[plots]).")]
SvgOpt = Annotated[Path | None, typer.Option(
    "--svg", help="Also write the figure as an SVG here (needs scalecli[plots]).")]


def _figures(kind: str, result, png: Path | None, svg: Path | None, frame=None) -> None:
    """Write the result's figure to --png/--svg, saying where on stderr."""
    if png is None and svg is None:
        return
    from .report.figures import figures_for, write_figures

    for path in write_figures(figures_for(kind, result, frame), png=png, svg=svg):
        _err(f"wrote {path}")


def _need_figures(png: Path | None, svg: Path | None) -> None:
    from .report.figures import require

    require(png, svg)


def _err(text: str) -> None:
    """One message line on stderr (a note, a warning, an error); text quoted from the input
    cannot break it: control characters print escaped."""
    from .errors import one_line

    sys.stderr.write(one_line(text) + "\n")


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


_PASS_THROUGH = (typer.Exit, typer.Abort, getattr(typer, "TyperException", typer.Exit))


def handles_errors(fn):
    """The one error boundary: a library error is one line on stderr and exit 1; so is any
    other failure, which names itself as a bug to report (no traceback unless asked for with
    SCALECLI_TRACEBACK=1). Command-line usage errors are Click's: exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import os

        from .errors import ScaleCLIError, clip

        try:
            return fn(*args, **kwargs)
        except ScaleCLIError as exc:
            _err(f"Error: {clip(exc, 2000)}")
        except KeyboardInterrupt:
            _err("Interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `scalecli ... | head`: the reader left; nothing to say
            sys.stderr.close()
            raise typer.Exit(0) from None
        except _PASS_THROUGH:
            raise
        except MemoryError:
            _err("Error: out of memory: the input is larger than this machine can hold")
        except RecursionError:
            _err("Error: the input is nested too deeply to read")
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            _err(f"Error: {where}{exc.strerror or exc}")
        except Exception as exc:  # a bug: still one line, and how to see more
            if os.environ.get("SCALECLI_TRACEBACK"):
                raise
            _err(f"Error: internal error ({type(exc).__name__}: {clip(exc, 200)}); please "
                 "report it with the command that caused it (SCALECLI_TRACEBACK=1 shows where)")
        raise typer.Exit(1)

    return wrapper


def _messages(result) -> None:
    """A result's notes (what was done) and warnings (what may be wrong) on stderr; --quiet
    keeps the warnings only."""
    for line in () if _QUIET else getattr(result, "notes", ()):
        _err(line if line.startswith("columns: ") else f"note: {line}")
    for line in getattr(result, "warnings", ()):
        _err(f"warning: {line}")


def _color(color: bool | None) -> bool:
    return sys.stdout.isatty() if color is None else color


# ---- global options: --version, --quiet; plain flags in --help -----------------------------
_QUIET = False


def _version(value: bool) -> None:
    if value:
        from . import __version__

        _out(f"scalecli {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print no notes and no columns: lines (warnings and errors "
                              "still print).")] = False,
) -> None:
    """Fit neural scaling laws to experiment logs: ingest, fit, allocate compute, plot."""
    global _QUIET
    _QUIET = quiet


def _plain_flags() -> None:
    """Typer's help shows an on/off flag's type as ``<bool>``: a flag takes no value, so its
    type column is left empty."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "plain_flags", False):
        return

    def display_type_rich(self, ctx):
        return None if self.is_flag else shown(self, ctx)

    display_type_rich.plain_flags = True
    TyperOption.display_type_rich = display_type_rich


_plain_flags()


# ---- commands -----------------------------------------------------------------------------
@app.command()
@handles_errors
def ingest(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None,
           map: MapOpt = None, params: ParamsOpt = None, strict: StrictOpt = False,
           verify: Annotated[bool, typer.Option(
               "--verify", help="Re-read every file, whatever its size and time say.")] = False,
           wait: Annotated[float | None, typer.Option(
               "--wait", min=0, help="Seconds to wait for another ingest into the store. "
                                     "[default: 5]")] = None) -> None:
    """Normalize logs into a Parquet store; unchanged files are skipped, changed ones replaced.

    Example: scalecli ingest runs/ --store .scalecli
    """
    from . import api
    from .report.store import ingest_output

    with _ingest_progress() as progress:
        rep = api.ingest(*(paths or []), store=store, reader=reader, experiment=experiment,
                         mapping=_reading(map, params), strict=strict, verify=verify, wait=wait,
                         progress=progress)
    for line in () if _QUIET else rep.columns:
        _err(f"columns: {line}")
    _messages(rep)
    _out(ingest_output(rep))


@contextlib.contextmanager
def _ingest_progress():
    """A transient bar on stderr for an ingest that takes over a second: only on a terminal
    and without --quiet, so pipes, logs and tests never see it (stdout never does)."""
    if _QUIET or not sys.stderr.isatty():
        yield None
        return
    state: dict = {}

    def tell(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            if time.monotonic() - start < 1.0:
                return
            from rich.console import Console
            from rich.progress import Progress

            bar = state["bar"] = Progress(console=Console(stderr=True), transient=True)
            bar.start()
            state["task"] = bar.add_task("ingest", total=total)
        bar.update(state["task"], completed=done)

    start = time.monotonic()
    try:
        yield tell
    finally:
        if state.get("bar") is not None:
            state["bar"].stop()


@app.command()
@handles_errors
def init(folder: Annotated[Path, typer.Argument(help="The folder of logs.", show_default=False)],
         reader: ReaderOpt = None, law: LawOpt = None,
         force: Annotated[bool, typer.Option(
             "--force", help="Overwrite an existing scalecli.yaml.")] = False,
         format: FormatOpt = Fmt.table) -> None:
    """Guess a folder's column mapping and write its commented scalecli.yaml, which later
    commands run there (or given that folder) read.

    Example: scalecli init runs/
    """
    from . import api
    from .report.tables import render_table

    table = api.init(folder, reader=reader, law=law, force=force)
    _messages(table)
    _out(render_table(table, format.value))


@app.command()
@handles_errors
def runs(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None,
         map: MapOpt = None, params: ParamsOpt = None, include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
         min_step: MinStepOpt = None, min_tokens: MinTokensOpt = None,
         max_tokens: MaxTokensOpt = None,
         where: WhereOpt = None,
         strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """One row per run: N, D, C (* = derived as 6ND), final loss and its metric, source.

    Example: scalecli runs runs/ --format json
    """
    from . import api
    from .report.tables import render_table

    table = api.runs(paths or None, store=store, reader=reader, experiment=experiment, mapping=_reading(map, params), strict=strict,
                     include_runs=include_run, exclude_runs=exclude_run,
                     min_step=min_step, min_tokens=min_tokens, max_tokens=max_tokens,
                     where=where)
    _messages(table)
    _out(render_table(table, format.value))


@app.command()
@handles_errors
def fit(paths: Paths = None, store: StoreOpt = None, law: LawOpt = None, config: ConfigOpt = None,
        reader: ReaderOpt = None, experiment: ExperimentOpt = None, map: MapOpt = None, params: ParamsOpt = None, reduce: ReduceOpt = None,
        x: XOpt = None, y: YOpt = None, loss: LossOpt = None, delta: DeltaOpt = None,
        space: SpaceOpt = None, fix: FixOpt = None, breaks: BreaksOpt = None,
        include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
        envelope: Annotated[str | None, typer.Option(
            help="Fit the lower envelope: pareto or bins (Cherti et al. 2023).")] = None,
        bins: Annotated[int, typer.Option(help="Bins of log10 x for --envelope bins.")] = 5,
        bin_pad: Annotated[float, typer.Option(
            help="Decades added to the largest x for --envelope bins.")] = 0.1,
        holdout: Annotated[int | None, typer.Option(
            help="With --law all: rank laws by error on the K largest runs by compute, "
                 "each law fitted without them. [default: 3]")] = None,
        seed: SeedOpt = None,
        save: Annotated[Path | None, typer.Option(
            help="Write the fit as JSON here (its folder is made).")] = None,
        bootstrap: Annotated[int | None, typer.Option(
            help="Resample the runs B times and refit: intervals and standard errors.")] = None,
        ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
        jobs: Annotated[int, typer.Option(
            min=1, max=256, help="Threads for the bootstrap refits.")] = 1,
        tolerance: Annotated[float | None, typer.Option(
            help="List other optima within this objective margin. [default: 0.005]")] = None,
        flops: Annotated[str | None, typer.Option(
            help="With --bootstrap: intervals of N_opt, D_opt and loss at these budgets.")
        ] = None,
        weights: Annotated[str | None, typer.Option(
            help="Weight the runs: seed-variance (each (N, D) by the inverse of its seeds' "
                 "variance) or none. [default: none]")] = None,
        residuals: Annotated[bool, typer.Option(
            "--residuals", help="Also print each run's residual, outliers flagged.")] = False,
        overestimate_penalty: PenaltyOpt = None,
        drop_outliers: DropOutliersOpt = False,
        min_step: MinStepOpt = None, min_tokens: MinTokensOpt = None,
        max_tokens: MaxTokensOpt = None, points: PointsOpt = None,
        skip_fraction: SkipOpt = None, smooth: SmoothOpt = None, anchor: AnchorOpt = None,
        step1: Annotated[Path | None, typer.Option(
            "--step1", help="The saved step-1 fit whose prediction this law's variable is "
                            "(recorded; predict --then checks it).")] = None,
        where: WhereOpt = None,
        split: SplitOpt = None, train_runs: TrainRunsOpt = None, schedule: ScheduleOpt = None,
        strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Fit a scaling law to the runs' final losses (--law all: compare every applicable law),
    or a curve law (multi-power, lr-anneal, power-area) to every point of their loss curves.

    Example: scalecli fit runs/ --law chinchilla --save fit.json
    """
    from . import api

    if api.is_curve_law(law):
        _not_for_curves({"--config": config, "--reduce": reduce, "--x": x, "--fix": fix,
                         "--breaks": breaks, "--envelope": envelope, "--holdout": holdout,
                         "--bootstrap": bootstrap, "--tolerance": tolerance, "--flops": flops,
                         "--weights": weights, "--residuals": residuals,
                         "--overestimate-penalty": overestimate_penalty,
                         "--drop-outliers": drop_outliers, "--min-step": min_step,
                         "--min-tokens": min_tokens, "--max-tokens": max_tokens,
                         "--points": points, "--space": space,
                         "--skip-fraction": skip_fraction, "--smooth": smooth,
                         "--anchor": anchor, "--step1": step1}, law)
        return _fit_curves(paths, store, law, reader, map, params, y, loss, delta,
                           include_run, exclude_run, where, split, train_runs, schedule, save,
                           strict, format)
    _not_for_curves({"--split": split, "--train-runs": train_runs, "--schedule": schedule},
                    law, curves=False)
    from .report.fit import fit_output
    from .report.progress import Progress

    with Progress("bootstrap") as progress:
        result = api.fit(paths or None, law, store=store, reader=reader, experiment=experiment, strict=strict,
                         config=config, mapping=_reading(map, params), reduce=reduce, target=y, x=x, loss=loss,
                         delta=delta, space=space, fixed=fix, seed=seed, envelope=envelope,
                         bins=bins, bin_pad=bin_pad, breaks=breaks, holdout=holdout, save=save,
                         bootstrap=bootstrap, ci=ci, flops=flops, progress=progress,
                         tolerance=tolerance, jobs=jobs, weights=weights, residuals=residuals,
                         include_runs=include_run, exclude_runs=exclude_run,
                         overestimate_penalty=overestimate_penalty,
                         drop_outliers=drop_outliers,
                         min_step=min_step, min_tokens=min_tokens, max_tokens=max_tokens,
                         points=points, skip_fraction=skip_fraction, smooth=smooth,
                         anchor=anchor, step1=step1,
                         where=where)
    _messages(result)
    if save is not None:
        _err(f"saved fit to {save}")
    _out(fit_output(result, format.value))


def _not_for_curves(given: dict, law, curves: bool = True) -> None:
    """Options of one kind of fit given to the other: refused, never silently ignored."""
    from .errors import ConfigError

    used = [k for k, v in given.items() if v not in (None, False, [])]
    if used and curves:
        raise ConfigError(f"{', '.join(used)}: not an option of a curve law's fit ({law}); "
                          "it fits every logged point (see scalecli fit --help)")
    if used:
        raise ConfigError(f"{', '.join(used)}: options of the curve laws (multi-power, "
                          f"lr-anneal, power-area), not of {law or 'chinchilla'}")


def _fit_curves(paths, store, law, reader, map, params, y, loss, delta, include_run,
                exclude_run, where, split, train_runs, schedule, save, strict, format):
    from . import api
    from .report.curves import curve_output

    result = api.fit_curves(paths or None, law, store=store, reader=reader,
                            mapping=_reading(map, params), strict=strict, target=y,
                            schedule=schedule, split=split, train_runs=train_runs, loss=loss,
                            delta=delta, include_runs=include_run, exclude_runs=exclude_run,
                            where=where, save=save)
    _messages(result)
    if save is not None:
        _err(f"saved fit to {save}")
    _out(curve_output(result, format.value))


@app.command()
@handles_errors
def evaluate(paths: Paths = None, store: StoreOpt = None, law: LawOpt = None,
             fit_file: Annotated[Path | None, typer.Option(
                 "--fit", help="A curve fit saved by `scalecli fit --law multi-power --save`.")
             ] = None,
             params: Annotated[str | None, typer.Option(
                 "--params", help="The law's parameters: NAME=VALUE,... (with --law).")] = None,
             reader: ReaderOpt = None, map: MapOpt = None, y: YOpt = None,
             delta: DeltaOpt = None, include_run: IncludeOpt = None,
             exclude_run: ExcludeOpt = None, where: WhereOpt = None,
             split: SplitOpt = None, train_runs: TrainRunsOpt = None,
             schedule: ScheduleOpt = None, reduce: ReduceOpt = None, x: XOpt = None,
             strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Score given parameters on the runs without fitting: a curve law on every logged point of
    each curve, a final-loss law on each run's final value.

    Example: scalecli evaluate runs/ --law multi-power --params L0=2.8,A=0.55,alpha=0.5,B=400,C=1.5,beta=0.55,gamma=0.6
    """
    from . import api
    from .report.curves import curve_output

    result = api.evaluate(paths or None, law=law, params=params, fit_file=fit_file,
                          store=store, reader=reader, mapping=map, strict=strict, target=y,
                          schedule=schedule, split=split, train_runs=train_runs, delta=delta,
                          include_runs=include_run, exclude_runs=exclude_run, where=where,
                          reduce=reduce, x=x)
    _messages(result)
    _out(curve_output(result, format.value))


@app.command()
@handles_errors
def schedule(spec: Annotated[str, typer.Argument(
                 help="e.g. cosine:peak=3e-4,warmup=300,final=3e-5 (see README).",
                 show_default=False)],
             steps: Annotated[int | None, typer.Option(
                 min=1, max=100_000_000, help="Steps N (or steps=N in the spec).")] = None,
             format: FormatOpt = Fmt.csv) -> None:
    """Print a learning-rate schedule's value at every step (CSV step,lr), to check against
    logs.

    Example: scalecli schedule wsd:peak=3e-4,warmup=300,decay=0.2,final=3e-5 --steps 6000
    """
    from . import api
    from .report.curves import schedule_output

    _out(schedule_output(api.schedule_values(spec, steps), format.value))


@app.command()
@handles_errors
def optimal(
    flops: Annotated[str | None, typer.Option(
        help="Budget(s): 1e21, 1e20,1e21, 1e19..1e25, or - for stdin.")] = None,
    steps: Annotated[int, typer.Option(
        min=1, max=10_000, help="Budgets in a range (log-spaced).")] = 5,
    fit: FitFileOpt = None, law: LawOpt = None,
    target_loss: Annotated[str | None, typer.Option(
        help="The least compute (and its N, D) that reaches this loss.")] = None,
    inference_tokens: Annotated[str | None, typer.Option(
        help="With --target-loss: minimize 6ND + 2NT for T inference tokens.")] = None,
    max_tokens: Annotated[str | None, typer.Option(help="Cap the training tokens D.")] = None,
    unique_tokens: Annotated[str | None, typer.Option(
        help="Unique tokens available (data-constrained law).")] = None,
    n: Annotated[str | None, typer.Option(
        "--n", help="A planned model size: scored at --flops, or sized for --target-loss.")
    ] = None,
    tokens: Annotated[str | None, typer.Option(
        "--tokens", help="Planned training tokens: scored at --flops, or for --target-loss.")
    ] = None,
    png: PngOpt = None,
    svg: SvgOpt = None,
    format: FormatOpt = Fmt.table,
) -> None:
    """Compute-optimal model size and tokens for compute budgets (C = 6·N·D).

    Example: scalecli optimal --flops 1e19..1e25 --steps 7 --fit fit.json
    """
    from . import api
    from .report.tables import render_table

    _need_figures(png, svg)
    table = api.optimal_table(fit, flops, law=law, steps=steps, max_tokens=max_tokens,
                              unique_tokens=unique_tokens, target_loss=target_loss,
                              inference_tokens=inference_tokens, n_params=n, tokens=tokens)
    _messages(table)
    _figures("optimal", table, png, svg)
    _out(render_table(table, format.value))


@app.command()
@handles_errors
def predict(
    at: Annotated[list[str] | None, typer.Option(
        "--at", help="A point: N=7e9,D=1.4e12 (symbols or column names); repeatable.")] = None,
    points: Annotated[Path | None, typer.Option(
        "--points", help="A CSV or JSONL file of points, one per row; run names and observed "
                         "values are shown beside the predictions.")] = None,
    n: Annotated[str | None, typer.Option(
        "--n", help="Model size N: 7e9, a list 1e9,3e9,7e9 or a range 1B..70B (--steps "
                    "log-spaced values).")] = None,
    d: Annotated[str | None, typer.Option(
        "--tokens", "--d", help="Training tokens D: a value, a list or a range, as --n.")] = None,
    fit: FitFileOpt = None, law: LawOpt = None,
    then: Annotated[list[Path] | None, typer.Option(
        "--then", help="A fit of one variable to apply to the prediction (e.g. downstream "
                       "error from loss); repeatable.")] = None,
    steps: Annotated[int | None, typer.Option(
        min=1, max=100_000_000, show_default=False,
        help="Values in each --n/--tokens range (log-spaced) [default: 5]; with --schedule, "
             "the schedule's length N (unless its spec says steps=N).")] = None,
    heatmap: Annotated[bool | None, typer.Option(
        "--heatmap/--no-heatmap", show_default=False,
        help="Heat map of the grid (default: in table format, when N and D both vary).")] = None,
    schedule: Annotated[str | None, typer.Option(
        "--schedule", help="With --fit of a curve law (multi-power, ...): predict the loss "
                           "curve of this LR schedule, e.g. wsd:peak=3e-4,warmup=300,"
                           "decay=0.2,final=3e-5,steps=6000.")] = None,
    every: Annotated[int | None, typer.Option(
        "--every", min=1, help="With --schedule: a row every K steps (and the last step). "
                               "[default: about 20 rows]")] = None,
    at_steps: Annotated[str | None, typer.Option(
        "--at-steps", help="With --schedule: the steps to predict at, e.g. 1000,2000,5000.")
    ] = None,
    color: ColorOpt = None,
    format: FormatOpt = Fmt.table,
) -> None:
    """Predict with a fitted law (or a law's published values) at points or over a grid; with
    --schedule, a curve law's whole loss curve for a schedule.

    Example: scalecli predict --n 1e9,3e9,7e9 --tokens 1e11..1e13 --steps 5 --fit fit.json
    """
    from . import api
    from .errors import ConfigError

    if schedule is not None:
        used = [k for k, v in (("--at", at), ("--points", points), ("--n", n), ("--tokens", d),
                               ("--then", then), ("--heatmap", heatmap)) if v]
        if used:
            raise ConfigError(f"{', '.join(used)}: not with --schedule (a schedule's loss "
                              "curve is predicted at its steps: --every K or --at-steps)")
        from .report.curves import prediction_output

        pred = api.predict_curve(fit, schedule, law=law, steps=steps, every=every,
                                 at_steps=at_steps)
        _messages(pred)
        _out(prediction_output(pred, format.value))
        return
    if every is not None or at_steps is not None:
        raise ConfigError("--every, --at-steps: options of --schedule (a curve law's loss "
                          "curve along a schedule)")
    if steps is not None and steps > 10_000:
        raise ConfigError(f"--steps {steps}: at most 10,000 values in a --n/--tokens range")
    from .report.heatmap import heatmap_view
    from .report.tables import render_table

    table = api.predict_table(fit, law, at=at or (), points_file=points, n=n, d=d,
                              then=then or (), steps=5 if steps is None else steps)
    _messages(table)
    _out(render_table(table, format.value))
    text, notes = heatmap_view(table, heatmap, format.value, _color(color))
    for line in notes:
        _err(f"note: {line}")
    if text:
        _out(text)


@app.command()
@handles_errors
def plot(paths: Paths = None, store: StoreOpt = None, law: LawOpt = None,
         config: ConfigOpt = None, fit: FitFileOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None,
         map: MapOpt = None, params: ParamsOpt = None, reduce: ReduceOpt = None,
         include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
         x: Annotated[str | None, typer.Option(
             "--x", help="Column of a one-variable law's variable.")] = None,
         width: Annotated[int, typer.Option(min=40, max=1000,
                                            help="Plot width in columns.")] = 80,
         height: Annotated[int, typer.Option(min=12, max=500,
                                             help="Plot height in rows.")] = 24,
         color: Annotated[bool | None, typer.Option(
             "--color/--no-color", help="Colour (default: when stdout is a terminal).",
             show_default=False)] = None,
         residuals: Annotated[bool, typer.Option(
             "--residuals", help="Plot each run's residual against compute instead.")] = False,
         min_step: MinStepOpt = None, min_tokens: MinTokensOpt = None,
         max_tokens: MaxTokensOpt = None, points: PointsOpt = None,
         png: PngOpt = None,
         svg: SvgOpt = None,
         where: WhereOpt = None,
         split: SplitOpt = None, train_runs: TrainRunsOpt = None, schedule: ScheduleOpt = None,
         y: YOpt = None, skip_fraction: SkipOpt = None, smooth: SmoothOpt = None,
         anchor: AnchorOpt = None,
         strict: StrictOpt = False) -> None:
    """Terminal plot: loss vs compute, the fitted law per model size, the compute-optimal
    frontier; for a curve law (multi-power, ...), each run's loss curve and its prediction.

    Example: scalecli plot runs/ --law chinchilla
    """
    from . import api
    from .report.fit import plot_fit

    if api.is_curve_law(law) or api.is_curve_fit(fit):
        _not_for_curves({"--config": config, "--reduce": reduce, "--x": x,
                         "--residuals": residuals, "--min-step": min_step,
                         "--min-tokens": min_tokens, "--max-tokens": max_tokens,
                         "--points": points, "--png": png, "--svg": svg,
                         "--skip-fraction": skip_fraction, "--smooth": smooth,
                         "--anchor": anchor}, law or "curve fit")
        from .report.plots import loss_curves_plot

        result = api.plot_curves(paths or None, law, fit_file=fit, store=store, reader=reader,
                                 mapping=_reading(map, params), strict=strict, target=y,
                                 schedule=schedule, split=split, train_runs=train_runs,
                                 include_runs=include_run, exclude_runs=exclude_run,
                                 where=where)
        _messages(result)
        how = "fitted" if result.fitted else f"from {fit}"
        _out(loss_curves_plot(result.series(), width=width, height=height, color=_color(color),
                              title=f"{result.law} ({how}): loss curves, observed and "
                                    "predicted"))
        return
    _not_for_curves({"--split": split, "--train-runs": train_runs, "--schedule": schedule},
                    law, curves=False)
    _need_figures(png, svg)
    result, frame = api.plot_data(paths or None, law, fit_file=fit, store=store, reader=reader, experiment=experiment,
                                  config=config, mapping=_reading(map, params), reduce=reduce, x=x, strict=strict,
                                  residuals=residuals, include_runs=include_run,
                                  exclude_runs=exclude_run, min_step=min_step,
                                  min_tokens=min_tokens, max_tokens=max_tokens, points=points,
                                  where=where, target=y, skip_fraction=skip_fraction,
                                  smooth=smooth, anchor=anchor)
    _messages(result)
    _figures("residuals" if residuals else "fit", result, png, svg, frame)
    if residuals:
        from .report.residuals import residual_plot

        _out(residual_plot(result, width=width, height=height, color=_color(color)))
        return
    _out(plot_fit(result, frame, width=width, height=height, color=_color(color)))


@app.command()
@handles_errors
def plan(
    flops: Annotated[str, typer.Option(
        help="The budget to centre on (1e21; budgets span a decade either side) or a range "
             "1e19..1e21.")] = "1e21",
    budgets: Annotated[int, typer.Option(help="IsoFLOP budgets to plan.")] = 5,
    sizes: Annotated[int, typer.Option(help="Model sizes per budget (at least 3).")] = 7,
    fit: FitFileOpt = None, law: LawOpt = None,
    spread: Annotated[float | None, typer.Option(
        help="Half-width of the sizes in decades of N around N opt. [default: 0.602, "
             "i.e. x/÷ 4]")] = None,
    total_compute: Annotated[bool, typer.Option(
        "--total-compute", help="Also report the plan's total compute (sum of C).")] = False,
    round_sizes: Annotated[bool, typer.Option(
        "--round", help="Round each N to 2 significant digits (D stays C/6N).")] = False,
    format: FormatOpt = Fmt.table,
) -> None:
    """Propose the next sweep: IsoFLOP budgets and model sizes symmetric in log N around each
    budget's compute-optimal N (from --fit, or the law's published values), D = C/(6N).

    Example: scalecli plan --flops 1e21 --budgets 5 --sizes 7 --fit fit.json --format csv
    """
    from . import api
    from .report.tables import render_table

    table = api.plan(fit, flops, law=law, budgets=budgets, sizes=sizes, spread=spread,
                     total_compute=total_compute, round_sizes=round_sizes)
    _messages(table)
    _out(render_table(table, format.value))


@app.command()
@handles_errors
def show(fit_file: Annotated[Path, typer.Argument(
             metavar="FIT.json", help="A fit saved by `scalecli fit --save`.",
             show_default=False)],
         format: FormatOpt = Fmt.table) -> None:
    """A saved fit's full report: parameters, intervals, goodness, and its provenance (law,
    options, selection, data hash, runs used and dropped, versions, time).

    Example: scalecli show fit.json --format json
    """
    from . import api
    from .report.show import show_output

    result = api.show(fit_file)
    _messages(result)
    _out(show_output(result, format.value))


@app.command()
@handles_errors
def isoflop(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None,
            map: MapOpt = None, params: ParamsOpt = None, reduce: ReduceOpt = None, flops: FlopsOpt = None,
            include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
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
            bootstrap: Annotated[int | None, typer.Option(
                help="Resample the runs within each budget B times: intervals on a and b.")
            ] = None,
            ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
            seed: Annotated[int, typer.Option(min=0, max=2**32 - 1,
                                              help="Seed of the resampling.")] = 0,
            plot: PlotOpt = False, color: ColorOpt = None,
            min_step: MinStepOpt = None, min_tokens: MinTokensOpt = None,
            max_tokens: MaxTokensOpt = None,
            png: PngOpt = None,
            svg: SvgOpt = None,
            where: WhereOpt = None,
            strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Chinchilla approach 2: IsoFLOP profiles -> N_opt ∝ C^a, D_opt ∝ C^b (with approach 3's).

    Example: scalecli isoflop runs/ --flops 1e21,1e22 --optimum spline
    """
    from . import api
    from .report.isoplots import approach_output
    from .report.progress import Progress

    _need_figures(png, svg)
    with Progress("bootstrap") as progress:
        res = api.isoflop(paths or None, store=store, reader=reader, experiment=experiment, mapping=_reading(map, params),
                          strict=strict, flops=flops, steps=steps, approach3=not plot,
                          tolerance=tolerance, optimum=optimum, weighted=weighted,
                          group_by=group_by, reduce=reduce or "last", bootstrap=bootstrap,
                          ci=ci, seed=seed, progress=progress, include_runs=include_run,
                          exclude_runs=exclude_run, min_step=min_step, min_tokens=min_tokens,
                          max_tokens=max_tokens, where=where)
    _messages(res)
    _figures("isoflop", res, png, svg)
    _out(approach_output(res, format.value, plot=plot, color=_color(color)))


@app.command()
@handles_errors
def frontier(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None,
             map: MapOpt = None, params: ParamsOpt = None, flops: FlopsOpt = None, steps: StepsOpt = 5,
             include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
             buckets: Annotated[int, typer.Option(
                 min=10, max=1_000_000,
                 help="Log-spaced compute values the envelope is read at.")] = 1500,
             regress: Annotated[str, typer.Option(
                 "--regress", help="sizes (one point per winning size) or buckets (the paper's).")
             ] = "sizes",
             plot: PlotOpt = False, color: ColorOpt = None,
             min_step: MinStepOpt = None, min_tokens: MinTokensOpt = None,
             max_tokens: MaxTokensOpt = None,
             png: PngOpt = None,
             svg: SvgOpt = None,
             where: WhereOpt = None,
             strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Chinchilla approach 1: the lower envelope of loss curves -> N_opt ∝ C^a, D_opt ∝ C^b.

    Example: scalecli frontier runs/ --flops 1e21
    """
    from . import api
    from .report.isoplots import approach_output

    _need_figures(png, svg)
    res = api.frontier(paths or None, store=store, reader=reader, experiment=experiment, mapping=_reading(map, params), strict=strict,
                       flops=flops, steps=steps, approach3=not plot, buckets=buckets,
                       regress=regress, include_runs=include_run, exclude_runs=exclude_run,
                       min_step=min_step, min_tokens=min_tokens, max_tokens=max_tokens,
                       where=where)
    _messages(res)
    _figures("frontier", res, png, svg)
    _out(approach_output(res, format.value, plot=plot, color=_color(color)))


@app.command()
@handles_errors
def hparams(paths: Paths = None, store: StoreOpt = None, reader: ReaderOpt = None,
            experiment: ExperimentOpt = None, map: MapOpt = None, params: ParamsOpt = None,
            y: YOpt = None, reduce: ReduceOpt = None,
            near: Annotated[str, typer.Option(
                "--near", help="Keep each (N, D) setting's runs within this relative margin "
                               "of its best loss (0.25% or 0.0025).")] = "0.25%",
            lr_on: Annotated[str, typer.Option(
                "--lr-on", help="Variables of the learning-rate law (N, D, C).")] = "N,D",
            batch_on: Annotated[str, typer.Option(
                "--batch-on", help="Variables of the batch-size law (N, D, C).")] = "D",
            seq_len: Annotated[str | None, typer.Option(
                "--seq-len", help="Tokens per sequence: the batch column counts sequences, "
                                  "batch in tokens = batch × this. [default: batch in tokens]")
            ] = None,
            at: Annotated[list[str] | None, typer.Option(
                "--at", help="Recommend lr and batch here, e.g. N=1e9,D=100B (repeatable).")
            ] = None,
            bootstrap: Annotated[int | None, typer.Option(
                help="Refit B resamples (see --resample): intervals on the laws.")] = None,
            resample: Annotated[str, typer.Option(
                help="What a bootstrap resample draws: settings (whole (N, D) settings) or "
                     "runs (single near-best runs, Step Law's).")] = "settings",
            estimate: Annotated[str, typer.Option(
                help="With --bootstrap, the law reported: mean (of the bootstrap "
                     "coefficients, Step Law's) or fit (least squares on all runs).")] = "mean",
            interval: Annotated[str, typer.Option(
                help="percentile (of the bootstrap coefficients) or normal (their mean ± "
                     "z·sd).")] = "percentile",
            ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
            seed: Annotated[int, typer.Option(min=0, max=2**32 - 1,
                                              help="Seed of the resampling.")] = 0,
            include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
            where: WhereOpt = None,
            strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Step Law: optimal learning rate and batch size as power laws of N and D, from a sweep.

    Example: scalecli hparams sweep.csv --seq-len 2048 --at N=1e9,D=100B --bootstrap 1000
    """
    from . import api
    from .report.hparams import hparams_output
    from .report.progress import Progress

    with Progress("bootstrap") as progress:
        res = api.hparams(paths or None, store=store, reader=reader, experiment=experiment,
                          mapping=_reading(map, params), strict=strict, target=y,
                          reduce=reduce, near=near, lr_on=lr_on, batch_on=batch_on,
                          seq_len=seq_len, at=at, bootstrap=bootstrap, seed=seed, ci=ci,
                          interval=interval, estimate=estimate, resample=resample,
                          include_runs=include_run, exclude_runs=exclude_run, where=where,
                          progress=progress)
    _messages(res)
    _out(hparams_output(res, format.value))


@app.command()
@handles_errors
def compare(paths: Paths = None, store: StoreOpt = None,
            group_by: Annotated[str | None, typer.Option(
                "--group-by", help="A run column whose values are the groups (else each path "
                                   "is a group).")] = None,
            baseline: Annotated[str | None, typer.Option(
                "--baseline", help="The group the others are weighed against. "
                                   "[default: the first path, or the first value]")] = None,
            law: LawOpt = None, config: ConfigOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None,
            map: MapOpt = None, params: ParamsOpt = None, reduce: ReduceOpt = None,
            loss: Annotated[str | None, typer.Option(help="Objective: huber, mse or mae.")] = None,
            delta: Annotated[float | None, typer.Option(help="Huber delta.")] = None,
            space: Annotated[str | None, typer.Option(
                help="Residual space: log, log1p or linear.")] = None,
            fix: Annotated[str | None, typer.Option(
                "--fix", help="Hold parameters in every group: NAME=VALUE[,...].")] = None,
            seed: Annotated[int | None, typer.Option(
                min=0, max=2**32 - 1, help="Seed of the random extra starts.")] = None,
            flops: Annotated[str | None, typer.Option(
                "--flops", help="Budgets: 1e21, 1e20,1e21, 1e19..1e25, or -. [default: powers "
                                "of ten over the shared compute and two decades past]")] = None,
            steps: StepsOpt = 5,
            bootstrap: Annotated[int | None, typer.Option(
                help="Resample each group's runs B times: intervals, and whether the data "
                     "support a ranking.")] = None,
            ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
            plot: PlotOpt = False, color: ColorOpt = None,
            overestimate_penalty: PenaltyOpt = None,
            min_step: MinStepOpt = None, min_tokens: MinTokensOpt = None,
            max_tokens: MaxTokensOpt = None, points: PointsOpt = None,
            png: PngOpt = None,
            svg: SvgOpt = None,
            include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
            where: WhereOpt = None,
            strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """Fit one law to each group of runs and weigh their compute-optimal frontiers: parameters
    side by side, the compute multiplier at each budget, where the frontiers cross.

    Example: scalecli compare runs/ --group-by arch   (or: scalecli compare dense/ moe/)
    """
    from . import api
    from .report.compare import compare_output

    _need_figures(png, svg)
    res = api.compare(paths or None, group_by=group_by, baseline=baseline, store=store,
                      reader=reader, experiment=experiment, strict=strict, law=law, config=config, mapping=_reading(map, params),
                      reduce=reduce, loss=loss, delta=delta, space=space, fixed=fix, seed=seed,
                      flops=flops, steps=steps, bootstrap=bootstrap, ci=ci,
                      overestimate_penalty=overestimate_penalty,
                      min_step=min_step, min_tokens=min_tokens, max_tokens=max_tokens,
                      points=points,
                      include_runs=include_run, exclude_runs=exclude_run, where=where)
    _messages(res)
    _figures("compare", res, png, svg)
    _out(compare_output(res, format.value, plot=plot, color=_color(color)))


@app.command()
@handles_errors
def report(paths: Paths = None, store: StoreOpt = None, law: LawOpt = None,
           config: ConfigOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None, map: MapOpt = None, params: ParamsOpt = None,
           reduce: ReduceOpt = None, include_run: IncludeOpt = None,
           exclude_run: ExcludeOpt = None, seed: SeedOpt = None,
           output: Annotated[Path | None, typer.Option(
               "--output", "-o", help="The report file: .html (one self-contained file) or .md "
                                      "(figures as PNG files in NAME_files/ beside it).",
               show_default=False)] = None,
           bootstrap: Annotated[int | None, typer.Option(
               help="Resample the runs B times and refit: intervals in the report.")] = None,
           ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
           jobs: Annotated[int, typer.Option(
               min=1, max=256, help="Threads for the bootstrap refits.")] = 1,
           flops: Annotated[str | None, typer.Option(
               help="Budgets of the allocation table: 1e21, 1e20,1e21, 1e19..1e25. [default: "
                    "four powers of ten from the largest run's compute up]")] = None,
           steps: StepsOpt = 5,
           strict: StrictOpt = False) -> None:
    """Write one report to share: the data, the fit with intervals, residuals, the allocation
    table, figures and provenance.

    Example: scalecli report runs/ --law chinchilla --bootstrap 200 -o report.html
    """
    from . import api
    from .errors import ConfigError
    from .report.document import document_format, render_document, write_document
    from .report.progress import Progress

    if output is None:
        raise ConfigError("report needs -o FILE: report.html (self-contained) or report.md")
    kind = document_format(output)
    with Progress("bootstrap") as progress:
        rep = api.report(paths or None, law, store=store, reader=reader, experiment=experiment, strict=strict,
                         config=config, mapping=_reading(map, params), reduce=reduce, include_runs=include_run,
                         exclude_runs=exclude_run, seed=seed, bootstrap=bootstrap, ci=ci,
                         jobs=jobs, flops=flops, steps=steps, progress=progress)
    _messages(rep)
    doc = render_document(rep, kind, name=output.stem)
    for line in doc.warnings:
        _err(f"warning: {line}")
    for path in write_document(doc, output):
        _err(f"wrote {path}")


@app.command()
@handles_errors
def backtest(paths: Paths = None, store: StoreOpt = None, law: LawOpt = None,
             config: ConfigOpt = None, reader: ReaderOpt = None, experiment: ExperimentOpt = None, map: MapOpt = None, params: ParamsOpt = None,
             reduce: ReduceOpt = None, x: XOpt = None, y: YOpt = None, loss: LossOpt = None,
             delta: DeltaOpt = None, space: SpaceOpt = None, fix: FixOpt = None,
             breaks: BreaksOpt = None, seed: SeedOpt = None,
             include_run: IncludeOpt = None, exclude_run: ExcludeOpt = None,
             by: Annotated[str | None, typer.Option(
                 "--by", help="Order the ladder by model size (n_params), compute (flops) or "
                              "another column. [default: n_params]")] = None,
             tolerance: Annotated[float, typer.Option(
                 help="Runs whose --by value is within this fraction of the next smaller "
                      "run's share a rung.")] = 0.1,
             holdout_largest: Annotated[int | None, typer.Option(
                 "--holdout-largest", min=1,
                 help="One split: fit without the K largest rungs and predict them.")] = None,
             min_rungs: Annotated[int | None, typer.Option(
                 "--min-rungs", min=1, help="Fit on at least K rungs. [default: as few as "
                                            "pass the fit's checks]")] = None,
             envelope: Annotated[str | None, typer.Option(hidden=True)] = None,
             holdout: Annotated[int | None, typer.Option(hidden=True)] = None,
             overestimate_penalty: PenaltyOpt = None,
             drop_outliers: DropOutliersOpt = False,
             min_step: MinStepOpt = None, min_tokens: MinTokensOpt = None,
             max_tokens: MaxTokensOpt = None, points: PointsOpt = None,
             skip_fraction: SkipOpt = None, smooth: SmoothOpt = None, anchor: AnchorOpt = None,
             where: WhereOpt = None,
             strict: StrictOpt = False, format: FormatOpt = Fmt.table) -> None:
    """How well a law extrapolates: fit on the smaller rungs of the ladder, predict every
    larger run (--law all: rank the laws by that error).

    Example: scalecli backtest runs/ --law chinchilla --by flops
    """
    from . import api
    from .report.backtest import backtest_output

    result = api.backtest(paths or None, law, store=store, reader=reader, experiment=experiment, strict=strict,
                          config=config, mapping=_reading(map, params), reduce=reduce, target=y, x=x, loss=loss,
                          delta=delta, space=space, fixed=fix, seed=seed, breaks=breaks, by=by,
                          tolerance=tolerance, holdout_largest=holdout_largest,
                          min_rungs=min_rungs, envelope=envelope, holdout=holdout,
                          include_runs=include_run, exclude_runs=exclude_run,
                          overestimate_penalty=overestimate_penalty,
                          drop_outliers=drop_outliers,
                          min_step=min_step, min_tokens=min_tokens, max_tokens=max_tokens,
                          points=points, skip_fraction=skip_fraction, smooth=smooth,
                          anchor=anchor,
                          where=where)
    _messages(result)
    _out(backtest_output(result, format.value))


laws_app = typer.Typer(help="The law catalogue; `laws show NAME` prints a law's YAML config.",
                       invoke_without_command=True, no_args_is_help=False)
app.add_typer(laws_app, name="laws")


@laws_app.callback()
@handles_errors
def laws(ctx: typer.Context, format: FormatOpt = Fmt.table) -> None:
    """The law catalogue: name, formula, variables (symbol=default column), parameters, source.

    Example: scalecli laws --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    from . import api
    from .report.tables import render_table

    _out(render_table(api.law_table(), format.value))


@laws_app.command("show")
@handles_errors
def laws_show(name: Annotated[str, typer.Argument(help="A law's name (see scalecli laws).")]
              ) -> None:
    """Print a law's YAML config, to save and edit: `--config FILE` then fits with it.

    Example: scalecli laws show chinchilla > my-law.yaml
    """
    from . import api

    _out(api.law_yaml(name))


@app.command()
@handles_errors
def passk(path: Annotated[Path, typer.Argument(
              help="CSV or JSON lines: one row per problem, its sample and correct counts.",
              show_default=False)],
          samples: Annotated[str, typer.Option(
              "--samples", help="Column of each problem's number of samples n.")] = "n",
          correct: Annotated[str, typer.Option(
              "--correct", help="Column of each problem's number of correct samples c.")] = "c",
          k: Annotated[str | None, typer.Option(
              "--k", help="Sample counts k, e.g. 1,2,4,8. [default: powers of two up to the "
                          "fewest samples]")] = None,
          format: FormatOpt = Fmt.table) -> None:
    """Coverage (mean unbiased pass@k over problems) at each k, to fit --law coverage to.

    Example: scalecli passk problems.csv --k 1,4,16,64 --format csv > coverage.csv
    """
    from . import api
    from .report.tables import render_table

    table = api.passk(path, samples=samples, correct=correct, ks=k)
    _messages(table)
    _out(render_table(table, format.value))


store_app = typer.Typer(help="Look after a store: check it, prune runs whose logs are gone.",
                        no_args_is_help=True)
app.add_typer(store_app, name="store")
StoreArg = Annotated[Path, typer.Argument(help="The store directory.", show_default=False)]


@store_app.command("check")
@handles_errors
def store_check(store: StoreArg, verify: Annotated[bool, typer.Option(
        "--verify", help="Compare every source's content, not only its size and time.")] = False,
                format: FormatOpt = Fmt.table) -> None:
    """Report what in the store is stale, missing, damaged or orphaned (exit 1 if anything).

    Example: scalecli store check .scalecli
    """
    from . import api
    from .report.store import check_output

    report = api.check_store(store, verify=verify)
    _messages(report)
    _out(check_output(report, format.value))
    if not report.ok:
        raise typer.Exit(1)


@store_app.command("prune")
@handles_errors
def store_prune(store: StoreArg, wait: Annotated[float | None, typer.Option(
        "--wait", min=0, help="Seconds to wait for another ingest. [default: 5]")] = None,
                dry_run: Annotated[bool, typer.Option(
                    "--dry-run", help="Say what would be dropped; change nothing.")] = False,
                format: FormatOpt = Fmt.table) -> None:
    """Drop the runs whose source log is gone.

    Example: scalecli store prune .scalecli
    """
    from . import api
    from .report.store import prune_output

    report = api.prune_store(store, dry_run=dry_run, wait=wait)
    _messages(report)
    _out(prune_output(report, format.value))


def _reading(map: str | None, params: str | None) -> str | None:
    """``--params`` travels with ``--map`` (it is a setting of the reading, see schema.SETTINGS),
    so the store re-reads a source when it changes."""
    if params is None:
        return map
    return f"{map},params={params}" if map else f"params={params}"


def _short_helps(typer_app) -> None:
    """The command list shows each command's first paragraph as one line (Typer keeps the
    docstring's line breaks there, which split a sentence across rows)."""
    for cmd in typer_app.registered_commands:
        doc = (cmd.help or (cmd.callback.__doc__ if cmd.callback else None) or "").strip()
        if cmd.short_help is None and doc:
            cmd.short_help = " ".join(doc.split("\n\n")[0].split())


_short_helps(app)


def main() -> None:
    import os

    # The arrays here are small: BLAS threads only contend (15x slower fits under load).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    sys.argv[1:] = _quiet_first(sys.argv[1:])
    if not any(k.endswith("_COMPLETE") for k in os.environ):  # completion lists every command
        name = _command_word(sys.argv[1:])
        _only(app, name)
        if name is None and "--help" in sys.argv[1:]:
            _listing_only(app)
    app()


_QUIET_FLAGS = ("--quiet", "-q")
_GLOBAL_FLAGS = (*_QUIET_FLAGS, "--version")


def _command_word(args: list[str]) -> str | None:
    """The command a command line names: its first word after the global flags."""
    for a in args:
        if a not in _GLOBAL_FLAGS:
            return None if a.startswith("-") else a
    return None


def _command_name(info) -> str:
    """A registered command's name as Typer derives it (its function's, dashed)."""
    return info.name or info.callback.__name__.replace("_", "-")


def _only(typer_app, name: str | None) -> None:
    """Leave ``typer_app`` holding only command ``name``, when it has one of that name. Typer
    builds a Click command, with every option, for each registered command before it runs
    one: a run that names its command needs only that one (half the start-up of ``optimal``).
    ``scalecli --help`` and a misspelt command still see them all."""
    commands = [c for c in typer_app.registered_commands if _command_name(c) == name]
    groups = [g for g in typer_app.registered_groups if g.name == name]
    if commands or groups:
        typer_app.registered_commands, typer_app.registered_groups = commands, groups


def _listing_only(typer_app) -> None:
    """For ``scalecli --help``, which lists the commands and runs none: each command keeps its
    name and one-line help but takes no parameters, so Typer does not build every option of
    every command just to print their names (the listing is the same, a third faster)."""
    def stub() -> None:  # never called: --help exits first
        raise AssertionError("a command's listing stub ran")

    for cmd in typer_app.registered_commands:
        cmd.name = _command_name(cmd)
        cmd.callback = stub


def _quiet_first(args: list[str]) -> list[str]:
    """``--quiet``/``-q`` is read wherever it is typed (``scalecli fit runs/ -q``), as the
    global option it is; words after a ``--`` are left alone."""
    end = args.index("--") if "--" in args else len(args)
    quiet = [a for a in args[:end] if a in _QUIET_FLAGS]
    if not quiet:
        return args
    return ["--quiet", *(a for a in args[:end] if a not in _QUIET_FLAGS), *args[end:]]


if __name__ == "__main__":
    main()
