"""The law catalogue as data: one row per registered law, and a law's YAML config to start
a custom fit from (the shipped config when there is one, else written from the law)."""

from __future__ import annotations

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
    shipped = builtin_configs().get(law.name)
    if shipped is not None:
        return shipped.read_text(encoding="utf-8")
    return _write_yaml(law)


def _write_yaml(law) -> str:
    def num(v: float) -> str:
        return ".inf" if v == float("inf") else "-.inf" if v == float("-inf") else repr(v)

    lines = [f"# {law.name}: {law.source}" if law.source else f"# {law.name}",
             f"#   scalecli fit runs/ --config {law.name}.yaml",
             "law:", f"  name: {law.name}", f"  formula: {_quote(law.formula)}",
             "  variables: {" + ", ".join(f"{k}: {v}" for k, v in law.variables.items()) + "}",
             f"  target: {law.target}", "  parameters:"]
    for p in law.parameters:
        init = ", ".join(num(v) for v in p.init)
        log = ", log: true" if p.log else ""
        lines.append(f"    {p.name}: {{bounds: [{num(p.bounds[0])}, {num(p.bounds[1])}]{log}, "
                     f"init: [{init}]}}")
    fit = {"loss": "huber", "delta": 1e-3, "space": "log", **law.fit_defaults}
    lines += ["fit:"] + [f"  {k}: {v}" for k, v in fit.items()]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
