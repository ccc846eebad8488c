"""The one way from logs to a fit: load the runs, choose the law and options, reduce runs to
points (deriving what a law can derive, keeping an envelope when asked), fit.

``fit`` on one law, ``--law all``'s ranking, IsoFLOP's approach 3 and ``plot`` all go through
these functions, so an option means the same thing everywhere.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import FitSpec, load_config
from .errors import ColumnError, ConfigError, InputError

if TYPE_CHECKING:
    from .fitting import FitResult
    from .ingest import Frames
    from .reduce import Points


def load(*paths: str | Path, store: str | Path | None = None, reader: str | None = None,
         mapping: dict[str, str] | None = None, strict: bool = False,
         need: tuple[str, ...] = ("N", "D"), experiment=None, listing: bool = False) -> Frames:
    """Read logs (files or directories) and/or a store into runs + history; ``experiment``:
    the MLflow experiment(s) the paths are read for (a name, names, or "a,b"; default all).

    A run found both in the paths and in the store (same run and values) is counted once,
    with a warning that names it.
    """
    from .ingest import read_paths

    parts: list[Frames] = []
    if paths:
        parts.append(read_paths(list(paths), reader=reader, mapping=mapping, strict=strict,
                                need=need, experiments=experiment or (), listing=listing))
    if store is not None:
        from .store import Store

        parts.append(Store(store).load(lazy=True))
    if not parts:
        raise InputError("give log paths or a store (--store DIR, or $SCALECLI_STORE, or a "
                         ".scalecli store in the working directory)")
    if len(parts) == 1:
        return parts[0]
    return _merge(parts[0], parts[1], strict)


def _merge(fresh: Frames, stored: Frames, strict: bool) -> Frames:
    """Runs from the paths and the store together; a stored run that the paths also hold
    (same run id, or same name with the same N and D) is taken once, from the paths."""
    import polars as pl

    from . import schema as S
    from .errors import StrictError
    from .ingest import Frames

    keys = [c for c in (S.NAME, S.N, S.D) if c in fresh.runs.columns and c in stored.runs.columns]
    same = stored.runs.join(fresh.runs.select(S.RUN_ID), on=S.RUN_ID, how="semi")
    if len(keys) == 3:
        same = pl.concat([same, stored.runs.join(fresh.runs.select(keys), on=keys, how="semi")],
                         how="diagonal_relaxed").unique(S.RUN_ID, maintain_order=True)
    warnings = [*fresh.warnings, *stored.warnings]
    if same.height:
        names = same[S.NAME].cast(pl.Utf8).to_list() if S.NAME in same.columns else []
        text = (f"{same.height} run(s) given both as paths and in the store, counted once: "
                + ", ".join(map(str, names[:5])) + (" ..." if len(names) > 5 else ""))
        if strict:
            raise StrictError(f"--strict: {text}")
        warnings.append(text)
        dup = same[S.RUN_ID]
        stored = Frames(stored.runs.filter(~pl.col(S.RUN_ID).is_in(dup.implode())),
                        stored.history.filter(~pl.col(S.RUN_ID).is_in(dup.implode())),
                        stored.warnings, stored.columns)
    return Frames(
        runs=pl.concat([fresh.runs, stored.runs], how="diagonal_relaxed"),
        history=pl.concat([fresh.history, stored.history], how="diagonal_relaxed"),
        warnings=warnings,
        columns=[*fresh.columns, *stored.columns],
    )


def roles_needed(columns) -> tuple[str, ...]:
    """The reader roles (N, D) behind a law's columns: what every log file must provide."""
    from . import schema as S

    return tuple(role for role, col in (("N", S.N), ("D", S.D)) if col in set(columns))


def points(data: Any, *, target: str | None = None, mapping: dict[str, str] | None = None,
           reduce: str = "last", require: tuple[str, ...] = ("n_params", "tokens"),
           points: str | None = None) -> Points:
    """Fit points, one per run (``points``: or per checkpoint, see
    :func:`scalecli.windows.parse_points`), from :class:`~scalecli.ingest.Frames` or log paths;
    runs without a value in a ``require``d column are dropped and named."""
    from .ingest import Frames
    from .reduce import reduce_runs, target_metric

    frames = data if isinstance(data, Frames) else load(
        *as_paths(data), mapping=mapping, need=roles_needed(require))
    return reduce_runs(frames, target_metric(frames, mapping, target), reduce, require,
                       points=points)


def law_name(law: str | None, breaks: int | None = None) -> str:
    """The law a user asked for: ``--law bnsl --breaks 3`` is the 3-break BNSL."""
    if breaks is None:
        return law or "chinchilla"
    if (law or "bnsl").lower() != "bnsl":
        raise ConfigError(f"--breaks applies to --law bnsl, not {law}")
    if not 1 <= breaks <= 10:
        raise ConfigError(f"--breaks {breaks}: use 1 to 10 breaks (each break adds three "
                          "parameters to fit)")
    return "bnsl" if breaks == 1 else f"bnsl-{breaks}"


