"""The Python API: one function per CLI command, usable from a notebook.

>>> runs = load("sample_runs/")
>>> result = fit(runs, law="chinchilla")
>>> optimal(result, flops=1e21)[0].n_params

Options that the command line gives as text (``--map N=params``, ``--fix E=1.69``,
``--flops 1e19..1e25``) are accepted as text or as Python values alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

# What a call reads (runs, options) and how its result is finished: shared by every command,
# kept in their own modules; both import their heavy dependencies only when called.
from . import finish, inputs
from .inputs import OPTIMAL_QUANTITIES, STORE_ENV, found_store

if TYPE_CHECKING:
    from .analyses.allocation import Allocation
    from .analyses.backtest import Backtest, BacktestRanking
    from .analyses.compare import Comparison
    from .analyses.frontier import FrontierResult
    from .analyses.hparams import HparamsResult
    from .analyses.isoflop import IsoflopResult
    from .analyses.ranking import Ranking
    from .analyses.summary import ReportData
    from .analyses.table import Table
    from .config import FitSpec
    from .fitting import FitResult
    from .pipeline import fit_spec, load, points, roles_needed
    from .store import Store

__all__ = ["OPTIMAL_QUANTITIES", "STORE_ENV", "Allocation", "backtest", "check_store", "compare",
           "default_store", "fit", "fit_spec", "found_store", "frontier", "hparams", "ingest",
           "init", "isoflop", "law_table", "law_yaml", "load", "open_store", "optimal",
           "optimal_table", "parse_budgets", "plan", "plot_data", "points", "predict",
           "predict_table", "prune_store", "report", "roles_needed", "runs", "show"]

# Re-exported from the layers below, imported when first asked for: `scalecli ingest` and
# `optimal` never pay for the fit pipeline's imports.
_BELOW = {"Allocation": "analyses.allocation", "FitSpec": "config", "fit_spec": "pipeline",
          "load": "pipeline", "points": "pipeline", "roles_needed": "pipeline"}


def __getattr__(name: str) -> Any:
    if name in _BELOW:
        import importlib

        return getattr(importlib.import_module(f"{__name__.rpartition('.')[0]}.{_BELOW[name]}"),
                       name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _project(fn):
    """Defaults from the ``scalecli.yaml`` of the folder the command reads (see
    :mod:`scalecli.project`): its map and options fill what the call left unset, and a note
    says which file was used."""
    import functools
    import inspect

    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .project import apply, find_project

        bound = sig.bind_partial(*args, **kwargs)
        given = bound.arguments
        project = find_project(given["paths"] if "paths" in given else given.get("data"))
        if project is None:
            return fn(*args, **kwargs)
        key = "paths" if "paths" in sig.parameters else "data"
        if not given.get(key) and given.get("store") is None and found_store() is None:
            folder = project.path.parent  # the project's folder is the logs to read
            given[key] = (folder,) if key == "paths" else [folder]
        flat = dict(given)
        for k in apply(project, flat, lambda k: k in sig.parameters):
            key = "mapping" if k == "map" else k
            given[key] = flat[key]
        result = fn(*bound.args, **bound.kwargs)
        first = result[0] if isinstance(result, tuple) else result
        note = project.describe()
        notes = getattr(first, "notes", None)
        if isinstance(notes, list) and note not in notes:
            notes.insert(0, note)
        return result

    return wrapper


def open_store(root: str | Path) -> Store:
    """The Parquet store at ``root`` (created by the first ingest)."""
    from .store import Store

    return Store(root)


def default_store(paths) -> Path:
    """Where ``ingest`` keeps its store when none is given: ``.scalecli`` in the first path's
    directory."""
    first = Path(paths[0])
    return (first if first.is_dir() else first.parent) / ".scalecli"


@_project
def ingest(*paths: str | Path, store: str | Path | None = None, reader: str | None = None,
           mapping: dict[str, str] | str | None = None, strict: bool = False, experiment=None,
           verify: bool = False, wait: float | None = None, progress=None):
    """Normalize logs into the store at ``store`` (default :func:`default_store`); unchanged
    files are skipped, ``verify`` re-reads every file whatever its size and time say.
    ``progress(done, total)`` is told after each source."""
    from .errors import InputError

    if not paths:
        raise InputError("give the log files or directories to ingest")
    if any(str(p) == "-" for p in paths):
        raise InputError("a store keeps files it can read again: save standard input to a "
                         "file and ingest that (runs, fit and the other commands read - "
                         "directly)")
    from .ingest.tally import collecting

    root = Path(store) if store is not None else default_store(paths)
    with collecting() as found:  # what directory walks found and ignored: notes
        report = open_store(root).ingest(list(paths), reader=reader,
                                         mapping=inputs.mapping(mapping), strict=strict,
                                         verify=verify, progress=progress,
                                         experiments=experiment, **_wait(wait))
    report.root = root
    report.notes = found.lines()
    from .ingest.report import summarize

    report.columns = summarize(report.columns)
    return report


def init(folder: str | Path, *, reader: str | None = None, law: str | None = None,
         force: bool = False) -> Table:
    """Sniff ``folder``'s logs, guess the column mapping and write ``folder/scalecli.yaml``
    (refused if it exists, unless ``force``); later commands there read it (see
    :mod:`scalecli.project`). Returns the roles found, file by file."""
    from .analyses.guessed import init_project

    return init_project(folder, reader=reader, law=law, force=force)


def check_store(store: str | Path, *, verify: bool = False, wait: float | None = None):
    """What in the store is stale, missing, damaged or orphaned (see ``Store.check``);
    ``verify`` compares every source's content, not only its size and time."""
    return _existing(store).check(verify=verify, **_wait(wait))


def prune_store(store: str | Path, *, dry_run: bool = False, wait: float | None = None):
    """Drop the store's runs whose source file is gone (see ``Store.prune``)."""
    return _existing(store).prune(dry_run=dry_run, **_wait(wait))


