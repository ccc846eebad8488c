"""Approach 3 beside approaches 1 and 2: the parametric fit's exponents and allocations.

Hoffmann et al. (2022) trust their compute-optimal exponents because three methods agree;
``frontier`` and ``isoflop`` therefore also fit the parametric law to the same runs and report
its a = beta/(alpha+beta), b = alpha/(alpha+beta) and N_opt, D_opt at the requested budgets.
"""

from __future__ import annotations

from ..errors import ScaleCLIError


def approach3(frames, flops=None, *, law: str = "chinchilla", mapping=None) -> dict:
    """``{"a", "b", "params", "predictions"}`` of the parametric fit, or ``{"error"}`` when the
    runs cannot identify it (the other approaches still stand)."""
    from ..pipeline import fit
    from .allocation import optimal

    try:
        res = fit(frames, law, mapping=mapping)
    except ScaleCLIError as exc:
        return {"law": law, "error": str(exc)}
    p = res.params
    out = {"law": law, "params": p, "converged": res.converged, "n_points": res.n_points}
    if "alpha" in p and "beta" in p:
        out["a"] = p["beta"] / (p["alpha"] + p["beta"])
        out["b"] = p["alpha"] / (p["alpha"] + p["beta"])
    out["predictions"] = [
        {"flops": r.flops, "n_opt": r.n_params, "tokens_opt": r.tokens,
         "tokens_per_param": r.tokens_per_param, "loss_opt": r.loss}
        for r in (optimal(res, list(flops)) if flops else [])]
    return out
