"""The law catalogue as data: one row per registered law, and a law's YAML config to start
a custom fit from (the shipped config when there is one, else written from the law)."""

from __future__ import annotations

import math

from .table import Table


def law_table() -> Table:
    """Name, formula, variables (symbol=default column), parameters and source of each law."""
    from ..laws import all_laws

    laws = all_laws()
    rows = [{"name": law.name, "formula": law.summary or law.formula,
             "variables": ", ".join(f"{k}={v}" for k, v in law.variables.items()),
             "parameters": ", ".join(law.param_names), "target": law.target,
             "defaults": "yes" if law.defaults else "", "source": law.source}
            for law in laws]
    as_json = [{"name": law.name, "formula": law.formula, "variables": dict(law.variables),
                "parameters": law.param_names, "target": law.target,
                "defaults": dict(law.defaults), "source": law.source} for law in laws]
    columns = [("name", "law"), ("formula", "formula"), ("variables", "variables"),
               ("parameters", "parameters"), ("source", "source")]
    return Table(rows, columns, f"{len(rows)} laws", json=as_json)


def law_yaml(name: str) -> str:
    """A config for the law ``name`` that ``--config`` accepts as it is: the shipped config
    (with its comments and sources) or one written from the registered law."""
    from ..config import builtin_configs
    from ..laws import get_law

    law = get_law(name)
    if getattr(law, "curve", False):
        from ..errors import ConfigError

        raise ConfigError(f"{law.name} is a law of the whole loss curve: it has no YAML config;"
                          f" fit it with scalecli fit runs/ --law {law.name}")
    shipped = builtin_configs().get(law.name)
    if shipped is not None:
        return shipped.read_text(encoding="utf-8")
    return config_text(law)


def config_text(law) -> str:
    """The YAML config that is ``law``: formula, variables, parameters (bounds, start grid,
    log coordinates) and the objective its paper fitted; it loads back as the same law."""
    objective = {"loss": "huber", "delta": 1e-3, "space": "log", **law.fit_defaults}
    lines = [f"# {law.name}: {law.summary or law.formula}", f"# Source: {law.source}."]
    if law.defaults:
        lines.append(f"# Published values ({law.defaults_source.removeprefix('published: ')})")
        lines.append("# are the law's defaults for `scalecli optimal` and `predict`.")
    lines += [
        "# Generated from the code (scalecli laws show). Copy it to change bounds,",
        "# starts or the objective; rename the law to fit the formula as a custom law.",
        f"#   scalecli fit runs/ --config {law.name}.yaml",
        "law:",
        f"  name: {law.name}",
        f"  formula: {_quote(law.formula)}",
        "  variables: {" + ", ".join(f"{k}: {v}" for k, v in law.variables.items()) + "}",
        f"  target: {law.target}",
        "  parameters:",
    ]
    for p in law.parameters:
        init = ", ".join(_number(v) for v in p.init)
        log = ", log: true" if p.log else ", log: false"
        lines.append(f"    {p.name}: {{bounds: [{_number(p.bounds[0])}, {_number(p.bounds[1])}]"
                     f"{log}, init: [{init}]}}")
    lines += ["  fixed: {}", "fit:", f"  loss: {objective['loss']}",
              f"  delta: {_number(objective['delta'])}", f"  space: {objective['space']}", ""]
    return "\n".join(lines)


def _number(v: float) -> str:
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    return repr(float(v))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
