"""Values from users, checked the same way wherever they come from (a config, ``--fix``): a
number or text that reads as one, never a bool, never beyond float range; and messages that
quote a value cut short."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


def short(value: Any, limit: int = 40) -> str:
    """``value`` as text cut to ``limit`` characters, for messages."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}… ({len(text)} characters)"


def number(x: Any, path: str, where: str) -> float:
    """``x`` as a float; a bool, a non-number or a number beyond float range is refused. Text
    that reads as a number is one (YAML 1.1 reads ``1e-3``, without a dot, as text)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, str)) or (
            isinstance(x, str) and len(x) > 64):
        raise ConfigError(f"{where}: {path}: {short(x)} is not a number")
    try:
        return float(x)
    except OverflowError:
        raise ConfigError(f"{where}: {path}: {short(x)} is too large for a float") from None
    except ValueError:
        raise ConfigError(f"{where}: {path}: {short(x)} is not a number") from None
