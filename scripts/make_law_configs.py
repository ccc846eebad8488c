"""Writes scalecli/configs/<law>.yaml for every built-in law, from the law as the code defines it.

A built-in law is the same thing a user's config defines: its formula, variables, parameters
(bounds, start grid, log coordinates) and the objective its paper fitted. tests/test_configs.py
checks that each file still equals its law and that, renamed, it fits as a custom law to the
same optimum.

    python scripts/make_law_configs.py
"""

from __future__ import annotations

from pathlib import Path

from scalecli.analyses.catalogue import config_text

CONFIGS = Path(__file__).resolve().parent.parent / "scalecli" / "configs"


def main() -> None:
    from scalecli.laws import all_laws

    for law in all_laws():
        if getattr(law, "curve", False):  # fitted to whole curves: no YAML config
            continue
        path = CONFIGS / f"{law.name}.yaml"
        if path.exists() and "Generated from the code" not in path.read_text():
            print(f"kept {path.relative_to(CONFIGS.parent)} (written by hand)")
            continue
        path.write_text(config_text(law))
        print(f"wrote {path.relative_to(CONFIGS.parent)}")


if __name__ == "__main__":
    main()
