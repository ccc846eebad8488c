"""Comparing sweeps: one law fitted to each group of runs, their compute-optimal frontiers
weighed against each other.

The groups are the values of a run column (``--group-by arch``) or the paths given, one group
each. From two to :data:`MAX_GROUPS` groups: the first (or ``baseline``) is the reference and
every other group is weighed against it, pair by pair. At each budget C the comparison gives each
group's compute-optimal loss L*(C) and the compute multiplier: the compute the other group
needs to reach the baseline's L*(C), as a multiple of C (above 1, the baseline is the more
compute-efficient). ``crossover_flops`` is where the two frontiers cross (searched between 1e15
and 1e30 FLOPs). Each group is fitted through :mod:`scalecli.pipeline`, with the same options.

Intervals: a group may carry parameter resamples (a bootstrap's, ``samples``); its ``intervals``
then hold each parameter's central interval, each budget its loss interval, and where the
baseline's and a group's loss intervals overlap the comparison says that the data do not
support ranking them there. Without resamples, ``intervals`` are empty and nothing is said.
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import schema as S
from ..errors import ColumnError, ConfigError, FitError, InputError, ScaleCLIError
from ..numbers import fmt
from .frontiers import CROSS_SPAN, REACH_SPAN, Frontier, crossings, loss_band

if TYPE_CHECKING:
    from ..config import FitSpec
    from ..fitting import FitResult
    from ..reduce import Points

MAX_GROUPS = 6  # above this, a column is more likely a hyperparameter than a sweep's label
MAX_BUDGETS = 7
EXTRAPOLATE = 2  # default budgets run this many decades past the compute the groups share


@dataclass
class GroupFit:
    """One group's fit, the compute its runs span, and (from a bootstrap) intervals."""

    fit: FitResult
    flops_range: tuple[float, float]
    intervals: dict[str, list[float]] = field(default_factory=dict)
    samples: list[dict[str, float]] | None = None  # parameter resamples; not saved

    def to_dict(self) -> dict:
        f = self.fit
        return {"law": f.law, "params": dict(f.params), "intervals": dict(self.intervals),
                "fixed": dict(f.fixed), "n_runs": f.n_runs, "n_points": f.n_points,
                "rmse_log": f.rmse_log, "r2": f.r2, "converged": f.converged,
                "flops_range": list(self.flops_range), "warnings": list(f.warnings)}


@dataclass
class Comparison:
    """Groups fitted with one law, weighed against the baseline group at each budget.

    ``budgets`` rows: ``flops``, ``extrapolated`` (outside the compute every group's runs
    share), ``loss`` (group -> L*), ``multiplier`` (group -> compute to reach the baseline's
    L*, as a multiple of the budget; None where never reached), ``loss_interval`` and
    ``ranking`` (filled only with intervals). ``pairs``: per group against the baseline, its
    ``crossover_flops``, every crossing and a sentence saying which frontier is lower where.
    """

    groups: dict[str, GroupFit]
    baseline: str
    budgets: list[dict]
    pairs: list[dict]
    law: str
    formula: str
    shared_flops: tuple[float, float]
    group_by: str | None = None
    level: float | None = None  # of the intervals, when there are any
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def crossover_flops(self) -> float | None:
        """Where the two groups' frontiers cross (with more groups: see ``pairs``)."""
        return self.pairs[0]["crossover_flops"] if len(self.pairs) == 1 else None

    def label(self, name: str) -> str:
        return f"{self.group_by}={name}" if self.group_by else name

    def frontier(self, name: str, flops):
        """Group ``name``'s compute-optimal loss L*(C) at each of ``flops`` (for plots)."""
        g = self.groups[name].fit
        return Frontier(g.law_object(), g.params).loss(flops)

    def to_dict(self) -> dict:
        return {"law": self.law, "formula": self.formula, "group_by": self.group_by,
                "baseline": self.baseline,
                "groups": {k: g.to_dict() for k, g in self.groups.items()},
                "shared_flops": list(self.shared_flops), "budgets": self.budgets,
                "crossover_flops": self.crossover_flops, "pairs": self.pairs,
                "crossover_span": list(CROSS_SPAN), "level": self.level,
                "notes": list(self.notes), "warnings": list(self.warnings)}


