"""Data far from a law's start grid are scaled by powers of ten before the search.

A start grid is written for data of some size (Chinchilla's for models of 1e3 to 1e13
parameters and losses of 1e-2 to 1e2: :attr:`Law.spans`). A variable, or the target, whose values
leave that span is divided by the power of ten that centres it there; the search runs on the
scaled data, and :meth:`Law.rescale` maps the optimum back exactly (the law is the same function
in other units). Scaling is skipped, with a note, when it cannot be exact: a law that cannot
rescale, a target in log1p or linear space (the objective is not invariant), or a held parameter
whose scaled value would depend on a free one (A held while alpha is fitted).
"""

from __future__ import annotations

import math


def choose(law, X: dict, y, objective) -> dict[str, float]:
    """Powers of ten for the variables (by symbol) and the target ("y") that lie outside
    the law's spans; {} when none do."""
    import numpy as np

    spans = law.scale_spans()
    data = {**X, "y": y} if objective.space == "log" else dict(X)
    out = {}
    for name, (lo, hi) in spans.items():
        if name not in data:
            continue
        v = np.asarray(data[name], dtype=float)
        if v.size == 0 or not np.all(v > 0) or (v.min() >= lo and v.max() <= hi):
            continue
        shift = round(float(np.mean(np.log10(v))) - 0.5 * (math.log10(lo) + math.log10(hi)))
        if shift:
            out[name] = 10.0 ** shift
    return out


def held_scaled(law, fixed: dict[str, float], scales: dict[str, float]):
    """The held values in the scaled problem, or None when one depends on a free parameter
    (or the law cannot rescale). Two probes that differ only in the free parameters must map
    every held parameter alike."""
    import numpy as np

    if not fixed:
        return {}
    inverse = {k: 1.0 / v for k, v in scales.items()}
    probes = []
    for shift in (0.0, 0.37):
        theta = []
        for p in law.parameters:
            if p.name in fixed:
                theta.append(p.to_internal(fixed[p.name]))
            else:
                theta.append(p.to_internal(p.init[0]) + shift)
        probes.append(law.rescale(np.array([theta]), inverse))
    if probes[0] is None:
        return None
    out = {}
    for i, p in enumerate(law.parameters):
        if p.name in fixed:
            a, b = float(probes[0][0, i]), float(probes[1][0, i])
            if not (a == b or (math.isnan(a) and math.isnan(b))):
                return None
            out[p.name] = p.to_natural(a)
    return out


def describe(law, scales: dict[str, float]) -> str:
    """The note a scaled fit carries."""
    parts = [f"{'the target' if k == 'y' else k} by {v:g}" for k, v in scales.items()]
    return (f"data divided by powers of ten before the search ({', '.join(parts)}), as they lie "
            f"far from {law.name}'s start grid; the optimum is mapped back exactly")