def fit_spec(law: str | None = None, config: str | Path | FitSpec | None = None, *,
             x: str | None = None, target: str | None = None, loss: str | None = None,
             delta: float | None = None, space: str | None = None,
             fixed: dict[str, float] | None = None, breaks: int | None = None,
             overestimate_penalty: float | None = None) -> FitSpec:
    """The law and fit options from a law name or a config (a path or a built-in config's
    name), with command-line overrides: ``x`` (the column of a one-variable law), ``target``,
    the objective (``overestimate_penalty``: its weight of over-estimates), fixed parameters
    (checked against the law's names and bounds)."""
    from .config import spec_from_dict
    from .fitting import Objective

    if breaks is not None and config is not None:
        raise ConfigError("--breaks applies to --law bnsl, not to a config (set the law there)")
    if isinstance(config, FitSpec):
        spec = dataclasses.replace(config)
    elif config is not None:
        spec = load_config(config)
    else:
        from .laws import get_law

        name = law_name(law, breaks)
        spec = spec_from_dict({"law": {"name": name}, "fit": dict(get_law(name).fit_defaults)},
                              "--law")
    if law is not None and config is not None and law.lower() != spec.law.name:
        raise ConfigError(f"--law {law} and the config's law {spec.law.name} disagree")
    if x is not None:
        if len(spec.law.variables) != 1:
            raise ConfigError(f"--x names the variable of a one-variable law; {spec.law.name} "
                              f"has {', '.join(spec.law.variables)} (set law.variables in a "
                              "config)")
        (symbol,) = spec.law.variables
        spec.law = dataclasses.replace(spec.law, variables={symbol: x})
    if target is not None:
        spec.target = target
    if (loss is not None or delta is not None or space is not None
            or overestimate_penalty is not None):
        o = spec.objective
        spec.objective = Objective(loss or o.loss, o.delta if delta is None else delta,
                                   space or o.space, overestimate=o.overestimate
                                   if overestimate_penalty is None else overestimate_penalty)
    if fixed:
        spec.fixed = {**spec.fixed, **spec.law.check_fixed(fixed, "--fix")}
    if set(spec.law.param_names) <= set(spec.fixed):
        raise ConfigError(f"every parameter of {spec.law.name} is fixed: nothing to fit "
                          "(use scalecli predict with these values instead)")
    return spec


def prepare(data: Any, spec: FitSpec, *, mapping: dict[str, str] | None = None,
            reduce: str | None = None, envelope: str | None = None, bins: int = 5,
            bin_pad: float = 0.1, checkpoints: str | None = None,
            skip_fraction: float | None = None, smooth: str | None = None,
            anchor: str | None = None) -> Points:
    """The points a law is fitted to: runs reduced to one target value each, columns the law
    derives (kaplan-s's S_min) derived, and the lower envelope kept when asked. Formula targets
    and variables (:mod:`scalecli.formulas`) are evaluated first, then each curve is cut and
    smoothed (``skip_fraction``, ``smooth``) and an ``anchor`` point added
    (:mod:`scalecli.curvepoints`)."""
    from .curvepoints import add_anchor, check_skip, parse_anchor, parse_smooth
    from .ingest import Frames
    from .reduce import Points

    skip = check_skip(spec.skip_fraction if skip_fraction is None else skip_fraction)
    window = parse_smooth(spec.smooth if smooth is None else smooth)
    fixed_point = parse_anchor(spec.anchor if anchor is None else anchor, spec.law)
    if isinstance(data, Points):
        if skip or window:
            raise ConfigError("--skip-fraction and --smooth work on the runs' curves: give the "
                              "runs, not points already reduced")
        pts = data
    else:
        data = curves(data, spec, mapping, skip, window)
        spec.law = normalized_columns(spec.law, data)
        have = data.runs.columns if isinstance(data, Frames) else ()
        derive = [c for c in spec.law.derivable if c not in have]
        try:
            pts = points(data, target=spec.target, mapping={**spec.mapping, **(mapping or {})},
                         reduce=reduce or spec.reduce, points=checkpoints or spec.points,
                         require=tuple(c for c in spec.law.variables.values()
                                       if c not in derive))
        except ColumnError as exc:
            if not str(exc).startswith("needs"):
                raise
            raise ColumnError(f"law {spec.law.name} {exc}") from None
        if derive:
            pts = spec.law.derive(pts, data if isinstance(data, Frames) else None)
    if envelope not in (None, "none"):
        pts = envelope_points(pts, spec.law, str(envelope), bins, bin_pad)
    if fixed_point:
        pts = add_anchor(pts, fixed_point)
    return pts