def compare(data: Any, spec: FitSpec, *, group_by: str | None = None,
            baseline: str | None = None, mapping: dict[str, str] | None = None,
            reduce: str | None = None, seed: int | None = None, flops=None,
            samples: dict[str, list[dict[str, float]]] | None = None,
            level: float = 0.95, bootstrap: int = 0) -> Comparison:
    """Fit ``spec``'s law to each group and weigh the frontiers against the baseline's.

    data: Frames (or Points) split by the run column ``group_by``; or, without it, a mapping
    group name -> Frames or Points. flops: budgets (default: powers of ten across the compute
    the groups share and :data:`EXTRAPOLATE` decades past it). samples: group -> parameter
    resamples, for intervals at ``level``; ``bootstrap`` resamples each group's runs that many
    times and takes the samples from its draws.
    """
    from ..pipeline import prepare

    warnings: list[str] = []
    if group_by is not None:
        parts = split(prepare(data, spec, mapping=mapping, reduce=reduce), data, group_by,
                      warnings)
    else:
        if len(data) < 2:
            raise ConfigError("compare needs two groups: give two paths, or --group-by COLUMN")
        _count(len(data), f"{len(data)} paths given")
        parts = {}
        for name, d in data.items():
            with _about(name):
                parts[name] = prepare(d, spec, mapping=mapping, reduce=reduce)
    names = _ordered(list(parts), baseline, group_by)

    def label(name: str) -> str:
        return f"{group_by}={name}" if group_by else name

    groups = {n: _fit_group(parts[n], spec, seed, label(n), bootstrap, level) for n in names}
    if bootstrap:
        samples = {n: g.fit.draw_params() for n, g in groups.items()}
    shared = _shared(groups, label)
    budgets = _budgets(flops, shared)
    law = groups[names[0]].fit.law_object()
    fronts = {n: Frontier(g.fit.law_object(), g.fit.params) for n, g in groups.items()}
    rows = _rows(budgets, fronts, names, shared)
    pairs = [_pair(names[0], n, fronts, shared, rows, label) for n in names[1:]]
    notes: list[str] = []
    if samples:
        notes += _intervals(groups, samples, rows, names, level, label)
    for n, g in groups.items():
        warnings += [f"{label(n)}: {w}" for w in g.fit.warnings]
        notes += [f"{label(n)}: {w}" for w in g.fit.notes]
    if len(pairs) > 1:
        notes.append(f"{len(names)} groups: each weighed against {label(names[0])}; each "
                     "pair's crossover is in its own row")
    return Comparison(groups, names[0], rows, pairs, law.name, law.formula, shared,
                      group_by=group_by, level=level if samples else None, notes=notes,
                      warnings=warnings)


def split(pts: Points, data: Any, column: str, warnings: list[str]) -> dict[str, Points]:
    """The points by the value of a run column: two to :data:`MAX_GROUPS` values, runs with no
    value left out (and said so)."""
    import dataclasses

    runs = getattr(data, "runs", None)
    frame = pts.frame
    if column not in frame.columns:
        have = runs.columns if runs is not None else frame.columns
        if column not in have:
            raise ColumnError(f"--group-by {column!r}: no such run column; run columns: "
                              + ", ".join(have))
        frame = frame.join(runs.select(S.RUN_ID, column), on=S.RUN_ID, how="left")
    source = runs if runs is not None and column in runs.columns else frame
    key = _as_text(source, column)
    values = (source.sort(column, nulls_last=True)
              .select(key.drop_nulls().unique(maintain_order=True))[column].to_list())
    missing = source.select(key.is_null().sum()).item()
    none = f" ({missing} run(s) have none)" if missing else ""
    if not values:
        raise ColumnError(f"--group-by {column!r}: no run has a value")
    if len(values) == 1:
        raise InputError(f"--group-by {column!r}: every run has the same value "
                         f"({values[0]!r}){none}: nothing to compare")
    _count(len(values), f"--group-by {column!r} has {len(values)} values", values,
           "choose a column with fewer values")
    if missing:
        warnings.append(f"{missing} run(s) have no {column!r} and are left out")
    # the reading's dropped runs are said once, not once per group
    warnings.extend(pts.warnings)
    return {v: dataclasses.replace(pts, frame=frame.filter(key == v), dropped=[], issues=[])
            for v in values}


