"""Text that is not UTF-8 is decoded faithfully, and said so; it is never read lossily.

A lossy read turns ``gpté-0`` and ``gptè-0`` into the same ``gpt\ufffd-0``, so two runs merge.
UTF-16 and UTF-32 are recognized by their byte-order mark; other bytes that are not UTF-8 are
read as Windows-1252 (Latin-1 with the printable 0x80-0x9f of Windows), or as Latin-1 where a
byte has no Windows-1252 meaning. Every byte then decodes to exactly one character, so
different names stay different.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import InputError

# longest first: the UTF-32-LE mark begins with the UTF-16-LE one
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
NAMES = {"utf-32": "UTF-32", "utf-16": "UTF-16", "cp1252": "Windows-1252",
         "latin-1": "Latin-1"}


def marked(head: bytes) -> str | None:
    """The encoding a UTF-16/32 byte-order mark at the start of ``head`` names, if any."""
    return next((enc for bom, enc in BOMS if head.startswith(bom)), None)


def is_marked(path: Path) -> bool:
    with open(path, "rb") as f:
        return marked(f.read(4)) is not None


def transcode(path: Path, display: str) -> tuple[bytes, str | None] | None:
    """The file as UTF-8 bytes and a warning saying what it was guessed to be (None for a
    byte-order mark); None if it is UTF-8 already (the caller reads the file itself then)."""
    with open(path, "rb") as f:
        data = f.read()
    enc = marked(data[:4])
    where = ""
    if enc is None:
        try:
            data.decode("utf-8")
            return None
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            where = f" (first at line {line})"
        try:
            data.decode("cp1252")
            enc = "cp1252"
        except UnicodeDecodeError:
            enc = "latin-1"
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {NAMES[enc]} text (byte {exc.start})", display) from None
    if enc in ("utf-16", "utf-32"):  # named by the file itself: nothing to warn of
        return text.encode("utf-8"), None
    return text.encode("utf-8"), f"{display}: not UTF-8{where}; read as {NAMES[enc]}"
