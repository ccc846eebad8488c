"""Writing a result file so that a crash or a full disk never leaves half of it, and a
missing folder is made rather than refused."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename), making its
    folder first; a folder that cannot be made or written is one clear error."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """:func:`write_text` for bytes (a PNG, an SVG)."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True) if tmp.parent.is_dir() else None
        raise InputError(f"cannot write: {exc.strerror or exc}", p) from None
    return p
