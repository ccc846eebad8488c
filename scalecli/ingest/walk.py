"""Which files to read: paths given on the command line, and the log files under directories.

A walk must end and must not stop at one bad entry: a link to nowhere, a link loop, a file or
folder we may not read, or a folder linked back into its own tree is skipped with a warning
that names it (refused under ``strict``). A path the user named that cannot be read is an error.
Files with the same bytes (two copies of one log, one file given twice) are read once.
"""

from __future__ import annotations

import errno
import filecmp
import os
import stat
from pathlib import Path

from ..errors import InputError, StrictError
from . import detect as _detect
from . import mlflow as _mlflow
from . import tally as _tally
from . import tbdirs
from .compressed import label as _label

Found = list[tuple[Path, str, str]]  # (path, display, reader name)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a link loop"
    if exc.errno == errno.ENOENT:
        return "a link to nowhere"
    return exc.strerror or type(exc).__name__


def _skip(text: str, warnings: list[str] | None, strict: bool) -> None:
    if strict:
        raise StrictError(text + " (refused: --strict)")
    if warnings is not None:
        warnings.append(text)


def _given(path: Path, display: str) -> os.stat_result:
    """The stat of a path the user named; an error that names it if it cannot be used."""
    try:
        st = path.stat()
    except OSError as exc:
        if path.is_symlink():
            raise InputError(f"cannot be read: {_why(exc)} ({os.readlink(path)})", display) from None
        if exc.errno == errno.ENOENT:
            raise InputError("no such file or directory", display) from None
        raise InputError(f"cannot be read: {_why(exc)}", display) from None
    if not os.access(path, os.R_OK | (os.X_OK if stat.S_ISDIR(st.st_mode) else 0)):
        raise InputError("cannot be read: permission denied", display)
    return st


def expand(paths: list, reader: str | None = None, readers: dict | None = None,
           warnings: list[str] | None = None, strict: bool = False) -> Found:
    """(path, display, reader) for every file to read; directories are walked, sorted, with
    hidden entries (a ``.scalecli`` store) and unrecognized files skipped. ``warnings``
    receives a line for every entry skipped because it cannot be read."""
    out: Found = []
    walked = False
    for p in paths:
        path, display = Path(p), str(p)
        st = _given(path, display)
        walked |= stat.S_ISDIR(st.st_mode)
        if stat.S_ISDIR(st.st_mode) and _run_dir(path, reader):  # one MLflow run, named
            out.append((path, display, "mlflow"))
            continue
        if not stat.S_ISDIR(st.st_mode):
            name = reader or _sniff(path, display)
            if name is None:
                names = ", ".join(readers or ())
                raise InputError(f"not a log format scalecli recognizes; readers are: {names} "
                                 "(choose one with --reader NAME)", display)
            out.append((path, display, name))
            continue
        found = tbdirs.group(_walk(path, display, reader, warnings, strict), path, display)
        if not found:
            raise InputError("no log files found here (CSV, TSV, JSONL, Parquet, Arrow, W&B "
                             "exports)", display)
        out += found
    out = _once(out, warnings, strict)
    if (tally := _tally.current()) is not None and walked:
        tally.walked = True
        tally.found.update(_label(path, name) for path, _, name in out)
    return out


def _sniff(path: Path, display: str) -> str | None:
    try:
        return _detect.detect(path)
    except OSError as exc:
        raise InputError(f"cannot be read: {_why(exc)}", display) from None


