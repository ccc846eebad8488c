"""The Python API: what every CLI command calls, usable from a notebook.

>>> runs = load("sample_runs/")
>>> result = fit(runs, law="chinchilla")
>>> optimal(result, flops=1e21)[0].n_params
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .allocation import Allocation
from .allocation import optimal as _optimal
from .config import FitSpec, load_config

if TYPE_CHECKING:
    from .fitting import FitResult
    from .ingest import Frames
    from .reduce import Points
    from .store import Store

__all__ = ["Allocation", "fit", "fit_spec", "ingest", "load", "open_store", "optimal", "points",
           "predict", "roles_needed"]


def load(*paths: str | Path, store: str | Path | None = None, reader: str | None = None,
         mapping: dict[str, str] | None = None, strict: bool = False,
         need: tuple[str, ...] = ("N", "D")) -> Frames:
    """Read logs (files or directories, read in memory) and/or a store into runs + history.

    ``mapping`` names columns by role (``{"N": "params", "loss": "eval/loss"}``); ``reader``
    forces a format; ``strict`` turns warnings (dropped NaN points, a truncated line) into errors;
    ``need`` names the roles every file must provide (``()`` for laws without N or D).
    """
    from .errors import InputError
    from .ingest import Frames, read_paths

    parts: list[Frames] = []
    if paths:
        parts.append(read_paths(list(paths), reader=reader, mapping=mapping, strict=strict,
                                need=need))
    if store is not None:
        parts.append(open_store(store).load())
    if not parts:
        raise InputError("give log paths or a store (--store DIR)")
    if len(parts) == 1:
        return parts[0]
    import polars as pl

    return Frames(
        runs=pl.concat([p.runs for p in parts], how="diagonal_relaxed"),
        history=pl.concat([p.history for p in parts], how="diagonal_relaxed"),
        warnings=[w for p in parts for w in p.warnings],
        columns=[c for p in parts for c in p.columns],
    )


def open_store(root: str | Path) -> Store:
    """The Parquet store at ``root`` (created by the first ingest)."""
    from .store import Store

    return Store(root)


def ingest(*paths: str | Path, store: str | Path, reader: str | None = None,
           mapping: dict[str, str] | None = None, strict: bool = False):
    """Normalize logs into the store at ``store``; unchanged files are skipped."""
    return open_store(store).ingest(list(paths), reader=reader, mapping=mapping, strict=strict)


def points(data: Any, *, target: str | None = None, mapping: dict[str, str] | None = None,
           reduce: str = "last", require: tuple[str, ...] = ("n_params", "tokens")) -> Points:
    """Fit points, one per run, from :class:`~scalecli.ingest.Frames` or log paths; runs
    without a value in a ``require``d column are dropped and named."""
    from .ingest import Frames
    from .reduce import reduce_runs, target_metric

    frames = data if isinstance(data, Frames) else load(
        *_as_paths(data), mapping=mapping, need=roles_needed(require))
    return reduce_runs(frames, target_metric(frames, mapping, target), reduce, require)


def fit_spec(law: str | None = None, config: str | Path | FitSpec | None = None, *,
             x: str | None = None, target: str | None = None, loss: str | None = None,
             delta: float | None = None, space: str | None = None,
             fixed: dict[str, float] | None = None) -> FitSpec:
    """The law and fit options from a law name or a config, with command-line overrides:
    ``x`` (the column of a one-variable law), ``target``, the objective, fixed parameters."""
    import dataclasses

    from .config import spec_from_dict
    from .errors import ConfigError
    from .fitting import Objective

    if isinstance(config, FitSpec):
        spec = dataclasses.replace(config)
    elif config is not None:
        spec = load_config(config)
    else:
        from .laws import get_law

        name = law or "chinchilla"
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
    if loss is not None or delta is not None or space is not None:
        o = spec.objective
        spec.objective = Objective(loss or o.loss, o.delta if delta is None else delta,
                                   space or o.space)
    if fixed:
        unknown = sorted(set(fixed) - set(spec.law.param_names))
        if unknown:
            raise ConfigError(f"--fix {', '.join(unknown)}: not a parameter of {spec.law.name} "
                              f"({', '.join(spec.law.param_names)})")
        spec.fixed = {**spec.fixed, **fixed}
    if set(spec.law.param_names) <= set(spec.fixed):
        raise ConfigError(f"every parameter of {spec.law.name} is fixed: nothing to fit "
                          "(use scalecli predict with these values instead)")
    return spec


def roles_needed(columns) -> tuple[str, ...]:
    """The reader roles (N, D) behind a law's columns: what every log file must provide."""
    from . import schema as S

    return tuple(role for role, col in (("N", S.N), ("D", S.D)) if col in set(columns))


