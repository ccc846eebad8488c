"""Where a fit's numbers came from, recorded with it so nobody retypes a constant blind.

A fit's ``provenance`` holds the law and formula, every option its caller gave that is not a
default (whatever :func:`scalecli.api.fit` received, passed through as one dict, so an option
added later is recorded without touching this module), the selection of runs, a content hash
of the fitted points, the runs used and dropped, and the versions and time of the fit.
"""

from __future__ import annotations

from typing import Any

# Arguments of api.fit that say how to run, not what was fitted.
_NOT_OPTIONS = frozenset({"progress", "save", "jobs", "strict"})


def given_options(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The options a caller gave: ``values`` (e.g. a function's ``locals()``) that differ
    from ``defaults`` (its signature's), as JSON-ready values."""
    out = {}
    for key, value in values.items():
        if key in _NOT_OPTIONS or key not in defaults or value is None:
            continue
        if value is defaults[key] or _same(value, defaults[key]):
            continue
        out[key] = jsonable(value)
    return out


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # an array-like compares elementwise: not a default
        return False


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it: paths and other objects as text, containers walked."""
    from pathlib import PurePath

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    if hasattr(value, "law") and hasattr(value.law, "name"):  # a FitSpec
        return f"config of law {value.law.name}"
    return f"<{type(value).__name__} in memory>"


def data_hash(frame, columns: list[str]) -> str:
    """A content hash of the fitted points that does not depend on their order: rows sorted
    by run (then by the values), each column as float64 bytes, the row count first."""
    import hashlib

    import numpy as np

    cols = [c for c in columns if c in frame.columns]
    keys = (["run_id"] if "run_id" in frame.columns else []) + cols
    ordered = frame.sort(keys) if keys and frame.height else frame
    digest = hashlib.sha256(f"rows={ordered.height};cols={','.join(cols)};".encode())
    for c in cols:
        arr = ordered[c].cast(float).to_numpy().astype("<f8")
        digest.update(np.ascontiguousarray(arr).tobytes())
    return "sha256:" + digest.hexdigest()[:32]


def versions() -> dict[str, str]:
    """The versions a fit's numbers depend on."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    out = {"scalecli": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "scipy", "polars"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


def record(result, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance of ``result`` (a fresh FitResult with its points), stored on it as
    ``result.provenance`` and returned; ``options`` are the non-default options given."""
    from datetime import UTC, datetime

    frame = result.points
    columns = [*result.variables.values(), "y"]
    if "flops" in getattr(frame, "columns", ()) and "flops" not in columns:
        columns.insert(-1, "flops")
    used: list[str] = []
    if frame is not None and frame.height:
        name = "name" if "name" in frame.columns else "run_id" if "run_id" in frame.columns \
            else None
        if name is not None:
            used = natural_order(frame[name])
        digest = data_hash(frame, columns)
        result.data["hash"] = digest  # one hash for the data, wherever it is read
    else:
        digest = result.data.get("hash", "")
    prov = {
        "law": result.law,
        "formula": result.formula,
        "variables": dict(result.variables),
        "target": result.target,
        "options": dict(sorted((options or {}).items())),
        "objective": result.fit.get("objective", ""),
        "seed": result.fit.get("seed"),
        "reduce": result.data.get("reduce", "last"),
        "selection": dict(result.data.get("selection") or {}),
        "data": {"hash": digest, "rows": result.n_points, "runs": result.n_runs,
                 "hashed_columns": [c for c in columns if frame is None or c in frame.columns]},
        "runs_used": used,
        "runs_dropped": list(result.data.get("dropped", [])),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat()
        .replace("+00:00", "Z"),
        "versions": versions(),
    }
    result.provenance = prov
    return prov


def natural_order(names) -> list[str]:
    """The distinct ``names`` (a polars Series) as text, in natural order: row2 before row10.

    Each name is turned into one sort key, by polars for every name at once (not a Python key
    per name: 100,000 runs took a second that way): text runs as they are, each digit run as
    NUL and its number zero-padded to one width, so that comparing keys compares the text
    parts as text and the numbers as numbers, part by part. Names outside ASCII (whose digits
    Python reads but the padding would not) or holding NUL are ordered in Python instead."""
    import polars as pl

    s = names.cast(pl.String).unique().drop_nulls() if names.dtype == pl.String else pl.Series(
        sorted({str(v) for v in names.to_list()}), dtype=pl.String)
    if s.is_empty():
        return []
    if s.str.contains(r"[^\x01-\x7f]").any():
        return sorted(s.to_list(), key=_natural)
    digits = s.str.extract_all(r"[0-9]+").explode().str.strip_chars_start("0")
    width = max(1, int(digits.str.len_chars().max() or 0))
    key = (s.str.extract_all(r"[0-9]+|[^0-9]+")
           .list.eval(pl.when(pl.element().str.contains(r"^[0-9]"))
                      .then(pl.lit("\x00") + pl.element().str.strip_chars_start("0")
                            .str.pad_start(width, "0"))
                      .otherwise(pl.element()))
           .list.join("") + "\x00")
    frame = pl.DataFrame({"name": s, "key": key})
    return frame.sort(["key", "name"])["name"].to_list()


def _natural(text: str):
    """row2 before row10: the natural order's key of one name, for names outside ASCII."""
    import re

    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text)]


def summary(result, path: str = "") -> str:
    """One line: where a saved fit's parameters came from (for every command reading --fit)."""
    p = getattr(result, "provenance", None) or {}
    where = path or "the fit"
    if not p:
        return (f"parameters from {where}: {result.law} on {result.n_points} points "
                "(a fit saved without provenance)")
    data = p.get("data", {})
    version = p.get("versions", {}).get("scalecli", result.version)
    return (f"parameters from {where}: {result.law} fitted {p.get('created', '?')} on "
            f"{data.get('rows', result.n_points)} points from {data.get('runs', result.n_runs)} "
            f"runs (data {data.get('hash', '?')}, scalecli {version})")