def _existing(store):
    from .errors import StoreError

    st = open_store(store)
    if not st.exists():
        raise StoreError(f"{store}: no scalecli store here (scalecli ingest LOGS --store "
                         f"{store} makes one)")
    return st


def _wait(wait: float | None) -> dict[str, float]:
    if wait is None:
        return {}
    from .pairs import positive

    return {"wait": positive(wait, "--wait", allow_zero=True)}


@_project
def runs(data: Any = None, *, store: str | Path | None = None, reader: str | None = None,
         mapping: dict[str, str] | str | None = None, strict: bool = False, experiment=None,
         include_runs=None, exclude_runs=None,
         min_step=None, min_tokens=None, max_tokens=None, where=None) -> Table:
    """One row per run: N, D, C, the final loss, the source (``scalecli runs``); the runs
    whose names match ``include_runs`` and not ``exclude_runs`` (glob patterns) and that
    every ``where`` filter keeps (see :mod:`scalecli.where`); a window (``min_step``,
    ``min_tokens``, ``max_tokens``, see :mod:`scalecli.windows`) shows each run's windowed D
    and loss."""
    from .analyses.runs import runs_table

    maps = inputs.mapping(mapping)
    frames = inputs.frames(data, store, reader, maps, strict, experiment=experiment,
                           need=("N", "D"), listing=True,
                           select=inputs.selection(include_runs, exclude_runs, where),
                           window=inputs.window(min_step, min_tokens, max_tokens))
    table = runs_table(frames, maps)
    table.notes = [*getattr(frames, "notes", []), *table.notes]
    table.warnings = [*table.warnings, *finish.dropped_warning(frames)]
    return table