def fit(data: Any, law: str | None = None, *, config: str | Path | FitSpec | None = None,
        mapping: dict[str, str] | None = None, reduce: str | None = None,
        target: str | None = None, x: str | None = None, loss: str | None = None,
        delta: float | None = None, space: str | None = None,
        fixed: dict[str, float] | None = None, seed: int | None = None,
        envelope: str | None = None, bins: int = 5, bin_pad: float = 0.1) -> FitResult:
    """Fit a law to runs.

    Parameters
    ----------
    data:
        :class:`~scalecli.ingest.Frames` (from :func:`load`), :class:`~scalecli.reduce.Points`,
        or log paths.
    law:
        A registered law name (default ``chinchilla``), or give ``config``.
    config:
        A YAML config path (see :mod:`scalecli.config`) or a :class:`~scalecli.config.FitSpec`;
        the keyword arguments override it (see :func:`fit_spec`).
    envelope, bins, bin_pad:
        Fit the lower envelope of the points (``pareto`` or ``bins``, see
        :mod:`scalecli.envelope`) along the law's variable (compute for a law of several).

    Returns
    -------
    FitResult
        Parameters, goodness of fit and provenance; ``.report()``, ``.save(path)``.
    """
    from .fitting import fit_points
    from .ingest import Frames
    from .reduce import Points

    spec = fit_spec(law, config, x=x, target=target, loss=loss, delta=delta, space=space,
                    fixed=fixed)
    if not isinstance(data, Points):
        spec.law = _normalized_columns(spec.law, data)
    if isinstance(data, Points):
        pts = data
    else:
        from .errors import ColumnError

        have = data.runs.columns if isinstance(data, Frames) else ()
        derive = [c for c in spec.law.derivable if c not in have]
        try:
            pts = points(data, target=spec.target, mapping={**spec.mapping, **(mapping or {})},
                         reduce=reduce or spec.reduce,
                         require=tuple(c for c in spec.law.variables.values()
                                       if c not in derive))
        except ColumnError as exc:
            if not str(exc).startswith("needs"):
                raise
            raise ColumnError(f"law {spec.law.name} {exc}") from None
        if derive:
            pts = spec.law.derive(pts, data if isinstance(data, Frames) else None)
    if envelope not in (None, "none"):
        pts = envelope_points(pts, spec.law, envelope, bins, bin_pad)
    return fit_points(pts, spec.law, objective=spec.objective, fixed=spec.fixed,
                      seed=spec.seed if seed is None else seed)


def _normalized_columns(law, data):
    """A law variable named by a raw column the reader read as N, D or C (``--x compute``)
    refers to the normalized column (``flops``)."""
    import dataclasses

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
    import dataclasses

    from . import schema as S
    from .envelope import apply_envelope

    x = next(iter(law.variables.values())) if len(law.variables) == 1 else S.C
    frame = apply_envelope(pts.frame, x, "y", kind=kind, bins=bins, pad=pad)
    note = f"fitted the {kind} envelope along {x}: {frame.height} of {pts.frame.height} points"
    return dataclasses.replace(pts, frame=frame, reduce=f"{pts.reduce}, {kind} envelope",
                               notes=[*pts.notes, note])


def optimal(source: Any = None, flops: float | list[float] = 1e21, *,
            law: str | None = None) -> list[Allocation]:
    """Compute-optimal N and D at ``flops``, from a fit (object or saved file) or, with
    ``source=None``, the law's published defaults."""
    return _optimal(source, flops, law=law)


def predict(source: Any = None, *, law: str | None = None, **values: float) -> float:
    """The law at one point, e.g. ``predict("fit.json", N=7e9, D=1.4e12)``."""
    from .allocation import resolve_params

    params, law_obj, _ = resolve_params(source, law)
    return law_obj.value(params, values)


def _as_paths(data: Any) -> list:
    if isinstance(data, (str, Path)):
        return [data]
    return list(data)