def _as_text(frame, column: str):
    """The column's values as group names: whole numbers read as floats without their
    ``.0`` (``n_layers`` 12, not 12.0)."""
    import polars as pl

    col = pl.col(column)
    if frame.schema[column].is_float():
        whole = frame.select(col.drop_nulls().pipe(
            lambda c: ((c == c.round(0)) & (c.abs() < 2.0**53)).all())).item()
        if whole:
            col = col.cast(pl.Int64)
    return col.cast(pl.Utf8)


def _count(n: int, head: str, values=(), hint: str = "give fewer paths") -> None:
    """Refuse more groups than a comparison can show, saying how many and which."""
    if n > MAX_GROUPS:
        shown = f" ({', '.join(map(str, values[:8]))}{', ...' if n > 8 else ''})" if values else ""
        raise InputError(f"{head}{shown}: compare weighs 2 to {MAX_GROUPS} groups ({hint})")


def _ordered(names: list[str], baseline: str | None, group_by: str | None) -> list[str]:
    """The groups, baseline first (default: the first path, or the first value in order)."""
    if baseline is None:
        return names
    if baseline not in names:
        what = f"values of {group_by!r}" if group_by else "paths"
        raise ConfigError(f"--baseline {baseline!r} is not a group; the {what}: "
                          + ", ".join(names))
    return [baseline, *(n for n in names if n != baseline)]


@contextmanager
def _about(label: str):
    """Errors raised inside name the group they arose in."""
    try:
        yield
    except ScaleCLIError as exc:
        if not str(exc).startswith(label):
            exc.args = (f"{label}: {exc}",)
        raise


def _fit_group(pts: Points, spec: FitSpec, seed: int | None, label: str, bootstrap: int = 0,
               ci: float = 0.95) -> GroupFit:
    """One group's fit through the pipeline, refused when it has too few runs to fit."""
    from ..pipeline import fit

    n_free = len(spec.law.parameters) - len(spec.fixed)
    runs = pts.frame.height
    if runs <= n_free:
        raise FitError(f"{label}: {runs} usable run(s) for the {n_free} free parameters of "
                       f"{spec.law.name}: a group needs at least {n_free + 1}")
    with _about(label):
        result = fit(pts, config=spec, seed=seed, bootstrap=bootstrap, ci=ci)
    c = pts.frame[S.C].cast(float) if S.C in pts.frame.columns else None
    c = c.filter(c.is_finite() & (c > 0)) if c is not None else None
    if c is None or c.is_empty():
        raise ColumnError(f"{label}: no run has a compute (C, or N and D to derive 6·N·D)")
    return GroupFit(result, (float(c.min()), float(c.max())))


def _shared(groups: dict[str, GroupFit], label) -> tuple[float, float]:
    """The compute every group's runs span; refused when there is none."""
    lo = max(g.flops_range[0] for g in groups.values())
    hi = min(g.flops_range[1] for g in groups.values())
    if lo > hi:
        spans = "; ".join(f"{label(n)} {fmt(g.flops_range[0])}..{fmt(g.flops_range[1])}"
                          for n, g in groups.items())
        raise InputError(f"the groups' runs share no compute range ({spans} FLOPs): every "
                         "comparison would be an extrapolation")
    return lo, hi


def _budgets(flops, shared: tuple[float, float]) -> list[float]:
    """The budgets asked for, or powers of ten across the shared range and past it."""
    import numpy as np

    from .allocation import check_budget

    if flops is not None:
        given = [flops] if isinstance(flops, (int, float)) else list(flops)
        return [check_budget(float(c)) for c in given]
    lo, hi = shared
    out = [10.0**k for k in range(math.ceil(math.log10(lo) - 1e-9),
                                  math.floor(math.log10(hi) + 1e-9) + EXTRAPOLATE + 1)]
    if not any(lo <= c <= hi for c in out):
        out = sorted([float(f"{math.sqrt(lo * hi):.2g}"), *out])
    if len(out) > MAX_BUDGETS:
        out = [out[i] for i in np.unique(np.round(np.linspace(0, len(out) - 1, MAX_BUDGETS))
                                         .astype(int))]
    return out