def _walk(root: Path, display: str, reader: str | None, warnings, strict) -> Found:
    """Depth first, files before folders, each sorted. Linked folders are walked after the
    real tree, once each, and never one that holds the link (a cycle)."""
    found: Found = []
    shown = {_key(root.stat()): display}
    links: list[tuple[Path, str, os.stat_result, frozenset]] = []

    def visit(folder: Path, label: str, above: frozenset) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted((e for e in it if not e.name.startswith(".")),
                                 key=lambda e: e.name)
        except OSError as exc:
            _skip(f"{label}: skipped a folder that cannot be read ({_why(exc)})", warnings, strict)
            return
        if {"manifest.json", "parts"} <= {e.name for e in entries}:  # a scalecli store
            if (tally := _tally.current()) is not None:
                tally.ignore("scalecli store folder")
            return  # its Parquet parts are what scalecli wrote, not logs
        if any(_detect.is_run_log(e.name) for e in entries):  # a W&B run directory
            entries = [e for e in entries if _detect.is_run_log(e.name)]
        folders = []
        for e in entries:
            if e.name in _detect.SKIP_LINKS and e.is_symlink():
                continue
            child, name = Path(e.path), os.path.join(label, e.name)
            try:
                st = os.stat(e.path)  # follows links
            except OSError as exc:
                target = f" -> {os.readlink(e.path)}" if e.is_symlink() else ""
                _skip(f"{name}: skipped, cannot be read ({_why(exc)}{target})", warnings, strict)
                continue
            if stat.S_ISDIR(st.st_mode) and _run_dir(child, reader):
                if _mlflow.live(child):  # a run is one source; a deleted one is not read
                    found.append((child, name, "mlflow"))
            elif stat.S_ISDIR(st.st_mode):
                (links if e.is_symlink() else folders).append((child, name, st, above))
            elif stat.S_ISREG(st.st_mode):
                _file(child, name, reader, warnings, strict, found)
        for child, name, st, _ in folders:
            shown.setdefault(_key(st), name)
            visit(child, name, above | {_key(st)})

    visit(root, display.rstrip(os.sep) or display, frozenset({_key(root.stat())}))
    while links:
        child, name, st, above = links.pop(0)
        key = _key(st)
        if key in above:
            _skip(f"{name}: skipped, a link back to a folder that holds it (a cycle)", warnings,
                  strict)
        elif key in shown:
            _skip(f"{name}: skipped, a link to a folder already read ({shown[key]})", warnings,
                  strict)
        else:
            shown[key] = name
            visit(child, name, above | {key})
    return found


def _file(path: Path, label: str, reader, warnings, strict, found: Found) -> None:
    try:
        if reader:
            name = reader if _detect.fits(path, reader) else None
        else:
            name = _detect.detect(path)
        if name and not os.access(path, os.R_OK):
            raise PermissionError(errno.EACCES, "permission denied")
    except OSError as exc:
        _skip(f"{label}: skipped, cannot be read ({_why(exc)})", warnings, strict)
        return
    if name:
        found.append((path, label, name))
    elif (tally := _tally.current()) is not None:
        why = f"not {reader} files" if reader else _detect.why_not(path)
        tally.ignore(why, path if why == _detect.NOT_A_LOG else None)  # extensions shown


def _run_dir(folder: Path, reader: str | None) -> bool:
    """An MLflow run directory (read whole by the ``mlflow`` reader, never walked into)."""
    return reader in (None, "mlflow") and _mlflow.is_run(folder)


def _key(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _once(found: Found, warnings, strict) -> Found:
    """Each file once: the same file given twice, or two files with the same bytes (a copy of a
    log beside it), is read once, with a warning naming both. Files are compared by size, then
    by content hash (each hashed once), and only equal hashes byte by byte: a sweep of
    thousands of files of one size costs one read of each, not a comparison of every pair."""
    out: Found = []
    by_size: dict[int, list[tuple[Path, str]]] = {}
    seen: dict[tuple[int, int], str] = {}  # (device, inode) -> display
    by_hash: dict[tuple[int, str], list[tuple[Path, str]]] = {}
    indexed: dict[int, int] = {}  # size -> how many of its files are in by_hash
    hashes: dict[Path, str] = {}

    def hashed(p: Path) -> str:
        if p not in hashes:
            hashes[p] = _hash(p)
        return hashes[p]

    def index(size: int) -> None:  # hash the files of this size not hashed yet
        group = by_size[size]
        for other, shown in group[indexed.get(size, 0):]:
            by_hash.setdefault((size, hashed(other)), []).append((other, shown))
        indexed[size] = len(group)

    for path, display, name in found:
        try:
            st = path.stat()
        except OSError as exc:
            raise InputError(f"cannot be read: {_why(exc)}", display) from None
        twin = None
        shown = seen.get(_key(st))
        # a run folder (TensorBoard) is only ever the same folder again, never compared by bytes
        same_size = () if stat.S_ISDIR(st.st_mode) else by_size.get(st.st_size, ())
        if shown is not None:
            twin = "given twice" if shown == display else f"the same file as {shown}"
        elif same_size:
            index(st.st_size)
            for other, shown in by_hash.get((st.st_size, hashed(path)), ()):
                if _same_bytes(path, other):
                    twin = f"the same content as {shown} (a copy?)"
                    break
        if twin:
            _skip(f"{display}: {twin}; read once", warnings, strict)
            continue
        if not stat.S_ISDIR(st.st_mode):
            by_size.setdefault(st.st_size, []).append((path, display))
        seen[_key(st)] = display
        out.append((path, display, name))
    return out


def _hash(path: Path) -> str:
    from .scan import file_digest

    try:
        return file_digest(path)
    except OSError:
        return ""


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False
