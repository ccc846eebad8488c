"""Passes over a file's bytes: its hash and a count of one byte (in a thread, beside polars'
parse), and whether a JSON line nests too deep.

Nesting is bounded because every JSON parser pays for it: Python's ``json`` recurses (a line of
1,000 brackets is a RecursionError) and polars' schema inference grows much faster than the
depth (a 200-deep object takes seconds, 1,000 deep exhausts memory). Logs nest a few levels.
"""

from __future__ import annotations

import re
import threading
import zlib
from pathlib import Path

CHUNK = 1 << 20
MAX_DEPTH = 32
# bytes.translate keeps only openers (both as "{") and newlines: a line's openers then stand in
# one run, so a line with more than N of them shows as a run of N + 1 "{".
_OPENERS = bytes.maketrans(b"[", b"{")
_OTHER = bytes(b for b in range(256) if b not in b"{[\n")
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_LONG_LINE = 1 << 26  # a longer line with a run of openers is taken to be too deep unread


def nesting(text: bytes) -> int:
    """How deep a JSON text nests (brackets inside strings do not count)."""
    depth = top = 0
    for b in _STRING.sub(b"", text).translate(None, _NOT_BRACKET):
        depth += 1 if b in (91, 123) else -1
        top = max(top, depth)
    return top


def too_deep(line: bytes, limit: int = MAX_DEPTH) -> bool:
    """True if a JSON line nests deeper than ``limit``; counting openers first keeps it cheap."""
    return line.count(b"{") + line.count(b"[") > limit and nesting(line) > limit


class DeepLines:
    """Fed a file chunk by chunk: does any line nest deeper than ``limit``? About one
    ``bytes.translate`` per chunk; only a line with more than ``limit`` openers is measured."""

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.limit, self.run = limit, b"{" * (limit + 1)
        self.opened = b""  # the current line's openers so far (at most limit + 1)
        self.part: list[bytes] = []  # the current line's bytes so far (up to _LONG_LINE)
        self.size = 0

    def feed(self, chunk: bytes) -> bool:
        reduced = chunk.translate(_OPENERS, _OTHER)
        first, last = chunk.find(b"\n"), chunk.rfind(b"\n")
        if first < 0:  # the current line goes on
            self._grow(chunk, reduced)
            return False
        r_first, r_last = reduced.find(b"\n"), reduced.rfind(b"\n")
        self._grow(chunk[:first], reduced[:r_first])
        hit = self.end()
        if not hit and self.run in reduced[r_first + 1:r_last]:  # lines wholly in this chunk
            hit = any(too_deep(line, self.limit) for line in chunk[first + 1:last].split(b"\n"))
        self._grow(chunk[last + 1:], reduced[r_last + 1:])
        return hit

    def _grow(self, piece: bytes, openers: bytes) -> None:
        self.opened = (self.opened + openers)[-len(self.run):]
        self.size += len(piece)
        self.part = self.part + [piece] if self.size <= _LONG_LINE else []

    def end(self) -> bool:
        """Close the current line: was it too deep?"""
        deep = self.run in self.opened and (
            self.size > _LONG_LINE or too_deep(b"".join(self.part), self.limit))
        self.opened, self.part, self.size = b"", [], 0
        return deep


class FileScan(threading.Thread):
    """Hash a file and/or count one byte in it, in 1 MiB chunks, while polars parses it."""

    def __init__(self, path: Path, digest: bool = True, count: bytes | None = None):
        super().__init__(daemon=True)
        self.path, self.want, self.byte = path, digest, count
        self.digest: str | None = None
        self.count = 0

    def run(self) -> None:
        # CRC-32 detects a changed file (its size and mtime are compared too) at half SHA-1's
        # cost, which matters here: this thread shares two cores with polars' parser.
        crc = 0
        try:
            with open(self.path, "rb") as f:
                while chunk := f.read(CHUNK):
                    if self.want:
                        crc = zlib.crc32(chunk, crc)
                    if self.byte:
                        self.count += chunk.count(self.byte)
        except OSError:  # reported by the reader's own open
            return
        self.digest = f"crc32:{crc:08x}" if self.want else None

    def result(self) -> FileScan:
        self.join()
        return self


def file_digest(path: Path) -> str:
    """Content hash of a file (the store's change detector): FileScan's, without a thread."""
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
    return f"crc32:{crc:08x}"


def count_all(path: Path, patterns: tuple[bytes, ...]) -> list[int]:
    """How often each pattern occurs in the file (one that spans two chunks counted once)."""
    counts = [0] * len(patterns)
    prev = b""
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for i, p in enumerate(patterns):
                edge = prev[len(prev) - len(p) + 1:] if len(p) > 1 else b""
                counts[i] += (edge + chunk).count(p) if edge else chunk.count(p)
            prev = chunk
    return counts


def deep_lines(path: Path, limit: int = MAX_DEPTH) -> bool:
    """Whether any line of the file nests deeper than ``limit`` (about 60 ms per 100 MB)."""
    lines = DeepLines(limit)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if lines.feed(chunk):
                return True
    return lines.end()


def head_too_deep(path: Path, lines: int = 100, limit: int = MAX_DEPTH) -> bool:
    """Whether one of the first ``lines`` lines (those polars infers a schema from) nests
    deeper than ``limit``: polars is never handed such a line to infer from."""
    with open(path, "rb") as f:
        for _, line in zip(range(lines), f, strict=False):
            if too_deep(line, limit):
                return True
    return False
