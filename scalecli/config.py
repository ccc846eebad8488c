"""YAML configs: which law, its parameters' bounds and starts, the objective, the columns.

```yaml
law:
  name: chinchilla
  formula: "E + A / N**alpha + B / D**beta"   # optional for a built-in law; must match it
  variables: {N: n_params, D: tokens}         # formula symbol -> runs column
  target: loss                                # metric to fit
  parameters:                                 # override bounds / start grid of any parameter
    alpha: {bounds: [0, 2], init: [0.1, 0.3, 0.5]}
  fixed: {E: 1.69}                            # held at that value
fit: {loss: huber, delta: 1.0e-3, space: log, seed: 0}
data: {columns: {N: params, D: tokens_seen, loss: eval/loss}, reduce: last}
```
Read with ``yaml.safe_load`` only; every unknown key or inconsistent bound is refused with the
file and the key's path.

A ``law.name`` that is not registered, or a ``law.formula`` that differs from the registered
law of that name, defines a custom law from the formula (:mod:`scalecli.laws.custom`: every
parameter then needs bounds, and every formula name is a variable or a parameter). A built-in
name with its own formula (or none) is the built-in law with the config's overrides.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnknownLawError
from .fitting.objective import Objective
from .laws import Law, Parameter, get_law
from .schema import ROLE_NAMES

_KEYS = {
    "": {"law", "fit", "data"},
    "law": {"name", "formula", "variables", "target", "parameters", "fixed"},
    "law.parameters.*": {"bounds", "init", "log"},
    "fit": {"loss", "delta", "space", "seed"},
    "data": {"columns", "reduce"},
}


@dataclass
class FitSpec:
    """Everything a fit needs besides the data; built from a config, then CLI overrides."""

    law: Law
    fixed: dict[str, float] = field(default_factory=dict)
    objective: Objective = field(default_factory=Objective)
    mapping: dict[str, str] = field(default_factory=dict)
    reduce: str = "last"
    target: str | None = None
    seed: int = 0


def load_config(path: str | Path) -> FitSpec:
    """Parse and validate a YAML config file."""
    import yaml

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: not valid YAML: {str(exc).splitlines()[0]}") from None
    return spec_from_dict(doc if doc is not None else {}, str(p))


def spec_from_dict(doc: Any, where: str = "config") -> FitSpec:
    """Validate a parsed config (see the module docstring) into a :class:`FitSpec`."""
    _check_keys(doc, "", where)
    law_doc = doc.get("law") or {}
    _check_keys(law_doc, "law", where)
    name = law_doc.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: law.name is required (e.g. chinchilla)")
    formula = law_doc.get("formula")
    try:
        law: Law | None = get_law(name)
    except UnknownLawError as exc:
        if formula is None:
            raise UnknownLawError(str(exc) if where.startswith("--") else
                                  f"{where}: {exc} (or define a law: give law.formula)") from None
        law = None
    if law is None or (formula is not None and _squash(str(formula)) != _squash(law.formula)):
        from .laws.custom import law_from_config  # a custom law: formula, variables, parameters

        law = law_from_config(law_doc, where)
    else:
        law = _builtin(law, law_doc, where)
    fixed = _fixed(law, law_doc.get("fixed") or {}, where)
    if len(fixed) == len(law.parameters):
        raise ConfigError(f"{where}: every parameter of {law.name} is fixed: nothing to fit")
    fit_doc = doc.get("fit") or {}
    _check_keys(fit_doc, "fit", where)
    try:
        objective = Objective(
            loss=str(fit_doc.get("loss", "huber")),
            delta=float(fit_doc.get("delta", 1e-3)),
            space=str(fit_doc.get("space", "log")),
        )
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: fit.delta must be a number") from None
    except ConfigError as exc:
        raise ConfigError(f"{where}: fit: {exc}") from None
    seed = fit_doc.get("seed", 0)
    if not isinstance(seed, int):
        raise ConfigError(f"{where}: fit.seed must be an integer")
    data_doc = doc.get("data") or {}
    _check_keys(data_doc, "data", where)
    mapping = {}
    for role, col in _mapping_of_str(data_doc.get("columns") or {}, "data.columns", where).items():
        canon = ROLE_NAMES.get(role.lower())
        if canon is None:
            raise ConfigError(f"{where}: data.columns: unknown role {role!r}; roles are N, D, C, "
                              "loss, run, step, lr, batch_size")
        mapping[canon] = col
    target = law_doc.get("target")
    return FitSpec(law=law, fixed=fixed, objective=objective, mapping=mapping,
                   reduce=str(data_doc.get("reduce", "last")),
                   target=None if target in (None, "loss") else str(target), seed=seed)


def _builtin(law: Law, law_doc: dict, where: str) -> Law:
    """A registered law with the config's column and parameter overrides."""
    changes: dict[str, Any] = {}
    if "variables" in law_doc:
        variables = _mapping_of_str(law_doc["variables"], "law.variables", where)
        unknown = set(variables) - set(law.variables)
        if unknown:
            raise ConfigError(f"{where}: law.variables: {', '.join(sorted(unknown))} not in the "
                              f"formula (its variables are {', '.join(law.variables)})")
        changes["variables"] = {**law.variables, **variables}
    if "parameters" in law_doc:
        changes["parameters"] = _parameters(law, law_doc["parameters"], where)
    return dataclasses.replace(law, **changes) if changes else law


