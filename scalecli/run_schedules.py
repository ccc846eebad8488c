"""Per-run learning-rate schedules named in the project file (``schedules:`` in
``scalecli.yaml``), for the curve laws of runs that do not log their lr at every step.

```yaml
schedules:
  - runs: cosine_24000                 # a run name, a glob over run names, or a list of them
    spec: cosine:peak=3e-4,warmup=2160,final=3e-5,steps=24000
  - runs: ["wsdcon_*"]
    spec: {kind: piecewise, steps: [0, 8000], values: [3e-4, 9e-5], warmup: 2160}
  - name: long-cosine                  # an entry a column can name (runs: optional)
    spec: cosine:peak=3e-4,warmup=2160,final=3e-5,steps=72000
  - by_column: sched                   # a run-level column: a spec, or an entry's name, per run
```

A ``spec`` is the one-line language of :mod:`scalecli.schedules`, or the same keys as a
mapping (``kind`` and the spec's keys; lists for piecewise ``steps``/``values``). Entries are
tried in file order; the first that applies to a run gives its schedule (a ``by_column`` entry
applies to the runs with a value in that column).

Where a run's learning rate comes from, first found wins: its ``lr`` logged at every step, then
``--schedule SPEC`` on the command line (one schedule for every run without a dense lr), then
these entries, then a run-level ``schedule`` column. The command line beats the file, as for
every other option; the file's per-run entries beat a column that came with the logs because
the file is what the user wrote for this analysis.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENTRY_KEYS = ("runs", "spec", "name", "by_column")


@dataclass
class ScheduleEntry:
    """One ``schedules:`` entry: a parsed spec with the runs it names, or a column to read."""

    index: int
    runs: tuple[str, ...] = ()
    spec: Any = None  # schedules.Schedule
    name: str | None = None
    by_column: str | None = None


@dataclass
class RunSchedules:
    """The project file's schedule entries, ready to resolve a run's schedule."""

    path: Path
    entries: list[ScheduleEntry] = field(default_factory=list)

    def where(self, entry: ScheduleEntry) -> str:
        return f"{self.path}: schedules[{entry.index}]"

    def columns(self) -> list[str]:
        return [e.by_column for e in self.entries if e.by_column]

    def check_columns(self, columns) -> None:
        """Every ``by_column`` names a run-level column of the runs read."""
        for e in self.entries:
            if e.by_column and e.by_column not in columns:
                shown = ", ".join(list(columns)[:15])
                raise ConfigError(f"{self.where(e)}: by_column {e.by_column!r}: the runs have "
                                  f"no such column (columns: {shown})")

    def lookup(self, name: str, values: dict[str, Any]):
        """The schedule of the run ``name`` (``values``: its by_column cells), or None."""
        from .schedules import parse_schedule

        for e in self.entries:
            if e.by_column:
                cell = values.get(e.by_column)
                if cell is None or (isinstance(cell, str) and not cell.strip()):
                    continue
                text = str(cell).strip()
                named = next((x for x in self.entries if x.name == text), None)
                if named is not None:
                    return named.spec
                try:
                    return parse_schedule(text)
                except ConfigError as exc:
                    raise ConfigError(f"{self.where(e)}: run {name!r}: column {e.by_column} "
                                      f"holds {text!r}, neither an entry's name nor a spec "
                                      f"({exc})") from None
            elif any(fnmatch.fnmatchcase(str(name), g) for g in e.runs):
                return e.spec
        return None


def read_entries(raw: Any, path: Path) -> RunSchedules:
    """The ``schedules:`` value of the project file ``path``, validated: ConfigError (one line
    naming the file and the entry) for anything that is not a list of valid entries."""
    from .schedules import parse_schedule

    if raw is None:
        return RunSchedules(path)
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: schedules must be a list of entries (- runs: GLOB, "
                          "spec: SPEC)")
    out = RunSchedules(path)
    names: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{path}: schedules[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: an entry maps keys to values ({', '.join(ENTRY_KEYS)})")
        unknown = [str(k) for k in item if k not in ENTRY_KEYS]
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; keys are: "
                              f"{', '.join(ENTRY_KEYS)}")
        entry = ScheduleEntry(i)
        if item.get("by_column") is not None:
            if any(item.get(k) is not None for k in ("spec", "runs", "name")):
                raise ConfigError(f"{where}: by_column reads each run's schedule from the "
                                  "column; it takes no spec, runs or name")
            if not isinstance(item["by_column"], str) or not item["by_column"].strip():
                raise ConfigError(f"{where}: by_column must name a run-level column")
            entry.by_column = item["by_column"].strip()
            out.entries.append(entry)
            continue
        if item.get("spec") is None:
            raise ConfigError(f"{where}: give spec: SPEC (e.g. cosine:peak=3e-4,warmup=300,"
                              "final=3e-5,steps=6000) or by_column: COLUMN")
        runs = item.get("runs")
        if runs is None and item.get("name") is None:
            raise ConfigError(f"{where}: say which runs it is for: runs: NAME or GLOB (or a "
                              "list), or name it (name: NAME) for a by_column entry to use")
        runs = [] if runs is None else [runs] if isinstance(runs, (str, int, float)) else runs
        if not isinstance(runs, list) or not all(isinstance(r, (str, int, float))
                                                 for r in runs):
            raise ConfigError(f"{where}: runs must be a run name, a glob, or a list of them")
        entry.runs = tuple(str(r) for r in runs)
        if item.get("name") is not None:
            entry.name = str(item["name"])
            if entry.name in names:
                raise ConfigError(f"{where}: a second entry named {entry.name!r}")
            names.add(entry.name)
        try:
            entry.spec = parse_schedule(spec_text(item["spec"]))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        out.entries.append(entry)
    return out


def spec_text(spec: Any) -> str:
    """A spec as one line: text as it is; a mapping ``{kind: cosine, peak: 3e-4, ...}`` as
    ``cosine:peak=3e-4,...`` (lists joined by ``/``)."""
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, dict):
        raise ConfigError(f"spec {spec!r}: a one-line spec or a mapping with kind and its keys")
    if "kind" not in spec:
        raise ConfigError(f"spec {spec!r}: a mapping spec needs kind (constant, cosine, linear, "
                          "wsd, piecewise)")

    def one(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return "/".join(one(x) for x in v)
        if isinstance(v, (dict, bool)) or v is None:
            raise ConfigError(f"spec {spec!r}: {v!r} is not a number or a name")
        return str(v)

    rest = ",".join(f"{k}={one(v)}" for k, v in spec.items() if k != "kind")
    return f"{spec['kind']}:{rest}"
