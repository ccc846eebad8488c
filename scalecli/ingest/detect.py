"""Which reader a file needs, from its extension and its first line only (never the whole file).

A directory walk skips what nothing here recognizes (README.md, a pretty-printed truth.json,
W&B's own metadata files); a file named explicitly that is not recognized is an error.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .mlflow import SQLITE_EXT, is_db
from .scan import too_deep

CSV_EXT = {".csv": ",", ".tsv": "\t"}
JSON_EXT = (".jsonl", ".ndjson", ".json")
# Files W&B writes beside logs that are JSON but not records of runs or steps.
NOT_LOGS = {"wandb-summary.json", "wandb-metadata.json", "wandb-events.jsonl"}
TABLE_HEADER = {"name", "state", "created"}
FAMILY = {"csv": CSV_EXT, "wandb-table": CSV_EXT, "wandb-panel": CSV_EXT,
          "jsonl": JSON_EXT, "wandb-api-runs": JSON_EXT, "wandb-api-history": JSON_EXT,
          "mlflow": (), "mlflow-sqlite": SQLITE_EXT}  # an MLflow run is a folder, not a file


def first_line(path: Path, limit: int = 1 << 24) -> str:
    """The first non-blank line, decoded leniently (a BOM is dropped)."""
    with open(path, "rb") as f:
        for raw in f:
            if raw.strip():
                return raw[:limit].decode("utf-8-sig", errors="replace").strip()
            if f.tell() > limit:
                break
    return ""


def is_panel(cols: list[str]) -> bool:
    """``x, "<run> - <metric>", "<run> - <metric>__MIN", "<run> - <metric>__MAX", ...``."""
    body = cols[1:]
    if len(body) < 3 or len(body) % 3:
        return False
    for i in range(0, len(body), 3):
        c = body[i]
        if " - " not in c or body[i + 1] != c + "__MIN" or body[i + 2] != c + "__MAX":
            return False
    return True


def sniff_csv(path: Path, sep: str) -> str:
    line = first_line(path)
    try:
        cols = next(csv.reader([line], delimiter=sep))
    except (StopIteration, csv.Error):
        return "csv"
    if TABLE_HEADER <= {c.strip().lower() for c in cols}:
        return "wandb-table"
    if is_panel([c.strip() for c in cols]):
        return "wandb-panel"
    return "csv"


def sniff_json(path: Path) -> str | None:
    line = first_line(path)
    suffix = path.suffix.lower()
    if not line:
        return "jsonl"  # empty: let the reader say so
    if line.startswith("["):
        return "jsonl"
    if too_deep(line.encode()):  # never parsed (see scan.py); the reader says so
        return None if suffix == ".json" else "jsonl"
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        # A .jsonl whose first line is bad is still JSON lines (the reader names the line);
        # a .json that does not parse line by line is a JSON document, not a log.
        return None if suffix == ".json" else "jsonl"
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("config"), dict) and isinstance(obj.get("summary"), dict):
        return "wandb-api-runs"
    if "_step" in obj:
        return "wandb-api-history"
    return "jsonl"


def detect(path: Path) -> str | None:
    """The reader name for ``path``, or None if it is not a log this package reads."""
    suffix = path.suffix.lower()
    if path.name in NOT_LOGS:
        return None
    if suffix in CSV_EXT:
        return sniff_csv(path, CSV_EXT[suffix])
    if suffix in JSON_EXT:
        return sniff_json(path)
    if suffix in SQLITE_EXT:
        return "mlflow-sqlite" if is_db(path) else None
    return None


def separator(path: Path) -> str:
    return CSV_EXT.get(path.suffix.lower(), ",")


def fits(path: Path, reader: str) -> bool:
    """In a directory walk with ``--reader``, only files of that reader's family are read."""
    exts = FAMILY.get(reader)
    return exts is None or path.suffix.lower() in exts
