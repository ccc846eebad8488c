"""Writes configs/<law>.yaml for every built-in law, from the law as the code defines it.

A built-in law is the same thing a user's config defines: its formula, variables, parameters
(bounds, start grid, log coordinates) and the objective its paper fitted. tests/test_configs.py
checks that each file still equals its law and that, renamed, it fits as a custom law to the
same optimum.

    python scripts/make_law_configs.py
"""

from __future__ import annotations

import math
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def number(v: float) -> str:
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    return repr(float(v))


def render(law) -> str:
    objective = {"loss": "huber", "delta": 1e-3, "space": "log", **law.fit_defaults}
    lines = [f"# {law.name}: {law.summary or law.formula}", f"# Source: {law.source}."]
    if law.defaults:
        lines.append(f"# Published values ({law.defaults_source.removeprefix('published: ')})")
        lines.append("# are the law's defaults for `scalecli optimal` and `predict`.")
    lines += [
        "# Generated from the code by scripts/make_law_configs.py. Copy it to change bounds,",
        "# starts or the objective; rename the law to fit the formula as a custom law.",
        f"#   scalecli fit runs/ --config configs/{law.name}.yaml",
        "law:",
        f"  name: {law.name}",
        f'  formula: "{law.formula}"',
        "  variables: {" + ", ".join(f"{k}: {v}" for k, v in law.variables.items()) + "}",
        f"  target: {law.target}",
        "  parameters:",
    ]
    for p in law.parameters:
        init = ", ".join(number(v) for v in p.init)
        log = ", log: true" if p.log else ", log: false"
        lines.append(f"    {p.name}: {{bounds: [{number(p.bounds[0])}, {number(p.bounds[1])}]"
                     f"{log}, init: [{init}]}}")
    lines += ["  fixed: {}", "fit:", f"  loss: {objective['loss']}",
              f"  delta: {number(objective['delta'])}", f"  space: {objective['space']}", ""]
    return "\n".join(lines)


def main() -> None:
    from scalecli.laws import all_laws

    for law in all_laws():
        path = CONFIGS / f"{law.name}.yaml"
        if path.exists() and "Generated from the code" not in path.read_text():
            print(f"kept {path.relative_to(CONFIGS.parent)} (written by hand)")
            continue
        path.write_text(render(law))
        print(f"wrote {path.relative_to(CONFIGS.parent)}")


if __name__ == "__main__":
    main()
