"""Parameters from the settings a config writes for them (``bounds``, ``init``, ``log``).

A config's ``law.parameters`` either describes a custom law's parameters from scratch
(:func:`parameter_from_spec`) or adjusts a built-in law's (:func:`override_parameters`); both
check their values here, so every path gives the same one-line :class:`ConfigError`, naming
the file and the key, and never echoes a huge value whole.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..errors import ConfigError
from .base import Parameter
from .checks import number, short

PARAMETER_KEYS = frozenset({"bounds", "init", "log"})
LOG_RATIO = 100.0  # a positive range at least this wide (hi/lo) is fitted in log space
MAX_INIT = 10_000  # start values of one parameter: the fit's grid is their product
_QUARTILES = (0.25, 0.5, 0.75)


def check_keys(doc: Any, allowed, path: str, where: str) -> None:
    """``doc`` is a mapping whose keys are all in ``allowed``."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: {path or 'the config'} must be a mapping of keys to values")
    for key in doc:
        if key not in allowed:
            at = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: unknown key {short(at)}; allowed here: "
                              + ", ".join(sorted(allowed)))


def bounds_of(raw: Any, at: str, where: str) -> tuple[float, float]:
    """``[low, high]`` with low < high (either may be infinite)."""
    if not isinstance(raw, list) or len(raw) != 2:
        raise ConfigError(f"{where}: {at}.bounds must be [low, high]")
    lo, hi = (number(x, at + ".bounds", where) for x in raw)
    if not lo < hi:
        raise ConfigError(f"{where}: {at}.bounds: low {lo:g} is not below high {hi:g}")
    return lo, hi


def init_values(raw: Any, at: str, where: str, bounds: tuple[float, float],
                log: bool) -> tuple[float, ...]:
    """A parameter's start values (a number or a list), each finite and inside its bounds."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ConfigError(f"{where}: {at}.init is empty")
    if len(items) > MAX_INIT:
        raise ConfigError(f"{where}: {at}.init has {len(items)} values; at most {MAX_INIT}")
    values = tuple(number(v, at + ".init", where) for v in items)
    for v in values:
        if not math.isfinite(v) or not bounds[0] <= v <= bounds[1] or (log and v <= 0):
            raise ConfigError(f"{where}: {at}.init value {v:g} lies outside its bounds "
                              f"[{bounds[0]:g}, {bounds[1]:g}]" + (" (> 0 in log space)"
                                                                    if log else ""))
    return values


def _log_flag(spec: dict, default: bool, at: str, where: str, lo: float) -> bool:
    log = spec.get("log")
    if log is None:
        log = default
    elif not isinstance(log, bool):
        raise ConfigError(f"{where}: {at}.log must be true or false")
    if log and lo < 0:
        raise ConfigError(f"{where}: {at}: fitted in log space, so its bounds must be >= 0")
    return log


def parameter_from_spec(name: str, spec: Any, where: str) -> Parameter:
    """A custom law's parameter: ``bounds`` required; ``log`` defaults to true for a positive
    range spanning at least LOG_RATIO; ``init`` defaults to the quartiles of the bounds."""
    at = f"law.parameters.{name}"
    if not isinstance(spec, dict) or "bounds" not in spec:
        raise ConfigError(f"{where}: {at} needs bounds: [low, high] (e.g. {{bounds: [0, 10]}})")
    check_keys(spec, PARAMETER_KEYS, "law.parameters.*", where)
    lo, hi = bounds_of(spec["bounds"], at, where)
    log = _log_flag(spec, lo > 0 and hi / lo >= LOG_RATIO, at, where, lo)
    if "init" in spec:
        init = init_values(spec["init"], at, where, (lo, hi), log)
    else:
        init = _default_init(lo, hi, log)
        if init is None:
            raise ConfigError(f"{where}: {at}: give init (start values): its bounds "
                              f"[{lo:g}, {hi:g}] have no finite middle")
    return Parameter(name, (lo, hi), init, log=log)


def override_parameters(parameters: tuple[Parameter, ...], doc: Any, law_name: str,
                        where: str) -> tuple[Parameter, ...]:
    """A built-in law's parameters with a config's ``law.parameters`` applied (new bounds,
    starts or coordinates for some of them); unknown names are refused."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: law.parameters must map parameter names to settings")
    names = [p.name for p in parameters]
    unknown = [str(k) for k in doc if k not in names]
    if unknown:
        raise ConfigError(f"{where}: law.parameters: {short(', '.join(sorted(unknown)))} not a "
                          f"parameter of {law_name} ({', '.join(names)})")
    out = []
    for p in parameters:
        spec = doc.get(p.name)
        if spec is None:
            out.append(p)
            continue
        check_keys(spec, PARAMETER_KEYS, "law.parameters.*", where)
        at = f"law.parameters.{p.name}"
        bounds = bounds_of(spec["bounds"], at, where) if "bounds" in spec else p.bounds
        log = _log_flag(spec, p.log, at, where, bounds[0])
        raw = spec["init"] if "init" in spec else list(p.init)
        init = init_values(raw, at, where, bounds, log)
        out.append(dataclasses.replace(p, bounds=bounds, init=init if "init" in spec else p.init,
                                       log=log))
    return tuple(out)


def _default_init(lo: float, hi: float, log: bool) -> tuple[float, ...] | None:
    """3 starts at the quartiles of the bounds (of their logs for a log parameter)."""
    if log:
        if not (lo > 0 and math.isfinite(hi)):
            return None
        a, b = math.log(lo), math.log(hi)
        return tuple(math.exp(a + q * (b - a)) for q in _QUARTILES)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return tuple(lo + q * (hi - lo) for q in _QUARTILES)
