"""Logs on standard input (``scalecli runs - --reader csv < sweep.csv``): the bytes are read
once, kept in a private temporary file only as long as the reader needs it, and read by the
same readers as a file, named ``<stdin>`` in every message.

Without ``--reader`` the content is sniffed as a file's first line is (see :mod:`.detect`):
a line that opens with ``{`` or ``[`` is JSON lines (a W&B API dump when it looks like one),
anything else a table, tab-separated when its first line has tabs and no commas. Compressed
bytes (gzip, zstd) are sniffed on their text and read like a compressed file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ..errors import InputError
from . import detect as _detect
from .compressed import text_head

DISPLAY = "<stdin>"
MAX_BYTES = 1 << 31  # what a pipe may bring before we stop: 2 GiB


def stdin_bytes(stream=None) -> bytes:
    """Everything on standard input (``stream``: a binary stream to read instead)."""
    src = stream if stream is not None else getattr(sys.stdin, "buffer", sys.stdin)
    if src is None:
        raise InputError("no standard input to read (path -)")
    data = src.read(MAX_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise InputError(f"{DISPLAY}: more than {MAX_BYTES >> 30} GiB: save it to a file")
    if not data.strip():
        raise InputError(f"{DISPLAY}: standard input is empty (path - reads logs piped in)")
    return data


def suffix_for(data: bytes, reader: str | None) -> str:
    """The file extension a reader's family (or the sniffed content) calls for."""
    if reader is not None:
        return ".jsonl" if _detect.FAMILY.get(reader) == _detect.JSON_EXT else ".csv"
    if data.startswith((b"PAR1", b"ARROW1", b"\xff\xff\xff\xff")):  # Parquet, Arrow IPC
        return ".parquet" if data.startswith(b"PAR1") else ".arrow"
    data = text_head(data)  # gzip or zstd piped in: its text
    line = next((ln for ln in data.lstrip(b"\xef\xbb\xbf").splitlines() if ln.strip()), b"")
    if line.lstrip()[:1] in (b"{", b"["):
        return ".jsonl"
    return ".tsv" if b"\t" in line and b"," not in line else ".csv"


def read_stdin(read, reader: str | None = None, stream=None):
    """``read(path, display, reader_name)`` applied to standard input's content."""
    data = stdin_bytes(stream)
    with tempfile.TemporaryDirectory(prefix="scalecli-stdin-") as tmp:
        path = Path(tmp) / f"stdin{suffix_for(data, reader)}"
        path.write_bytes(data)
        name = reader or _detect.detect(path)
        if name is None:
            raise InputError(f"{DISPLAY}: not a log format scalecli recognizes (choose one with "
                             "--reader NAME)")
        return read(path, DISPLAY, name)
