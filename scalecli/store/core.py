"""The Store: reading a consistent snapshot, and ingesting under the lock.

Readers take no lock. They read the manifest, then the parts it names; parts are never rewritten
in place, so a part is either the one the manifest meant or gone (superseded by a newer ingest).
Gone or unreadable while the manifest has moved on: read again from the new manifest.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from ..ingest import Frames, combine, expand, join_runs
from . import copies, health, lock, manifest, parts
from .commit import Writer, commit, sweep
from .lock import LOCK_WAIT_S
from .manifest import MANIFEST, PARTS
from .plan import Planner
from .reports import CheckReport, IngestReport, PruneReport

READ_ATTEMPTS = 5  # a reader retries while ingests keep publishing new manifests


class Store:
    """A scalecli store directory; created by the first successful ingest."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def exists(self) -> bool:
        return (self.root / MANIFEST).is_file()

    # --- reading ------------------------------------------------------------------------------
    def manifest(self) -> dict:
        """The validated manifest (an empty one when there is no store yet)."""
        return manifest.read(self.root)[0]

    def load(self, lazy: bool = False) -> Frames:
        """All runs and history in the store, W&B history joined to its runs (as read_paths);
        of sources with the same content, one counts (see ``copies``).

        ``lazy``: read the runs and the history's tails (``parts.tails``) now and the whole
        history only when first asked for (``StoredFrames``), so a fit of one point per run
        never reads it; a command asks at once or never. Not lazy: one snapshot, all read now.
        """
        for attempt in range(READ_ATTEMPTS):
            data, raw = manifest.read(self.root)
            if not raw:
                self._need_store()
            files = data["files"]
            entries = [files[k] for k in sorted(copies.counted(files))]
            try:
                frames = parts.load(self.root, entries, history="tails" if lazy else True)
            except parts.PartError as exc:
                if attempt + 1 < READ_ATTEMPTS and self._raw() != raw:
                    continue  # an ingest replaced that part meanwhile: read its manifest
                raise self._part_error(files, exc) from None
            raw_runs = frames.runs
            joined = combine([frames], check="none")
            if not lazy:
                return joined

            def history(entries=entries, files=files, raw_runs=raw_runs):
                try:
                    hist = parts.load(self.root, entries).history
                except parts.PartError as exc:
                    raise self._part_error(files, exc) from None
                return join_runs(raw_runs, hist)[1]

            return StoredFrames.of(joined, history)
        raise AssertionError("unreachable")

    def frames(self, e: dict, history: bool = True) -> Frames:
        """One entry's frames, from its parts (``PartError`` if one is missing or not whole)."""
        return parts.frames_of(self.root, e, history)

    def _runs_of(self, entries: list[dict]) -> Frames:
        try:
            return parts.load(self.root, entries, history=False)
        except parts.PartError as exc:
            raise self._part_error({e["path"]: e for e in entries}, exc) from None

    def _part_error(self, files: dict, exc: parts.PartError) -> StoreError:
        display = next((e["display"] for e in files.values()
                        if exc.rel in (e["runs"], e["history"], e.get("tails"))), "?")
        return StoreError(f"{self.root}: part {exc.rel} of {display} is {exc.reason}; ingest "
                          f"{display} again to rebuild it")

    def _raw(self) -> bytes:
        try:
            return (self.root / MANIFEST).read_bytes()
        except OSError:
            return b""

    # --- ingest ---------------------------------------------------------------------------------
    def ingest(self, paths, reader: str | None = None, mapping: dict[str, str] | None = None,
               strict: bool = False, *, verify: bool = False,
               wait: float = LOCK_WAIT_S, progress=None, experiments=None) -> IngestReport:
        """Read ``paths`` (files/directories) into the store; unchanged files are skipped.

        ``verify``: re-hash every source (and check every part of those sources in full)
        whatever its size and mtime. ``wait``: seconds to wait for another ingest's lock.
        ``progress(done, total)``: told after each source is planned (read and written).
        A source whose part is missing or damaged is read again and its parts rebuilt.
        ``experiments``: the MLflow experiments to read (default all).
        """
        from ..ingest.mlflow import split_names

        experiments = split_names(experiments)
        lock.check_wait(wait)
        skipped: list[str] = []  # unreadable entries, and files given twice, read once
        sources = expand(list(paths), reader, warnings=skipped, strict=strict,
                         experiments=experiments)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a store directory")
        created = not self.root.is_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        writer = Writer(self.root)
        try:
            with lock.held(self.root, wait):
                data, _ = manifest.read(self.root)
                swept = sweep(self.root, data["files"])
                plan = self._plan(sources, data, mapping, strict, verify, writer, progress,
                                  experiments)
                after = commit(self.root, plan, writer)
        except BaseException:
            writer.abort()
            if created:
                self._unmake()
            raise
        rep = plan.report
        rep.warnings[:0] = skipped
        rep.swept = swept
        rep.n_runs = plan.n_runs if plan.n_runs is not None else data.get("n_runs", 0)
        rep.n_rows = sum(after[k]["n_rows"] for k in copies.counted(after))
        return rep

    def _unmake(self) -> None:
        """A refused first ingest leaves no store behind (only what it made, only if empty)."""
        for p in (self.root / PARTS, self.root / lock.LOCK, self.root):
            try:
                p.rmdir() if p.is_dir() else p.unlink()
            except OSError:
                pass

    def _plan(self, sources, data: dict, mapping, strict: bool, verify: bool, writer,
              progress=None, experiments=()):
        return Planner(self.root, data, mapping, strict, verify, self._runs_of,
                       writer, experiments).run(sources, progress)

    # --- health ---------------------------------------------------------------------------------
    def check(self, *, verify: bool = False, wait: float = LOCK_WAIT_S) -> CheckReport:
        """What is stale, missing, damaged or orphaned; writes nothing (see ``health``)."""
        self._need_store()
        return health.check(self.root, verify=verify, wait=wait)

    def prune(self, *, dry_run: bool = False, wait: float = LOCK_WAIT_S) -> PruneReport:
        """Drop the runs of sources gone from disk (see ``health``)."""
        self._need_store()
        return health.prune(self.root, dry_run=dry_run, wait=wait)

    def _need_store(self) -> None:
        if not self.exists():
            raise StoreError(f"no scalecli store at {self.root} (create one with: scalecli "
                             f"ingest LOGS --store {self.root})")


class StoredFrames(Frames):
    """Frames read from a store: ``tails`` (the history rows that decide each run's last and
    smallest value) are there at once, the whole ``history`` is read from the parts the first
    time it is asked for (a window, checkpoints, ``mean-last``, a plot of curves)."""

    tails = None

    @classmethod
    def of(cls, frames: Frames, load) -> StoredFrames:
        out = cls(frames.runs, None, frames.warnings, frames.columns, frames.files,
                  frames.notes, frames.dropped)
        out.tails, out.__dict__["_load"] = frames.history, load
        return out

    @property
    def history(self):
        if self.__dict__.get("_history") is None:
            self.__dict__["_history"] = self.__dict__["_load"]()
        return self.__dict__["_history"]

    @history.setter
    def history(self, value) -> None:
        self.__dict__["_history"] = value
