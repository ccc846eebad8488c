"""What identifies a source's content cheaply: its size and mtime, and its hash.

A source is usually one file. Some formats keep a run in a directory of files (an MLflow run:
``meta.yaml``, ``params/``, ``metrics/...``), where the directory's own stat does not change
when a metric file grows; such a reader registers a function here that sums its files' sizes
and takes their latest mtime, and hashes their bytes, so the store sees the change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from . import mlflow as _mlflow
from .scan import file_digest


def _wandb_run(path: Path) -> list[Path]:
    """A W&B run log and the files a synced run keeps beside it (see ``wandb_run``)."""
    files = path.parent / "files"
    return [path, *(f for f in (files / "config.yaml", files / "wandb-summary.json")
                    if f.is_file())]


def _tensorboard(path: Path) -> list[Path]:
    from .tbdirs import members as tb_members

    return tb_members(path)


# reader -> (path -> list of the files that make up the source)
MEMBERS: dict[str, Callable[[Path], list[Path]]] = {"wandb-run": _wandb_run,
                                                   "tensorboard": _tensorboard,
                                                   "mlflow": _mlflow.members}


def members(path: Path, reader: str) -> list[Path]:
    """The files a source is made of (the file itself, for file formats)."""
    fn = MEMBERS.get(reader)
    return fn(path) if fn else [path]


def signature(path: Path, reader: str) -> tuple[int, int]:
    """(total size, latest mtime_ns) of the source's files; OSError if one cannot be read."""
    size = mtime = 0
    for f in members(path, reader):
        st = os.stat(f)
        size += st.st_size
        mtime = max(mtime, st.st_mtime_ns)
    return size, mtime


def digest(path: Path, reader: str) -> str:
    """The content hash of the source: the file's, or one over its member files' names and
    hashes."""
    files = members(path, reader)
    if files == [path]:
        return file_digest(path)
    import hashlib

    h = hashlib.sha256()
    for f in files:
        h.update(os.path.relpath(f, path).encode() + b"\0" + file_digest(f).encode() + b"\0")
    return h.hexdigest()
