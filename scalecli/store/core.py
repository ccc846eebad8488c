"""The Store: reading a consistent snapshot, and ingesting under the lock.

Readers take no lock. They read the manifest, then the parts it names; parts are never rewritten
in place, so a part is either the one the manifest meant or gone (superseded by a newer ingest).
Gone or unreadable while the manifest has moved on: read again from the new manifest.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from ..ingest import Frames, combine, expand
from . import copies, health, lock, manifest, parts
from .commit import commit, sweep
from .lock import LOCK_WAIT_S
from .manifest import MANIFEST
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

    def load(self) -> Frames:
        """All runs and history in the store, W&B history joined to its runs (as read_paths);
        of sources with the same content, one counts (see ``copies``)."""
        for attempt in range(READ_ATTEMPTS):
            data, raw = manifest.read(self.root)
            if not raw:
                self._need_store()
            files = data["files"]
            try:
                frames = [self.frames(files[k]) for k in sorted(copies.counted(files))]
            except parts.PartError as exc:
                if attempt + 1 < READ_ATTEMPTS and self._raw() != raw:
                    continue  # an ingest replaced that part meanwhile: read its manifest
                raise self._part_error(files, exc) from None
            return combine(frames or [_empty()], check="none")
        raise AssertionError("unreachable")

    def frames(self, e: dict, history: bool = True) -> Frames:
        """One entry's frames, from its parts (``PartError`` if one is missing or not whole)."""
        return parts.frames_of(self.root, e, history)

    def _runs_of(self, e: dict) -> Frames:
        try:
            return self.frames(e, history=False)
        except parts.PartError as exc:
            raise self._part_error({e["path"]: e}, exc) from None

    def _part_error(self, files: dict, exc: parts.PartError) -> StoreError:
        display = next((e["display"] for e in files.values()
                        if exc.rel in (e["runs"], e["history"])), "?")
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
               wait: float = LOCK_WAIT_S, experiments=None) -> IngestReport:
        """Read ``paths`` (files/directories) into the store; unchanged files are skipped.

        ``verify``: re-hash every source (and check every part of those sources in full)
        whatever its size and mtime. ``wait``: seconds to wait for another ingest's lock.
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
        first = None
        if not self.root.is_dir():  # read and validate before creating anything
            first = self._plan(sources, manifest.empty(), mapping, strict, verify, experiments)
            self.root.mkdir(parents=True, exist_ok=True)
        with lock.held(self.root, wait):
            data, raw = manifest.read(self.root)
            swept = sweep(self.root, data["files"])
            # a store another ingest created meanwhile is planned against, never replaced
            plan = first if first is not None and not raw else self._plan(
                sources, data, mapping, strict, verify, experiments)
            after = commit(self.root, plan)
        rep = plan.report
        rep.warnings[:0] = skipped
        rep.swept = swept
        rep.n_runs = plan.n_runs if plan.n_runs is not None else data.get("n_runs", 0)
        rep.n_rows = sum(after[k]["n_rows"] for k in copies.counted(after))
        return rep

    def _plan(self, sources, data: dict, mapping, strict: bool, verify: bool, experiments=()):
        return Planner(self.root, data, mapping, strict, verify, self._runs_of,
                       experiments).run(sources)

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


def _empty() -> Frames:
    import polars as pl

    from ..ingest.shape import RUNS_SCHEMA, empty_history

    return Frames(pl.DataFrame(schema=RUNS_SCHEMA), empty_history())
