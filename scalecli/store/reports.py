"""What a store operation did or found, as data: the CLI renders it, nothing here prints.

Lists hold display paths (as the user named the source) unless said otherwise; ``warnings`` are
one line each (what may be wrong), the rest says what was done or found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class IngestReport:
    """What one ingest did. ``n_runs``/``n_rows``: runs and history rows in the whole store.

    ``repaired``: sources whose parts were missing or damaged and were rebuilt from the source
    (content unchanged). ``duplicates``: sources whose content the store already held under
    another path; kept, but their runs are counted once (each also has a warning).
    ``swept``: leftover files of a killed ingest that were removed (store-relative paths).
    """

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    n_runs: int = 0
    n_rows: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckReport:
    """The health of a store, source by source and part by part.

    ``stale``: sources changed since they were ingested (size or mtime; with ``verify``, content).
    ``missing``: sources gone from disk (``prune`` drops their runs). ``damaged``: parts missing or
    not whole, as ``{"source", "part", "problem"}`` (ingesting the source again rebuilds them).
    ``orphans``: files in the store no entry uses (swept by the next ingest or prune).
    ``duplicates``: ``{"source", "same_as"}`` for sources whose runs are counted once.
    """

    store: str
    sources: int = 0
    n_runs: int = 0
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    damaged: list[dict] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing stale, missing, damaged or orphaned."""
        return not (self.stale or self.missing or self.damaged or self.orphans)

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


@dataclass
class PruneReport:
    """What ``prune`` dropped: the entries of sources gone from disk, with their runs and parts.

    ``dropped``: those sources; ``runs_dropped``: how many runs went with them; ``n_runs`` and
    ``n_rows``: what the store holds now; ``removed``: part and leftover files deleted
    (store-relative). With ``dry_run`` nothing is written and ``removed`` lists what would go.
    """

    store: str
    dropped: list[str] = field(default_factory=list)
    runs_dropped: int = 0
    n_runs: int = 0
    n_rows: int = 0
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
