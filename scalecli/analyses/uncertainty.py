"""What a fit's bootstrap draws say about the quantities people act on: the allocation exponents
a and b (N_opt ∝ C^a, D_opt ∝ C^b), and N_opt, D_opt and the loss at chosen budgets.

Each draw is a complete set of parameters, so each quantity is computed per draw exactly as for
the point estimate (:class:`~scalecli.analyses.allocation.Allocator`), and its interval is the
percentile interval of those values: no linearisation.
"""

from __future__ import annotations

import math

EXPONENT_BUDGET = 1e21  # where a and b are read when the law gives no closed form
_DECADE = 10.0


def allocation_values(law, params: dict[str, float], flops: list[float]) -> dict[str, float]:
    """a, b and, per budget, N_opt, D_opt and the loss there, for one parameter set (NaN
    where the law has no optimum for these parameters)."""
    from .allocation import Allocator

    alloc = Allocator(law, params)
    out: dict[str, float] = {}
    try:
        c0 = EXPONENT_BUDGET
        n0, d0, _ = alloc.optimum(c0)
        n1, d1, _ = alloc.optimum(c0 * _DECADE)
        out["a"] = math.log(n1 / n0) / math.log(_DECADE)
        out["b"] = math.log(d1 / d0) / math.log(_DECADE)
    except (ArithmeticError, ValueError):
        out["a"] = out["b"] = math.nan
    for C in flops:
        try:
            n, d, _ = alloc.optimum(C)
            loss = alloc.loss(n, d)
        except (ArithmeticError, ValueError):
            n = d = loss = math.nan
        out[f"N_opt@{C:g}"], out[f"D_opt@{C:g}"], out[f"loss@{C:g}"] = n, d, loss
    return out


def allocation_draws(law, draws: list[dict[str, float]], flops: list[float]):
    """``(names, rows)``: :func:`allocation_values` for every draw."""
    rows = [allocation_values(law, p, flops) for p in draws]
    names = list(rows[0]) if rows else []
    return names, [[r[k] for k in names] for r in rows]


def add_derived(result, flops: list[float] | None = None) -> None:
    """Intervals and standard errors of a, b and the allocation at ``flops`` from the draws
    of ``result`` (a fit of a law of N and D with bootstrap draws), added to its own."""
    from ..fitting.bootstrap import summarize
    from .allocation import check_budget

    draws = result.draw_params()
    if not draws:
        return
    law = result.law_object()
    cols = set(law.variables.values())
    if not {"n_params", "tokens"} <= cols or len(cols) != 2:
        return  # allocation is defined for a law of N and D alone
    budgets = [check_budget(float(C)) for C in (flops or [])]
    names, rows = allocation_draws(law, draws, budgets)
    intervals, se = summarize(names, rows, float(result.bootstrap.get("ci", 0.95)))
    result.intervals.update(intervals)
    result.se.update(se)
    result.bootstrap["derived"] = {k: v for k, v in allocation_values(
        law, result.params, budgets).items()}


def _fit_of(source):
    """The fit behind ``source`` (a FitResult or a saved fit's path); None for defaults."""
    from ..fitting.result import FitResult

    if source is None:
        return None
    return source if isinstance(source, FitResult) else FitResult.load(source)


def _with_draws(source):
    """The fit behind ``source`` when it has bootstrap draws."""
    fit = _fit_of(source)
    return fit if fit is not None and fit.draw_params() else None


def _band(values: list[float], ci: float) -> tuple[float, float]:
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan, math.nan
    lo, hi = np.percentile(v, [50 * (1 - ci), 50 * (1 + ci)])
    return float(lo), float(hi)


def _range_text(row: dict, key: str) -> None:
    """``row[key_range]``: the ``low–high`` text people read beside the numbers pipes get."""
    from ..numbers import fmt

    lo, hi = row.get(f"{key}_low"), row.get(f"{key}_high")
    if lo is not None and hi is not None:
        row[f"{key}_range"] = f"{fmt(lo)}–{fmt(hi)}"


def _insert_bands(table, keys: list[str], level: str) -> None:
    """A ``low–high`` column after each of ``keys`` for people; the numbers for pipes."""
    for row in table.rows:
        for key in keys:
            _range_text(row, key)
    cols = []
    for key, head in table.columns:
        cols.append((key, head))
        if key in keys:
            cols.append((f"{key}_range", level))
    table.columns = cols
    table.csv_extra = [*table.csv_extra, *_numbers(keys)]


