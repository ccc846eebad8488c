"""Planning an ingest: which sources are unchanged, which are read (new, changed, or with a
damaged part to rebuild), which are copies of content already held, and whether the store as it
would become still holds together. All of it before the first byte is written, so a refusal
leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DamagedSource, InputError, StrictError
from ..ingest import Frames, combine, read_raw
from ..ingest import sources as _sources
from . import copies, parts
from .reports import IngestReport


@dataclass
class Change:
    key: str  # absolute path of the source
    display: str
    entry: dict
    frames: Frames | None  # None: content unchanged, only the manifest entry moves (mtime)


@dataclass
class Plan:
    files: dict  # the manifest's entries as they were
    changes: list[Change] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)
    n_runs_before: int = 0
    n_runs: int | None = None  # runs in the store as it would become (None: as before)

    def after(self) -> dict:
        return {**self.files, **{c.key: c.entry for c in self.changes}}


class Planner:
    """Decides, source by source, what an ingest does (see the module docstring)."""

    def __init__(self, root: Path, data: dict, mapping, strict: bool, verify: bool,
                 runs_of: Callable[[dict], Frames], experiments: tuple[str, ...] = ()):
        self.root, self.mapping, self.strict, self.verify = root, mapping, strict, verify
        self.opts = dict(sorted((mapping or {}).items()))
        self.experiments = experiments
        self.runs_of = runs_of
        self.plan = Plan(data["files"], n_runs_before=data.get("n_runs", 0))
        self.pending: dict[str, dict] = {}

    def run(self, sources) -> Plan:
        for path, display, reader in sources:
            self.source(Path(path), display, reader)
        self._count()
        return self.plan

    def source(self, path: Path, display: str, reader: str) -> None:
        key = str(path.resolve())
        try:
            st = _sources.signature(path, reader)  # (size, mtime_ns) of the source's files
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", display) from None
        old = self.plan.files.get(key)
        opts = self.opts
        if self.experiments and reader == "mlflow-sqlite":  # one file, the runs chosen from it
            opts = {**opts, "experiment": ",".join(self.experiments)}
        same = old is not None and old["reader"] == reader and old["mapping"] == opts
        if same and self._kept(old, path, display, reader, st):
            return
        try:
            frames = read_raw(path, display, reader, self.mapping, self.strict, digest=True,
                              experiments=self.experiments)
        except DamagedSource as exc:
            if self.strict:
                raise StrictError(f"{exc} (refused: --strict)") from None
            self.plan.report.warnings.append(f"{exc}; skipped")
            return
        info = frames.files[display]
        digest = info.digest or _sources.digest(path, reader)
        entry = {"path": key, "display": display, "reader": reader, "mapping": opts,
                 "size": st[0], "mtime_ns": st[1], "hash": digest,
                 "rows": info.rows, "found": info.columns, "columns": frames.columns,
                 "warnings": list(frames.warnings), "runs": None, "history": None,
                 "n_runs": frames.runs.height, "n_rows": frames.history.height}
        rep = self.plan.report
        if same and old["hash"] == digest:
            rep.repaired.append(display)  # same content: its parts were missing or damaged
        else:
            (rep.replaced if old else rep.added).append(display)
        self._mark_copy(entry)
        rep.warnings += entry["warnings"]
        rep.columns += frames.columns
        self.plan.changes.append(Change(key, display, entry, frames))
        self.pending[key] = entry

    def _kept(self, old: dict, path: Path, display: str, reader: str,
              st: tuple[int, int]) -> bool:
        """Whether an already ingested source needs no reading: same size and mtime, parts whole
        (cheap check); or, after a touch or with ``verify``, the same content hash."""
        if old["size"] != st[0]:
            return False
        touched = old["mtime_ns"] != st[1]
        if not touched and not self.verify:
            if parts.entry_problems(self.root, old):
                return False  # read it again: the parts are rebuilt from the source
        elif parts.entry_problems(self.root, old, full=self.verify) or (
                _sources.digest(path, reader) != old["hash"]):
            return False
        if self.strict and old.get("warnings"):
            raise StrictError(old["warnings"][0] + " (refused: --strict)")
        self.plan.report.unchanged.append(display)
        if touched:
            entry = {**old, "mtime_ns": st[1]}
            self.plan.changes.append(Change(old["path"], display, entry, None))
        return True

    def _mark_copy(self, entry: dict) -> None:
        """A source whose bytes the store already holds under another path: counted once."""
        files = {**self.plan.files, **self.pending}
        other = copies.find_original(files, entry["path"], entry["size"], entry["hash"])
        if other is None:
            return
        text = (f"{entry['display']}: same content as {files[other]['display']}, already in the "
                "store; its runs are counted once")
        if self.strict:
            raise StrictError(text + " (refused: --strict)")
        entry["same_as"] = other
        entry["warnings"].append(text)
        self.plan.report.duplicates.append(entry["display"])

    def _count(self) -> None:
        """Runs in the store as it would become; every counted run must have N (history-only
        W&B runs may wait, with a warning, for the runs file a later ingest brings)."""
        plan, rep = self.plan, self.plan.report
        after = plan.after()
        keep = copies.counted(after)
        fresh = {c.key: c for c in plan.changes if c.frames is not None}
        if not fresh:
            return
        kept = [self.runs_of(after[k]) for k in sorted(keep) if k not in fresh]
        new = [Frames(c.frames.runs, c.frames.history.clear(), [], [], c.frames.files)
               for k, c in sorted(fresh.items()) if k in keep]
        joined = combine(kept + new, check="tidy")
        rep.warnings += [w for w in joined.warnings if w not in rep.warnings]
        plan.n_runs = joined.runs.height
