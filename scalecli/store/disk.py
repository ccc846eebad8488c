"""Bytes to disk so that a crash leaves the old state or the new one, never half of either.

A file is written under a ``.tmp-`` name, flushed (fsync), renamed over its final name, and the
directory is flushed after the rename: a power cut then loses at most the rename, never the
content the new name points at. Anything named ``.tmp-*`` is a leftover of a killed writer.
"""

from __future__ import annotations

import os
import tempfile
import time
import zlib
from pathlib import Path

TMP = ".tmp-"
CHUNK = 1 << 20


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (the renames into it); a no-op where the OS has no such call."""
    if os.name == "nt":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace(src: str | Path, dst: Path) -> None:
    """``os.replace``, retried briefly where the OS refuses to replace a file a reader holds open
    (Windows); elsewhere it succeeds or fails at once."""
    for attempt in range(20):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if os.name != "nt" or attempt == 19:
                raise
            time.sleep(0.05)


def stage(path: Path, data: bytes) -> str:
    """``data`` in a flushed temp file beside ``path``, ready to be renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=TMP, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` to ``path``: temp file, fsync, rename, fsync the directory."""
    tmp = stage(path, data)
    try:
        replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_parquet(df, path: Path) -> dict:
    """``df`` as Parquet at ``path`` (a name no live file has), flushed before the rename.

    Returns ``{"bytes": size, "crc": "crc32:..."}`` of what was written: the manifest keeps it,
    so a later ingest sees a truncated or replaced part from its size and ``verify`` from its CRC.
    The caller flushes the directory once after all its renames.
    """
    fd, tmp = tempfile.mkstemp(prefix=TMP, dir=path.parent)
    os.close(fd)
    try:
        df.write_parquet(tmp, compression="lz4", statistics=False)
        with open(tmp, "r+b") as f:
            sums = crc_of(f)
            os.fsync(f.fileno())
        replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return sums


def crc_of(f) -> dict:
    """Size and CRC-32 of an open binary file, read from its start."""
    crc, size = 0, 0
    while chunk := f.read(CHUNK):
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
    return {"bytes": size, "crc": f"crc32:{crc:08x}"}


def crc_file(path: Path) -> dict:
    with open(path, "rb") as f:
        return crc_of(f)


def is_tmp(name: str) -> bool:
    return name.startswith(TMP)