def _append_bands(table, heads: dict[str, str]) -> None:
    """A ``low–high`` column for each key of ``heads`` after the others; numbers for pipes."""
    for row in table.rows:
        for key in heads:
            _range_text(row, key)
    table.columns = [*table.columns, *((f"{k}_range", h) for k, h in heads.items())]
    table.csv_extra = [*table.csv_extra, *_numbers(list(heads))]


def _numbers(keys: list[str]) -> list[tuple[str, str]]:
    return [(f"{k}_{end}", f"{k}_{end}") for k in keys for end in ("low", "high")]


def allocation_bands(table, source) -> None:
    """Percentile intervals of N_opt, D_opt and loss per budget row of ``scalecli optimal``'s
    table, from the bootstrap draws of the fit ``source`` (nothing without draws)."""
    from .allocation import Allocator

    fit = _with_draws(source)
    if fit is None or not table.rows:
        return
    law, draws = fit.law_object(), fit.draw_params()
    ci = float(fit.bootstrap.get("ci", 0.95))
    done = False
    for row in table.rows:
        if row.get("method", "").startswith("planned") or row.get("target_loss") is not None:
            continue
        per = {"n_params": [], "tokens": [], "loss": []}
        for p in draws:
            alloc = Allocator(law, p, unique_tokens=row.get("unique_tokens"))
            try:
                n, d, _ = alloc.optimum(row["flops"])
                loss = alloc.loss(n, d)
            except (ArithmeticError, ValueError):
                continue
            per["n_params"].append(n)
            per["tokens"].append(d)
            per["loss"].append(loss)
        for key, values in per.items():
            row[f"{key}_low"], row[f"{key}_high"] = _band(values, ci)
        done = True
    if done:
        _insert_bands(table, ["n_params", "tokens", "loss"], f"{100 * ci:g}%")
        table.caption = (f"{table.caption}; intervals: {100 * ci:g}% of "
                         f"{len(draws)} bootstrap draws")


