"""The project file ``scalecli.yaml`` that ``scalecli init`` writes beside the logs: the column
mapping and default options of every command run in that folder (or given it as a path).

```yaml
map: {N: model_param_count, D: tokens_processed, loss: val_nll}   # as --map
law: chinchilla        # as --law (a command's --law or --config wins)
reduce: last           # as --reduce
reader: csv            # as --reader (unset: each file sniffed)
loss: huber            # objective, as --loss; also delta, space
schedules:             # curve laws: each run's LR schedule (scalecli.run_schedules)
  - {runs: "cosine-*", spec: "cosine:peak=3e-4,warmup=300,final=3e-5,steps=6000"}
```
Options given on the command line win; a ``--map`` entry replaces the file's entry for that
role only. Read with ``yaml.safe_load`` bounds (:func:`scalecli.config.read_yaml`); an unknown
key is refused with the file's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

PROJECT_FILE = "scalecli.yaml"
# file key -> the API keyword it gives a default for
OPTIONS = {"law": "law", "reduce": "reduce", "reader": "reader", "loss": "loss",
           "delta": "delta", "space": "space"}
KEYS = {"map", "schedules", *OPTIONS}


@dataclass
class Project:
    """A project file read: where it is, its column mapping, its default options."""

    path: Path
    mapping: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    schedules: Any = None  # run_schedules.RunSchedules, when the file has entries

    def describe(self) -> str:
        what = [f"map {','.join(f'{k}={v}' for k, v in self.mapping.items())}"] if self.mapping \
            else []
        what += [f"{k} {v}" for k, v in self.options.items()]
        if self.schedules is not None:
            what.append(f"{len(self.schedules.entries)} schedule entr"
                        f"{'y' if len(self.schedules.entries) == 1 else 'ies'}")
        return f"project: {self.path}" + (f" ({'; '.join(what)})" if what else "")


def project_dir(data: Any) -> Path | None:
    """The folder whose project file applies: the first path's folder (a file's parent), or the
    working directory when no path is given; None for data already read (frames, points)."""
    if data is None:
        return Path(".")
    items = [data] if isinstance(data, (str, Path)) else data
    if not isinstance(items, (list, tuple)):
        return None
    paths = [Path(p) for p in items if isinstance(p, (str, Path)) and str(p) != "-"]
    if not paths:
        return Path(".") if items else None
    first = paths[0]
    return first if first.is_dir() else first.parent


def find_project(data: Any) -> Project | None:
    """The project file that applies to ``data`` (see :func:`project_dir`), if there is one."""
    folder = project_dir(data)
    if folder is None or not (folder / PROJECT_FILE).is_file():
        return None
    return read_project(folder / PROJECT_FILE)


def read_project(path: Path) -> Project:
    """A project file validated: known keys, a map of roles to column names, text options."""
    from .config import read_yaml
    from .schema import ROLE_NAMES

    doc = read_yaml(path)
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a project file maps keys to values ({', '.join(sorted(KEYS))})")
    unknown = sorted(str(k) for k in doc if k not in KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; keys are: "
                          f"{', '.join(sorted(KEYS))}")
    raw = doc.get("map") or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{path}: map must give column names by role (e.g. N: params)")
    mapping = {}
    for role, col in raw.items():
        canon = ROLE_NAMES.get(str(role).lower())
        if canon is None:
            raise ConfigError(f"{path}: map: unknown role {role!r}; roles are N, D, C, loss, "
                              "run, step, lr, batch_size")
        mapping[canon] = col
    options = {}
    for key, keyword in OPTIONS.items():
        value = doc.get(key)
        if value is None:
            continue
        if key == "delta":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{path}: delta must be a number")
            value = float(value)
        elif not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a name (e.g. {key}: "
                              f"{ {'law': 'chinchilla', 'reduce': 'last'}.get(key, 'csv')})")
        options[keyword] = value
    schedules = None
    if doc.get("schedules") is not None:
        from .run_schedules import read_entries

        schedules = read_entries(doc["schedules"], path)
    return Project(path, mapping, options, schedules)


def apply(project: Project, given: dict[str, Any], accepts) -> list[str]:
    """Fill ``given`` (a call's keyword arguments) from the project where the caller left
    them None; ``accepts(name)`` says whether the call takes that keyword. The mapping merges
    role by role, the call's winning. Returns what was filled, for a note."""
    from .schema import parse_mapping

    filled = []
    if project.mapping and accepts("mapping"):
        mine = given.get("mapping")
        mine = parse_mapping(mine) if isinstance(mine, str) or mine is None else dict(mine)
        given["mapping"] = {**project.mapping, **mine}
        filled.append("map")
    if project.schedules is not None and accepts("schedules") and given.get("schedules") is None:
        given["schedules"] = project.schedules
        filled.append("schedules")
    curve = _curve_call(given)
    for keyword, value in project.options.items():
        if not accepts(keyword) or given.get(keyword) is not None:
            continue
        if curve and keyword in ("reduce", "space"):
            continue  # a curve law uses every point, in log space: these are a final fit's
        if keyword == "law" and (given.get("config") is not None
                                 or given.get("fit_file") is not None):
            continue  # a config or a saved fit names its own law
        given[keyword] = value
        filled.append(keyword)
    return filled


def _curve_call(given: dict[str, Any]) -> bool:
    """Whether the call is of a curve law (its ``law``, or the law of its saved ``fit_file``)."""
    from .analyses.curves import is_curve_law

    law = given.get("law")
    if law is None and given.get("fit_file") is not None:
        try:
            law = json.loads(Path(given["fit_file"]).read_text(encoding="utf-8")).get("law")
        except (OSError, ValueError, AttributeError):
            return False
    return isinstance(law, str) and is_curve_law(law)


def project_text(files: list[tuple[str, str, str]], mapping: dict[str, str],
                 found: dict[str, str], config: list[str], law: str | None) -> str:
    """A commented project file: ``files`` (display, reader, shape note), the guessed
    ``mapping`` (written), the roles ``found`` by name (a comment), the config columns."""
    def q(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    lines = ["# scalecli project file, written by `scalecli init`. Every scalecli command run in",
             "# this folder (or given it as a path) reads it; options on the command line win.",
             "#", "# Log files found:"]
    lines += [f"#   {d}  ({r}{', ' + note if note else ''})" for d, r, note in files]
    if found:
        lines += ["#", "# Columns recognized by name (no mapping needed): "
                  + " ".join(f"{k}={v}" for k, v in found.items())]
    if config:
        shown = ", ".join(config[:20]) + (" ..." if len(config) > 20 else "")
        lines += ["#", f"# Per-run config columns (for --group-by): {shown}"]
    lines += ["", "# map: the column of each role, as --map ROLE=column.",
              "# Roles: N (parameters), D (tokens), C (FLOPs), loss, run, step, lr, batch_size."]
    if mapping:
        lines += ["map:"] + [f"  {role}: {q(col)}" for role, col in mapping.items()]
    else:
        lines += ["map: {}"]
    lines += ["", "# law: the law fitted when no --law or --config is given (scalecli laws)."]
    lines += [f"law: {q(law)}" if law else "# law: chinchilla"]
    lines += ["", "# reduce: each run's value to fit, as --reduce: last, min or mean-last:K.",
              "reduce: last",
              "", "# reader: read every file with this reader, as --reader (unset: sniffed).",
              "# reader: csv",
              "", "# loss, delta, space: the fit's objective, as --loss, --delta, --space.",
              "# loss: huber", "# space: log",
              "", "# schedules: curve laws (fit --law multi-power): each run's LR schedule,",
              "# for runs that do not log lr at every step (see the README).",
              "# schedules:",
              '#   - {runs: "cosine-*", spec: "cosine:peak=3e-4,warmup=300,final=3e-5,steps=6000"}',
              "#   - by_column: schedule_name", ""]
    return "\n".join(lines)
