"""The next sweep: IsoFLOP budgets and, at each, model sizes placed symmetrically in log N
around that budget's compute-optimal N, so the sweep brackets the optimum it is meant to find.

The optimum comes from a fit (or a law's published values), read with the same
:class:`~scalecli.analyses.allocation.Allocator` as ``scalecli optimal``. Pure :mod:`math`.
"""

from __future__ import annotations

import math

from ..errors import ConfigError, clip
from .table import Table

DEFAULT_SPREAD = math.log10(4.0)  # sizes from N_opt/4 to 4·N_opt
DEFAULT_DECADES = 1.0  # budgets from C/10 to 10·C around one --flops value


def budgets_around(flops, budgets: int, decades: float = DEFAULT_DECADES) -> list[float]:
    """``budgets`` budgets: log-spaced over a ``lo..hi`` range, or centred on one budget and
    spanning ``decades`` either side of it (one budget: that budget)."""
    from .allocation import check_budget, parse_budgets

    if isinstance(budgets, bool) or not isinstance(budgets, int) or budgets < 1:
        raise ConfigError(f"--budgets {clip(budgets)}: plan at least one budget")
    if isinstance(flops, str) and ".." in flops:
        return parse_budgets(flops, budgets)
    values = parse_budgets(flops, budgets) if isinstance(flops, str) else (
        [flops] if isinstance(flops, (int, float)) else list(flops))
    if len(values) != 1:
        return [check_budget(float(c)) for c in values]  # budgets given one by one
    centre = math.log10(check_budget(float(values[0])))
    if budgets == 1:
        return [float(values[0])]
    return [check_budget(float(f"{10 ** (centre + decades * (2 * i / (budgets - 1) - 1)):.15g}"))
            for i in range(budgets)]


def plan(source=None, flops="1e21", *, law: str | None = None, budgets: int = 5,
         sizes: int = 7, spread: float | None = None, total_compute: bool = False,
         round_sizes: bool = False) -> Table:
    """The sweep to run next: one row per planned run (``name``, ``flops``, ``n_params``,
    ``tokens`` = C/(6N), ``predicted_loss``), ``sizes`` per budget from N_opt/10^spread to
    N_opt·10^spread, log-spaced (so symmetric in log N about N_opt). ``source`` is a fit
    (object or path) or None for the law's published values; ``total_compute`` adds the sum
    of the runs' compute to the notes and the JSON; ``round_sizes`` rounds each N to two
    significant digits (D still C/(6N)), which keeps the bracket but not exact symmetry."""
    from .allocation import Allocator, resolve_params

    if isinstance(sizes, bool) or not isinstance(sizes, int) or sizes < 3:
        raise ConfigError(f"--sizes {clip(sizes)}: a plan needs at least 3 sizes per budget, "
                          "to place a minimum between them")
    spread = DEFAULT_SPREAD if spread is None else spread
    if isinstance(spread, bool) or not isinstance(spread, (int, float)) or not (
            math.isfinite(spread) and 0 < spread <= 3):
        raise ConfigError(f"--spread {clip(spread)}: give the half-width of the sizes in "
                          "decades of N, above 0 and at most 3 (0.6 is x/÷ 4)")
    budget_list = budgets_around(flops, budgets)
    params, law_obj, where = resolve_params(source, law)
    alloc = Allocator(law_obj, params)  # refuses a law that is not of N and D
    rows = []
    for C in budget_list:
        n_opt, _, method = alloc.optimum(C)
        grid = [n_opt * 10 ** (spread * (2 * i / (sizes - 1) - 1)) for i in range(sizes)]
        if round_sizes:
            grid = [float(f"{n:.2g}") for n in grid]
            if len(set(grid)) < sizes:
                raise ConfigError(f"--round makes two sizes at {C:g} FLOPs equal: widen "
                                  "--spread or plan fewer --sizes")
        for n in grid:
            d = C / (6.0 * n)
            rows.append({"name": run_name(C, n), "flops": C, "n_params": n, "tokens": d,
                         "tokens_per_param": d / n, "predicted_loss": _loss(alloc, n, d),
                         "n_opt": n_opt, "params_source": where})
    factor = 10 ** spread
    table = Table(rows, [("name", "run"), ("flops", "C (FLOPs)"), ("n_params", "N"),
                         ("tokens", "D = C/6N"), ("tokens_per_param", "D/N"),
                         ("predicted_loss", "predicted loss"), ("n_opt", "N opt")],
                  f"sweep plan: {len(budget_list)} budget(s) x {sizes} sizes",
                  f"parameters: {where}; sizes x/÷ {factor:.3g} around each budget's N opt "
                  f"({method}){', rounded to 2 digits' if round_sizes else ''}",
                  csv_extra=[("params_source", "params_source")])
    table.notes.append(f"parameters: {where}")
    total = sum(r["flops"] for r in rows)
    table.json = {"parameters_from": where, "budgets": budget_list, "sizes": sizes,
                  "spread_decades": spread, "runs": rows}
    if total_compute:
        from ..numbers import fmt

        table.json["total_flops"] = total
        table.notes.append(f"total compute of the plan: {fmt(total)} FLOPs over {len(rows)} "
                           "runs")
    return table


def _loss(alloc, n: float, d: float) -> float:
    try:
        return alloc.loss(n, d)
    except (ArithmeticError, ValueError):
        return math.nan


def run_name(C: float, n: float) -> str:
    """``c1e21-n2.1e9``: the budget and the size, short enough to name a run."""
    return f"c{_short(C, 2)}-n{_short(n, 2)}"


def _short(x: float, digits: int) -> str:
    exp = math.floor(math.log10(x))
    mant = round(x / 10 ** exp, digits - 1)
    if mant >= 10:
        mant, exp = mant / 10, exp + 1
    return f"{mant:g}e{exp}"
