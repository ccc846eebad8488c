"""Publishing a plan, and sweeping what a killed writer left; both run under the store's lock.

New parts go under fresh names and are flushed, then the manifest is flushed and renamed over
the old one: that rename is the single switch from the old store to the new. Parts the old
manifest used are deleted only after it; a reader still holding the old manifest then finds a
part gone and reads the new manifest (see core). A failure before the switch removes what it
wrote; a kill leaves temp files and unused parts, which the next writer sweeps.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from . import disk, manifest
from .manifest import MANIFEST, PARTS
from .parts import new_name, tails
from .plan import Plan


def commit(root: Path, plan: Plan, writer: Writer) -> dict:
    """Write the plan's last parts (``writer`` wrote the others while the plan was read) and the
    manifest; returns the entries now published."""
    if not plan.changes:
        return plan.files
    published = False
    try:
        writer.finish()
        after = plan.after()
        n_runs = plan.n_runs if plan.n_runs is not None else plan.n_runs_before
        data = manifest.dump(after, n_runs)
        tmp = disk.stage(root / MANIFEST, data)
        try:
            disk.replace(tmp, root / MANIFEST)
            published = True
        finally:
            Path(tmp).unlink(missing_ok=True)
        disk.fsync_dir(root)
    except BaseException:
        if not published:
            writer.abort()
        raise
    _remove(root, manifest.referenced(plan.files) - manifest.referenced(after))
    return after


# Sources this small share parts (up to SHARE_ROWS rows a part): 5,000 files of three rows are
# a few Parquet files, not 10,000, each written, flushed and later opened on every read.
# A handful of sources keep a part each (a damaged part then costs one source's re-read).
SMALL_ROWS = 50_000
SHARE_ROWS = 1_000_000
SHARE_MIN = 16


class Writer:
    """Writes each read source's parts as soon as it can, so an ingest holds at most one group
    of small sources (``SHARE_ROWS`` rows) or one large source in memory, never the directory.
    Part names are fresh, so nothing written is seen before the manifest names it; ``abort``
    removes all of it (a kill leaves it to the next writer's sweep)."""

    def __init__(self, root: Path):
        self.root = root
        self.written: list[Path] = []
        self.group: list = []
        self.rows = 0

    def add(self, change) -> None:
        n = change.frames.runs.height + change.frames.history.height
        if n > SMALL_ROWS:
            self._write([change])
            return
        if self.group and self.rows + n > SHARE_ROWS:
            self._flush()
        self.group.append(change)
        self.rows += n

    def _flush(self) -> None:
        group, self.group, self.rows = self.group, [], 0
        for g in [group] if len(group) >= SHARE_MIN else [[c] for c in group]:
            self._write(g)

    def _write(self, group: list) -> None:
        (self.root / PARTS).mkdir(exist_ok=True)
        _write_parts(self.root, group, self.written)
        for c in group:  # on disk now: only the runs stay, for the plan's count
            c.frames.history = c.frames.history.clear()

    def finish(self) -> None:
        self._flush()
        if self.written:
            disk.fsync_dir(self.root / PARTS)

    def abort(self) -> None:
        for p in self.written:
            p.unlink(missing_ok=True)
        self.written = []


def _write_parts(root: Path, group: list, written: list[Path]) -> None:
    """One part of each kind for the group; with more than one source, each entry records its
    rows' slice of the shared part (see ``manifest``)."""
    import polars as pl

    first = group[0].key
    key_hash = hashlib.sha1(first.encode("utf-8", "surrogatepass")).hexdigest()
    sums, rels, slices = {}, {}, [{} for _ in group]
    frames = {k: [getattr(c.frames, k) for c in group] for k in ("runs", "history")}
    hist = [h for h in frames["history"] if h.height]
    if hist:  # each source's tails, in source order (a source's rows stay together)
        if len(group) == 1:  # one source: no copy of its history to tell sources apart
            t = tails(hist[0])
            n = {0: t.height}
        else:
            src = pl.concat([h.with_columns(pl.lit(i, pl.Int64).alias("__src"))
                             for i, h in enumerate(frames["history"]) if h.height])
            t = tails(src)
            counts = t.group_by("__src").len()
            n = dict(zip(counts["__src"].to_list(), counts["len"].to_list(), strict=True))
            t = t.drop("__src")
        frames["tails"] = [t.clear() for _ in group]
        at = 0
        for i in range(len(group)):
            slices[i]["tails"] = [at, n.get(i, 0)]
            at += n.get(i, 0)
        frames["tails"][0] = t  # the whole kind is written from the first frame
    for kind in ("runs", "history", "tails"):
        dfs = frames.get(kind)
        if dfs is None:
            continue
        if kind != "tails":
            at = 0
            for i, df in enumerate(dfs):
                slices[i][kind] = [at, df.height]
                at += df.height
        else:
            at = dfs[0].height
        if kind != "runs" and not at:
            continue
        df = dfs[0] if len(dfs) == 1 or kind == "tails" else pl.concat(
            [d for d in dfs if d.height or kind == "runs"], how="diagonal_relaxed")
        rel = new_name(key_hash, kind)
        sums[kind] = disk.write_parquet(df, root / rel)
        written.append(root / rel)
        rels[kind] = rel
    for c, at in zip(group, slices, strict=True):
        c.entry["runs"] = rels["runs"]
        c.entry["history"] = rels.get("history")
        if rels.get("tails"):
            c.entry["tails"] = rels["tails"]
        else:
            c.entry.pop("tails", None)
        c.entry["sums"] = dict(sums)
        if len(group) > 1:
            c.entry["slice"] = {k: v for k, v in at.items() if k in rels}
        else:
            c.entry.pop("slice", None)


def _remove(root: Path, rels) -> list[str]:
    """Delete parts by validated name; one a reader holds open (Windows) stays for the sweep."""
    gone = []
    for rel in sorted(rels):
        try:
            manifest.part_path(root, rel).unlink()
            gone.append(rel)
        except FileNotFoundError:
            pass
        except OSError:
            continue
    return gone


def sweep(root: Path, files: dict) -> list[str]:
    """Remove what :func:`orphans` finds; returns it. Links are removed as links."""
    removed = []
    for rel in orphans(root, files):
        try:
            os.unlink(root / rel)
            removed.append(rel)
        except OSError:
            continue
    return removed


# What the store itself names files: parts (this version's, and the 20-hex names of stores
# written before it) and temp files. Nothing else is ever swept, so a directory of the user's
# that happens to be given as the store loses nothing of its own.
OURS = re.compile(r"(parts/)?\.tmp-[a-z0-9_]{8}|parts/([0-9a-f]{16}-[0-9a-f]{10}|[0-9a-f]{20})"
                  r"\.(runs|history|tails)\.parquet")


def orphans(root: Path, files: dict) -> list[str]:
    """Temp files and parts no entry uses (what a killed writer left), store-relative; only
    names the store itself gives (``OURS``) are considered."""
    keep = manifest.referenced(files)
    out = []
    for sub in ("", PARTS):
        try:
            names = [de.name for de in os.scandir(root / sub if sub else root)
                     if not de.is_dir(follow_symlinks=False)]
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            rel = f"{sub}/{name}" if sub else name
            if OURS.fullmatch(rel) and rel not in keep:
                out.append(rel)
    return sorted(out)