def curves(data: Any, spec: FitSpec, mapping, skip: float | None, window: int | None):
    """The runs with the spec's formula target and variables added as metrics and every curve
    cut and smoothed; ``data`` as it is when none of that is asked."""
    from .formulas import add_formula, available, is_formula
    from .ingest import Frames

    formulas = [(spec.target, "--y")] if is_formula(spec.target) else []
    formulas += [(c, "--x") for c in spec.law.variables.values() if is_formula(c)]
    if not formulas and not skip and not window:
        return data
    if not isinstance(data, Frames):
        data = load(*as_paths(data), mapping={**spec.mapping, **(mapping or {})},
                    need=roles_needed(spec.law.variables.values()))
    if formulas:  # a column whose name merely looks like a formula ("eval loss") is a column
        have = set(available(data))
        formulas = [(text, option) for text, option in formulas if text not in have]
    for text, option in formulas:
        data = add_formula(data, text, option)
    if skip or window:
        from .curvepoints import smooth_history

        data = smooth_history(data, skip, window)
    return data


def fit(data: Any, law: str | None = None, *, config: str | Path | FitSpec | None = None,
        mapping: dict[str, str] | None = None, reduce: str | None = None,
        target: str | None = None, x: str | None = None, loss: str | None = None,
        delta: float | None = None, space: str | None = None,
        fixed: dict[str, float] | None = None, seed: int | None = None,
        envelope: str | None = None, bins: int = 5, bin_pad: float = 0.1,
        breaks: int | None = None, bootstrap: int = 0, ci: float = 0.95,
        progress=None, tolerance: float | None = None, jobs: int = 1,
        weights: str | None = None, overestimate_penalty: float | None = None,
        drop_outliers: bool = False, points: str | None = None,
        skip_fraction: float | None = None, smooth: str | None = None,
        anchor: str | None = None) -> FitResult:
    """Fit one law to runs (see :func:`scalecli.api.fit` for the parameters)."""
    from .fitting import fit_points

    spec = fit_spec(law, config, x=x, target=target, loss=loss, delta=delta, space=space,
                    fixed=fixed, breaks=breaks, overestimate_penalty=overestimate_penalty)
    pts = prepare(data, spec, mapping=mapping, reduce=reduce, envelope=envelope, bins=bins,
                  bin_pad=bin_pad, checkpoints=points, skip_fraction=skip_fraction,
                  smooth=smooth, anchor=anchor)

    def fit_on(points, resamples):
        return fit_points(points, spec.law, objective=spec.objective, fixed=spec.fixed,
                          seed=spec.seed if seed is None else seed, resamples=resamples, ci=ci,
                          progress=progress, tolerance=tolerance, jobs=jobs, weights=weights)

    if drop_outliers:
        from .analyses.outliers import fit_without_outliers

        result = fit_without_outliers(pts, fit_on, bootstrap)
    else:
        result = fit_on(pts, bootstrap)
    have = list(getattr(result, "notes", None) or [])
    result.notes = [*(n for n in pts.notes if n not in have), *have]
    result.warnings += [w for w in unit_warnings(pts, spec.law) if w not in result.warnings]
    return result


SMALL = 1e5  # no language model has fewer parameters, or is trained on fewer tokens


def unit_warnings(pts: Points, law) -> list[str]:
    """N (or D) that are all under 1e5 were most likely logged in millions or billions: say
    how to scale them (``--map N=col*1e6``), since the fit would happily extrapolate them."""
    from . import schema as S

    out = []
    used = set(law.variables.values())
    for role, col, what in (("N", S.N, "parameters"), ("D", S.D, "tokens")):
        if col not in used or col not in pts.frame.columns or not pts.frame.height:
            continue
        largest = pts.frame.get_column(col).max()
        if largest is not None and largest < SMALL:
            out.append(f"all {role} are under 1e5 (largest {largest:g} {what}): if {role} is "
                       f"in millions or billions, scale it: --map {role}=COLUMN*1e6 (or *1e9)")
    return out


def normalized_columns(law, data):
    """A law variable named by a raw column the reader read as N, D or C (``--x compute``)
    refers to the normalized column (``flops``)."""
    from . import schema as S
    from .ingest import Frames

    if not isinstance(data, Frames):
        return law
    have = set(data.runs.columns)
    fixed = {}
    for sym, col in law.variables.items():
        if col in have:
            continue
        for role, norm in (("N", S.N), ("D", S.D), ("C", S.C)):
            if S.resolve(role, [col]) == col:
                fixed[sym] = norm
    return dataclasses.replace(law, variables={**law.variables, **fixed}) if fixed else law


def envelope_points(pts: Points, law, kind: str, bins: int = 5, pad: float = 0.1) -> Points:
    """The points on the lower envelope along the law's one variable (or compute)."""
    from . import schema as S
    from .analyses.envelope import apply_envelope

    x = next(iter(law.variables.values())) if len(law.variables) == 1 else S.C
    frame = apply_envelope(pts.frame, x, "y", kind=kind, bins=bins, pad=pad)
    note = f"fitted the {kind} envelope along {x}: {frame.height} of {pts.frame.height} points"
    return dataclasses.replace(pts, frame=frame, reduce=f"{pts.reduce}, {kind} envelope",
                               notes=[*pts.notes, note])


def as_paths(data: Any) -> list:
    """One path or several, as a list."""
    if isinstance(data, (str, Path)):
        return [data]
    return list(data)
