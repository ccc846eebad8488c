"""The on-disk store: Parquet parts plus a JSON manifest, published atomically.

Layout of ``<root>/``::

    manifest.json                 per source: path, size, mtime_ns, hash, rows, its parts
    parts/<key>-<tag>.runs.parquet     runs frames (before cross-file joining)
    parts/<key>-<tag>.history.parquet  history frames (absent when nothing logged history)
    parts/<key>-<tag>.tails.parquet    the history rows that decide each run's last and smallest
                                       value (what a fit of one point per run reads)
    ingest.lock                   held by the ingest in progress (filelock)

A part holds one source's rows, or, when an ingest writes 16 or more small sources, those of
many (up to a million rows a part): the manifest entry then records its source's ``slice``
(first row, rows) of each part. Sharing keeps 5,000 small files from becoming 15,000 Parquet
files, each written, flushed and opened on every read.

Why it is shaped this way: a changed source gets new parts of its own and its entry moves to
them, while a shared part keeps serving the other sources (its rows of the changed source are
no longer named by any slice, and the part goes when no entry names it); an unchanged source is
recognized from (size, mtime) without reading it, so re-ingesting writes nothing at all; every
new part gets a new name, so a part is never rewritten under a reader, and the manifest,
flushed and renamed last, is the single switch from the old store to the new. Sources are
written as they are read (memory holds one source or one group of small ones); a failure
removes what it wrote, a kill leaves files no manifest names, swept by the next writer.
Readers outside scalecli must go through the manifest (see README: the DuckDB query).

Modules: ``manifest`` (format and validation), ``parts`` (reading and judging parts), ``disk``
(flushed atomic writes), ``lock``, ``plan`` (what an ingest will do), ``copies`` (the same
content under two paths counts once), ``commit`` (writing parts, publishing; sweeping
leftovers), ``health`` (check and prune), ``reports`` (results as data), ``core`` (the Store).
"""

from .core import Store
from .lock import LOCK, LOCK_WAIT_S
from .manifest import MANIFEST, PARTS, VERSION
from .reports import CheckReport, IngestReport, PruneReport

__all__ = ["LOCK", "LOCK_WAIT_S", "MANIFEST", "PARTS", "VERSION", "CheckReport", "IngestReport",
           "PruneReport", "Store"]
