"""One writer at a time: the store's ``ingest.lock``, held through ``filelock`` (flock on POSIX,
msvcrt on Windows), so the lock works on every platform; the lock file stays on release so every
waiter locks the same file. Readers take no lock: they read a published manifest (see core)."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

from ..errors import StoreError

LOCK = "ingest.lock"
LOCK_WAIT_S = 5.0


def check_wait(wait: float) -> float:
    """``wait`` seconds, 0 or more (``math.inf``: as long as it takes)."""
    if isinstance(wait, bool) or not isinstance(wait, int | float) or math.isnan(wait) or wait < 0:
        raise StoreError(f"the lock wait must be 0 or more seconds, not {str(wait)[:40]}")
    return float(wait)


@contextlib.contextmanager
def held(root: Path, wait: float = LOCK_WAIT_S):
    """Hold the store's lock, waiting up to ``wait`` seconds for another writer to finish."""
    import filelock

    wait = check_wait(wait)
    path = root / LOCK
    lock = filelock.FileLock(str(path), timeout=-1 if math.isinf(wait) else wait,
                             thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise StoreError(f"{root}: another ingest holds the lock ({path}) and did not finish "
                         f"within {wait:g} s; try again when it has finished, or wait longer"
                         ) from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot take the store's lock ({exc.strerror or exc})") from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def maybe_held(root: Path, wait: float = LOCK_WAIT_S):
    """Hold the lock if it can be had within ``wait`` (yields True), else go on without it
    (yields False): for read-only work that is more exact under the lock but needs no writing."""
    try:
        cm = held(root, wait)
        cm.__enter__()
    except StoreError:
        yield False
        return
    try:
        yield True
    finally:
        cm.__exit__(None, None, None)