@_project
def fit(data: Any = None, law: str | None = None, *, store: str | Path | None = None,
        reader: str | None = None, strict: bool = False, experiment=None,
        config: str | Path | FitSpec | None = None,
        mapping: dict[str, str] | str | None = None, reduce: str | None = None,
        target: str | None = None, x: str | None = None, loss: str | None = None,
        delta: float | None = None, space: str | None = None,
        fixed: dict[str, float] | str | None = None, seed: int | None = None,
        envelope: str | None = None, bins: int = 5, bin_pad: float = 0.1,
        breaks: int | None = None, holdout: int | None = None,
        save: str | Path | None = None, bootstrap: int | None = None, ci: float = 0.95,
        flops: float | list[float] | str | None = None, progress=None,
        tolerance: float | None = None, jobs: int = 1, include_runs=None,
        exclude_runs=None, weights: str | None = None,
        residuals: bool = False,
        overestimate_penalty: float | str | None = None,
        drop_outliers: bool = False,
        min_step=None, min_tokens=None, max_tokens=None,
        points: str | None = None,
        where=None, skip_fraction: float | None = None, smooth: str | None = None,
        anchor: str | None = None, step1: str | Path | None = None) -> FitResult | Ranking:
    """Fit a law to runs; ``law="all"`` ranks every applicable law instead.

    Parameters
    ----------
    data:
        :class:`~scalecli.ingest.Frames` (from :func:`load`), :class:`~scalecli.reduce.Points`,
        or log paths; ``store`` adds (or gives) a store's runs, read with ``reader``.
    law:
        A registered law name (default ``chinchilla``), ``"all"``, or give ``config`` (a YAML
        path or a built-in config's name, e.g. ``"chinchilla"``).
    mapping, reduce, target, x:
        Columns by role, the per-run reduction (``last``, ``min``, ``mean-last:K``), the metric
        to fit, the column of a one-variable law's variable.
    loss, delta, space, fixed, seed, breaks:
        The objective, parameters held fixed (``{"E": 1.69}`` or ``"E=1.69"``), the seed of
        the extra starts, BNSL's number of breaks.
    envelope, bins, bin_pad:
        Fit the lower envelope of the points (``pareto`` or ``bins``, see
        :mod:`scalecli.analyses.envelope`) along the law's variable (compute for N and D).
    holdout:
        With ``law="all"``: rank by error on the K largest runs by compute (default 3).
    bootstrap, ci, flops, progress:
        Resample runs ``bootstrap`` times and refit: percentile intervals at level ``ci`` and
        standard errors of every parameter, of the allocation exponents a and b and of N_opt,
        D_opt and loss at each budget in ``flops``; ``progress(share)`` is told how far it got;
        ``jobs`` threads share the refits.
    tolerance:
        Other optima the search reached within this objective margin (default 0.005) at
        different parameters are listed as ``alternatives``, with what each implies.
    include_runs, exclude_runs:
        Glob patterns of run names to keep or leave out (recorded in ``data["selection"]``).
    min_step, min_tokens, max_tokens, points:
        A window on each run's curve (warm-up steps left out, a run capped at a token count)
        and checkpoint points (``last``, ``all``, ``every:K``, ``at-tokens:1B,2B``), see
        :mod:`scalecli.windows`; recorded in ``data["window"]`` and ``data["points"]``.
    include_runs, exclude_runs, where:
        Glob patterns of run names to keep or leave out, and filters on run columns
        (``"n_params >= 100M and dataset == 'rpj'"``, see :mod:`scalecli.where`); a config's
        ``select:`` adds its own. Recorded in ``data["selection"]``.
    weights:
        ``"seed-variance"``: weight each point by the inverse of its (N, D)'s seed variance
        (see :mod:`scalecli.fitting.seeds`); None or ``"none"``: unweighted.
    residuals:
        Attach one residual per run (``result.residuals``, see
        :mod:`scalecli.analyses.residuals`); not with ``law="all"``.
    strict:
        Refuse (:class:`~scalecli.errors.StrictError`) when anything is only a warning.
    save:
        Write the result as JSON there (its folder is made).
    overestimate_penalty:
        Weight W >= 1 of residuals where the prediction lies above the observed target (1:
        symmetric; 10: the lower-envelope fit under-tuned runs call for). Recorded in
        ``fit["overestimate_penalty"]``; such a fit has no lack-of-fit covariance.
    skip_fraction, smooth, anchor:
        Points from curves as the OLMo ladder reads them: drop the first share of each run's
        logged rows, a trailing ``"moving-mean:K"`` of every metric, a fixed point
        ``"x=0,y=1"`` (see :mod:`scalecli.curvepoints`); recorded in ``data``.
    step1:
        The saved fit (a law of N and D, say) whose prediction is this law's variable: its
        target must be this fit's x column; recorded in ``data["step1"]`` so that ``predict
        --then`` refuses a chain from any other step-1 fit (see :mod:`scalecli.chain`).
    drop_outliers:
        Fit, then refit once without the runs whose residual lies beyond 3 robust standard
        deviations (:mod:`scalecli.analyses.outliers`); they are named in a note and in
        ``data["outliers_dropped"]``; the bootstrap runs on the refit's data.

    Returns
    -------
    FitResult, or Ranking for ``law="all"``
        Parameters, goodness of fit and provenance; ``.notes`` say what was done,
        ``.warnings`` what may be wrong.
    """
    given = finish.given(fit, locals())  # first: every option as received, for the provenance
    from .errors import ConfigError
    from .fitting.seeds import check_weights

    fixed_values = inputs.fixed(fixed)
    seed = inputs.seed(seed)
    budgets = inputs.check_bootstrap(bootstrap, ci, flops)
    weights = check_weights(weights)
    select = inputs.selection(include_runs, exclude_runs, where)
    everything = law is not None and law.lower() == "all"
    if everything:
        inputs.one_law_only(config, fixed_values, breaks, "fitted", "fit one law")
        if residuals:
            raise ConfigError("--residuals describes one fit; with --law all each law is "
                              "fitted without its held-out runs (fit one law: --law NAME "
                              "--residuals)")
        if drop_outliers:
            raise ConfigError("--drop-outliers refits one law without the runs its residuals "
                              "flag; with --law all each law would drop other runs (fit one "
                              "law: --law NAME --drop-outliers)")
    elif holdout is not None:
        raise ConfigError("--holdout ranks laws: it applies to --law all")
    curve_options = {"--skip-fraction": skip_fraction, "--smooth": smooth, "--anchor": anchor,
                     "--step1": step1}
    if everything and any(v is not None for v in curve_options.values()):
        given_ = next(k for k, v in curve_options.items() if v is not None)
        raise ConfigError(f"{given_} describes one law's fit: fit one law with --law NAME")
    maps = inputs.mapping(mapping)
    cli_window = {"min_step": min_step, "min_tokens": min_tokens, "max_tokens": max_tokens}
    if everything:
        inputs.single_points(points, "fit one law with --law NAME")
        window = inputs.window(**cli_window)
        frames = inputs.frames(data, store, reader, maps, strict, experiment=experiment,
                               need=(), select=select, window=window)
        from .analyses.ranking import rank_laws

        result: Any = rank_laws(frames, holdout=3 if holdout is None else holdout, x=x,
                                target=target, mapping=maps, reduce=reduce, loss=loss,
                                delta=delta, space=space, envelope=envelope, bins=bins,
                                bin_pad=bin_pad, seed=seed, bootstrap=bootstrap or 0, ci=ci,
                                weights=weights,
                                overestimate_penalty=overestimate_penalty)
    else:
        from .pipeline import fit as fit_one

        options = {"x": x, "target": target, "loss": loss, "delta": delta, "space": space,
                   "fixed": fixed_values, "breaks": breaks,
                   "overestimate_penalty": overestimate_penalty}
        curve = {"skip_fraction": skip_fraction, "smooth": smooth, "anchor": anchor}
        spec, maps, frames = inputs.one_law(law, config, options, maps, data, store, reader,
                                            strict, select, cli_window, points,
                                            experiment=experiment, curve=curve)
        window, points = inputs.window(base=spec.window, **cli_window), spec.points
        select = inputs.config_selection(spec) + select
        result = fit_one(frames, config=spec, mapping=maps, reduce=reduce, seed=seed,
                         envelope=envelope, bins=bins, bin_pad=bin_pad,
                         bootstrap=bootstrap or 0, ci=ci, progress=progress,
                         tolerance=tolerance, jobs=jobs, weights=weights,
                         drop_outliers=drop_outliers)
        for key in curve:
            if getattr(spec, key) is not None:
                result.data[key] = getattr(spec, key)
        if step1 is not None:
            from .chain import expect_step1

            result.data["step1"] = expect_step1(step1, result)
        if residuals:
            from .analyses.residuals import attach

            attach(result, result.points)
    finish.uncertainty(result, budgets)
    if select:
        for fit_ in getattr(result, "fits", [result]):
            fit_.data["selection"] = select.to_dict()
    finish.record_window(result, window, points)
    finish.provenance(result, given)
    finish.carry(result, frames)
    finish.refuse_if_strict(result, strict)
    if save is not None:
        finish.save(result, save)
    return result


def optimal(source: Any = None, flops: float | list[float] | str | None = 1e21, *,
            law: str | None = None, steps: int = 5, **options: Any) -> list[Allocation]:
    """Compute-optimal N and D at ``flops`` (a number, a list, or text such as
    ``"1e19..1e25"`` with ``steps`` budgets), from a fit (object or saved file) or, with
    ``source=None``, the law's published defaults. ``options``: ``max_tokens``,
    ``unique_tokens``, ``target_loss``, ``inference_tokens``, ``n_params``, ``tokens`` (see
    :func:`scalecli.analyses.allocation.optimal`), numbers or text with unit suffixes
    (``"2.5B"``)."""
    from .analyses.allocation import optimal as allocate

    options = {**options, **inputs.quantities(options, OPTIMAL_QUANTITIES)}
    if options.get("target_loss") is not None and flops == 1e21:
        flops = None  # the default budget gives way to a target loss
    if isinstance(flops, str):
        flops = parse_budgets(flops, steps)
    return allocate(inputs.fit_source(source), flops, law=law, **options)


