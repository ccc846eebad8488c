"""What a fit cannot be trusted on, said before or after the search.

Refusals (:func:`refusals`, a FitError): data that cannot identify the law at all: targets all
equal, a variable with one value for a law whose every variable has its own term (one model
size, one token count), no more points than free parameters.

Warnings (:func:`before`, :func:`after`): a result that stands but may mislead: few points per
parameter; a target that rises along a variable the law can only fall with; a parameter that
ended at (or, under an unbounded method, beyond) one of its bounds; an optimizer that did not
report convergence or gave no status at all.
"""

from __future__ import annotations

from ..errors import FitError

_NAMES = {"N": "model size", "D": "token count"}


def refusals(law, X: dict, y, n_free: int) -> list[str]:
    """Raise FitError for data that cannot identify ``law``; return warnings for a variable
    with one value where the law may still be identified (a formula law)."""
    import numpy as np

    n = len(y)
    warnings = []
    for sym, v in X.items():
        if n and np.unique(v).size < 2:
            what = _NAMES.get(sym, f"value of {sym}")
            head = f"all {n} points have one {what} ({sym}={v[0]:.4g})"
            if law.falls or len(X) == 1:
                raise FitError(f"{head}: {law.name} needs at least two to separate the "
                               f"{sym} term from the rest")
            warnings.append(f"{head}: parameters acting through {sym} alone are not identified")
    if n > 1 and float(np.ptp(y)) <= 1e-12 * float(np.max(np.abs(y))):
        raise FitError(f"all {n} points have the same target ({y[0]:.6g}): nothing for "
                       f"{law.name} to fit (is the metric logged correctly?)")
    if n <= n_free:
        raise FitError(
            f"{n} point(s) for the {n_free} free parameters of {law.name}: a fit needs more "
            "points than parameters (add runs, or hold parameters with --fix or a config's "
            "'fixed')")
    if n < 2 * n_free:
        warnings.append(f"only {n} points for {n_free} free parameters (fewer than twice as "
                        "many): the fit may be poorly determined")
    return warnings


def rising(law, X: dict, y, r2: float) -> list[str]:
    """For a law that can only fall along its variables: a fit that explains little of the
    target (R² below 0.5) while the target rises with a variable (correlation of the logs
    above 0.3) missed a rise it cannot describe. A good fit is never second-guessed: where
    variables move together a regression's own slopes say little."""
    import numpy as np

    if not law.falls or not r2 < 0.5 or not np.all(np.asarray(y) > 0):
        return []
    t = np.log(y)
    out = []
    for sym, v in X.items():
        if np.unique(v).size < 2:
            continue
        corr = float(np.corrcoef(np.log(v), t)[0, 1])
        if corr > 0.3:
            out.append(f"the target rises with {sym} (correlation of the logs {corr:+.2f} over "
                       f"{len(t)} points), but {law.name} can only fall with it: the fit "
                       f"(R² = {r2:.2g}) does not describe these data")
    return out


def at_bounds(law, theta, fixed: dict) -> list[str]:
    """Free parameters that ended at, or beyond, a finite bound."""
    import math

    out = []
    for p, t in zip(law.parameters, theta):
        if p.name in fixed:
            continue
        lo, hi = p.internal_bounds()
        hi = None if p.log and not math.isfinite(p.bounds[1]) else hi  # the e^700 cap
        for side, b, beyond in (("lower", lo, t < (lo or 0)), ("upper", hi, t > (hi or 0))):
            if b is None or not math.isfinite(t):
                continue
            shown = p.bounds[0] if side == "lower" else p.bounds[1]
            if abs(t - b) <= 1e-9 * max(1.0, abs(b)):
                out.append(f"{p.name} ended at its {side} bound {shown:g}: the data do not pin "
                           "it inside its range (the fit may be degenerate)")
            elif beyond:
                out.append(f"{p.name} = {p.to_natural(t):.4g} lies beyond its {side} bound "
                           f"{shown:g} (the search method is unbounded)")
    return out


def optimizer(opt) -> list[str]:
    """An optimizer that did not report convergence, or reported nothing."""
    message = str(opt.message or "").strip()
    if not message:
        return ["the optimizer gave no status message: whether it converged is unknown"]
    if not opt.converged:
        return [f"the optimizer did not report convergence: {message}"]
    return []
