"""The on-disk store: per-source-file Parquet parts plus a JSON manifest, written atomically.

Layout of ``<root>/``::

    manifest.json                 per source file: path, size, mtime_ns, hash, rows, part names
    parts/<key>.runs.parquet      that file's runs frame (before cross-file joining)
    parts/<key>.history.parquet   its history frame (absent when it logged no history)
    ingest.lock                   flock'ed by the ingest in progress

Why it is shaped this way: a changed file replaces only its own parts; an unchanged file is
recognized from (size, mtime) without reading it, so re-ingesting writes nothing at all; part
names carry the content hash, so new parts never overwrite live ones and the manifest, written
last with ``os.replace``, is the single switch from the old store to the new. Everything is
read and validated before the first byte is written, and a failure removes what it wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StoreError, StrictError
from .ingest import FileInfo, Frames, combine, expand, read_raw
from .ingest.tabular import file_digest

MANIFEST = "manifest.json"
LOCK = "ingest.lock"
PARTS = "parts"
VERSION = 1
LOCK_WAIT_S = 5.0


@dataclass
class IngestReport:
    """What one ingest did. ``n_runs``/``n_rows``: runs and history rows in the whole store."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    n_runs: int = 0
    n_rows: int = 0


@dataclass
class _Change:
    key: str  # absolute path
    display: str
    entry: dict
    frames: Frames | None  # None: content unchanged, only the manifest entry moves