def optimal_table(source: Any = None, flops: float | list[float] | str | None = None, *,
                  law: str | None = None, steps: int = 5, **options: Any) -> Table:
    """:func:`optimal`'s allocations as the table ``scalecli optimal`` prints."""
    from .analyses.allocation import allocation_table, fit_warnings
    from .analyses.uncertainty import allocation_bands

    source = inputs.fit_source(source)
    table = allocation_table(optimal(source, flops, law=law, steps=steps, **options))
    allocation_bands(table, source)
    table.warnings = fit_warnings(source)
    table.notes = [*finish.cited(source), *table.notes]
    return table


def predict(source: Any = None, *, law: str | None = None, **values: float) -> float:
    """The law at one point, e.g. ``predict("fit.json", N=7e9, D=1.4e12)``."""
    from .analyses.allocation import resolve_params
    from .analyses.prediction import to_symbols

    params, law_obj, _ = resolve_params(inputs.fit_source(source), law)
    return law_obj.value(params, to_symbols(law_obj, values))


def predict_table(source: Any = None, law: str | None = None, *, at=(), points_file=None,
                  n: Any = None, d: Any = None, then=(), steps: int = 5) -> Table:
    """Predictions at ``at`` points (``"N=7e9,D=1.4e12"`` or dicts), over the grid of ``n``
    and ``d`` (numbers, lists, or texts: ``1e9,3e9,7e9``, ``1B..70B`` with ``steps``
    log-spaced values), and at a points file's rows (CSV or JSONL; observed against predicted
    where it has the observed value), chained through ``then`` fits (see
    :func:`scalecli.analyses.prediction.prediction_table`). The result's ``grid`` says which
    rows form the grid."""
    from .analyses.allocation import fit_warnings
    from .analyses.prediction import prediction_table
    from .analyses.uncertainty import prediction_bands

    source, then = inputs.fit_source(source), [inputs.fit_source(t) for t in then or ()]
    if then:
        from .chain import check_chain

        check_chain(source, then)
    table = prediction_table(source, law, at=at, points_file=points_file, n=n, d=d, then=then,
                             steps=steps)
    if not then:
        prediction_bands(table, source, law)
    table.warnings = [w for s in (source, *then) for w in fit_warnings(s)]
    table.notes = [*(c for s in (source, *then) for c in finish.cited(s)), *table.notes]
    return table


@_project
def isoflop(data: Any = None, *, store: str | Path | None = None, reader: str | None = None,
            mapping: dict[str, str] | str | None = None, strict: bool = False,
            flops: float | list[float] | str | None = None, steps: int = 5,
            approach3: bool = True, **options: Any) -> IsoflopResult:
    """Chinchilla approach 2 (see :func:`scalecli.analyses.isoflop.isoflop` for
    ``options``), with approach 3's exponents beside it in ``result.approach3``."""
    from .analyses.isoflop import isoflop as analyse

    return _approach(analyse, data, store, reader, mapping, strict, flops, steps, approach3,
                     options)


@_project
def frontier(data: Any = None, *, store: str | Path | None = None, reader: str | None = None,
             mapping: dict[str, str] | str | None = None, strict: bool = False,
             flops: float | list[float] | str | None = None, steps: int = 5,
             approach3: bool = True, **options: Any) -> FrontierResult:
    """Chinchilla approach 1 (see :func:`scalecli.analyses.frontier.frontier` for
    ``options``), with approach 3's exponents beside it in ``result.approach3``."""
    from .analyses.frontier import frontier as analyse

    return _approach(analyse, data, store, reader, mapping, strict, flops, steps, approach3,
                     options)


@_project
def hparams(data: Any = None, *, store: str | Path | None = None, reader: str | None = None,
            mapping: dict[str, str] | str | None = None, strict: bool = False,
            experiment=None, target: str | None = None, reduce: str | None = None,
            near: str | float = "0.25%", lr_on: str = "N,D", batch_on: str = "D",
            seq_len: float | str | None = None, at=None, bootstrap: int | None = None,
            seed: int = 0, ci: float = 0.95, interval: str = "percentile",
            estimate: str = "mean", resample: str = "settings", include_runs=None,
            exclude_runs=None, where=None, progress=None) -> HparamsResult:
    """Step Law's optimal learning-rate and batch-size laws from a sweep (see
    :mod:`scalecli.analyses.hparams`): ``near`` the relative margin of each (N, D) setting's
    best loss within which runs are kept (``"0.25%"`` or 0.0025), ``lr_on``/``batch_on`` the
    regressors of each law, ``seq_len`` the tokens per sequence of the batch column, ``at``
    targets (``"N=1e9,D=1e11"`` or dicts) to recommend lr and batch at, ``bootstrap``
    resamples (``resample`` settings or runs; ``estimate`` mean or fit; ``interval``
    percentile or normal)."""
    from .analyses.hparams import hparams as analyse
    from .analyses.hparams import parse_options

    options = parse_options(near, lr_on, batch_on, seq_len, at, bootstrap, ci, interval,
                            estimate, resample)
    maps = inputs.mapping(mapping)
    frames = inputs.frames(data, store, reader, maps, strict, experiment=experiment,
                           select=inputs.selection(include_runs, exclude_runs, where))
    result = analyse(frames, options=options, target=target, reduce=reduce or "last",
                     mapping=maps, bootstrap=bootstrap, seed=inputs.seed(seed) or 0, ci=ci,
                     interval=interval, estimate=estimate, resample=resample,
                     progress=progress)
    finish.carry(result, frames)
    finish.refuse_if_strict(result, strict)
    return result


