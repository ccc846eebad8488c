"""Sources with the same content (a log directory copied and ingested again) count once.

A source read whose bytes equal a source the store already holds is kept with its own parts but
marked ``same_as`` that source; only one source of such a group is counted when the store is
read. Marks are only trusted while both ends still hold the same content (size and hash), so
when the original changes or is pruned, the copy's runs count again without reading it anew.
"""

from __future__ import annotations

import filecmp
import os


def linked(files: dict, key: str) -> str | None:
    """The source ``key`` is a copy of, while both still hold the same content; else None."""
    e = files[key]
    other = e.get("same_as")
    if other is None or other == key or other not in files:
        return None
    o = files[other]
    return other if (o["size"], o["hash"]) == (e["size"], e["hash"]) else None


def counted(files: dict) -> set[str]:
    """The sources whose runs the store counts: every one, except that of a group of copies
    only one counts (the one that is not a copy; the first by path if they mark each other)."""
    parent = {k: k for k in files}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    copies = set()
    for key in files:
        other = linked(files, key)
        if other is not None:
            copies.add(key)
            parent[find(key)] = find(other)
    groups: dict[str, list[str]] = {}
    for key in sorted(files):
        groups.setdefault(find(key), []).append(key)
    return {([k for k in keys if k not in copies] or keys)[0] for keys in groups.values()}


def find_original(files: dict, key: str, size: int, digest: str) -> str | None:
    """A source other than ``key`` whose recorded content is these bytes (size and hash; the
    bytes themselves are compared while that source is still as it was read)."""
    hits = [k for k, e in files.items() if k != key and (e["size"], e["hash"]) == (size, digest)]
    hits.sort(key=lambda k: ("same_as" in files[k], k))  # an original before another copy
    for other in hits:
        if _same_bytes(key, files[other]):
            return other
    return None


def _same_bytes(path: str, other: dict) -> bool:
    try:
        st = os.stat(other["path"])
    except OSError:
        return True  # gone or unreadable: size and hash are all there is to compare
    if (st.st_size, st.st_mtime_ns) != (other["size"], other["mtime_ns"]):
        return True  # changed since read: its recorded content is what the store holds
    try:
        return filecmp.cmp(path, other["path"], shallow=False)
    except OSError:
        return True