def _rows(budgets, fronts: dict[str, Frontier], names, shared) -> list[dict]:
    """Each budget's compute-optimal losses and the others' compute multipliers."""
    import numpy as np

    losses = {n: fronts[n].loss(budgets) for n in names}
    rows = []
    for i, C in enumerate(budgets):  # a handful of budgets; each multiplier is a root search
        base = float(losses[names[0]][i])
        mult = {}
        for n in names[1:]:
            reach = fronts[n].compute_for(base) if np.isfinite(base) else None
            mult[n] = None if reach is None else reach / C
        inside = shared[0] * (1 - 1e-9) <= C <= shared[1] * (1 + 1e-9)
        rows.append({"flops": C, "extrapolated": not inside,
                     "loss": {n: _num(losses[n][i]) for n in names}, "multiplier": mult,
                     "loss_interval": {}, "ranking": {}})
    return rows


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _pair(a: str, b: str, fronts, shared, rows, label) -> dict:
    """Where the frontiers of ``a`` (the baseline) and ``b`` cross, and a sentence on it."""
    import numpy as np

    roots = crossings(fronts[a], fronts[b])
    lo, hi = CROSS_SPAN
    edges = [lo, *roots, hi]
    mids = [math.sqrt(x * y) for x, y in itertools.pairwise(edges)]
    diff = fronts[a].loss(mids) - fronts[b].loss(mids)
    lower = [label(a) if d < 0 else label(b) if d > 0 else None for d in diff]
    if not np.isfinite(diff).all():
        text = "the frontiers cannot be told apart everywhere (the law gives no finite loss)"
    elif not roots:
        text = (f"the frontiers do not cross between {fmt(lo)} and {fmt(hi)} FLOPs: "
                f"{lower[0]} reaches the lower loss throughout")
    else:
        parts = [f"{lower[0]} reaches the lower loss below {fmt(roots[0])}"]
        parts += [f"{who} from {fmt(r)} to {fmt(roots[k + 1])}" if k + 1 < len(roots) else
                  f"{who} above {fmt(r)}"
                  for k, (r, who) in enumerate(zip(roots, lower[1:], strict=True))]
        text = (f"the frontiers cross at {' and '.join(fmt(r) for r in roots)} FLOPs: "
                + ", ".join(parts))
        if any(not shared[0] <= r <= shared[1] for r in roots):
            text += (f" (beyond {fmt(shared[0])}..{fmt(shared[1])}, the compute the runs "
                     "share: an extrapolation)")
    never = [r["flops"] for r in rows if r["multiplier"].get(b) is None]
    if never:
        text += (f"; the compute {label(b)} needs to reach {label(a)}'s loss at "
                 + ", ".join(fmt(c) for c in never) + " FLOPs lies outside "
                 f"{fmt(REACH_SPAN[0])}..{fmt(REACH_SPAN[1])} (none if below its floor)")
    return {"baseline": a, "group": b, "crossover_flops": roots[0] if roots else None,
            "crossings": roots, "note": text}


def _intervals(groups, samples, rows, names, level, label) -> list[str]:
    """Parameter and loss intervals from resamples, and where the loss intervals of the
    baseline and a group overlap (the data do not support ranking them there)."""
    import numpy as np

    if not 0 < level < 1:
        raise ConfigError(f"interval level must be between 0 and 1, got {level}")
    tail = 50.0 * (1.0 - level)
    budgets = [r["flops"] for r in rows]
    bands = {}
    for n, draws in samples.items():
        if n not in groups or not draws:
            continue
        g = groups[n]
        g.samples = [{**g.fit.params, **d} for d in draws]  # a held parameter stays held
        for p in g.fit.params:
            v = np.array([d[p] for d in g.samples], dtype=float)
            g.intervals[p] = [float(np.nanpercentile(v, tail)),
                              float(np.nanpercentile(v, 100 - tail))]
        bands[n] = loss_band(g.fit.law_object(), g.samples, budgets, level)
        for i, r in enumerate(rows):
            r["loss_interval"][n] = [_num(bands[n][0][i]), _num(bands[n][1][i])]
    notes = []
    base = names[0]
    for n in names[1:]:
        if base not in bands or n not in bands:
            continue
        tied = []
        for i, r in enumerate(rows):
            (a_lo, a_hi), (b_lo, b_hi) = r["loss_interval"][base], r["loss_interval"][n]
            overlap = None in (a_lo, a_hi, b_lo, b_hi) or (a_lo <= b_hi and b_lo <= a_hi)
            r["ranking"][n] = "not supported" if overlap else "supported"
            if overlap:
                tied.append(r["flops"])
        if tied:
            notes.append(f"at {', '.join(fmt(c) for c in tied)} FLOPs the {level:.0%} "
                         f"loss intervals of {label(base)} and {label(n)} overlap: the data do "
                         "not support ranking them there")
    return notes
