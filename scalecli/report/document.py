"""A report to share (``scalecli report``): one HTML or Markdown file holding the data summary,
the fit with its intervals, the residuals, the allocation table, the figures and the provenance.

HTML is one self-contained file: the figures are inline SVG. Markdown cannot hold an image
itself where it is read most (GitHub strips ``data:`` images), so its figures are PNG files
written beside it, in ``<name>_files/``, and referenced relatively. Without matplotlib the
report is still written, with the terminal plots as text in their place, and says so.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .format import fmt

__all__ = ["Document", "document_format", "render_document", "write_document"]

SECTIONS = ("Data", "Fit", "Residuals", "Allocation", "Figures", "Provenance")
_KINDS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}
_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "color:#222}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.2rem .5rem}td.n{text-align:right;font-variant-numeric:tabular-nums}"
        "caption{caption-side:bottom;text-align:left;font-size:.85em;color:#555}"
        "figure{margin:1rem 0}svg{max-width:100%;height:auto}pre{font-size:.8em;overflow-x:auto}")


@dataclass
class Document:
    """The report's text and, for Markdown, the images to write beside it (relative path ->
    bytes); ``warnings`` say what the report had to do without."""

    text: str
    files: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def document_format(path: str | Path) -> str:
    """``html`` or ``markdown``, from the output file's suffix."""
    kind = _KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise ConfigError(f"{path}: a report is written as .html or .md; name the file so")
    return kind


def write_document(doc: Document, path: str | Path) -> list[Path]:
    """Write the images, then the report (each atomically, folders made); the paths written."""
    from ..atomic import write_bytes, write_text

    base = Path(path).parent
    written = [write_bytes(base / rel, data) for rel, data in doc.files.items()]
    return [*written, write_text(path, doc.text)]


def render_document(rep, kind: str, *, name: str = "report") -> Document:
    """The report of a :class:`~scalecli.analyses.summary.ReportData` as ``html`` or
    ``markdown``; ``name`` (the file's stem) names the folder of Markdown's images."""
    from ..laws import equation

    w = _Writer(kind)
    result = rep.fit
    w.title(f"Scaling-law report: {result.law} fit to {rep.summary['runs']} runs")
    w.para(f"{equation(result.law, result.formula)}; target {result.target}; "
           f"created {rep.provenance['created']}"
           f" by scalecli {rep.provenance['scalecli']}.")
    for line in rep.warnings:
        w.para(f"Warning: {line}")
    _data(w, rep.summary)
    _fit(w, result)
    _residuals(w, result)
    w.heading("Allocation")
    t = rep.allocation
    if t.rows:
        w.table(t.rows, t.columns, caption=t.caption)
    else:
        w.para(t.caption or "no allocation")
    doc = Document("", warnings=[])
    _figures(w, rep, name, doc)
    _provenance(w, rep)
    doc.text = w.finish()
    return doc


def _data(w, s: dict) -> None:
    w.heading("Data")
    derived = " (C derived as 6·N·D where not logged)" if s["flops_derived"] else ""
    w.para(f"{s['runs']} runs fitted{derived}.")
    w.table(s["ranges"], [("quantity", "quantity"), ("min", "min"), ("max", "max")])
    if s["sources"]:
        w.table(s["sources"], [("source", "source"), ("runs", "runs")])
    if s["dropped"]:
        w.para("Left out: " + "; ".join(str(d.get("run", d)) + (f" ({d['reason']})"
                                                               if "reason" in d else "")
                                        if isinstance(d, dict) else str(d)
                                        for d in s["dropped"]))


def _fit(w, result) -> None:
    from .fit import _STATS, _bootstrap_caption, _derived_rows

    w.heading("Fit")
    boot = bool(result.bootstrap)
    level = f"{100 * float(result.bootstrap.get('ci', 0.95)):g}%" if boot else ""
    rows = [{"name": k, "value": v, "low": result.intervals.get(k, [None, None])[0],
             "high": result.intervals.get(k, [None, None])[1], "se": result.se.get(k),
             "note": "fixed" if k in result.fixed else ""} for k, v in result.params.items()]
    cols = [("name", "parameter"), ("value", "value")]
    if boot:
        cols += [("low", f"{level} low"), ("high", f"{level} high"), ("se", "se")]
    if result.fixed:
        cols.append(("note", ""))
    caption = (_bootstrap_caption(result) if boot else
               "no intervals: give --bootstrap B to resample the runs and refit")
    w.table(rows, cols, caption=caption)
    derived = _derived_rows(result)
    if derived:
        w.table(derived, [("name", "derived"), ("value", "value"), ("low", f"{level} low"),
                          ("high", f"{level} high"), ("se", "se")])
    stats = [{"name": label, "value": getattr(result, k)} for k, label in _STATS]
    w.table(stats, [("name", "goodness of fit"), ("value", "value")],
            caption=str(result.fit.get("objective", "")))


