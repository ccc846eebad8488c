"""Choosing runs without editing the logs: ``--include-run`` and ``--exclude-run`` glob
patterns (``gpt-1B*``, ``*-seed[12]``), matched against each run's name, and ``--where``
filters on run columns (``n_params >= 100M and dataset == 'rpj'``, see :mod:`scalecli.where`).

A run is kept when it matches some include pattern (all runs, when none is given), no
exclude pattern, and every ``--where`` filter. A pattern that matches no run is said; a selection that leaves no run is
refused, naming the clause that emptied it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from . import schema as S
from .errors import InputError, clip


@dataclass
class Selection:
    """What to keep of the runs read; ``notes`` say what it left out."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude or self.where)

    def to_dict(self) -> dict:
        out = {"include": list(self.include), "exclude": list(self.exclude)}
        if self.where:
            out["where"] = list(self.where)
        return out

    def __add__(self, other: Selection) -> Selection:
        """Both selections at once (a config's, then the command line's)."""
        return Selection([*self.include, *other.include], [*self.exclude, *other.exclude],
                         [*self.where, *other.where])


def as_selection(include=None, exclude=None, where=None) -> Selection:
    """A :class:`Selection` from patterns and filters, each given as one text or a list of
    texts; a filter that does not parse is refused here, before any log is read."""
    def texts(value, option, example):
        items = [value] if isinstance(value, str) else list(value or [])
        for p in items:
            if not isinstance(p, str) or not p.strip():
                raise InputError(f"{option}: give {example}")
        return [p.strip() for p in items]

    from .where import parse

    filters = texts(where, "--where", "a filter such as \"n_params >= 100M\"")
    for text in filters:
        parse(text)
    return Selection(texts(include, "--include-run", "a run name or a glob pattern such as "
                                                     "'gpt-1B*'"),
                     texts(exclude, "--exclude-run", "a run name or a glob pattern such as "
                                                     "'gpt-1B*'"), filters)


def select_runs(frames, selection: Selection):
    """``frames`` with only the selected runs (runs and history alike), and notes on what was
    left out; InputError when nothing is left."""
    import dataclasses

    if not selection:
        return frames, []
    names = frames.runs.get_column(S.NAME).cast(str).to_list()
    keep = [True] * len(names)
    notes = []
    if selection.include:
        hit = [any(fnmatchcase(n, p) for p in selection.include) for n in names]
        if not any(hit):
            raise InputError(f"--include-run {', '.join(map(clip, selection.include))}: no run "
                             f"matches (runs: {_some(names)})")
        keep = hit
        notes += _unmatched(selection.include, names, "--include-run")
    dropped = [n for n, k in zip(names, keep) if not k]
    if selection.exclude:
        out = [any(fnmatchcase(n, p) for p in selection.exclude) for n in names]
        notes += _unmatched(selection.exclude, names, "--exclude-run")
        keep = [k and not o for k, o in zip(keep, out)]
        if not any(keep):
            raise InputError(f"--exclude-run {', '.join(map(clip, selection.exclude))} leaves no "
                             "run" + (" of those --include-run kept" if selection.include else ""))
        dropped = [n for n, k in zip(names, keep) if not k]
    if selection.where:
        keep = _filter(frames.runs, selection, keep)
        dropped = [n for n, k in zip(names, keep) if not k]
    import polars as pl

    mask = pl.Series(keep)
    runs = frames.runs.filter(mask)
    history = frames.history.join(runs.select(S.RUN_ID), on=S.RUN_ID, how="semi")
    if dropped:
        notes.append(f"runs selected: {len(names) - len(dropped)} of {len(names)} kept; left out "
                     f"{_some(dropped)}")
    return dataclasses.replace(frames, runs=runs, history=history), notes


def _filter(runs, selection: Selection, keep: list[bool]) -> list[bool]:
    """``keep`` and every ``--where`` filter; a filter that keeps nothing is refused naming
    the clause that emptied it."""
    from .where import parse

    for text in selection.where:
        where = parse(text)
        hit = where.mask(runs)
        if not any(hit):
            raise InputError(where.explain_empty(runs))
        before = keep
        keep = [k and h for k, h in zip(keep, hit)]
        if not any(keep):
            what = ("--include-run/--exclude-run" if selection.include or selection.exclude
                    else "the other --where filters")
            raise InputError(f"--where {clip(text, 200)} keeps {sum(hit)} run(s), none of the "
                             f"{sum(before)} {what} kept")
    return keep


def _unmatched(patterns, names, option) -> list[str]:
    return [f"{option} {clip(p)!r} matches no run" for p in patterns
            if not any(fnmatchcase(n, p) for n in names)]


def _some(names, k: int = 5) -> str:
    shown = ", ".join(clip(n, 40) for n in names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")
