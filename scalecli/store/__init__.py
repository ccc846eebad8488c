"""The on-disk store: per-source-file Parquet parts plus a JSON manifest, published atomically.

Layout of ``<root>/``::

    manifest.json                 per source file: path, size, mtime_ns, hash, rows, parts
    parts/<key>-<tag>.runs.parquet     that file's runs frame (before cross-file joining)
    parts/<key>-<tag>.history.parquet  its history frame (absent when it logged no history)
    ingest.lock                   held by the ingest in progress (filelock)

Why it is shaped this way: a changed file replaces only its own parts; an unchanged file is
recognized from (size, mtime) without reading it, so re-ingesting writes nothing at all; every
new part gets a new name, so a part is never rewritten under a reader, and the manifest, flushed
and renamed last, is the single switch from the old store to the new. Everything is read and
validated before the first byte is written, and a failure removes what it wrote.

Modules: ``manifest`` (format and validation), ``parts`` (reading and judging parts), ``disk``
(flushed atomic writes), ``lock``, ``plan`` (what an ingest will do), ``copies`` (the same
content under two paths counts once), ``commit`` (publishing; sweeping leftovers), ``health``
(check and prune), ``reports`` (results as data), ``core`` (the Store).
"""

from .core import Store
from .lock import LOCK, LOCK_WAIT_S
from .manifest import MANIFEST, PARTS, VERSION
from .reports import CheckReport, IngestReport, PruneReport

__all__ = ["LOCK", "LOCK_WAIT_S", "MANIFEST", "PARTS", "VERSION", "CheckReport", "IngestReport",
           "PruneReport", "Store"]