def _residuals(w, result) -> None:
    from .residuals import _names

    w.heading("Residuals")
    rows = list(result.residuals or [])
    flagged = [r for r in rows if r.get("outlier")]
    space = (result.fit or {}).get("space", "log")
    w.para(f"{len(flagged)} of {len(rows)} runs flagged as outliers (residual beyond 3 robust "
           "standard deviations of the median)" + (": " + ", ".join(str(r["run"]) for r in
                                                                   flagged) if flagged else "."))
    shown = [{**r, "flag": "outlier" if r.get("outlier") else ""} for r in rows]
    cols = [("run", "run"), *((k, k) for k in _names(rows)), ("observed", "observed"),
            ("predicted", "predicted"), ("residual", f"residual ({space})"), ("flag", "outlier")]
    w.table(shown, cols)


def _figures(w, rep, name: str, doc: Document) -> None:
    from .figures import available

    w.heading("Figures")
    if not available():
        msg = ("matplotlib is not installed (pip install 'scalecli[plots]'): the figures are "
               "terminal plots")
        doc.warnings.append(msg)
        w.para(msg + ".")
        for text in _terminal_plots(rep):
            w.pre(text)
        return
    from .figures import figure_bytes, figures_for

    captions = (("fit", ("the runs and the fitted law per model size, with the "
                         "compute-optimal frontier")),
                ("residuals", "each run's residual against compute"),
                ("optimal", "the compute-optimal allocation at the budgets (shaded: intervals)"))
    for kind, caption in captions:
        if kind == "optimal" and not rep.allocation.rows:
            continue
        source = rep.allocation if kind == "optimal" else rep.fit
        fig = figures_for(kind, source, rep.fit.points)
        if w.kind == "html":
            w.figure_svg(figure_bytes(fig, "svg").decode("utf-8"), caption)
        else:
            rel = f"{name}_files/{kind}.png"
            doc.files[rel] = figure_bytes(fig, "png")
            w.raw(f"![{caption}]({rel})\n\n*{caption}*\n")


def _terminal_plots(rep) -> list[str]:
    from .fit import plot_fit
    from .residuals import residual_plot

    return [plot_fit(rep.fit, rep.fit.points, width=100, height=30),
            residual_plot(rep.fit, width=100, height=24)]


def _provenance(w, rep) -> None:
    import json

    w.heading("Provenance")
    p = rep.provenance
    rows = [{"k": k, "v": p.get(k)} for k in ("law", "formula", "target", "objective",
                                               "data_hash", "scalecli", "python", "created")]
    rows += [{"k": f"option {k}", "v": json.dumps(v) if not isinstance(v, str) else v}
             for k, v in p["options"].items()]
    w.table(rows, [("k", "what"), ("v", "value")])
    w.details("the fit as JSON (saved as a file, predict --fit and optimal --fit read it)",
              rep.fit.to_json())


class _Writer:
    """Markdown or HTML, one block at a time."""

    def __init__(self, kind: str):
        self.kind, self.parts = kind, []

    def raw(self, text: str) -> None:
        self.parts.append(text)

    def title(self, text: str) -> None:
        self.raw(f"<h1>{html.escape(text)}</h1>" if self.kind == "html" else f"# {text}\n")

    def heading(self, text: str) -> None:
        self.raw(f"<h2>{html.escape(text)}</h2>" if self.kind == "html" else f"## {text}\n")

    def para(self, text: str) -> None:
        self.raw(f"<p>{html.escape(text)}</p>" if self.kind == "html" else
                 text.replace("*", "\\*") + "\n")

    def pre(self, text: str) -> None:
        self.raw(f"<pre>{html.escape(text)}</pre>" if self.kind == "html" else
                 f"```text\n{text.rstrip()}\n```\n")

    def details(self, summary: str, body: str) -> None:
        inner = (f"<pre>{html.escape(body)}</pre>" if self.kind == "html" else
                 f"\n\n```json\n{body}\n```\n\n")
        self.raw(f"<details><summary>{html.escape(summary)}</summary>{inner}</details>\n")

    def figure_svg(self, svg: str, caption: str) -> None:
        svg = svg[svg.index("<svg"):]  # inline: no XML declaration or doctype
        self.raw(f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>")

    def table(self, rows: list[dict[str, Any]], cols, caption: str | None = None) -> None:
        if self.kind == "markdown":
            from .tables import to_markdown

            self.raw(to_markdown(rows, cols) + (f"\n{caption.replace('*', chr(92) + '*')}\n"
                                                if caption else ""))
            return
        head = "".join(f"<th>{html.escape(h)}</th>" for _, h in cols)
        body = "".join("<tr>" + "".join(_cell(r.get(k)) for k, _ in cols) + "</tr>"
                       for r in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.raw(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def finish(self) -> str:
        if self.kind == "markdown":
            return "\n".join(self.parts)
        title = "scalecli report"
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{title}</title><style>{_CSS}</style></head><body>\n"
                + "\n".join(self.parts) + "\n</body></html>\n")


def _cell(v) -> str:
    numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
    cls = ' class="n"' if numeric else ""
    return f"<td{cls}>{html.escape(fmt(v))}</td>"