def _approach(analyse, data, store, reader, mapping, strict, flops, steps, approach3, options):
    """Approaches 1 and 2 share their way in: frames (``include_runs``/``exclude_runs``/
    ``where`` in ``options`` select them; ``min_step``, ``min_tokens``, ``max_tokens`` window
    their curves), budgets, then approach 3 beside."""
    maps = inputs.mapping(mapping)
    select = inputs.selection(options.pop("include_runs", None),
                              options.pop("exclude_runs", None), options.pop("where", None))
    window = inputs.window(options.pop("min_step", None), options.pop("min_tokens", None),
                           options.pop("max_tokens", None))
    frames = inputs.frames(data, store, reader, maps, strict, select=select, window=window,
                           experiment=options.pop("experiment", None))
    budgets = parse_budgets(flops, steps) if isinstance(flops, str) else flops
    result = analyse(frames, flops=budgets, mapping=maps, **options)
    return finish.with_approach3(result, frames, budgets, maps, approach3, strict)


@_project
def compare(data: Any = None, *, group_by: str | None = None, baseline: str | None = None,
            store: str | Path | None = None, reader: str | None = None, strict: bool = False,
            experiment=None, law: str | None = None, config: str | Path | FitSpec | None = None,
            mapping: dict[str, str] | str | None = None, reduce: str | None = None,
            target: str | None = None, loss: str | None = None, delta: float | None = None,
            space: str | None = None, fixed: dict[str, float] | str | None = None,
            seed: int | None = None, flops: float | list[float] | str | None = None,
            steps: int = 5, bootstrap: int | None = None, ci: float = 0.95,
            overestimate_penalty: float | str | None = None,
            min_step=None, min_tokens=None, max_tokens=None,
            points: str | None = None,
            include_runs=None, exclude_runs=None, where=None) -> Comparison:
    """One law fitted to each group of runs, their compute-optimal frontiers weighed against
    the first group's (see :mod:`scalecli.analyses.compare`).

    Parameters
    ----------
    data:
        With ``group_by``: the runs (log paths, Frames or Points; ``store`` adds a store's).
        Without: two or more log paths (or a mapping name -> Frames), one group each, named
        by the file's stem or the directory's name (the whole path when two names agree).
    group_by, baseline:
        A run column whose values are the groups; the group the others are weighed against
        (default: the first path, or the column's first value in sorted order).
    law, config, mapping, reduce, target, loss, delta, space, fixed, seed,
    overestimate_penalty:
        The fit, as for :func:`fit`, the same for every group.
    flops, steps:
        Budgets (as for :func:`optimal`); default: powers of ten across the compute the groups
        share and two decades past it.
    bootstrap, ci:
        Resample each group's runs and refit: parameters and losses with intervals at ``ci``,
        and whether their overlap leaves a ranking unsupported.
    min_step, min_tokens, max_tokens, points:
        The window on each run's curve and checkpoint points, as for :func:`fit`.
    include_runs, exclude_runs, where:
        The runs of every group to keep, as for :func:`fit` (with a config's ``select:``).

    Returns
    -------
    Comparison
        ``groups``, ``budgets`` (loss per group, compute multiplier), ``crossover_flops``,
        ``pairs``; ``.notes`` and ``.warnings``.
    """
    from .analyses.compare import compare as weigh
    from .errors import ConfigError
    from .ingest import Frames
    from .pipeline import fit_spec, roles_needed

    spec = fit_spec(law, config, target=target, loss=loss, delta=delta, space=space,
                    fixed=inputs.fixed(fixed), overestimate_penalty=overestimate_penalty)
    maps = {**spec.mapping, **inputs.mapping(mapping)}
    need = roles_needed(spec.law.variables.values())
    window = inputs.window(min_step, min_tokens, max_tokens, base=spec.window)
    if points is not None:
        spec.points = points
    select = inputs.config_selection(spec) + inputs.selection(include_runs, exclude_runs, where)
    if group_by is not None:
        frames = [inputs.frames(data, store, reader, maps, strict, experiment=experiment,
                                need=need, window=window, select=select)]
        parts: Any = frames[0]
    elif isinstance(data, dict):
        parts = {k: inputs.frames(v, None, reader, maps, strict, experiment=experiment,
                                  need=need, window=window, select=select)
                 if isinstance(v, Frames) else v for k, v in data.items()}
        frames = [f for f in parts.values() if isinstance(f, Frames)]
    else:
        if store is not None:
            raise ConfigError("--store gives one set of runs: compare its groups with "
                              "--group-by COLUMN")
        paths = [] if data is None else [data] if isinstance(data, (str, Path)) else list(data)
        if len(paths) < 2:
            raise ConfigError("compare needs two groups: give two paths (compare A/ B/), or "
                              "--group-by COLUMN")
        given = [str(p) for p in paths]
        if len(set(given)) < len(given):
            raise ConfigError(f"a path is given twice ({', '.join(given)}): each path is a group")
        names = _group_names(paths)
        baseline = dict(zip(given, names, strict=True)).get(baseline, baseline)
        frames = [inputs.frames(p, None, reader, maps, strict, experiment=experiment,
                                need=need, window=window, select=select)
                  for p in paths]
        parts = dict(zip(names, frames, strict=True))
    budgets = parse_budgets(flops, steps) if isinstance(flops, str) else flops
    if bootstrap is not None:
        from .fitting.bootstrap import check_options

        check_options(bootstrap, ci)
    result = weigh(parts, spec, group_by=group_by, baseline=baseline, mapping=maps,
                   reduce=reduce, seed=inputs.seed(seed), flops=budgets,
                   bootstrap=bootstrap or 0, level=ci)
    if select:
        for g in result.groups.values():
            g.fit.data["selection"] = select.to_dict()
    for f in reversed(frames):
        finish.carry(result, f)
    finish.refuse_if_strict(result, strict)
    return result


