"""Compute-optimal allocation: the N and D that minimize loss at a compute budget C = 6·N·D.

Pure :mod:`math` (no NumPy) so ``scalecli optimal`` starts in a blink. Parameters come from a
saved fit or from the law's published defaults, and every row says which.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .errors import ConfigError, FitError


@dataclass
class Allocation:
    flops: float
    n_params: float
    tokens: float
    tokens_per_param: float
    loss: float
    params_source: str

    def to_dict(self) -> dict:
        return asdict(self)


def optimal(source, flops, *, law: str | None = None) -> list[Allocation]:
    """Compute-optimal allocations at one or more budgets.

    Parameters
    ----------
    source:
        A :class:`~scalecli.fitting.FitResult`, a path to a saved fit JSON, or ``None`` for the
        law's published defaults.
    flops:
        A budget or a sequence of budgets, in FLOPs.
    law:
        The law whose defaults to use when ``source`` is None (default ``chinchilla``).
    """
    params, law_obj, where = resolve_params(source, law)
    budgets = [flops] if isinstance(flops, (int, float)) else list(flops)
    out = []
    for C in budgets:
        C = float(C)
        if not (C > 0 and math.isfinite(C)):
            raise ConfigError(f"compute budget must be a positive number of FLOPs, got {C:g}")
        opt = law_obj.optimum(params, C)
        if opt is None:
            raise FitError(f"law {law_obj.name} with these parameters has no compute optimum "
                           "(it needs positive A, B, alpha and beta)")
        n, d = opt
        loss = law_obj.value(params, {"N": n, "D": d})
        out.append(Allocation(C, n, d, d / n, loss, where))
    return out


def resolve_params(source, law: str | None = None):
    """``(params, law object, params_source text)`` from a fit, a fit file, or published defaults."""
    from .fitting.result import FitResult
    from .laws import get_law

    if source is None:
        law_obj = get_law(law or "chinchilla")
        if not law_obj.defaults:
            raise ConfigError(f"law {law_obj.name} has no published defaults; pass --fit FILE")
        return dict(law_obj.defaults), law_obj, law_obj.defaults_source
    if isinstance(source, FitResult):
        res, where = source, f"fit: {source.law} on {source.n_points} points"
    else:
        res = FitResult.load(source)
        where = f"fit: {source}"
    if law and law.lower() != res.law:
        raise ConfigError(f"--law {law} does not match the fit's law {res.law}")
    return dict(res.params), get_law(res.law), where


def parse_budgets(text: str, steps: int = 5, stdin=None) -> list[float]:
    """Budgets from ``1e21``, ``1e20,1e21``, ``1e19..1e25`` (``steps`` log-spaced, ends
    included) or ``-`` (whitespace-separated budgets read from ``stdin``)."""
    if text.strip() == "-":
        import sys

        stream = stdin if stdin is not None else sys.stdin
        words = stream.read().split()
        if not words:
            raise ConfigError("--flops -: no budgets on standard input")
        return [b for w in words for b in parse_budgets(w, steps)]
    out: list[float] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if ".." in part:
            lo_s, _, hi_s = part.partition("..")
            lo, hi = _number(lo_s), _number(hi_s)
            if steps < 1:
                raise ConfigError("--steps must be at least 1")
            if not (0 < lo <= hi):
                raise ConfigError(f"--flops range {part!r}: need 0 < low <= high")
            if steps == 1 or lo == hi:
                out.append(lo)
                continue
            a, b = math.log10(lo), math.log10(hi)
            # rounded to 15 digits, so 1e19..1e25 gives 1e23, not 1.0000000000000001e23
            out.extend(float(f"{10 ** (a + (b - a) * i / (steps - 1)):.15g}")
                       for i in range(steps))
        else:
            out.append(_number(part))
    if not out:
        raise ConfigError("--flops: give a budget such as 1e21, a range 1e19..1e25, or -")
    return out


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a number of FLOPs (e.g. 1e21)") from None
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"compute budget must be positive and finite, got {text}")
    return value
