"""Which reader a file needs, from its extension and its first line only (never the whole file).

A directory walk skips what nothing here recognizes (README.md, a pretty-printed truth.json,
W&B's own metadata files); a file named explicitly that is not recognized is an error.
Compressed text (``.csv.gz``, ``.jsonl.zst``, or a ``.csv`` that is really gzip) is sniffed on
its decompressed first line; Parquet and Arrow are known by extension, and a file with no log
extension by its first bytes only (``PAR1``, ``ARROW1``, or compressed JSON lines).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from . import compressed
from .mlflow import SQLITE_EXT, is_db
from .scan import too_deep
from .tbdirs import READER as TENSORBOARD
from .tbdirs import is_events

CSV_EXT = {".csv": ",", ".tsv": "\t"}
JSON_EXT = (".jsonl", ".ndjson", ".json")
# Files W&B writes beside logs that are JSON but not records of runs or steps.
NOT_LOGS = {"wandb-summary.json", "wandb-metadata.json", "wandb-events.jsonl"}
TABLE_HEADER = {"name", "state", "created"}
WANDB_LOG = ".wandb"  # a W&B run's transaction log, run-<id>.wandb
SKIP_LINKS = {"latest-run"}  # W&B's link to its newest run folder, read under its own name
COLUMNAR_EXT = {".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".feather": "arrow",
                ".ipc": "arrow"}
FAMILY = {"csv": CSV_EXT, "wandb-table": CSV_EXT, "wandb-panel": CSV_EXT,
          "jsonl": JSON_EXT, "wandb-api-runs": JSON_EXT, "wandb-api-history": JSON_EXT,
          "wandb-run": (WANDB_LOG,),
          "parquet": (".parquet", ".pq"), "arrow": (".arrow", ".feather", ".ipc"),
          "mlflow": (), "mlflow-sqlite": SQLITE_EXT}  # an MLflow run is a folder, not a file
NOT_A_LOG = "not a log format"
# Extensions that are never logs: a walk does not open such files to sniff them.
NOT_LOG_EXT = {".txt", ".md", ".rst", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".py", ".sh",
               ".ipynb", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".html", ".lock",
               ".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".npy", ".npz", ".tar", ".zip"}


def first_line(path: Path, limit: int = 1 << 24) -> str:
    """The first non-blank line, decoded leniently (a BOM is dropped); of compressed text, the
    decompressed text's."""
    with compressed.reading(path) as f:
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


def _head(path: Path, n: int = 8) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def sniff_json(path: Path, suffix: str | None = None) -> str | None:
    line = first_line(path)
    suffix = suffix or path.suffix.lower()
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
    suffix = compressed.inner_suffix(path)
    if path.name in NOT_LOGS:
        return None
    if is_events(path.name):
        return TENSORBOARD
    if suffix in CSV_EXT:
        return sniff_csv(path, CSV_EXT[suffix])
    if suffix in JSON_EXT:
        return sniff_json(path, suffix)
    if suffix == WANDB_LOG:
        return "wandb-run"
    if suffix in COLUMNAR_EXT:
        return COLUMNAR_EXT[suffix]
    if suffix in SQLITE_EXT:
        return "mlflow-sqlite" if is_db(path) else None
    if suffix in NOT_LOG_EXT or path.suffix.lower() in NOT_LOG_EXT:
        return None
    return sniff_bytes(path)


def sniff_bytes(path: Path) -> str | None:
    """A file whose name says nothing: Parquet and Arrow by their magic bytes, compressed text
    when its first line is a JSON object (compressed text of any other kind is not taken for a
    table: too much is). A file that cannot be opened is not taken for a log: a walk opened no
    such file before it sniffed them, and an unreadable ``NOTES`` is no reason to stop."""
    try:
        head = _head(path)
    except OSError:
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1"):
        return "arrow"
    if compressed.kind(head) and first_line(path).startswith("{"):
        return sniff_json(path, ".jsonl")
    return None


def why_not(path: Path) -> str:
    """Why a walk left a file out (what :func:`detect` did not recognize), for its report."""
    if path.name in NOT_LOGS:
        return "W&B metadata"
    if compressed.inner_suffix(path) in JSON_EXT:
        return "JSON that is not records of runs or steps"
    return NOT_A_LOG


def is_run_log(name: str) -> bool:
    """``run-<id>.wandb``: the folder holding it is a W&B run directory, and the log is all of
    the run (its ``files/`` hold copies, media and the user's saved files)."""
    return name.startswith("run-") and name.endswith(WANDB_LOG)


def separator(path: Path) -> str:
    return CSV_EXT.get(compressed.inner_suffix(path), ",")


def fits(path: Path, reader: str) -> bool:
    """In a directory walk with ``--reader``, only files of that reader's family are read."""
    if reader == TENSORBOARD:
        return is_events(path.name)
    exts = FAMILY.get(reader)
    return exts is None or compressed.inner_suffix(path) in exts
