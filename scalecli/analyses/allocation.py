"""Compute-optimal allocation: the N and D that minimize loss at a compute budget C = 6·N·D.

Pure :mod:`math` (no NumPy) so ``scalecli optimal`` starts in a blink. Parameters come from a
saved fit or from the law's published defaults, and every row says which.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..errors import ConfigError, FitError, clip
from ..pairs import positive
from ..units import log_range
from .table import Table


@dataclass
class Allocation:
    """One budget's allocation. ``wasted_flops`` (scoring a planned N or D), ``inference_flops``
    (Sardana et al.'s objective) and ``target_loss`` are set only when asked for."""

    flops: float
    n_params: float
    tokens: float
    tokens_per_param: float
    loss: float
    params_source: str
    method: str = "closed form"
    target_loss: float | None = None
    wasted_flops: float | None = None
    inference_flops: float | None = None
    unique_tokens: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items()
                if v is not None or k in ("flops", "n_params", "tokens", "loss")}


class Allocator:
    """A law with parameters, seen as loss over (N, D): its optimum at a budget (closed form,
    or a golden-section search over log N), the compute that reaches a loss, and the cost of a
    planned allocation. Pure math: no NumPy, no SciPy."""

    def __init__(self, law, params: dict[str, float], *, max_tokens: float | None = None,
                 unique_tokens: float | None = None):
        from .. import schema as S

        self.law, self.params, self.max_tokens = law, params, max_tokens
        cols = {col: sym for sym, col in law.variables.items()}
        if S.N not in cols or S.D not in cols:
            raise ConfigError(f"law {law.name} is not a law of N and D (its variables: "
                              f"{', '.join(f'{k}={v}' for k, v in law.variables.items())})")
        self.n_sym, self.d_sym = cols[S.N], cols[S.D]
        self.extra: dict[str, float] = {}
        others = [sym for col, sym in cols.items() if col not in (S.N, S.D)]
        if unique_tokens is not None:
            if len(others) != 1:
                raise ConfigError(f"--unique-tokens applies to a law with a unique-token variable "
                                  f"(data-constrained); {law.name} has none")
            self.extra[others[0]] = unique_tokens
        elif others:
            raise ConfigError(f"law {law.name} also needs {', '.join(others)}: give "
                              "--unique-tokens for data-constrained")
        self.unique_tokens = unique_tokens

    def loss(self, n: float, d: float) -> float:
        return self.law.value(self.params, {self.n_sym: n, self.d_sym: d, **self.extra})

    def optimum(self, C: float) -> tuple[float, float, str]:
        """(N, D, method) minimizing loss at ``C = 6·N·D`` (with D capped by max_tokens)."""
        if self.max_tokens is None and not self.extra:
            opt = self.law.optimum(self.params, C)
            if opt is not None:
                return opt[0], opt[1], "closed form"
        lo = math.log(max(C / 6.0 / self.max_tokens, 1.0)) if self.max_tokens else 0.0
        hi = math.log(C / 6.0)  # D >= 1 token
        if lo >= hi:
            raise ConfigError(f"budget {C:g} FLOPs cannot train even one parameter within "
                              f"--max-tokens {self.max_tokens:g}")
        u = _golden(lambda x: self._safe(math.exp(x), C / 6.0 / math.exp(x)), lo, hi)
        n = math.exp(u)
        return n, C / (6.0 * n), "numeric (golden section over log N)"

    def _safe(self, n, d):
        try:
            v = self.loss(n, d)
        except (OverflowError, ZeroDivisionError, ValueError):
            return math.inf
        return v if math.isfinite(v) else math.inf

    def best_loss(self, C: float) -> float:
        n, d, _ = self.optimum(C)
        return self.loss(n, d)

    def compute_for_loss(self, target: float) -> float:
        """The least compute whose optimal allocation reaches ``target`` (bisection on log C)."""
        lo, hi = math.log(1e6), math.log(1e40)
        if self.best_loss(math.exp(hi)) > target:
            raise FitError(f"loss {target:g} is not reached below 1e40 FLOPs by {self.law.name} "
                           "with these parameters (is it below the irreducible loss?)")
        if self.best_loss(math.exp(lo)) <= target:
            return math.exp(lo)
        return math.exp(_first_true(lambda u: self.best_loss(math.exp(u)) <= target, lo, hi))

    def tokens_for_loss(self, n: float, target: float) -> float | None:
        """D such that L(n, D) = target (loss falls with D), or None if unreachable at n
        (within max_tokens when D is capped)."""
        lo, hi = 0.0, math.log(self.max_tokens if self.max_tokens else 1e30)
        if self._safe(n, math.exp(hi)) > target:
            return None
        return math.exp(_first_true(lambda u: self._safe(n, math.exp(u)) <= target, lo, hi))

    def params_for_loss(self, d: float, target: float) -> float | None:
        """N such that L(N, d) = target (loss falls with N), or None if unreachable at d."""
        lo, hi = 0.0, math.log(1e30)
        if self._safe(math.exp(hi), d) > target:
            return None
        return math.exp(_first_true(lambda u: self._safe(math.exp(u), d) <= target, lo, hi))

    def with_inference(self, target: float, inference_tokens: float) -> tuple[float, float]:
        """(N, D) reaching ``target`` at least training + inference compute
        ``6·N·D + 2·N·T`` (Sardana et al. 2024, arXiv:2401.00448), D within max_tokens."""

        def total(u):
            n = math.exp(u)
            d = self.tokens_for_loss(n, target)
            return math.inf if d is None else 6.0 * n * d + 2.0 * n * inference_tokens

        u = _golden(total, math.log(1e3), math.log(1e15), scan=200)
        if not math.isfinite(total(u)):
            raise FitError(f"loss {target:g} is not reachable with {self.law.name} at any size")
        n = math.exp(u)
        return n, self.tokens_for_loss(n, target)