def _check_keys(doc: Any, path: str, where: str) -> None:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: {path or 'the config'} must be a mapping of keys to values")
    allowed = _KEYS[path]
    for key in doc:
        if key not in allowed:
            at = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: unknown key {at!r}; allowed here: "
                              + ", ".join(sorted(allowed)))


def _mapping_of_str(doc: Any, path: str, where: str) -> dict[str, str]:
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise ConfigError(f"{where}: {path} must map names to column names")
    return {str(k): v for k, v in doc.items()}


def _number(x: Any, path: str, where: str) -> float:
    if isinstance(x, bool):
        raise ConfigError(f"{where}: {path}: {x!r} is not a number")
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {path}: {x!r} is not a number") from None


def _parameters(law: Law, doc: Any, where: str) -> tuple[Parameter, ...]:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: law.parameters must map parameter names to settings")
    unknown = set(doc) - set(law.param_names)
    if unknown:
        raise ConfigError(f"{where}: law.parameters: {', '.join(sorted(map(str, unknown)))} not a "
                          f"parameter of {law.name} ({', '.join(law.param_names)})")
    out = []
    for p in law.parameters:
        spec = doc.get(p.name)
        if spec is None:
            out.append(p)
            continue
        _check_keys(spec, "law.parameters.*", where)
        at = f"law.parameters.{p.name}"
        bounds = p.bounds
        if "bounds" in spec:
            b = spec["bounds"]
            if not isinstance(b, list) or len(b) != 2:
                raise ConfigError(f"{where}: {at}.bounds must be [low, high]")
            bounds = (_number(b[0], at + ".bounds", where), _number(b[1], at + ".bounds", where))
            if not bounds[0] < bounds[1]:
                raise ConfigError(f"{where}: {at}.bounds: low {bounds[0]:g} is not below "
                                  f"high {bounds[1]:g}")
        log = bool(spec.get("log", p.log))
        if log and bounds[0] < 0:
            raise ConfigError(f"{where}: {at}: fitted in log space, so its bounds must be >= 0")
        init = p.init
        if "init" in spec:
            init = init_values(spec["init"], at, where, bounds, log)
        else:
            init_values(list(init), at, where, bounds, log)
        out.append(dataclasses.replace(p, bounds=bounds, init=init, log=log))
    return tuple(out)


def init_values(raw: Any, at: str, where: str, bounds: tuple[float, float],
                log: bool) -> tuple[float, ...]:
    """A parameter's start values (a number or a list), each checked against its bounds."""
    values = tuple(_number(v, at + ".init", where)
                   for v in (raw if isinstance(raw, list) else [raw]))
    if not values:
        raise ConfigError(f"{where}: {at}.init is empty")
    for v in values:
        if not bounds[0] <= v <= bounds[1] or (log and v <= 0):
            raise ConfigError(f"{where}: {at}.init value {v:g} lies outside its bounds "
                              f"[{bounds[0]:g}, {bounds[1]:g}]" + (" (> 0 in log space)"
                                                                    if log else ""))
    return values


def _fixed(law: Law, doc: Any, where: str) -> dict[str, float]:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: law.fixed must map parameter names to values")
    out = {}
    for name, value in doc.items():
        if name not in law.param_names:
            raise ConfigError(f"{where}: law.fixed: {name!r} is not a parameter of {law.name} "
                              f"({', '.join(law.param_names)})")
        v = _number(value, f"law.fixed.{name}", where)
        p = law.parameter(name)
        if not (p.bounds[0] <= v <= p.bounds[1]) or (p.log and v <= 0) or not math.isfinite(v):
            raise ConfigError(f"{where}: law.fixed.{name} = {v:g} lies outside its bounds")
        out[name] = v
    return out


def _squash(text: str) -> str:
    return "".join(text.split())
