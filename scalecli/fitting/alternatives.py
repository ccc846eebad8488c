"""Fits that are not unique: other optima the multi-start search reached at an objective
within ``tolerance`` of the best, at clearly different parameters. Such a fit has a flat
valley (Muennighoff et al.'s data-constrained law has about eleven minima within a fraction of
a percent): its parameters are not identified, though what they imply may still agree.
"""

from __future__ import annotations

DEFAULT_TOLERANCE = 0.005  # objective margin: 0.5% above the best
DISTINCT = 0.01  # parameters differing by more than 1% (relative) in any free one


def alternatives(law, opt, fixed: dict, tolerance: float = DEFAULT_TOLERANCE) -> list[dict]:
    """``[{"params", "objective"}]``: the distinct optima (natural units) whose objective lies
    within ``tolerance`` (relative) of the best, best first, the best itself left out."""
    import math

    best = opt.objective
    if not (math.isfinite(best) and best > 0):
        return []
    free = [p.name for p in law.parameters if p.name not in fixed]
    kept = [law.to_natural(opt.theta)]
    out = []
    for f, theta in sorted(zip(opt.history, opt.ends), key=lambda t: t[0]):
        if not f <= best * (1 + tolerance):
            break
        params = law.to_natural(theta)
        if all(differs(params, k, free) for k in kept):
            kept.append(params)
            out.append({"params": {**params, **fixed}, "objective": float(f)})
    return out


def differs(a: dict, b: dict, names: list[str]) -> bool:
    return any(abs(a[n] - b[n]) > DISTINCT * max(abs(a[n]), abs(b[n]), 1e-12) for n in names)


def identified(values: list[dict[str, float]], spread: float = DISTINCT) -> dict[str, bool]:
    """Per quantity: whether every optimum gives it to within ``spread`` (relative)."""
    import math

    out = {}
    for name in values[0]:
        v = [d.get(name, math.nan) for d in values]
        if not all(math.isfinite(x) for x in v):
            out[name] = False
            continue
        hi, lo = max(v), min(v)
        out[name] = hi - lo <= spread * max(abs(hi), abs(lo), 1e-12)
    return out
