"""How a store's check and prune reports are shown: one row per finding."""

from __future__ import annotations

import json

from .tables import render


def _rows(d: dict) -> list[dict]:
    rows = []
    for kind, items in d.items():
        if isinstance(items, list) and kind != "warnings":
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
    title = (f"store check: {d.get('sources', 0)} source(s), {d.get('n_runs', 0)} run(s); "
             + ("nothing to repair" if d.get("ok") else f"{len(rows)} finding(s)"))
    if not rows and fmt_name == "table":
        return title + "\n"
    return render(rows, [("kind", "finding"), ("what", "what")], fmt_name, title=title)


def prune_output(report, fmt_name: str) -> str:
    """``scalecli store prune``: the runs dropped because their source is gone."""
    d = report.to_dict()
    if fmt_name == "json":
        return json.dumps(d, indent=2) + "\n"
    rows = _rows(d)
    verb = "would drop" if d.get("dry_run") else "dropped"
    title = (f"store prune: {verb} {len(d.get('dropped', []))} source(s) gone from disk, "
             f"{d.get('runs_dropped', 0)} run(s); {d.get('n_runs', 0)} run(s) kept")
    if not rows and fmt_name == "table":
        return title + "\n"
    return render(rows, [("kind", "what"), ("what", "path")], fmt_name, title=title)


def ingest_output(report) -> str:
    """``scalecli ingest``: one line of what changed in the store."""
    extra = "".join(f", {len(v)} {k}" for k, v in (("repaired", report.repaired),
                                                    ("swept", report.swept)) if v)
    return (f"{report.root}: {len(report.added)} added, {len(report.replaced)} replaced, "
            f"{len(report.unchanged)} unchanged{extra}; {report.n_runs} runs, "
            f"{report.n_rows} history rows")
