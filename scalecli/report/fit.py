"""How a fit is shown: parameter and goodness tables, and the fit's terminal plot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tables import render

if TYPE_CHECKING:
    from ..fitting import FitResult

_STATS = (("objective", "objective"), ("rmse_log", "RMSE of log loss"), ("r2", "R²"),
          ("n_points", "points"), ("n_runs", "runs"), ("converged", "converged"))


def rmse_label(law_name: str) -> str:
    """``RMSE of log <what the law predicts>``: loss for a loss law, accuracy for ``sigmoid``
    (a fit's RMSE is of the log of its target, whatever that is)."""
    from ..laws import registered

    law = registered(law_name)
    return f"RMSE of log {(law.target if law else None) or 'target'}"


def fit_output(result: FitResult, fmt_name: str) -> str:
    """The fit in ``table``, ``json``, ``csv`` or ``markdown`` (a ranking of laws as well)."""
    from ..laws import equation

    if hasattr(result, "fits"):
        return compare_output(result, fmt_name)
    if fmt_name == "json":
        return result.to_json() + "\n"
    if fmt_name == "csv" and result.residuals is not None:  # a pipe asked for the rows
        from .residuals import residual_table

        return residual_table(result, "csv")
    iv, se = result.intervals, result.se
    params = [{"name": k, "value": v, "note": "fixed" if k in result.fixed else "",
               "low": iv.get(k, [None, None])[0], "high": iv.get(k, [None, None])[1],
               "se": se.get(k)} for k, v in result.params.items()]
    stats = [{"name": k, "value": getattr(result, k),
              "note": rmse_label(result.law) if k == "rmse_log" else label}
             for k, label in _STATS]
    if fmt_name == "csv":
        rows = ([{**r, "kind": "param"} for r in params]
                + [{**r, "kind": "derived"} for r in _derived_rows(result)]
                + [{**r, "kind": "stat"} for r in stats])
        cols = [("kind", "kind"), ("name", "name"), ("value", "value")]
        if result.bootstrap:
            cols += [("low", "low"), ("high", "high"), ("se", "se")]
        return render(rows, cols, "csv")
    title = f"{result.law}: {equation(result.law, result.formula)}"
    cols = [("name", "parameter"), ("value", "value")]
    level = f"{100 * float(result.bootstrap.get('ci', 0.95)):g}%" if result.bootstrap else ""
    if result.bootstrap:
        cols += [("low", f"{level} low"), ("high", f"{level} high"), ("se", "se")]
    if result.fixed:
        cols.append(("note", ""))
    first = render(params, cols, fmt_name, title=title,
                   caption=_bootstrap_caption(result) if result.bootstrap else None)
    derived = _derived_rows(result)
    if derived:
        first += ("\n" if fmt_name == "markdown" else "") + render(
            derived, [("name", "derived"), ("value", "value"), ("low", f"{level} low"),
                      ("high", f"{level} high"), ("se", "se")], fmt_name)
    if result.alternatives:
        first += ("\n" if fmt_name == "markdown" else "") + _alternatives_table(result, fmt_name)
    caption = (f"{result.fit.get('objective', '')}; {result.fit.get('refined', 0)} of "
               f"{result.fit.get('starts', 0)} starts refined; target {result.target}, "
               f"reduce {result.data.get('reduce', 'last')}")
    second = render(stats, [("note", "fit"), ("value", "value")], fmt_name, caption=caption)
    return first + ("\n" if fmt_name == "markdown" else "") + second + _residuals(result,
                                                                                  fmt_name)


def _residuals(result, fmt_name: str) -> str:
    """The residual table under the fit's, when the fit carries residuals."""
    if result.residuals is None:
        return ""
    from .residuals import residual_table

    return ("\n" if fmt_name == "markdown" else "") + residual_table(result, fmt_name)


def _alternatives_table(result, fmt_name: str) -> str:
    """The best optimum and the others within the tolerance, side by side."""
    free = [k for k in result.params if k not in result.fixed]
    rows = [{"which": "best", "objective": result.objective, **result.params}]
    rows += [{"which": f"#{i}", "objective": a["objective"], **a["params"]}
             for i, a in enumerate(result.alternatives, 1)]
    ok = result.data.get("identified", {})
    cols = [("which", "optimum"), ("objective", "objective")]
    cols += [(k, k if ok.get(k, True) else f"{k} (?)") for k in free]
    return render(rows, cols, fmt_name, title="optima within the tolerance",
                  caption="(?) not identified: the optima disagree on it")


def _bootstrap_caption(result) -> str:
    b = result.bootstrap
    text = (f"percentile intervals from {b.get('resamples')} bootstrap resamples of the runs "
            f"(seed {b.get('seed')})")
    if b.get("failed"):
        text += f"; {b['failed']} could not be fitted"
    share = b.get("moved", 0) / max(int(b.get("resamples") or 1), 1)
    text += f"; {b.get('moved', 0)} ({share:.1%}) fitted best in another basin"
    return text


def _derived_rows(result) -> list[dict]:
    """a, b and the allocation at the asked budgets, with their bootstrap intervals."""
    values = result.bootstrap.get("derived", {}) if result.bootstrap else {}
    return [{"name": k, "value": v, "low": result.intervals.get(k, [None, None])[0],
             "high": result.intervals.get(k, [None, None])[1], "se": result.se.get(k)}
            for k, v in values.items()]


def compare_output(ranking, fmt_name: str) -> str:
    """The ``--law all`` ranking: one row per law, best held-out error first; ``k`` is the
    number of law parameters fitted (not ``n_params``, which everywhere else is N)."""
    import json

    if fmt_name == "json":
        return json.dumps(ranking.to_list(), indent=2) + "\n"
    rows = [{"rank": i + 1, "law": f.law, "holdout_error": f.data.get("holdout_error"),
             "rmse_log": f.rmse_log, "objective": f.objective,
             "k": f.data.get("n_params_free"), "converged": f.converged}
            for i, f in enumerate(ranking.fits)]
    columns = [("rank", "#"), ("law", "law"), ("holdout_error", "held-out RMSE (log)"),
               ("rmse_log", "fit RMSE (log)"), ("objective", "objective"),
               ("k", "parameters (k)"), ("converged", "converged")]
    return render(rows, columns, fmt_name,
                  title=f"laws ranked by error on the {ranking.holdout} largest runs by compute",
                  caption="each law fitted without the held-out runs")


def plot_fit(result, frame, *, width=80, height=24, color=False) -> str:
    """The points ``frame`` (n_params, tokens, flops, y), the fitted law per model size and
    the compute-optimal frontier; a law of one variable as a curve."""
    import numpy as np

    from .plots import fit_plot

    law_obj = result.law_object()
    theta = np.array([law_obj.to_internal(result.params)])
    if set(law_obj.variables) != {"N", "D"}:
        if len(law_obj.variables) != 1:
            from ..errors import ConfigError

            raise ConfigError(f"plot draws laws of N and D, or of one variable; {law_obj.name} "
                              f"has {', '.join(law_obj.variables)}")
        (sym, col), = law_obj.variables.items()
        from .plots import curve_plot

        return curve_plot(frame[col].to_numpy(), frame["y"].to_numpy(),
                          lambda v: law_obj.predict(theta, {sym: np.asarray(v, float)})[0],
                          xlabel=col, width=width, height=height, color=color,
                          title=f"{result.law} fit: {result.target} vs {col}")

    def predict(N, D):
        return law_obj.predict(theta, {"N": np.asarray(N, float), "D": np.asarray(D, float)})[0]

    def frontier(C):
        out = []
        for c in np.asarray(C, float):
            opt = law_obj.optimum(result.params, float(c))
            out.append(np.nan if opt is None else law_obj.value(result.params,
                                                                 {"N": opt[0], "D": opt[1]}))
        return np.array(out)

    return fit_plot(frame["n_params"].to_numpy(), frame["tokens"].to_numpy(),
                    frame["flops"].to_numpy(), frame["y"].to_numpy(), predict, frontier,
                    width=width, height=height, color=color,
                    title=f"{result.law} fit: {result.target} vs compute")
