"""What a directory walk found, per format, and what it ignored and why: one or two lines for
the person who pointed scalecli at a folder (``found: 12 csv, 3 jsonl.gz``; ``ignored 40 files:
31 not a log format (.txt, .yaml, .png), 9 W&B metadata``).

The walk records into the tally of the current context (:func:`collecting`), so a caller that
wants the report (``read_paths``, the API's ingest) opens one around a read, however many layers
lie between it and the walk; a walk with no tally open records nothing. Formats are the reader
names (plus ``.gz``/``.zst``), so a reader added to ``READERS`` is counted with no edit here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

SHOWN_EXTS = 5


@dataclass
class Tally:
    walked: bool = False  # a directory was walked (files named one by one are not reported)
    found: Counter = field(default_factory=Counter)  # format label -> files to read
    ignored: Counter = field(default_factory=Counter)  # reason -> files
    exts: dict[str, Counter] = field(default_factory=dict)  # reason -> extension -> files

    def ignore(self, reason: str, path: Path | None = None) -> None:
        """One file left out, for ``reason``; its extension is shown beside the reason."""
        self.ignored[reason] += 1
        if path is not None:
            ext = "".join(s.lower() for s in path.suffixes[-2:] if len(s) <= 8) or "no extension"
            self.exts.setdefault(reason, Counter())[ext] += 1

    def lines(self) -> list[str]:
        """The report: nothing unless a directory was walked."""
        if not self.walked:
            return []
        out = ["found: " + (_counts(self.found) or "no log files")]
        n = sum(self.ignored.values())
        if n:
            parts = []
            for reason, k in _ordered(self.ignored):
                exts = [e for e, _ in _ordered(self.exts.get(reason, Counter()))]
                shown = ", ".join(exts[:SHOWN_EXTS]) + (", …" if len(exts) > SHOWN_EXTS else "")
                parts.append(f"{k} {reason}" + (f" ({shown})" if shown else ""))
            out.append(f"ignored {n} file{'s' if n != 1 else ''}: " + ", ".join(parts))
        return out


def _ordered(counts: Counter) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _counts(counts: Counter) -> str:
    return ", ".join(f"{k} {name}" for name, k in _ordered(counts))


_CURRENT: ContextVar[Tally | None] = ContextVar("scalecli_walk_tally", default=None)


def current() -> Tally | None:
    """The tally walks record into now, if a caller opened one."""
    return _CURRENT.get()


@contextmanager
def collecting() -> Iterator[Tally]:
    """Count what every walk inside the block finds and ignores."""
    tally = Tally()
    token = _CURRENT.set(tally)
    try:
        yield tally
    finally:
        _CURRENT.reset(token)