def _first_true(holds, lo: float, hi: float, tol: float = 1e-13) -> float:
    """The least u in [lo, hi] where ``holds(u)`` (monotone: false, then true), by bisection;
    ``holds(hi)`` must be true."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if holds(mid):
            hi = mid
        else:
            lo = mid
        if hi - lo < tol:
            break
    return hi


def _golden(f, lo: float, hi: float, scan: int = 64, tol: float = 1e-12) -> float:
    """Minimize f on [lo, hi]: a coarse scan finds the basin (f may be inf in places), then
    golden-section search refines it to ``tol``."""
    xs = [lo + (hi - lo) * i / scan for i in range(scan + 1)]
    vals = [f(x) for x in xs]
    k = min(range(len(xs)), key=vals.__getitem__)
    a, b = xs[max(k - 1, 0)], xs[min(k + 1, scan)]
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol * max(1.0, abs(a)):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    best = min((a, b, xs[k]), key=f)
    return best


def optimal(source, flops=None, *, law: str | None = None, max_tokens: float | None = None,
            unique_tokens: float | None = None, target_loss: float | None = None,
            inference_tokens: float | None = None, n_params: float | None = None,
            tokens: float | None = None) -> list[Allocation]:
    """Compute-optimal allocations.

    Parameters
    ----------
    source:
        A :class:`~scalecli.fitting.FitResult`, a path to a saved fit JSON, or ``None`` for the
        law's published defaults.
    flops:
        A budget or a sequence of budgets, in FLOPs.
    law:
        The law whose defaults to use when ``source`` is None (default ``chinchilla``).
    max_tokens, unique_tokens:
        Cap D; or give the data-constrained law its unique-token budget U.
    target_loss:
        The least compute reaching this loss (no ``flops``); with ``n_params`` or ``tokens``
        the other one that reaches it at that size; with ``inference_tokens`` the N, D
        reaching it at least training + inference compute.
    n_params, tokens:
        Score a planned allocation at each budget: its loss, and ``wasted_flops``, the budget
        minus the compute at which the optimal allocation reaches the same loss.
    """
    for value, option in ((max_tokens, "--max-tokens"), (unique_tokens, "--unique-tokens"),
                          (target_loss, "--target-loss"), (n_params, "--n"),
                          (tokens, "--tokens")):
        positive(value, option)
    positive(inference_tokens, "--inference-tokens", allow_zero=True)
    if n_params is not None and tokens is not None:
        raise ConfigError("give --n or --tokens, not both (the budget or the loss sets the other)")
    if inference_tokens is not None and target_loss is None:
        raise ConfigError("--inference-tokens needs --target-loss (the loss to reach)")
    if target_loss is not None and flops is not None:
        raise ConfigError("give --flops or --target-loss, not both")
    if inference_tokens is not None and (n_params is not None or tokens is not None):
        raise ConfigError("--inference-tokens chooses N and D itself: drop --n/--tokens")
    params, law_obj, where = resolve_params(source, law)
    alloc = Allocator(law_obj, params, max_tokens=max_tokens, unique_tokens=unique_tokens)
    if target_loss is not None:
        return [_for_loss(alloc, where, target_loss, inference_tokens, n_params, tokens)]
    if flops is None:
        raise ConfigError("give --flops, or --target-loss")
    budgets = [flops] if isinstance(flops, (int, float)) else list(flops)
    out = []
    for C in budgets:
        C = check_budget(float(C))
        if n_params is not None or tokens is not None:
            n = n_params if n_params is not None else C / (6.0 * tokens)
            d = tokens if tokens is not None else C / (6.0 * n_params)
            if max_tokens is not None and d > max_tokens * (1 + 1e-12):
                raise ConfigError(f"at {C:g} FLOPs that plan trains on {d:.4g} tokens, above "
                                  f"--max-tokens {max_tokens:g}")
            loss = alloc.loss(n, d)
            wasted = C - alloc.compute_for_loss(loss)
            out.append(Allocation(C, n, d, d / n, loss, where, "planned", None,
                                  wasted_flops=max(wasted, 0.0), unique_tokens=unique_tokens))
            continue
        n, d, method = alloc.optimum(C)
        out.append(Allocation(C, n, d, d / n, alloc.loss(n, d), where, method,
                              unique_tokens=unique_tokens))
    return out


def _for_loss(alloc: Allocator, where: str, target: float, inference_tokens, n_params,
              tokens) -> Allocation:
    """The allocation that reaches ``target``: cheapest, at a given N or D, or cheapest with
    inference counted; every one within --max-tokens."""
    extra = {"unique_tokens": alloc.unique_tokens}
    if inference_tokens is not None:
        n, d = alloc.with_inference(target, inference_tokens)
        return Allocation(6.0 * n * d, n, d, d / n, alloc.loss(n, d), where,
                          "numeric (Sardana et al.)", target,
                          inference_flops=2.0 * n * inference_tokens, **extra)
    if n_params is not None:
        d = alloc.tokens_for_loss(n_params, target)
        if d is None:
            raise FitError(f"a model of {n_params:g} parameters does not reach loss {target:g}"
                           + (" within --max-tokens" if alloc.max_tokens else " at any D"))
        return Allocation(6.0 * n_params * d, n_params, d, d / n_params,
                          alloc.loss(n_params, d), where, "planned N", target, **extra)
    if tokens is not None:
        if alloc.max_tokens is not None and tokens > alloc.max_tokens:
            raise ConfigError(f"--tokens {tokens:g} is above --max-tokens {alloc.max_tokens:g}")
        n = alloc.params_for_loss(tokens, target)
        if n is None:
            raise FitError(f"{tokens:g} training tokens do not reach loss {target:g} at any N")
        return Allocation(6.0 * n * tokens, n, tokens, tokens / n, alloc.loss(n, tokens), where,
                          "planned D", target, **extra)
    C = alloc.compute_for_loss(target)
    n, d, method = alloc.optimum(C)
    return Allocation(C, n, d, d / n, alloc.loss(n, d), where, method, target, **extra)


MIN_FLOPS = 6.0  # one parameter trained on one token
MAX_STEPS = 10_000


def check_budget(C: float) -> float:
    """A compute budget that can train at least one parameter on one token."""
    if not (math.isfinite(C) and C >= MIN_FLOPS):
        raise ConfigError(f"compute budget must be a finite number of FLOPs of at least "
                          f"{MIN_FLOPS:g} (one parameter, one token), got {clip(f'{C:g}')}")
    return C


def allocation_table(rows: list[Allocation]) -> Table:
    """What ``scalecli optimal`` prints: one row per budget, the columns the rows carry."""
    data = [a.to_dict() for a in rows]
    planned = any(a.method.startswith("planned") for a in rows)
    columns = [("flops", "C (FLOPs)"), ("n_params", "N" if planned else "N opt"),
               ("tokens", "D" if planned else "D opt"), ("tokens_per_param", "D/N"),
               ("loss", "loss")]
    for key, head in (("wasted_flops", "wasted C"), ("inference_flops", "inference C")):
        if any(key in r for r in data):
            columns.append((key, head))
    caption = f"parameters: {data[0]['params_source']}; {data[0]['method']}" if data else None
    return Table(data, columns, "compute-optimal allocation", caption,
                 csv_extra=[("params_source", "params_source"), ("method", "method")])


def resolve_params(source, law: str | None = None):
    """``(params, law object, params_source text)`` from a fit, a fit file, or published defaults."""
    from ..fitting.result import FitResult
    from ..laws import get_law

    if source is None:
        law_obj = get_law(law or "chinchilla")
        if not law_obj.defaults:
            raise ConfigError(f"law {law_obj.name} has no published defaults; pass --fit FILE")
        return dict(law_obj.defaults), law_obj, law_obj.defaults_source
    if isinstance(source, FitResult):
        res = source
        where = (f"fit: {source.path}" if source.path
                 else f"fit: {source.law} on {source.n_points} points")
    else:
        res = FitResult.load(source)
        where = f"fit: {source}"
    if law and law.lower() != res.law:
        named = f" {res.path or source}" if not isinstance(source, FitResult) or res.path else ""
        raise ConfigError(f"--law {law} does not match the law of the fit{named} ({res.law}): "
                          f"drop --law, or give a {law} fit")
    law_obj = res.law_object()
    missing = [p for p in law_obj.param_names if p not in res.params]
    if missing:
        raise ConfigError(f"{where}: the fit has no value for {', '.join(missing)} "
                          f"(a {law_obj.name} fit needs {', '.join(law_obj.param_names)})")
    return dict(res.params), law_obj, where


def fit_warnings(source) -> list[str]:
    """What a fit (object or saved file) said may be wrong with it, to repeat wherever its
    parameters are used."""
    from ..fitting.result import FitResult

    if source is None:
        return []
    res = source if isinstance(source, FitResult) else FitResult.load(source)
    where = (f"the fit {source}" if not isinstance(source, FitResult)
             else f"the fit {res.path}" if res.path else "the fit")
    return [f"{where}: {w}" for w in res.warnings]


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
            if not 1 <= steps <= MAX_STEPS:
                raise ConfigError(f"--steps must be from 1 to {MAX_STEPS}, got {clip(steps)}")
            if not (0 < lo <= hi):
                raise ConfigError(f"--flops range {part!r}: need 0 < low <= high")
            out.extend(log_range(lo, hi, steps))
        else:
            out.append(_number(part))
    if not out:
        raise ConfigError("--flops: give a budget such as 1e21, a range 1e19..1e25, or -")
    return out


def _number(text: str) -> float:
    from ..pairs import finite_number

    return check_budget(finite_number(text.strip(), "--flops"))
