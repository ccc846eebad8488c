"""How a store's check and prune reports are shown: one row per finding."""

from __future__ import annotations

import json

from .tables import render


def _rows(d: dict) -> list[dict]:
    rows = []
    for kind, items in d.items():
        if isinstance(items, list):
            for item in items:
                what = item if not isinstance(item, dict) else ", ".join(
                    f"{k}: {v}" for k, v in item.items())
                rows.append({"kind": kind, "what": what})
    return rows


def check_output(report, fmt_name: str) -> str:
    """``scalecli store check``: what is stale, missing, damaged or orphaned."""
    d = report.to_dict()
    if fmt_name == "json":
        return json.dumps(d, indent=2) + "\n"
    rows = _rows(d)
    title = "store check: " + ("nothing to repair" if not rows else f"{len(rows)} finding(s)")
    return render(rows, [("kind", "finding"), ("what", "what")], fmt_name, title=title)


def prune_output(report, fmt_name: str) -> str:
    """``scalecli store prune``: the runs dropped because their source is gone."""
    d = report.to_dict()
    if fmt_name == "json":
        return json.dumps(d, indent=2) + "\n"
    rows = _rows(d)
    return render(rows, [("kind", "dropped"), ("what", "what")], fmt_name,
                  title=f"store prune: {len(rows)} dropped")
