"""Choosing runs by name, without editing the logs: ``--include-run`` and ``--exclude-run``
glob patterns (``gpt-1B*``, ``*-seed[12]``), matched against each run's name.

A run is kept when it matches some include pattern (all runs, when none is given) and no
exclude pattern. A pattern that matches no run is said; a selection that leaves no run is
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

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def to_dict(self) -> dict:
        return {"include": list(self.include), "exclude": list(self.exclude)}


def as_selection(include=None, exclude=None) -> Selection:
    """A :class:`Selection` from patterns given as one text or a list of texts."""
    def patterns(value, option):
        items = [value] if isinstance(value, str) else list(value or [])
        for p in items:
            if not isinstance(p, str) or not p.strip():
                raise InputError(f"{option}: give a run name or a glob pattern such as 'gpt-1B*'")
        return [p.strip() for p in items]

    return Selection(patterns(include, "--include-run"), patterns(exclude, "--exclude-run"))


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
    import polars as pl

    mask = pl.Series(keep)
    runs = frames.runs.filter(mask)
    history = frames.history.join(runs.select(S.RUN_ID), on=S.RUN_ID, how="semi")
    if dropped:
        notes.append(f"runs selected: {len(names) - len(dropped)} of {len(names)} kept; left out "
                     f"{_some(dropped)}")
    return dataclasses.replace(frames, runs=runs, history=history), notes


def _unmatched(patterns, names, option) -> list[str]:
    return [f"{option} {clip(p)!r} matches no run" for p in patterns
            if not any(fnmatchcase(n, p) for n in names)]


def _some(names, k: int = 5) -> str:
    shown = ", ".join(clip(n, 40) for n in names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")
