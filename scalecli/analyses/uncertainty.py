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