class Store:
    """A scalecli store directory; created by the first successful ingest."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def exists(self) -> bool:
        return (self.root / MANIFEST).is_file()

    # --- reading ------------------------------------------------------------------------------
    def manifest(self) -> dict:
        path = self.root / MANIFEST
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {"version": VERSION, "files": {}}
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: damaged manifest ({exc}); remove the store and ingest "
                             "again") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise StoreError(f"{path}: not a scalecli store manifest (version {VERSION})")
        return data

    def load(self) -> Frames:
        """All runs and history in the store, W&B history joined to its runs (as read_paths)."""
        if not self.exists():
            raise StoreError(f"no scalecli store at {self.root} (create one with: scalecli "
                             f"ingest LOGS --store {self.root})")
        entries = self.manifest()["files"]
        parts = [self._frames(e) for e in entries.values()]
        return combine(parts, check="none") if parts else combine([_empty()], check="none")

    def _frames(self, e: dict, history: bool = True) -> Frames:
        import polars as pl

        from .ingest.shape import empty_history

        try:
            runs = pl.read_parquet(self.root / e["runs"])
            hist = (pl.read_parquet(self.root / e["history"]) if history and e.get("history")
                    else empty_history())
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise StoreError(f"{self.root}: part of {e['display']} is missing or damaged "
                             f"({str(exc).splitlines()[0][:120]}); ingest it again") from None
        info = FileInfo(e["reader"], e["found"], e["hash"], e["rows"])
        return Frames(runs, hist, [], list(e["columns"]), {e["display"]: info})

    # --- ingest ---------------------------------------------------------------------------------
    def ingest(self, paths, reader: str | None = None, mapping: dict[str, str] | None = None,
               strict: bool = False) -> IngestReport:
        """Read ``paths`` (files/directories) into the store; unchanged files are skipped."""
        files = expand(list(paths), reader)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a store directory")
        if self.root.is_dir():
            with self._lock():
                return self._ingest(files, mapping, strict)
        plan = self._plan(files, {"version": VERSION, "files": {}}, mapping, strict)
        try:
            self.root.mkdir(parents=True)
            created = True
        except FileExistsError:
            created = False
        try:
            with self._lock():
                if self.exists():  # another ingest created the store meanwhile
                    return self._ingest(files, mapping, strict)
                return self._commit(*plan)
        except BaseException:
            if created:
                shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _ingest(self, files, mapping, strict) -> IngestReport:
        return self._commit(*self._plan(files, self.manifest(), mapping, strict))

    def _plan(self, files, manifest: dict, mapping, strict):
        """Read every new or changed file and validate the store as it would become."""
        entries: dict = manifest["files"]
        report, changes = IngestReport(), []
        opts = dict(sorted((mapping or {}).items()))
        for path, display, name in files:
            key = str(path.resolve())
            st = path.stat()
            old = entries.get(key)
            same = bool(old) and old["reader"] == name and old["mapping"] == opts
            if same and old["size"] == st.st_size and old["mtime_ns"] == st.st_mtime_ns:
                self._unchanged(old, display, strict, report)
                continue
            if same and old["size"] == st.st_size and file_digest(path) == old["hash"]:
                self._unchanged(old, display, strict, report)  # touched, not changed
                changes.append(_Change(key, display, {**old, "mtime_ns": st.st_mtime_ns}, None))
                continue
            frames = read_raw(path, display, name, mapping, strict, digest=True)
            info = frames.files[display]
            if info.digest is None:
                info.digest = file_digest(path)
            entry = {"path": key, "display": display, "reader": name, "mapping": opts,
                     "size": st.st_size, "mtime_ns": st.st_mtime_ns, "hash": info.digest,
                     "rows": info.rows, "found": info.columns, "columns": frames.columns,
                     "warnings": frames.warnings, "runs": None, "history": None,
                     "n_runs": frames.runs.height, "n_rows": frames.history.height}
            (report.replaced if old else report.added).append(display)
            report.warnings += frames.warnings
            report.columns += frames.columns
            changes.append(_Change(key, display, entry, frames))
        new = {c.key for c in changes if c.frames is not None}
        if new:  # would the store's runs, joined, all have N? (history-only W&B runs may wait)
            kept = [self._frames(e, history=False) for k, e in entries.items() if k not in new]
            fresh = [Frames(c.frames.runs, _empty().history, [], [], c.frames.files)
                     for c in changes if c.frames is not None]
            joined = combine(kept + fresh, check="tidy")
            report.warnings += [w for w in joined.warnings if w not in report.warnings]
            report.n_runs = joined.runs.height
        return manifest, changes, report

    @staticmethod
    def _unchanged(old: dict, display: str, strict: bool, report: IngestReport) -> None:
        if strict and old.get("warnings"):
            raise StrictError(old["warnings"][0] + " (refused: --strict)")
        report.unchanged.append(display)

    def _commit(self, manifest: dict, changes: list[_Change], report: IngestReport):
        """Write new parts under fresh names, then the manifest; undo on any failure."""
        entries = manifest["files"]
        report.n_runs = report.n_runs or manifest.get("n_runs", 0)
        report.n_rows = sum(e.get("n_rows", 0) for e in entries.values())
        if not changes:
            return report
        parts = self.root / PARTS
        parts.mkdir(exist_ok=True)
        self._sweep(parts)
        written: list[Path] = []
        replaced: list[str] = []
        new = dict(entries)
        try:
            for c in changes:
                if c.frames is not None:
                    tag = json.dumps([c.key, c.entry["hash"], c.entry["reader"],
                                      c.entry["mapping"]])
                    base = f"{hashlib.sha1(tag.encode()).hexdigest()[:20]}"
                    c.entry["runs"] = self._write(c.frames.runs, parts, base + ".runs", written)
                    if c.frames.history.height:
                        c.entry["history"] = self._write(c.frames.history, parts,
                                                         base + ".history", written)
                old = entries.get(c.key)
                if old:
                    replaced += [old[k] for k in ("runs", "history")
                                 if old.get(k) and old[k] not in (c.entry["runs"],
                                                                  c.entry["history"])]
                new[c.key] = c.entry
            out = {"version": VERSION, "n_runs": report.n_runs,
                   "files": dict(sorted(new.items()))}
            report.n_rows = sum(e.get("n_rows", 0) for e in new.values())
            self._atomic(self.root / MANIFEST, json.dumps(out, indent=1, sort_keys=True).encode())
        except BaseException:
            for p in written:
                p.unlink(missing_ok=True)
            raise
        for rel in replaced:
            (self.root / rel).unlink(missing_ok=True)
        return report

    def _write(self, df, parts: Path, base: str, written: list[Path]) -> str:
        """Parquet to a temp file in the store, then renamed into place."""
        final = parts / f"{base}.parquet"
        if final.exists():  # same file, same content, same options: identical bytes
            return f"{PARTS}/{final.name}"
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=parts)
        os.close(fd)
        try:
            df.write_parquet(tmp, compression="lz4", statistics=False)
            os.replace(tmp, final)
        finally:
            Path(tmp).unlink(missing_ok=True)
        written.append(final)
        return f"{PARTS}/{final.name}"

    def _atomic(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    @staticmethod
    def _sweep(parts: Path) -> None:
        """Temp files a killed ingest left behind (we hold the lock, so none are live)."""
        for p in parts.glob(".tmp-*"):
            p.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _lock(self):
        path = self.root / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreError(f"{self.root}: another ingest holds the lock ({path}); "
                                         "try again when it has finished") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)


def _empty() -> Frames:
    import polars as pl

    from .ingest.shape import RUNS_SCHEMA, empty_history

    return Frames(pl.DataFrame(schema=RUNS_SCHEMA), empty_history())


__all__ = ["IngestReport", "Store"]
