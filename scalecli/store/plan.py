"""Planning an ingest: which sources are unchanged, which are read (new, changed, or with a
damaged part to rebuild), which are copies of content already held, and whether the store as it
would become still holds together. Each source read is handed to the writer at once (its parts
go to disk under names no manifest knows yet), so memory holds one source or one group of small
ones; a refusal removes what was written and leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DamagedSource, InputError, StrictError
from ..ingest import Frames, combine, read_raw
from ..ingest import batch as _batch
from ..ingest import detect as _detect
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
                 runs_of: Callable[[list[dict]], Frames], writer=None,
                 experiments: tuple[str, ...] = ()):
        self.root, self.mapping, self.strict, self.verify = root, mapping, strict, verify
        self.opts = dict(sorted((mapping or {}).items()))
        self.experiments = experiments
        self.runs_of = runs_of
        self.writer = writer  # writes each read source's parts at once (see commit.Writer)
        self.plan = Plan(data["files"], n_runs_before=data.get("n_runs", 0))
        self.pending: dict[str, dict] = {}
        self.batch: list[tuple] = []  # small CSV sources waiting to be read together
        self.sep = ","
        self.batch_bytes = 0
        self.n_done, self.total, self.progress = 0, 0, None
        self.by_content: dict[tuple[int, str], list[str]] = {}  # (size, hash) -> keys
        for k, e in self.plan.files.items():
            self.by_content.setdefault((e["size"], e["hash"]), []).append(k)

    def run(self, sources, progress=None) -> Plan:
        self.total, self.progress = len(sources), progress
        for path, display, reader in sources:
            self.source(Path(path), display, reader)
        self._flush()
        self._count()
        return self.plan

    def source(self, path: Path, display: str, reader: str) -> None:
        key = str(path.resolve())
        try:
            st = _sources.signature(path, reader)  # (size, mtime_ns) of the source's files
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", display) from None
        old = self.plan.files.get(key)
        same = old is not None and old["reader"] == reader and old["mapping"] == self._opts(reader)
        if same and self._kept(old, path, display, reader, st):
            self._done()
            return
        todo = (path, display, reader, key, st, old, same)
        sep = _detect.separator(path)
        if reader == "csv" and st[0] <= _batch.SMALL and (not self.batch or sep == self.sep):
            self.batch.append(todo)  # small tidy CSV files are read together (ingest.batch)
            self.sep = sep
            self.batch_bytes += st[0]
            if len(self.batch) >= _batch.BATCH or self.batch_bytes >= _batch.BATCH_BYTES:
                self._flush()
            return
        self._flush()
        self._read(*todo)

    def _flush(self) -> None:
        todo, self.batch, self.batch_bytes = self.batch, [], 0
        got = _batch.read_batch([t[:2] for t in todo], self.sep, self.mapping, self.strict) \
            if todo else None
        for i, t in enumerate(todo):
            self._read(*t, frames=got[i] if got else None)

    def _opts(self, reader: str) -> dict:
        """What a source was read with, as the manifest keeps it: a change means reading again.
        An SQLite store is one file whose runs depend on the experiments chosen."""
        if self.experiments and reader == "mlflow-sqlite":
            return {**self.opts, "experiment": ",".join(self.experiments)}
        return self.opts

    def _done(self) -> None:
        self.n_done += 1
        if self.progress is not None:
            self.progress(self.n_done, self.total)

    def _read(self, path: Path, display: str, reader: str, key: str, st: tuple[int, int],
              old: dict | None, same: bool, frames: Frames | None = None) -> None:
        self._done()
        try:
            if frames is None:
                frames = read_raw(path, display, reader, self.mapping, self.strict, digest=True,
                                  experiments=self.experiments)
        except DamagedSource as exc:
            if self.strict:
                raise StrictError(f"{exc} (refused: --strict)") from None
            self.plan.report.warnings.append(f"{exc}; skipped")
            return
        info = frames.files[display]
        digest = info.digest or _sources.digest(path, reader)
        entry = {"path": key, "display": display, "reader": reader, "mapping": self._opts(reader),
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
        change = Change(key, display, entry, frames)
        self.plan.changes.append(change)
        self.pending[key] = entry
        if self.writer is not None:
            self.writer.add(change)

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
        content = (entry["size"], entry["hash"])
        same = self.by_content.setdefault(content, [])
        files = {k: self.pending.get(k) or self.plan.files[k] for k in same}
        if entry["path"] not in same:
            same.append(entry["path"])
        other = copies.find_original(files, entry["path"], *content) if files else None
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
        old = [after[k] for k in sorted(keep) if k not in fresh]
        kept = [self.runs_of(old)] if old else []
        new = [Frames(c.frames.runs, c.frames.history.clear(), [], [], c.frames.files)
               for k, c in sorted(fresh.items()) if k in keep]
        joined = combine(kept + new, check="tidy")
        rep.warnings += [w for w in joined.warnings if w not in rep.warnings]
        plan.n_runs = joined.runs.height
