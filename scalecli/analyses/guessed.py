"""``scalecli init``: sniff a folder's logs, guess the column mapping, check it by reading the
logs with it, and write the folder's commented ``scalecli.yaml`` (:mod:`scalecli.project`).

Detection and role resolution are ingest's own (:mod:`scalecli.ingest.guess`): what the alias
table knows needs no mapping; only what it does not is guessed and written under ``map:``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, InputError
from .table import Table


def init_project(folder: str | Path, *, reader: str | None = None, law: str | None = None,
                 force: bool = False) -> Table:
    """Guess ``folder``'s mapping and write its project file; the table lists each file's
    roles (column, and whether found by name or guessed)."""
    from .. import schema as S
    from ..atomic import write_text
    from ..ingest.guess import TIDY, guess_paths
    from ..pipeline import load
    from ..project import PROJECT_FILE, project_text

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{folder}: not a folder (scalecli init FOLDER writes FOLDER/"
                         f"{PROJECT_FILE})")
    target = root / PROJECT_FILE
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; --force overwrites it")
    if law is not None:
        from ..laws import get_law

        get_law(law)  # a misspelt name is refused before anything is written
    guesses = guess_paths([root], reader)
    mapping: dict[str, str] = {}
    found: dict[str, str] = {}
    warnings: list[str] = []
    for g in guesses:
        for role, col in g.guessed.items():
            if mapping.setdefault(role, col) != col:
                warnings.append(f"{g.display}: {role} looks like {col!r}, but another file's "
                                f"is {mapping[role]!r}: map: keeps the first")
        for role, col in g.found.items():
            found.setdefault(role, col)
    for g in guesses:  # a map entry applies to every file: one that names the role otherwise
        for role in sorted(set(mapping) & set(g.found)):
            if g.found[role] != mapping[role]:
                warnings.append(f"{g.display}: {role} is {g.found[role]!r} here but "
                                f"{mapping[role]!r} elsewhere; map: names one column for every "
                                "file: rename one of them, or init each folder on its own")
    frames = load(root, reader=reader, mapping=mapping, need=())
    runs = frames.runs
    sized = runs.height and runs[S.N].drop_nulls().len() and runs[S.D].drop_nulls().len()
    law = law or ("chinchilla" if sized else None)
    files = [(_inside(g.display, root), g.reader, "") for g in guesses]
    config = sorted({c for g in guesses for c in g.config})
    write_text(target, project_text(files, mapping, found, config, law))
    rows = []
    for g in guesses:
        for role in ("run", "N", "D", "C", "loss", "step", "lr", "batch_size"):
            col = g.guessed.get(role) or g.found.get(role)
            if col:
                rows.append({"file": g.display, "reader": g.reader, "role": role,
                             "column": col, "how": "guessed" if role in g.guessed else "name"})
        if g.reader not in TIDY:
            rows.append({"file": g.display, "reader": g.reader, "role": "",
                         "column": "(the W&B layout)", "how": "reader"})
    notes = [f"columns: {c}" for c in frames.columns]
    notes.append(f"{runs.height} runs read with this mapping"
                 + (f"; default law {law}" if law else "; no N and D, so no default law"))
    notes.append(f"wrote {target}")
    return Table(rows, [("file", "file"), ("reader", "reader"), ("role", "role"),
                        ("column", "column"), ("how", "found by")],
                 title=f"{PROJECT_FILE}: the columns of {len(guesses)} file(s)",
                 caption="guessed columns are written under map:; the rest are recognized "
                         "by name",
                 notes=notes, warnings=[*warnings, *frames.warnings])


def _inside(display: str, root: Path) -> str:
    """A file's path as seen from the project's folder (where the project file lives)."""
    try:
        return Path(display).relative_to(root).as_posix()
    except ValueError:
        return display
