"""A result that is a table: rows of data and the columns a person should see, named.

Analyses return these (the allocation table, predictions, the law catalogue) so the CLI only
renders; ``json`` holds what ``--format json`` prints when it is not simply the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    rows: list[dict[str, Any]]
    columns: list[tuple[str, str]]  # (key in each row, header)
    title: str | None = None
    caption: str | None = None
    json: Any = None
    csv_extra: list[tuple[str, str]] = field(default_factory=list)  # columns a pipe also gets
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> Any:
        return self.rows if self.json is None else self.json