@_project
def backtest(data: Any = None, law: str | None = None, *, store: str | Path | None = None,
             reader: str | None = None, strict: bool = False, experiment=None,
             config: str | Path | FitSpec | None = None,
             mapping: dict[str, str] | str | None = None, reduce: str | None = None,
             target: str | None = None, x: str | None = None, loss: str | None = None,
             delta: float | None = None, space: str | None = None,
             fixed: dict[str, float] | str | None = None, seed: int | None = None,
             breaks: int | None = None, by: str | None = None, tolerance: float = 0.1,
             holdout_largest: int | None = None, min_rungs: int | None = None,
             envelope: str | None = None, holdout: int | None = None,
             include_runs=None, exclude_runs=None,
             overestimate_penalty: float | str | None = None,
             drop_outliers: bool = False,
             min_step=None, min_tokens=None, max_tokens=None,
             points: str | None = None,
             where=None, skip_fraction: float | None = None, smooth: str | None = None,
             anchor: str | None = None) -> Backtest | BacktestRanking:
    """How well a law extrapolates up the ladder (``scalecli backtest``): for each rung k of
    model size (``by="flops"``: compute; runs without a size: a one-variable law's variable),
    fit on rungs 1..k and predict every larger run. ``holdout_largest=K`` fits once without
    the K largest rungs; ``min_rungs=K`` starts the roll at rung K (default: the first rung
    that passes the fit's checks); ``law="all"`` ranks every applicable law by its mean
    relative error. The fit options mean what they mean for :func:`fit`
    (``overestimate_penalty``, ``min_step``, ``min_tokens``, ``max_tokens``, ``points``,
    ``skip_fraction``, ``smooth``, ``anchor``;
    ``drop_outliers``: each split's fit drops its flagged training runs); runs whose ``by``
    value is within ``tolerance`` (a fraction) of the next smaller run's share a rung.
    Returns a :class:`~scalecli.analyses.backtest.Backtest` (``predictions``, ``summary``)
    or, for ``"all"``, a :class:`~scalecli.analyses.backtest.BacktestRanking`."""
    from .errors import ConfigError

    if envelope not in (None, "none"):
        raise ConfigError("--envelope does not apply to a backtest: the envelope of all runs "
                          "depends on the larger runs it would be asked to predict")
    if holdout is not None:
        raise ConfigError("--holdout is fit --law all's split by run; a backtest holds out whole "
                          "rungs: use --holdout-largest K")
    fixed_values, seed = inputs.fixed(fixed), inputs.seed(seed)
    maps = inputs.mapping(mapping)
    select = inputs.selection(include_runs, exclude_runs, where)
    cli_window = {"min_step": min_step, "min_tokens": min_tokens, "max_tokens": max_tokens}
    if law is not None and law.lower() == "all":
        inputs.one_law_only(config, fixed_values, breaks, "backtested", "give one law")
        if drop_outliers:
            raise ConfigError("--drop-outliers applies to one law's backtest (give --law NAME)")
        inputs.single_points(points, "backtest one law with --law NAME")
        if any(v is not None for v in (skip_fraction, smooth, anchor)):
            raise ConfigError("--skip-fraction, --smooth and --anchor describe one law's "
                              "points: backtest one law with --law NAME")
        from .analyses.backtest import rank_backtests

        frames = inputs.frames(data, store, reader, maps, strict, experiment=experiment,
                               need=(), select=select, window=inputs.window(**cli_window))
        result: Any = rank_backtests(frames, x=x, target=target, mapping=maps, reduce=reduce,
                                     loss=loss, delta=delta, space=space, seed=seed, by=by,
                                     tolerance=tolerance, holdout_largest=holdout_largest,
                                     min_rungs=min_rungs,
                                     overestimate_penalty=overestimate_penalty)
    else:
        from .analyses.backtest import backtest as run

        options = {"x": x, "target": target, "loss": loss, "delta": delta, "space": space,
                   "fixed": fixed_values, "breaks": breaks,
                   "overestimate_penalty": overestimate_penalty}
        spec, maps, frames = inputs.one_law(law, config, options, maps, data, store, reader,
                                            strict, select, cli_window, points,
                                            experiment=experiment,
                                            curve={"skip_fraction": skip_fraction,
                                                   "smooth": smooth, "anchor": anchor})
        result = run(frames, spec, mapping=maps, reduce=reduce, by=by, tolerance=tolerance,
                     holdout_largest=holdout_largest, min_rungs=min_rungs, seed=seed,
                     drop_outliers=drop_outliers)
    finish.carry(result, frames)
    finish.refuse_if_strict(result, strict)
    return result


def _group_names(paths) -> list[str]:
    """A group per path, named by its file's stem or its directory's name (``dense.csv`` ->
    ``dense``), or by the whole path when two names would agree."""
    names = [Path(p).stem if Path(p).is_file() else Path(p).name or str(p) for p in paths]
    return names if len(set(names)) == len(names) else [str(p) for p in paths]


@_project
def plot_data(data: Any = None, law: str | None = None, *, fit_file: str | Path | None = None,
              store: str | Path | None = None, reader: str | None = None, experiment=None,
              config: str | Path | None = None, mapping: dict[str, str] | str | None = None,
              reduce: str | None = None, x: str | None = None, strict: bool = False,
              residuals: bool = False, include_runs=None, exclude_runs=None,
              min_step=None, min_tokens=None, max_tokens=None, points: str | None = None,
              where=None, target: str | None = None, skip_fraction: float | None = None,
              smooth: str | None = None, anchor: str | None = None):
    """``(fit, points frame)`` for ``scalecli plot``: the runs fitted now, or a saved fit with
    the runs it is drawn against, as it built its points (its target, --skip-fraction,
    --smooth and --anchor, unless given again); ``residuals`` attaches the fit's residuals at
    those runs."""
    from .config import FitSpec
    from .fitting import FitResult
    from .pipeline import prepare

    if fit_file is None:
        result = fit(data, law, store=store, reader=reader, experiment=experiment, config=config, mapping=mapping,
                     reduce=reduce, x=x, strict=strict, residuals=residuals,
                     include_runs=include_runs, exclude_runs=exclude_runs, where=where,
                     min_step=min_step, min_tokens=min_tokens, max_tokens=max_tokens,
                     points=points, target=target, skip_fraction=skip_fraction,
                     smooth=smooth, anchor=anchor)
        return result, result.points
    result = FitResult.load(fit_file)
    if law is not None and law.lower() != result.law:
        from .errors import ConfigError

        raise ConfigError(f"--law {law} does not match the law of the fit {fit_file} "
                          f"({result.law}): drop --law, or give a {law} fit")
    result.notes = finish.cited(result)  # what was done when fitting is its provenance now
    maps = inputs.mapping(mapping)
    frames = inputs.frames(data, store, reader, maps, strict, experiment=experiment,
                           select=inputs.selection(include_runs, exclude_runs, where),
                           window=inputs.window(min_step, min_tokens, max_tokens))
    saved = result.data
    spec = FitSpec(law=result.law_object(), reduce=reduce or saved.get("reduce") or "last",
                   target=target or (result.target if result.target != "loss" else None),
                   points=points or saved.get("points"), skip_fraction=saved.get("skip_fraction"),
                   smooth=saved.get("smooth"), anchor=saved.get("anchor"))
    pts = prepare(frames, spec, mapping=maps, skip_fraction=skip_fraction, smooth=smooth,
                  anchor=anchor)
    if residuals:
        from .analyses.residuals import attach

        attach(result, pts.frame)
    finish.carry(result, frames)
    return result, pts.frame


