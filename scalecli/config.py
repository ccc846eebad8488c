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
fit: {loss: huber, delta: 1.0e-3, space: log, seed: 0}  # overestimate_penalty: 10 (lower envelope)
data: {columns: {N: params, D: tokens_seen, loss: eval/loss}, reduce: last}
# optional: a window on each run's curve and checkpoint points (the command line overrides)
#   data: {window: {min_step: 100, min_tokens: 100M, max_tokens: 2B}, points: all}
#   data: {points: all, skip_fraction: 0.1, smooth: "moving-mean:5", anchor: "x=0,y=1"}
select:                                       # which runs to fit (the command line adds)
  where: "n_params >= 100M and dataset == 'rpj'"   # one filter or a list (all must hold)
  exclude_run: [gpt-20M-*]                    # glob patterns of run names; also include_run
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnknownLawError
from .fitting.objective import Objective, penalty
from .laws import Law, get_law
from .laws.spec import check_keys, override_parameters
from .schema import ROLE_NAMES, check_scale
from .selection import Selection

_KEYS = {
    "": {"law", "fit", "data", "select"},
    "law": {"name", "formula", "variables", "target", "parameters", "fixed"},
    "fit": {"loss", "delta", "space", "seed", "overestimate_penalty"},
    "data": {"columns", "reduce", "window", "points", "skip_fraction", "smooth", "anchor"},
    "select": {"where", "include_run", "exclude_run"},
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
    window: dict[str, float] = field(default_factory=dict)  # data.window's bounds, as given
    points: str | None = None  # data.points: last, all, every:K, at-tokens:LIST
    select: Selection | None = None  # the config's ``select:`` (runs to keep)
    skip_fraction: float | None = None  # data.skip_fraction, data.smooth, data.anchor: points
    smooth: str | None = None  # read from curves (see scalecli.curvepoints)
    anchor: str | None = None


MAX_BYTES = 1 << 20  # a config is a few lines; a megabyte is not a config
MAX_NODES = 100_000  # YAML nodes after alias expansion: an alias bomb stops here


def builtin_configs() -> dict[str, Path]:
    """The configs shipped with scalecli, by name (``chinchilla``, ``papers/epoch2024-...``)."""
    root = Path(__file__).parent / "configs"
    return {p.relative_to(root).with_suffix("").as_posix(): p
            for p in sorted(root.rglob("*.yaml"))}


def config_path(name: str | Path) -> Path:
    """A config file: a path that exists, else a built-in config's name."""
    p = Path(name)
    if p.exists():
        return p
    shipped = builtin_configs()
    key = p.as_posix().removesuffix(".yaml").removesuffix(".yml")
    if key in shipped:
        return shipped[key]
    if p.suffix in (".yaml", ".yml") or "/" in key:
        raise ConfigError(f"{p}: no such config file (built-in configs: "
                          f"{', '.join(shipped)})")
    raise ConfigError(f"no config file or built-in config named {name!r}; built-in configs: "
                      f"{', '.join(shipped)}")


def read_yaml(path: str | Path) -> Any:
    """A YAML document read safely and within bounds: at most MAX_BYTES, at most MAX_NODES
    nodes once aliases are expanded, no Python objects (``yaml.SafeLoader``)."""
    import yaml

    p = Path(path)
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{p}: larger than {MAX_BYTES >> 20} MiB: not a config")
    try:
        loader = yaml.SafeLoader(raw.decode("utf-8"))
        try:
            node = loader.get_single_node()
            if node is not None and _expanded_size(node, {}) > MAX_NODES:
                raise ConfigError(f"{p}: more than {MAX_NODES} values once its aliases are "
                                  "expanded: not a config")
            twice = _key_twice(node, set()) if node is not None else None
            if twice:
                raise ConfigError(f"{p}:{twice[1]}: the key {twice[0]!r} is given twice in one "
                                  "mapping (YAML would keep the last without a word)")
            return loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except (yaml.YAMLError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "nested too deeply"
        raise ConfigError(f"{p}: not valid YAML: {first}") from None


def _key_twice(node, seen: set):
    """(key, line) of the first key given twice in one mapping of the document, else None."""
    import yaml

    if id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                if key.value in keys:
                    return key.value, key.start_mark.line + 1
                keys.add(key.value)
            found = _key_twice(value, seen)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _key_twice(item, seen)
            if found:
                return found
    return None


def _expanded_size(node, seen: dict) -> int:
    """Nodes in the document with every alias expanded (shared nodes counted each time)."""
    key = id(node)
    if key in seen:
        return seen[key]
    seen[key] = MAX_NODES + 1  # a node inside itself (a recursive alias) is too big
    value = node.value
    if isinstance(value, list):
        total = 1
        for item in value:
            for sub in (item if isinstance(item, tuple) else (item,)):
                total += _expanded_size(sub, seen)
                if total > MAX_NODES:
                    break
    else:
        total = 1
    seen[key] = total
    return total


def load_config(path: str | Path) -> FitSpec:
    """Parse and validate a YAML config: a file, or a built-in config's name."""
    p = config_path(path)
    doc = read_yaml(p)
    return spec_from_dict(doc if doc is not None else {}, str(path))


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
    for key in ("loss", "space"):
        if not isinstance(fit_doc.get(key, ""), str):
            raise ConfigError(f"{where}: fit.{key} must be a name (e.g. huber, log)")
    try:
        objective = Objective(
            loss=str(fit_doc.get("loss", "huber")),
            delta=_number(fit_doc.get("delta", 1e-3), "fit.delta", where),
            space=str(fit_doc.get("space", "log")),
            overestimate=penalty(fit_doc.get("overestimate_penalty", 1.0),
                                 "overestimate_penalty"),
        )
    except ConfigError as exc:
        raise ConfigError(exc if str(exc).startswith(where) else f"{where}: fit: {exc}") from None
    seed = fit_doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"{where}: fit.seed must be an integer from 0 to 2**32 - 1")
    data_doc = doc.get("data") or {}
    _check_keys(data_doc, "data", where)
    mapping = {}
    for role, col in _mapping_of_str(data_doc.get("columns") or {}, "data.columns", where).items():
        canon = ROLE_NAMES.get(role.lower())
        if canon is None:
            raise ConfigError(f"{where}: data.columns: unknown role {role!r}; roles are N, D, C, "
                              "loss, run, step, lr, batch_size")
        try:
            check_scale(canon, col, "data.columns")
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        mapping[canon] = col
    target = law_doc.get("target")
    reduce = data_doc.get("reduce", "last")
    if not isinstance(reduce, str) or len(reduce) > 64:
        raise ConfigError(f"{where}: data.reduce must be last, min or mean-last:K")
    if target is not None and not isinstance(target, str):
        raise ConfigError(f"{where}: law.target must be a metric name")
    window, points = _window_and_points(data_doc, where)
    curve = _curve_options(data_doc, law, where)
    return FitSpec(law=law, fixed=fixed, objective=objective, mapping=mapping,
                   reduce=reduce,
                   target=None if target in (None, "loss") else str(target), seed=seed,
                   window=window, points=points,
                   select=_select(doc.get("select"), where), **curve)


def _curve_options(data_doc: dict, law: Law, where: str) -> dict:
    """``data.skip_fraction``, ``data.smooth`` and ``data.anchor``, checked when read."""
    from .curvepoints import check_skip, parse_anchor, parse_smooth

    out = {}
    for key, check in (("skip_fraction", check_skip), ("smooth", parse_smooth),
                       ("anchor", lambda v: parse_anchor(v, law))):
        value = data_doc.get(key)
        if value is None:
            continue
        try:
            check(value)
        except ConfigError as exc:
            raise ConfigError(f"{where}: data.{str(exc).lstrip('-')}") from None
        out[key] = value if key != "skip_fraction" else float(value)
    return out


def _window_and_points(data_doc: dict, where: str) -> tuple[dict[str, float], str | None]:
    """``data.window`` (bounds, units allowed) and ``data.points``, checked here so that a bad
    config fails when read, not at the fit."""
    from .windows import as_window, parse_points

    doc = data_doc.get("window") or {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: data.window must map min_step, min_tokens, max_tokens to "
                          "numbers")
    window = as_window(base=doc, where=f"{where}: data.").to_dict()
    points = data_doc.get("points")
    if points is not None:
        if not isinstance(points, str):
            raise ConfigError(f"{where}: data.points must be last, all, every:K or "
                              "at-tokens:LIST")
        try:
            parse_points(points)
        except ConfigError as exc:
            raise ConfigError(f"{where}: data.{str(exc).lstrip('-')}") from None
    return window, points


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
        changes["parameters"] = override_parameters(law.parameters, law_doc["parameters"],
                                                    law.name, where)
    return dataclasses.replace(law, **changes) if changes else law


def _select(doc: Any, where: str) -> Selection | None:
    """The ``select:`` section: ``where`` filters, ``include_run``/``exclude_run`` patterns,
    each one text or a list of texts."""
    from .errors import ScaleCLIError
    from .selection import as_selection

    if doc is None:
        return None
    _check_keys(doc, "select", where)
    for key, value in doc.items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in items):
            raise ConfigError(f"{where}: select.{key} must be a text or a list of texts")
    try:
        return as_selection(doc.get("include_run"), doc.get("exclude_run"), doc.get("where"))
    except ScaleCLIError as exc:
        raise ConfigError(f"{where}: select: {exc}") from None


def _check_keys(doc: Any, path: str, where: str) -> None:
    check_keys(doc, _KEYS[path], path, where)


def _mapping_of_str(doc: Any, path: str, where: str) -> dict[str, str]:
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise ConfigError(f"{where}: {path} must map names to column names")
    return {str(k): v for k, v in doc.items()}


def _number(x: Any, path: str, where: str) -> float:
    """A number of a config; a bound may be infinite (``.inf``), nothing may be NaN."""
    from .pairs import finite_number

    return finite_number(x, f"{where}: {path}", infinite=path.endswith(".bounds"))


def _fixed(law: Law, doc: Any, where: str) -> dict[str, float]:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: law.fixed must map parameter names to values")
    return law.check_fixed(doc, f"{where}: law.fixed")


def _squash(text: str) -> str:
    return "".join(text.split())
