"""Points files for ``predict --points``: CSV (a header row) or JSONL (one object a line).

Columns are found as ingest finds them: a law's variable by its symbol (``N``), its column
(``n_params``) or an alias (``params``, see :mod:`scalecli.schema`); the run's name by the
``run`` aliases; the observed value by the law's target column, or for a law of loss by the
loss aliases. Cells may carry unit suffixes (``7B``, ``1.4T``). A cell the law needs that is
empty, not a number or has a suffix that is not one is refused naming the file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, clip

_ROLE = {"n_params": "N", "tokens": "D", "flops": "C"}  # a variable's column -> schema role


@dataclass
class FilePoint:
    values: dict[str, float]  # by the law's symbols
    name: str | None
    observed: float | None
    line: int


def read_rows(path) -> tuple[list[str], list[tuple[int, dict]]]:
    """``(columns, [(line, row), ...])`` of a CSV or JSONL points file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("no such file", p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", p) from None
    if p.suffix.lower() in (".jsonl", ".ndjson") or (p.suffix.lower() == ".json"
                                                     and text.lstrip().startswith("{")):
        columns, rows = _jsonl(text, p)
    else:
        columns, rows = _csv(text, p)
    if not rows:
        raise InputError("no points (a header and at least one row are needed)", p)
    return columns, rows


def _csv(text: str, p: Path):
    import csv
    import io

    try:
        reader = csv.DictReader(io.StringIO(text))
        rows = [(line, row) for line, row in enumerate(reader, start=2)]
    except csv.Error as exc:
        raise InputError(f"cannot read as CSV: {exc}", p) from None
    columns = [c.strip() for c in reader.fieldnames or [] if c is not None]
    return columns, [(line, {(k or "").strip(): v for k, v in row.items() if k is not None})
                     for line, row in rows]


def _jsonl(text: str, p: Path):
    import json

    columns: dict[str, None] = {}
    rows = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise InputError(f"not JSON: {clip(exc, 120)}", p, line) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", p, line)
        columns.update(dict.fromkeys(str(k) for k in obj))
        rows.append((line, {str(k): v for k, v in obj.items()}))
    return list(columns), rows


def variable_columns(law, columns: list[str], path) -> dict[str, str]:
    """The file's column for each of the law's symbols; a missing one refused."""
    from ..schema import resolve

    lower = {c.lower(): c for c in columns}
    out = {}
    for sym, col in law.variables.items():
        hits = [lower[k] for k in dict.fromkeys((col.lower(), sym.lower())) if k in lower]
        if len(hits) > 1:
            raise InputError(f"both {hits[0]!r} and {hits[1]!r} give {sym}; keep one", path)
        hit = hits[0] if hits else (resolve(_ROLE[col], columns) if col in _ROLE else None)
        if hit is None:
            raise InputError(f"no column for {sym} ({col}), which {law.name} needs; the "
                             f"columns are: {clip(', '.join(columns), 200)}", path)
        out[sym] = hit
    return out


def observed_column(target: str, columns: list[str], exclude) -> str | None:
    """The column holding the observed value of ``target`` (the column a fit was made on, or
    the law's target): its own name, or for a loss (``loss``, ``train/loss``: one of the loss
    aliases) any loss alias (``eval/loss``, ``val_loss``, ...)."""
    from ..schema import ALIASES, resolve

    lower = {c.lower(): c for c in columns if c not in exclude}
    hit = lower.get(target.lower())
    if hit is None and target.lower() in {a.lower() for a in ALIASES["loss"]}:
        hit = resolve("loss", [c for c in columns if c not in exclude])
    return hit


def read_points(path, law, target: str) -> tuple[list[FilePoint], str | None]:
    """The points of a points file for ``law``, with names and observed ``target`` values;
    and the column the observed values come from (None when the file has none)."""
    from ..schema import resolve

    columns, rows = read_rows(path)
    var_cols = variable_columns(law, columns, path)
    name_col = resolve("run", [c for c in columns if c not in var_cols.values()])
    obs_col = observed_column(target, columns, set(var_cols.values()) | {name_col})
    out = []
    for line, row in rows:
        values = {sym: _cell(row.get(col), col, path, line) for sym, col in var_cols.items()}
        name = row.get(name_col) if name_col else None
        raw = row.get(obs_col) if obs_col else None
        observed = None if _empty(raw) else _cell(raw, obs_col, path, line)
        out.append(FilePoint(values, None if _empty(name) else str(name), observed, line))
    return out, obs_col


def _empty(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _cell(v, col: str, path, line: int) -> float:
    """A positive, finite number (unit suffixes read) from one cell."""
    from ..units import UnitError, parse_quantity

    if _empty(v):
        raise InputError(f"{col}: empty cell", path, line)
    try:
        x = parse_quantity(v.strip() if isinstance(v, str) else v)
    except (UnitError, OverflowError) as exc:
        raise InputError(f"{col}: {clip(exc, 300)}", path, line) from None
    if not (math.isfinite(x) and x > 0):
        raise InputError(f"{col}: {clip(v)} is not a positive, finite number", path, line)
    return x


def compare(rows: list[dict], column: str = "") -> str | None:
    """``residual`` (observed − predicted) and ``rel_error`` ((predicted − observed) / observed,
    as ``backtest`` signs it) on rows with ``observed``; the summary line, or None."""
    errs = []
    for r in rows:
        obs = r.get("observed")
        if obs is None:
            continue
        r["residual"] = obs - r["prediction"]
        r["rel_error"] = (r["prediction"] - obs) / obs
        r["rel_error_pct"] = 100 * r["rel_error"]
        errs.append((abs(r["rel_error"]), r.get("name") or f"row {len(errs) + 1}"))
    if not errs:
        return None
    mean = sum(e for e, _ in errs) / len(errs)
    worst, who = max(errs, key=lambda e: e[0])
    what = f" ({column})" if column else ""
    return (f"observed{what} vs predicted: {len(errs)} point(s), mean |relative error| "
            f"{100 * mean:.3g}%, max {100 * worst:.3g}% ({who})")
