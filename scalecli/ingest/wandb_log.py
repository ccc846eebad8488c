"""The W&B transaction log (``run-<id>.wandb``): its framing, checked, and its record class.

wandb (the Go wandb-core and the legacy Python sender alike) writes a run as a LevelDB-style
log: a 7-byte header (``:W&B``, uint16 0xBEE1, uint8 version 0), then 32 KiB blocks of chunks.
A chunk has a 7-byte header: a checksum (plain CRC-32 as zlib computes it, over the type byte
and the data: not LevelDB's masked CRC-32C), uint16 length, uint8 type (1 full, 2 first,
3 middle, 4 last); a block's tail shorter than a chunk header is padding. Each record is a
``wandb_internal.Record`` protobuf, parsed with the classes the wandb package ships (the
``wandb`` extra). A log that breaks any of this (a bad checksum, bytes that are no chunk, a
record cut short) is a :class:`~scalecli.errors.DamagedSource` naming the byte where it breaks.
"""

from __future__ import annotations

import importlib
import importlib.util
import struct
import sys
import types
import zlib
from collections.abc import Iterator

from ..errors import DamagedSource, InputError

HEADER = struct.Struct("<4sHB")
CHUNK = struct.Struct("<IHB")
IDENT, MAGIC, VERSION = b":W&B", 0xBEE1, 0
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
NEED = "reading W&B run logs (.wandb) needs the wandb package: pip install 'scalecli[wandb]'"


def payloads(data: bytes, display: str) -> Iterator[memoryview]:
    """Each record's bytes, in order; DamagedSource where the framing breaks."""
    if not data:
        raise DamagedSource("the run log is empty (0 bytes)", display)
    if len(data) < HEADER.size or data[:4] != IDENT:
        raise DamagedSource("not a W&B run log (no ':W&B' header)", display)
    _, magic, version = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise DamagedSource(f"not a W&B run log (header magic {magic:#06x}, not 0xbee1)",
                            display)
    if version != VERSION:
        raise DamagedSource(f"W&B run log format version {version}; this reader knows "
                            f"version {VERSION}", display)
    view, end, pos = memoryview(data), len(data), HEADER.size
    unpack, crc32 = CHUNK.unpack_from, zlib.crc32
    parts: list[memoryview] | None = None  # the chunks of a record split across blocks
    while pos < end:
        room = BLOCK - pos % BLOCK
        if room < CHUNK.size:  # a block's tail: padding
            pos += room
            continue
        if pos + CHUNK.size > end:
            if any(view[pos:end]):
                raise _cut(pos, end, display)
            break
        crc, length, kind = unpack(data, pos)
        start = pos + CHUNK.size
        stop = start + length
        if not (crc or length or kind):  # zeros: the rest of the block is padding
            pos += room
            continue
        if length > room - CHUNK.size or not FULL <= kind <= LAST:
            raise DamagedSource(f"bytes at offset {pos} are not a log chunk (type {kind}, "
                                f"length {length}): the file is damaged", display)
        if stop > end:
            raise _cut(pos, end, display)
        if crc32(view[pos + 6:stop]) != crc:  # the type byte stands just before the data
            raise DamagedSource(f"the record at offset {pos} fails its checksum: the file is "
                                "damaged", display)
        if kind == FULL or kind == FIRST:
            if parts is not None:
                raise _unfinished(pos, display)
            if kind == FULL:
                yield view[start:stop]
            else:
                parts = [view[start:stop]]
        else:
            if parts is None:
                raise DamagedSource(f"the chunk at offset {pos} continues a record that never "
                                    "began: the file is damaged", display)
            parts.append(view[start:stop])
            if kind == LAST:
                yield memoryview(b"".join(parts))
                parts = None
        pos = stop
    if parts is not None:
        raise _cut(pos, end, display)


def _cut(pos: int, end: int, display: str) -> DamagedSource:
    return DamagedSource(f"cut short: the record at offset {pos} runs past the end of the file "
                         f"({end} bytes); a truncated run log (was the run still writing?)",
                         display)


def _unfinished(pos: int, display: str) -> DamagedSource:
    return DamagedSource(f"a record split across blocks ends without its last chunk (offset "
                         f"{pos}): the file is damaged", display)


PROTO = "wandb.proto.wandb_internal_pb2"
_PB = None  # that module, once loaded


def record_class(display: str):
    """``wandb_internal_pb2.Record``; an InputError saying what to install without wandb."""
    global _PB
    if _PB is None:
        try:
            _PB = _load_proto()
        except ImportError as exc:
            why = "" if importlib.util.find_spec("wandb") is None else f" ({exc})"
            raise InputError(NEED + why, display) from None
    return _PB.Record


def _load_proto():
    """wandb's protobuf module, without ``import wandb``: that loads the whole SDK (seconds),
    and only ``wandb/proto`` is needed. A stand-in ``wandb`` package is registered while
    ``wandb.proto`` loads, then every ``wandb`` module is dropped again, so a later
    ``import wandb`` starts afresh (re-registering the same protobuf files is allowed). If that
    fails (a wandb whose protobuf modules need more of wandb), the plain import is used."""
    if "wandb" in sys.modules:
        return importlib.import_module(PROTO)
    spec = importlib.util.find_spec("wandb")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'wandb'")
    stub = types.ModuleType("wandb")
    stub.__path__ = list(spec.submodule_search_locations)
    sys.modules["wandb"] = stub
    try:
        module = importlib.import_module(PROTO)
    except Exception:  # noqa: BLE001 - any failure: the ordinary import, below
        module = None
    finally:
        for name in [n for n in sys.modules if n == "wandb" or n.startswith("wandb.")]:
            del sys.modules[name]
    return module or importlib.import_module(PROTO)
