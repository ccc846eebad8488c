"""The manifest: what the store holds, validated before anything acts on it.

Layout of ``<root>/manifest.json``::

    {"version": 2, "n_runs": 12, "files": {"<absolute source path>": <entry>, ...}}

An entry names the source (path, display, reader, mapping), how it looked when read (size,
mtime_ns, content hash), what was read (rows, found, columns, warnings, n_runs, n_rows) and its
parts (``runs``, ``history``, ``tails``: ``parts/<name>.parquet``; ``sums``: their size and
CRC-32). ``tails`` (version 2, optional): the history rows that decide each run's last and
smallest value (see ``parts.tails``), so a fit of one point per run never reads the history.
``same_as``: the source whose identical content the store held when this one was read.
``slice``: where a part is shared by several small sources (version 2), this source's rows in
it, ``{"runs": [first row, rows], "history": [first row, rows]}``; without it the whole part is
the source's. Version 1 stores (no shared parts) are read as they are and written as version 2.

Why every field is checked on load: the store deletes the parts a manifest names, so a manifest
that names ``../victim/precious.txt`` (crafted, or damaged) must stop everything with one line
before a byte is read or removed. A part is a plain name inside ``parts/``, never a link.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from ..errors import StoreError

MANIFEST = "manifest.json"
PARTS = "parts"
VERSION = 2
READS = (1, 2)  # manifest versions this code reads (1: every part is one source's)
PART_NAME = re.compile(r"parts/[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\.parquet")
_INT, _TIME, _STR = "count (an integer, 0 or more)", "time in ns (an integer)", "string"
_LIST, _DICT = "list of strings", "object of strings"
FIELDS = {"path": _STR, "display": _STR, "reader": _STR, "mapping": _DICT, "size": _INT,
          "mtime_ns": _TIME, "hash": _STR, "rows": _INT, "found": _LIST, "columns": _LIST,
          "warnings": _LIST, "runs": "part", "history": "part or null", "n_runs": _INT,
          "n_rows": _INT}
OPTIONAL = {"sums": "sums", "same_as": _STR, "slice": "slice", "tails": "part or null"}


def clip(value: object, limit: int = 80) -> str:
    """``value`` for a message, its middle cut past ``limit`` characters (a path's end, the file
    name, says most), so a message never echoes a huge value whole."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {len(str(abs(value)))} digits"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > limit:
        text = f"{text[:limit // 3]}…{text[-(limit - limit // 3 - 1):]}"
    return repr(text) if isinstance(value, str) else text


def empty() -> dict:
    return {"version": VERSION, "files": {}}


def read(root: Path) -> tuple[dict, bytes]:
    """The validated manifest of the store at ``root`` and its bytes (an empty one if absent)."""
    path = root / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty(), b""
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the manifest ({exc.strerror})") from None
    return parse(root, raw), raw


def parse(root: Path, raw: bytes) -> dict:
    path = root / MANIFEST
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"{path}: damaged manifest ({str(exc)[:80]}); remove the store and "
                         "ingest again") from None
    if not isinstance(data, dict) or data.get("version") not in READS:
        raise StoreError(f"{path}: not a scalecli store manifest (versions "
                         f"{', '.join(map(str, READS))}; one a newer scalecli wrote needs that "
                         "version)")
    files = data.get("files")
    if not isinstance(files, dict):
        raise StoreError(f"{path}: damaged manifest ('files' is {_kind(files)}, not an object); "
                         "remove the store and ingest again")
    if not _is_int(data.get("n_runs", 0)):
        raise StoreError(f"{path}: damaged manifest ('n_runs' is not a count)")
    for key, entry in files.items():
        problem = entry_problem(key, entry)
        if problem:
            raise StoreError(f"{path}: entry {clip(key)}: {problem}; the manifest is damaged "
                             "(remove the store and ingest again)")
    check_parts_dir(root)
    return data


def entry_problem(key: str, e: object) -> str | None:
    """What is wrong with one manifest entry, or None."""
    if not isinstance(e, dict):
        return f"is {_kind(e)}, not an object"
    for name, want in FIELDS.items():
        if name not in e:
            return f"lacks {name!r}"
        if not _fits(e[name], want):
            return f"{name!r} is {clip(e[name])}, not a {want}"
    for name, want in OPTIONAL.items():
        if name in e and not _fits(e[name], want):
            return f"{name!r} is {clip(e[name])}, not a {want}"
    if e["path"] != key or not os.path.isabs(key):
        return f"'path' is {clip(e['path'])}, not the entry's absolute path"
    if e["runs"] == e["history"]:
        return "'runs' and 'history' name the same part"
    return None


def _fits(value: object, want: str) -> bool:
    if want == _INT:
        return _is_int(value)
    if want == _TIME:
        return _is_int(value, low=-(2 ** 63))
    if want == _STR:
        return isinstance(value, str)
    if want == _LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if want == _DICT:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if want == "part":
        return isinstance(value, str) and PART_NAME.fullmatch(value) is not None
    if want == "part or null":
        return value is None or _fits(value, "part")
    if want == "slice":
        return isinstance(value, dict) and all(
            k in ("runs", "history", "tails") and isinstance(v, list) and len(v) == 2
            and all(_is_int(x) for x in v) for k, v in value.items())
    if want == "sums":
        return isinstance(value, dict) and all(
            k in ("runs", "history", "tails") and isinstance(v, dict) and _is_int(v.get("bytes"))
            and isinstance(v.get("crc"), str) for k, v in value.items())
    raise AssertionError(want)


def _is_int(value: object, low: int = 0) -> bool:
    """An integer in ``[low, 2**63)``, as a file size or count can be."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < 2 ** 63


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), "a number")


def check_parts_dir(root: Path) -> None:
    """``parts/`` must be a real directory of this store, not a link elsewhere."""
    parts = root / PARTS
    try:
        st = os.lstat(parts)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{parts}: cannot inspect the parts directory ({exc.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{parts}: is a link or a file, not the store's parts directory; "
                         "remove the store and ingest again")


def part_path(root: Path, rel: str) -> Path:
    """The file a validated part name stands for; raises on a name that would leave the store."""
    if PART_NAME.fullmatch(rel) is None:  # validated on load; checked again before any use
        raise StoreError(f"{root}: part name {clip(rel)} is not inside the store")
    return root / rel


def dump(files: dict, n_runs: int) -> bytes:
    """The manifest's bytes: one line per source, each entry encoded by ``json``'s C encoder
    (an indented dump goes through its Python encoder, seconds for 10,000 sources)."""
    lines = [f" {json.dumps(k)}: {json.dumps(files[k], sort_keys=True)}" for k in sorted(files)]
    body = ",\n".join(lines)
    return (f'{{"version": {VERSION}, "n_runs": {int(n_runs)}, "files": {{\n{body}\n}}}}\n'
            .encode())


def referenced(files: dict) -> set[str]:
    """The part names (``parts/x.parquet``) the manifest's entries use."""
    return {e[k] for e in files.values() for k in ("runs", "history", "tails") if e.get(k)}
