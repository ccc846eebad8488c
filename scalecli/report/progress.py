"""A progress bar on stderr for work that may take a while, shown only once it has run for
a second (a quick bootstrap prints nothing), and never on stdout, which carries results."""

from __future__ import annotations

import time
from typing import Self


class Progress:
    """A callable ``progress(share done)``; use as a context manager so the bar is closed."""

    def __init__(self, label: str, after: float = 1.0):
        self.label, self.after = label, after
        self.start = time.perf_counter()
        self.bar = None
        self.task = None

    def __call__(self, share: float) -> None:
        if self.bar is None:
            if time.perf_counter() - self.start < self.after:
                return
            from rich.console import Console
            from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(TextColumn(self.label), BarColumn(), TaskProgressColumn(),
                           TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=1.0)
        self.bar.update(self.task, completed=min(max(share, 0.0), 1.0))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