def prediction_bands(table, source, law) -> None:
    """For each prediction row: the interval of the fitted curve (``conf``: the law at each
    bootstrap draw) and the interval for a new run (``pred``: each draw's prediction with a
    residual of the fit's scatter added in log space, as a run scatters around the curve)."""
    import numpy as np

    fit = _fit_of(source)
    if fit is None or not table.rows:
        return
    draws = fit.draw_params()
    if not draws:
        if fit.covariance:
            _lack_of_fit_bands(table, fit)
        return
    law_obj = fit.law_object()
    ci = float(fit.bootstrap.get("ci", 0.95))
    scatter = float(fit.rmse_log) if math.isfinite(fit.rmse_log) else 0.0
    rng = np.random.default_rng(int(fit.bootstrap.get("seed", 0)))
    level = f"{100 * ci:g}%"
    rows = [r for r in table.rows if all(s in r for s in law_obj.variables)]
    thetas = np.array([_internal(law_obj, p) for p in draws])
    step = max(1, _CHUNK // len(draws))
    for i in range(0, len(rows), step):  # every draw at a chunk of rows in one evaluation
        chunk = rows[i:i + step]
        X = {s: np.array([float(r[s]) for r in chunk]) for s in law_obj.variables}
        with np.errstate(all="ignore"):
            values = np.asarray(law_obj.predict(thetas, X), dtype=float)  # (draws, rows)
        # the same noise, row by row, as one row at a time would draw
        noisy = values * np.exp(scatter * rng.standard_normal((len(chunk), len(draws))).T)
        for key, v in (("conf", values), ("pred", noisy)):
            lo, hi = _bands(v, ci)
            for r, a, b in zip(chunk, lo.tolist(), hi.tolist()):
                r[f"{key}_low"], r[f"{key}_high"] = a, b
    _append_bands(table, {"conf": f"curve {level}", "pred": f"new run {level}"})
    table.caption = (f"{table.caption}; curve: {level} of {len(draws)} bootstrap draws; new run: "
                     f"adds the fit's scatter (RMSE of log loss {scatter:.3g})")


_CHUNK = 2_000_000  # draws × rows evaluated at once: bounded memory for large grids


def _internal(law, params) -> list[float]:
    """A draw's internal coordinates; NaN (so its predictions are left out) if it has none."""
    try:
        return [float(v) for v in law.to_internal(params)]
    except (ArithmeticError, ValueError, KeyError):
        return [math.nan] * len(law.param_names)


def _bands(values, ci: float):
    """Per column of ``values`` (draws × rows), the percentile interval of its finite values
    (NaN with fewer than two), as :func:`_band` gives for one."""
    import numpy as np

    q = [50 * (1 - ci), 50 * (1 + ci)]
    finite = np.isfinite(values)
    lo = np.full(values.shape[1], np.nan)
    hi = np.full(values.shape[1], np.nan)
    whole = finite.all(axis=0)  # the common case, and fast: nanpercentile loops over columns
    if whole.any():
        lo[whole], hi[whole] = np.percentile(values[:, whole], q, axis=0)
    some = ~whole & (finite.sum(axis=0) >= 2)
    if some.any():
        v = np.where(finite[:, some], values[:, some], np.nan)
        lo[some], hi[some] = np.nanpercentile(v, q, axis=0)
    return lo, hi


LACK_OF_FIT_LEVEL = 0.95


def _lack_of_fit_bands(table, fit) -> None:
    """Without draws: Student-t intervals (n - p degrees of freedom) from the fit's lack-of-fit
    covariance, carried to each prediction by the delta method through the law's gradient."""
    import numpy as np
    from scipy.special import stdtrit

    from ..fitting.batched import jacobian_many
    from ..fitting.objective import Objective

    law = fit.law_object()
    cov = fit.covariance
    idx = [law.param_names.index(n) for n in cov["names"]]
    C = np.asarray(cov["matrix"], dtype=float)
    obj = Objective(space=cov.get("space", "log"))
    theta = np.asarray(law.to_internal(fit.params), dtype=float)
    t = float(stdtrit(int(cov["dof"]), 0.5 + LACK_OF_FIT_LEVEL / 2))
    back = {"log": np.exp, "log1p": np.expm1}.get(obj.space, lambda v: v)
    rows = [r for r in table.rows if all(s in r for s in law.variables)]
    if rows:  # every row at once: the prediction and its gradient in the residual space
        X = {s: np.array([float(r[s]) for r in rows]) for s in law.variables}
        with np.errstate(all="ignore"):
            g, J = jacobian_many(law, obj, theta[None, :], X)
        grad = J[0][idx]  # (free parameters, rows)
        var = np.maximum(np.einsum("fm,fk,km->m", grad, C, grad), 0.0)
        for key, extra in (("conf", 0.0), ("pred", float(cov["scale"]) ** 2)):
            half = t * np.sqrt(var + extra)
            for r, lo, hi in zip(rows, back(g[0] - half), back(g[0] + half)):
                r[f"{key}_low"], r[f"{key}_high"] = float(lo), float(hi)
    level = f"{100 * LACK_OF_FIT_LEVEL:g}%"
    _append_bands(table, {"conf": f"curve {level}*", "pred": f"new run {level}*"})
    table.caption = (f"{table.caption}; * lack-of-fit intervals: Student-t with {cov['dof']} "
                     "degrees of freedom from the residuals, the delta method through the law's "
                     "gradient (no bootstrap draws: fit --bootstrap B for those)")


def describe_alternatives(result, flops: list[float] | None = None) -> None:
    """For a fit with other near-best optima: the allocation each implies, which quantities
    all of them agree on (``result.data["identified"]``), and a warning saying so."""
    from ..fitting.alternatives import identified

    alts = result.alternatives
    if not alts:
        return
    law = result.law_object()
    cols = set(law.variables.values())
    budgets = list(flops or []) or [EXPONENT_BUDGET]
    allocation = {"n_params", "tokens"} <= cols and len(cols) == 2
    free = [p for p in law.param_names if p not in result.fixed]

    def quantities(params):
        q = {k: params[k] for k in free}
        if allocation:
            alloc = allocation_values(law, params, budgets)
            q.update(alloc)
        return q

    best = quantities(result.params)
    for alt in alts:
        q = quantities(alt["params"])
        alt["allocation"] = {k: v for k, v in q.items() if k not in free}
    agree = identified([best, *(quantities(a["params"]) for a in alts)])
    result.data["identified"] = agree
    loose = [k for k in free if not agree[k]]
    firm = [k for k, ok in agree.items() if ok and k not in free]
    text = (f"{len(alts)} other optimum(s) within {result.fit.get('tolerance', 0.005):.2%} of "
            f"the best objective at different parameters: {', '.join(loose) or 'none'} not "
            "identified")
    if allocation:
        text += (f"; the allocation agrees across them ({', '.join(firm)})" if firm else
                 "; the allocation differs between them too")
    result.warnings.append(text + " (see alternatives)")
