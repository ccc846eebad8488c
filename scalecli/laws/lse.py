"""Shared arithmetic for laws that are sums of positive power terms, fitted in log space.

``log L = LSE(t_1, ..., t_k)`` where each term ``t_j`` is affine in the (internal) parameters
and in log variables. The Jacobian of the log-sum-exp is the softmax weights times each term's
own Jacobian, which every such law then only has to state.
"""

from __future__ import annotations


def lse(terms):
    """log(sum(exp(terms))) over the first axis, stably; terms is a list of equal-shape arrays."""
    import numpy as np

    stacked = np.stack(np.broadcast_arrays(*terms))
    top = stacked.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return top + np.log(np.exp(stacked - top).sum(axis=0))


def lse_jac(terms, term_jacs):
    """``(log L (M,), J (M, P))`` from terms ``t_j`` (M,) and their Jacobians (M, P)."""
    import numpy as np

    stacked = np.stack(np.broadcast_arrays(*terms))
    top = stacked.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    w = np.exp(stacked - top)
    total = w.sum(axis=0)
    w /= total
    J = sum(w[j][:, None] * term_jacs[j] for j in range(len(terms)))
    with np.errstate(divide="ignore"):
        return top + np.log(total), J


def columns(theta, k):
    """The k-th parameter of every set in ``theta`` (S, P) as an (S, 1) column."""
    return theta[:, k : k + 1]


def shifted(theta, shifts):
    """A copy of ``theta`` (``(P,)`` or ``(S, P)``) with ``shifts[k]`` added to column k;
    a shift is a number or a function of the parameter rows (``(S, P)`` -> ``(S,)``)."""
    import numpy as np

    out = np.array(theta, dtype=float)
    rows = out.reshape(-1, out.shape[-1])
    base = rows.copy()
    for k, shift in shifts.items():
        rows[:, k] += shift(base) if callable(shift) else shift
    return out


def log_scales(scales, *names):
    """``log(scales[name])`` for each name (0 for a name not scaled)."""
    import math

    return [math.log(scales.get(n, 1.0)) for n in names]


def over(numerator: float, denominator):
    """``numerator / denominator``, 0 when the numerator is 0 (an unscaled target leaves a
    scale alone, whatever its exponent)."""
    import numpy as np

    if numerator == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / denominator
