"""gzip- and zstd-compressed logs (``sweep.csv.gz``, ``runs.jsonl.zst``), known by their first
bytes, whatever their name says: a ``.csv`` that is really gzip is read as gzip, a ``.csv.gz``
that is plain text as text.

A compressed file is decompressed, in chunks, into a private temporary file named after the
inner format (``sweep.csv``) that lives as long as the read, and the same readers read that:
every check they make, and every line number they give, is then about the text the user's log
holds. A stream cut short or damaged is a :class:`~scalecli.errors.DamagedSource` naming the
file, raised before any row is read. gzip is in the standard library; zstd is too from Python
3.14, and before that comes with ``pip install 'scalecli[zstd]'`` (``backports.zstd``).
"""

from __future__ import annotations

import io
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import DamagedSource, InputError

GZIP, ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
EXT = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
CHUNK = 1 << 20
# What compressed text may grow to: logs compress 5-50 times; far more is a decompression bomb
# (a few kilobytes that would fill the disk), refused before it does.
MAX_RATIO, MAX_FLOOR = 1000, 1 << 30


def kind(head: bytes) -> str | None:
    """"gzip" or "zstd" from a file's first bytes; None for anything else."""
    if head.startswith(GZIP):
        return "gzip"
    if head.startswith(ZSTD):
        return "zstd"
    return None


def inner_suffix(path: Path) -> str:
    """The format's extension, under a compression one: ``a.csv.gz`` -> ``.csv``."""
    suffix = path.suffix.lower()
    if suffix in EXT:
        return Path(path.stem).suffix.lower()
    return suffix


def label(path: Path, reader: str) -> str:
    """How a report names the format of a file: ``csv``, or ``csv.gz`` when its name says it
    is compressed (names only: the walk opens no file to say this)."""
    suffix = path.suffix.lower()
    return f"{reader}{suffix}" if suffix in EXT else reader


def _zstd():
    try:
        from compression import zstd  # Python 3.14+
    except ImportError:
        try:
            from backports import zstd
        except ImportError:
            return None
    return zstd


def _open(f, how: str, display: str):
    """A decompressing reader over the open binary file ``f``."""
    if how == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=f, mode="rb")
    zstd = _zstd()
    if zstd is None:
        raise InputError("is zstd-compressed; reading zstd needs the zstd extra: "
                         "pip install 'scalecli[zstd]' (or Python 3.14+)", display)
    return zstd.ZstdFile(f, mode="rb")


def _errors() -> tuple[type[BaseException], ...]:
    """What a decompressor raises on a stream cut short (EOFError) or damaged."""
    import gzip

    errs: list[type[BaseException]] = [EOFError, zlib.error, gzip.BadGzipFile]
    zstd = _zstd()
    if zstd is not None:
        errs.append(zstd.ZstdError)
    return tuple(errs)


def _damaged(exc: BaseException, how: str, size: int, display: str) -> DamagedSource:
    if isinstance(exc, EOFError):
        why = f"the {how} stream is cut short (after {size} bytes of text)"
    else:
        why = f"damaged {how} data ({exc}) after {size} bytes of text"
    return DamagedSource(f"cannot be read to the end: {why}", display)


@contextmanager
def reading(path: Path) -> Iterator:
    """The file's text as a binary stream, decompressed when it is compressed, for a sniff of
    its first line: a stream that stops early, or zstd without its module, just ends."""
    with open(path, "rb") as f:
        how = kind(f.read(4))
        f.seek(0)
        if how is None:
            yield f
            return
        if how == "zstd" and _zstd() is None:
            yield io.BytesIO()
            return
        with _open(f, how, str(path)) as z:
            yield _Lenient(z)


class _Lenient:
    """Lines of a decompressing stream; a damaged or cut stream ends instead of raising."""

    def __init__(self, z) -> None:
        self.z = z

    def __iter__(self):
        try:
            yield from self.z
        except _errors():
            return

    def tell(self) -> int:
        return self.z.tell()


def text_head(data: bytes, limit: int = 1 << 16) -> bytes:
    """The first ``limit`` bytes of the text that compressed ``data`` holds (as far as it can
    be decompressed), or ``data`` itself when it is not compressed: for a sniff."""
    how = kind(data[:4])
    if how is None or (how == "zstd" and _zstd() is None):
        return data if how is None else b""
    try:
        with _open(io.BytesIO(data), how, "") as z:
            return z.read(limit)
    except _errors():
        return b""


def compression_of(path: Path) -> str | None:
    """The compression a regular file's first bytes show (None for a folder or plain file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except IsADirectoryError:
        return None
    try:
        return kind(os.read(fd, 4))
    except IsADirectoryError:
        return None
    finally:
        os.close(fd)


@contextmanager
def plain(path: Path, display: str) -> Iterator[Path]:
    """``path`` itself when it is not compressed; else a temporary decompressed copy named
    after the inner format, removed when the block ends. A stream cut short or damaged is a
    DamagedSource naming ``display``."""
    how = compression_of(path)
    if how is None:
        yield path
        return
    name = Path(path.stem if path.suffix.lower() in EXT else path.name).name or "log"
    with tempfile.TemporaryDirectory(prefix="scalecli-") as tmp:
        out = Path(tmp) / name
        size = 0
        with open(path, "rb") as f, open(out, "wb") as w:
            limit = max(MAX_FLOOR, MAX_RATIO * os.fstat(f.fileno()).st_size)
            z = _open(f, how, display)
            try:
                while chunk := z.read1(CHUNK):
                    w.write(chunk)
                    size += len(chunk)
                    if size > limit:
                        raise InputError(f"decompresses to more than {limit} bytes (the larger "
                                         f"of {MAX_RATIO} times its size and 1 GiB): not a log "
                                         "scalecli reads", display)
            except _errors() as exc:
                raise _damaged(exc, how, size, display) from None
            finally:
                z.close()
        yield out