def plan(source: Any = None, flops: float | list[float] | str = "1e21", *,
         law: str | None = None, budgets: int = 5, sizes: int = 7,
         spread: float | None = None, total_compute: bool = False,
         round_sizes: bool = False) -> Table:
    """The next sweep (``scalecli plan``): ``budgets`` IsoFLOP budgets around ``flops`` (or
    over a ``lo..hi`` range), ``sizes`` model sizes at each, symmetric in log N around the
    compute-optimal N of a fit (object or saved file) or of the law's published values (see
    :func:`scalecli.analyses.plan.plan`)."""
    from .analyses.allocation import fit_warnings
    from .analyses.plan import plan as propose

    source = inputs.fit_source(source)
    table = propose(source, flops, law=law, budgets=budgets, sizes=sizes, spread=spread,
                    total_compute=total_compute, round_sizes=round_sizes)
    table.warnings = fit_warnings(source)
    cited = finish.cited(source)
    table.notes = [*cited, *(n for n in table.notes if not (cited and n.startswith(
        "parameters: ")))]
    return table


def show(path: str | Path) -> FitResult:
    """A saved fit, read for ``scalecli show``: parameters, goodness and its provenance (the
    law, options, selection, data hash, runs used and dropped, versions, time)."""
    from .fitting import FitResult

    return FitResult.load(path)


def report(data: Any = None, law: str | None = None, *, store: str | Path | None = None,
           reader: str | None = None, strict: bool = False, experiment=None,
           config: str | Path | None = None, mapping: dict[str, str] | str | None = None,
           reduce: str | None = None, include_runs=None, exclude_runs=None,
           bootstrap: int | None = None, ci: float = 0.95, seed: int | None = None,
           jobs: int = 1, flops: float | list[float] | str | None = None, steps: int = 5,
           progress=None) -> ReportData:
    """What ``scalecli report`` writes, as data (:class:`~scalecli.analyses.summary.ReportData`):
    the runs described, the fit with its residuals (and ``bootstrap`` intervals), the
    allocation at ``flops`` (default: four powers of ten from the largest run's compute up)
    and the provenance; :mod:`scalecli.report.document` renders it."""
    from . import __version__
    from .analyses.summary import ReportData, data_summary, default_budgets

    budgets = parse_budgets(flops, steps) if isinstance(flops, str) else flops
    if isinstance(budgets, (int, float)):
        budgets = [float(budgets)]
    result = fit(data, law, store=store, reader=reader, experiment=experiment, strict=strict, config=config,
                 mapping=mapping, reduce=reduce, include_runs=include_runs,
                 exclude_runs=exclude_runs, residuals=True, seed=seed, bootstrap=bootstrap,
                 ci=ci, jobs=jobs, progress=progress, flops=budgets if bootstrap else None)
    budgets = budgets or default_budgets(result.points)
    if set(result.variables) == {"N", "D"}:
        allocation = optimal_table(result, budgets)
    else:  # a law of one variable allocates nothing: the report says so and goes on
        from .analyses.table import Table

        allocation = Table(rows=[], columns=[("flops", "C (FLOPs)")], caption=(
            f"no allocation: {result.law} is not a law of N and D"))
    fitted = getattr(result, "provenance", None) or {}
    versions = fitted.get("versions", {})
    options = dict(fitted.get("options", {}))
    if budgets:
        options["flops"] = list(budgets)
    provenance = {
        "law": result.law, "formula": result.formula, "target": result.target,
        "objective": result.fit.get("objective"), "data_hash": result.data.get("hash"),
        "options": options, "scalecli": versions.get("scalecli", __version__),
        "python": versions.get("python"), "created": fitted.get("created")}
    return ReportData(fit=result, summary=data_summary(result.points, result.data.get("dropped"),
                                                              result.target),
                      allocation=allocation, provenance=provenance, notes=list(result.notes),
                      warnings=[*result.warnings, *allocation.warnings])


def law_table() -> Table:
    """The law catalogue (``scalecli laws``)."""
    from .analyses.catalogue import law_table as table

    return table()


def passk(path: str | Path, *, samples: str = "n", correct: str = "c", ks=None) -> Table:
    """Coverage at each k (``ks``: "1,2,4" or a list; default powers of two) from a file of
    per-problem sample counts: the mean unbiased pass@k (see :mod:`scalecli.analyses.passk`)."""
    from .analyses.passk import coverage

    return coverage(path, samples=samples, correct=correct, ks=ks)


def law_yaml(name: str) -> str:
    """A law's YAML config to start from (``scalecli laws show NAME``)."""
    from .analyses.catalogue import law_yaml as text

    return text(name)


