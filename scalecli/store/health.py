"""``check``: what in a store is stale, missing, damaged or orphaned; ``prune``: drop the runs
of sources that are gone. Sources are named by their absolute path (the manifest's key), since
the path the user gave may have been relative to another directory."""

from __future__ import annotations

from pathlib import Path

from ..ingest import combine
from . import copies, disk, lock, manifest, parts
from .commit import orphans, sweep
from .manifest import MANIFEST
from .reports import CheckReport, PruneReport


def check(root: Path, *, verify: bool = False, wait: float = lock.LOCK_WAIT_S) -> CheckReport:
    """Every source and part of the store, judged; writes nothing but the lock file.

    Sources are compared by size and mtime (``verify``: by content hash, and parts by CRC-32
    and schema). Orphans are listed under the lock when it can be had within ``wait`` seconds;
    without it, files an ingest is writing at that moment may show as orphans (a warning says so).
    """
    lock.check_wait(wait)
    rep = CheckReport(store=str(root))
    with lock.maybe_held(root, wait) as locked:
        data, _ = manifest.read(root)
        files = data["files"]
        rep.sources, rep.n_runs = len(files), data.get("n_runs", 0)
        for key, e in files.items():
            state = _source_state(e, verify)
            if state == "missing":
                rep.missing.append(key)
            elif state == "stale":
                rep.stale.append(key)
            elif state:
                rep.warnings.append(f"{key}: {state}")
            for rel, problem in parts.entry_problems(root, e, full=verify):
                rep.damaged.append({"source": key, "part": rel, "problem": problem})
        counted = copies.counted(files)
        for key in sorted(files):
            other = copies.linked(files, key)
            if key not in counted and other is not None:
                rep.duplicates.append({"source": key, "same_as": other})
        rep.orphans = orphans(root, files)
    if not locked and rep.orphans:
        rep.warnings.append(f"{root}: another ingest held the lock; files it was writing may "
                            "show as orphans")
    return rep


def _source_state(e: dict, verify: bool) -> str | None:
    """None (as ingested), "missing", "stale", or a few words on why it cannot be judged."""
    from ..ingest import sources

    try:
        size, mtime_ns = sources.signature(Path(e["path"]), e["reader"])
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if size != e["size"]:
        return "stale"
    if mtime_ns != e["mtime_ns"] and not verify:
        return "stale"
    if verify and sources.digest(Path(e["path"]), e["reader"]) != e["hash"]:
        return "stale"
    return None


def prune(root: Path, *, dry_run: bool = False, wait: float = lock.LOCK_WAIT_S) -> PruneReport:
    """Drop the entries (runs, history, parts) of sources gone from disk, and sweep orphans.

    A source that exists but cannot be read is kept. With ``dry_run``, nothing is written and
    the report says what would go. A copy of a dropped source counts again in its place.
    """
    lock.check_wait(wait)
    rep = PruneReport(store=str(root), dry_run=dry_run)
    with lock.held(root, wait):
        data, _ = manifest.read(root)
        files = data["files"]
        rep.dropped = sorted(k for k, e in files.items() if _source_state(e, False) == "missing")
        left = {k: e for k, e in files.items() if k not in rep.dropped}
        rep.n_runs = _count_runs(root, left, rep.warnings) if rep.dropped else data.get(
            "n_runs", 0)
        rep.runs_dropped = max(0, data.get("n_runs", 0) - rep.n_runs)
        rep.n_rows = sum(left[k]["n_rows"] for k in copies.counted(left))
        unused = manifest.referenced(files) - manifest.referenced(left)
        rep.removed = sorted(set(orphans(root, files)) | unused)
        if dry_run:
            return rep
        if rep.dropped:
            disk.write_atomic(root / MANIFEST, manifest.dump(left, rep.n_runs))
        rep.removed = sweep(root, left)
    return rep


def _count_runs(root: Path, files: dict, warnings: list[str]) -> int:
    """Runs the store counts with these entries (W&B history joined to its runs)."""
    frames = []
    by_part: dict[str, list[dict]] = {}  # sources that share a part stand or fall together
    for key in sorted(copies.counted(files)):
        by_part.setdefault(files[key]["runs"], []).append(files[key])
    for group in by_part.values():
        try:
            frames.append(parts.load(root, group, history=False))
        except parts.PartError as exc:
            for e in group:
                warnings.append(f"{e['path']}: part {exc.rel} is {exc.reason}; its runs are not "
                                "counted (ingest it again to rebuild it)")
    joined = combine(frames, check="none")
    warnings += joined.warnings
    return joined.runs.height
