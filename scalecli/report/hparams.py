"""The hyper-parameter laws (``scalecli hparams``) as tables, markdown, CSV or JSON.

Three tables for people: the laws' terms (with their intervals when bootstrapped), the
per-setting optima, the recommendations at the targets asked for. ``--format csv`` is one
rectangular table whose ``kind`` column says which of the three a row belongs to; JSON is the
result's ``to_dict``.
"""

from __future__ import annotations

from .format import fmt

__all__ = ["hparams_output"]

_SETTING_COLUMNS = [("N", "N"), ("D", "D"), ("runs", "runs"), ("kept", "kept"),
                    ("best_lr", "best lr"), ("best_batch", "best batch"),
                    ("best_loss", "best loss"), ("lr_kept", "lr (kept, geo-mean)"),
                    ("batch_kept", "batch (kept, geo-mean)")]


def hparams_output(res, fmt_name: str = "table") -> str:
    """A :class:`~scalecli.analyses.hparams.HparamsResult` in one of the output formats."""
    import json

    from .tables import render

    d = res.to_dict()
    if fmt_name == "json":
        return json.dumps(d, indent=2) + "\n"
    if fmt_name == "csv":
        return _csv(d)
    boot = d.get("bootstrap")
    terms = _term_rows(d)
    cols = [("law", "law"), ("term", "term"), ("value", "value")]
    if boot:
        level = f"{100 * boot['ci']:g}%"
        cols += [("low", f"{level} low"), ("high", f"{level} high")]
    out = [render(terms, cols, fmt_name, title="Step Law (Li et al. 2025): "
                  "lr = coef·Πx^e, batch (tokens) = coef·Πx^e", caption=_caption(d))]
    if fmt_name == "markdown":  # markdown tables carry no caption: the method as a paragraph
        out.append(_caption(d) + "\n")
    out.append(render(d["settings"], _SETTING_COLUMNS, fmt_name,
                      title=f"{len(d['settings'])} (N, D) settings (batch in tokens)"))
    if d["recommendations"]:
        out.append(render(d["recommendations"], _rec_columns(d), fmt_name,
                          title="recommended at the targets"))
    return ("\n" if fmt_name == "markdown" else "").join(out)


def _term_rows(d: dict) -> list[dict]:
    rows = []
    for law in ("lr", "batch"):
        g = d[law]
        ci = g.get("intervals", {})
        rows.append({"law": law, "term": "coef", "value": g["coef"],
                     "low": ci.get("coef", [None, None])[0],
                     "high": ci.get("coef", [None, None])[1]})
        for v, e in g["exponents"].items():
            lo, hi = ci.get(v, [None, None])
            rows.append({"law": law, "term": f"exponent of {v}", "value": e, "low": lo,
                         "high": hi})
    return rows


def _caption(d: dict) -> str:
    near = f"{100 * d['near']:.4g}%"
    text = (f"least squares in log space on {d['kept_runs']} near-best runs of {d['runs']} "
            f"(within {near} of each setting's best {d['loss'] or 'loss'}); R² lr "
            f"{fmt(d['lr']['r2'])}, batch {fmt(d['batch']['r2'])}; columns: lr = "
            f"{d['columns']['lr']}, batch = {d['columns']['batch']}")
    boot = d.get("bootstrap")
    if boot:
        text += (f". Bootstrap: {boot['resamples']} resamples of the {boot['resample']} "
                 f"(seed {boot['seed']}); value = {boot['estimate']}; intervals: "
                 f"{boot['interval']}")
    return text


def _rec_columns(d: dict) -> list[tuple[str, str]]:
    recs = d["recommendations"]
    keys = [k for k in ("N", "D", "C") if k in recs[0]]
    cols = [(k, k) for k in keys] + [("lr", "lr")]
    boot = "lr_interval" in recs[0]
    if boot:
        cols += [("lr_low", "lr low"), ("lr_high", "lr high")]
    cols.append(("batch", "batch (tokens)"))
    if boot:
        cols += [("batch_low", "batch low"), ("batch_high", "batch high")]
    if "batch_sequences" in recs[0]:
        cols.append(("batch_sequences", "batch (sequences)"))
    for r in recs:
        if boot:
            r["lr_low"], r["lr_high"] = r["lr_interval"]
            r["batch_low"], r["batch_high"] = r["batch_interval"]
    return cols


def _csv(d: dict) -> str:
    """One table: a row per law term (kind ``lr``/``batch``), per setting, per target."""
    from .tables import render

    rows = [{"kind": r["law"], **r} for r in _term_rows(d)]
    rows += [{"kind": "setting", **s} for s in d["settings"]]
    if d["recommendations"]:
        _rec_columns(d)
        rows += [{"kind": "recommendation", **r} for r in d["recommendations"]]
    keys = ["kind", "term", "value", "low", "high", "N", "D", "C", "runs", "kept", "best_run",
            "best_lr", "best_batch", "best_loss", "lr_kept", "batch_kept", "lr", "lr_low",
            "lr_high", "batch", "batch_low", "batch_high", "batch_sequences"]
    keys = [k for k in keys if any(r.get(k) is not None for r in rows)]
    return render(rows, [(k, k) for k in keys], "csv")