def parse_budgets(text: str, steps: int = 5) -> list[float]:
    """Budgets from ``1e21``, ``1e20,1e21``, ``1e19..1e25`` (``steps`` log-spaced) or ``-``
    (read from standard input)."""
    from .analyses.allocation import parse_budgets as parse

    return parse(text, steps)


# ---- whole-curve laws (multi-power, lr-anneal, power-area) ---------------------------------
def is_curve_law(name: str | None) -> bool:
    """Whether ``name`` is a law of the whole loss curve (fitted by :func:`fit_curves`)."""
    from .analyses.curves import is_curve_law as curve

    return curve(name)


@_project
def fit_curves(data: Any = None, law: str = "multi-power", *, store=None, reader=None,
               mapping=None, strict: bool = False, target: str | None = None,
               schedule: str | None = None, split: str | None = None, train_runs=None,
               loss: str | None = None, delta: float | None = None, include_runs=None,
               exclude_runs=None, where=None, save=None, schedules=None):
    """Fit a curve law to every logged point of the runs' loss curves (``split`` names a
    run-level train/test column, ``train_runs`` globs the training runs; all runs train
    otherwise) and score every curve: :class:`~scalecli.analyses.curves.CurveResult`.
    ``schedules``: the project file's per-run schedules (filled from ``scalecli.yaml``)."""
    from .analyses.curves import curve_fit

    frames = inputs.frames(data, store, reader, inputs.mapping(mapping), strict, need=(),
                           select=inputs.selection(include_runs, exclude_runs, where))
    result = curve_fit(frames, law, target=target, schedule=schedule, split=split,
                       train_runs=train_runs, loss=loss, delta=delta, schedules=schedules)
    if save is not None:
        import json

        from .atomic import write_text

        write_text(save, json.dumps(result.to_dict(), indent=2) + "\n")
    return result


@_project
def evaluate(data: Any = None, *, law: str | None = None, params=None, fit_file=None,
             store=None, reader=None, mapping=None, strict: bool = False,
             target: str | None = None, schedule: str | None = None, split: str | None = None,
             train_runs=None, delta: float | None = None, include_runs=None,
             exclude_runs=None, where=None, reduce: str | None = None, x: str | None = None,
             schedules=None):
    """Score given parameters (``params`` "NAME=VALUE,..." or a dict, with ``law``; or a
    saved fit ``fit_file``) on the runs' curves without fitting; a final-loss law (chinchilla,
    ...) on each run's reduced final value, one point per run."""
    from .analyses.curves import curve_fit, final_evaluate, is_curve_law, load_params

    law, values = load_params(law, params, fit_file)
    maps = inputs.mapping(mapping)
    curve = is_curve_law(law)
    wrong = ([k for k, v in (("--reduce", reduce), ("--x", x)) if v] if curve
             else ["--schedule"] if schedule else [])
    if wrong:
        from .errors import ConfigError

        raise ConfigError(f"{', '.join(wrong)}: not an option of evaluating {law}")
    frames = inputs.frames(data, store, reader, maps, strict,
                           need=() if curve else ("N", "D"),
                           select=inputs.selection(include_runs, exclude_runs, where))
    if curve:
        return curve_fit(frames, law, params=values, target=target, schedule=schedule,
                         split=split, train_runs=train_runs, delta=delta, schedules=schedules)
    return final_evaluate(frames, law, values, mapping=maps, reduce=reduce, target=target,
                          x=x, split=split, train_runs=train_runs, delta=delta)


def schedule_values(spec: str, steps: int | None = None):
    """The dense learning rate of a schedule spec (``scalecli schedule``): a float array."""
    from .schedules import parse_schedule

    return parse_schedule(spec).dense(steps)


def predict_curve(fit_file=None, schedule: str = "", *, law: str | None = None,
                  steps: int | None = None, every: int | None = None, at_steps=None):
    """The loss curve a saved curve-law fit predicts along a schedule never run
    (``scalecli predict --fit fit.json --schedule SPEC``):
    :class:`~scalecli.analyses.curve_prediction.CurvePrediction`."""
    from .analyses.curve_prediction import predict_curve as along
    from .analyses.curves import load_params
    from .errors import ConfigError

    if fit_file is None:
        raise ConfigError("predict --schedule needs --fit FIT: a curve law's fit saved by "
                          "scalecli fit runs/ --law multi-power --save FIT")
    name, values = load_params(law, None, fit_file)
    return along(name, values, schedule, steps=steps, every=every, at_steps=at_steps,
                 params_from=str(fit_file))


def is_curve_fit(fit_file) -> bool:
    """Whether ``fit_file`` is a saved fit of a curve law (unreadable: False, the final-loss
    path reports it)."""
    from .project import _curve_call

    return fit_file is not None and _curve_call({"fit_file": fit_file})


@_project
def plot_curves(data: Any = None, law: str | None = None, *, fit_file=None, store=None,
                reader=None, mapping=None, strict: bool = False, target: str | None = None,
                schedule: str | None = None, split: str | None = None, train_runs=None,
                include_runs=None, exclude_runs=None, where=None, schedules=None):
    """For ``scalecli plot --law multi-power`` (or ``--fit`` of a curve fit): the curve law
    fitted now, or the saved fit scored, on the runs' curves; the result's
    :meth:`~scalecli.analyses.curves.CurveResult.series` are what is drawn."""
    if fit_file is not None:
        return evaluate(data, law=law, fit_file=fit_file, store=store, reader=reader,
                        mapping=mapping, strict=strict, target=target, schedule=schedule,
                        split=split, train_runs=train_runs, include_runs=include_runs,
                        exclude_runs=exclude_runs, where=where, schedules=schedules)
    return fit_curves(data, law, store=store, reader=reader, mapping=mapping, strict=strict,
                      target=target, schedule=schedule, split=split, train_runs=train_runs,
                      include_runs=include_runs, exclude_runs=exclude_runs, where=where,
                      schedules=schedules)
