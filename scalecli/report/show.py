"""``scalecli show``: a saved fit's full report, its provenance beside its numbers, so a
constant read from it can be traced to the data, options and version that produced it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fit import fit_output
from .tables import render

if TYPE_CHECKING:
    from ..fitting import FitResult

RUNS_SHOWN = 10  # runs named in the table; JSON keeps them all


def show_output(result: FitResult, fmt_name: str) -> str:
    """The fit (parameters, intervals, goodness, alternatives) then its provenance, as a
    table, markdown or JSON (everything the file holds but the bootstrap draws)."""
    if fmt_name == "json":
        import json

        return json.dumps({"path": result.path, **result.to_dict()}, indent=2,
                          allow_nan=True) + "\n"
    if fmt_name not in ("table", "markdown"):
        from ..errors import ConfigError

        raise ConfigError(f"show prints a report: --format table, markdown or json, not "
                          f"{fmt_name}")
    sep = "\n" if fmt_name == "markdown" else ""
    rows = provenance_rows(result)
    title = f"provenance of {result.path}" if result.path else "provenance"
    caption = None if result.provenance else (
        "saved before scalecli recorded provenance (format version 3): refit to record it")
    return (fit_output(result, fmt_name) + sep
            + render(rows, [("item", "item"), ("value", "value")], fmt_name, title=title,
                     caption=caption))


def provenance_rows(result: FitResult) -> list[dict[str, Any]]:
    """One (item, value) row per fact of the provenance, options one row each."""
    from ..laws import equation

    p = result.provenance or {}
    rows: list[dict[str, Any]] = [
        {"item": "law", "value": result.law},
        {"item": "formula", "value": equation(result.law, result.formula)}]
    if not p:
        rows.append({"item": "scalecli", "value": result.version or "unknown"})
        rows.append({"item": "data hash", "value": result.data.get("hash", "unknown")})
        return rows
    rows.append({"item": "target", "value": p.get("target", result.target)})
    rows.append({"item": "objective", "value": p.get("objective", "")})
    rows.append({"item": "seed", "value": str(p.get("seed"))})
    rows.append({"item": "reduce", "value": p.get("reduce", "last")})
    for key, value in (p.get("options") or {}).items():
        rows.append({"item": f"option {key}", "value": _text(value)})
    selection = p.get("selection") or {}
    picked = "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in selection.items() if v)
    rows.append({"item": "selection", "value": picked or "all runs"})
    data = p.get("data") or {}
    rows.append({"item": "data hash", "value": data.get("hash", "")})
    rows.append({"item": "rows", "value": str(data.get("rows", result.n_points))})
    used = p.get("runs_used") or []
    shown = ", ".join(used[:RUNS_SHOWN]) + (f" and {len(used) - RUNS_SHOWN} more"
                                            if len(used) > RUNS_SHOWN else "")
    rows.append({"item": "runs used", "value": f"{len(used)}: {shown}" if used else "0"})
    dropped = p.get("runs_dropped") or []
    rows.append({"item": "runs dropped", "value": str(len(dropped))})
    rows.extend({"item": "  dropped", "value": d} for d in dropped)
    rows.append({"item": "fitted at", "value": p.get("created", "")})
    for name, version in (p.get("versions") or {}).items():
        rows.append({"item": name, "value": version})
    return rows


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)
