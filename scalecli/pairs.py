"""``NAME=VALUE,...`` lists: the one syntax behind ``--map``, ``--fix``, ``--at`` and
``--params``, parsed and refused in one place so every option says the same thing."""

from __future__ import annotations

import math

from .errors import ConfigError, clip


def parse_pairs(text: str | None, option: str, *, example: str = "NAME=VALUE"
                ) -> dict[str, str]:
    """``"a=1, b=x"`` -> ``{"a": "1", "b": "x"}``; a part that is not NAME=VALUE, an empty
    name or value, or a name given twice is refused naming ``option``."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ConfigError(f"{option} entry {clip(part)!r} is not {example}")
        if name in out:
            raise ConfigError(f"{option}: {clip(name)} is given twice")
        out[name] = value
    return out


def finite_number(text: object, what: str, *, infinite: bool = False) -> float:
    """A finite float from ``text``, unit suffixes read (``2.5B``, see :mod:`scalecli.units`;
    ``infinite`` lets ±inf through, as for a bound; NaN
    never); ``what`` names it in the refusal."""
    if isinstance(text, bool):
        raise ConfigError(f"{what}: {text!r} is not a number")
    from .units import UnitError, parse_quantity

    try:
        value = parse_quantity(text)
    except (UnitError, OverflowError) as exc:
        raise ConfigError(f"{what}: {clip(exc, 300)}") from None
    if math.isnan(value) or (math.isinf(value) and not infinite):
        raise ConfigError(f"{what}: {clip(text)} is not a finite number")
    return value


def parse_numbers(text: str | None, option: str, *, example: str = "NAME=NUMBER"
                  ) -> dict[str, float]:
    """``"N=7e9,D=1.4e12"`` -> ``{"N": 7e9, "D": 1.4e12}``; every value finite."""
    return {name: finite_number(value, f"{option} {name}")
            for name, value in parse_pairs(text, option, example=example).items()}


def positive(value: float | None, option: str, *, allow_zero: bool = False) -> float | None:
    """``value`` unchanged when it is a finite number above zero (or None); else refused."""
    if value is None:
        return None
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        need = "zero or more" if allow_zero else "a positive number"
        raise ConfigError(f"{option} must be {need}, got {clip(f'{value:g}')}")
    return value
