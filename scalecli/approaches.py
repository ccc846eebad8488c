"""Approach 3 beside approaches 1 and 2: the parametric fit's exponents and allocations.

Hoffmann et al. (2022) trust their compute-optimal exponents because three methods agree;
``frontier`` and ``isoflop`` therefore also fit the parametric law to the same runs and report
its a = beta/(alpha+beta), b = alpha/(alpha+beta) and N_opt, D_opt at the requested budgets.
"""

from __future__ import annotations

from .errors import ScaleCLIError


def approach3(frames, flops=None, *, law: str = "chinchilla", mapping=None) -> dict:
    """``{"a", "b", "params", "predictions"}`` of the parametric fit, or ``{"error"}`` when the
    runs cannot identify it (the other approaches still stand)."""
    from .allocation import optimal
    from .api import fit

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


def render_approach3(d: dict, fmt_name: str) -> str:
    """Approach 3's exponents and predictions as a small table (not for json/csv)."""
    from .report.tables import render

    if "error" in d:
        return f"approach 3 ({d['law']}): not fitted: {d['error']}\n"
    rows = [{"q": "a (N_opt ∝ C^a)", "v": d.get("a")}, {"q": "b (D_opt ∝ C^b)", "v": d.get("b")}]
    text = render(rows, [("q", "approach 3"), ("v", "value")], fmt_name,
                  title=f"approach 3 ({d['law']} fit on {d['n_points']} runs), for comparison")
    if d["predictions"]:
        text += render(d["predictions"], [("flops", "C (FLOPs)"), ("n_opt", "N opt"),
                                          ("tokens_opt", "D opt"), ("tokens_per_param", "D/N"),
                                          ("loss_opt", "loss")], fmt_name)
    return text
