"""Numbers as people type them: ``125M``, ``2.5B``, ``1.4T``, ``10k``, ``1e21``, ``3_000``.

One parser below every layer, so a model size, a token count or a compute budget reads the
same wherever it is typed (an option, a ``--where`` filter, a YAML config). The suffixes are
the ones model names use: k = 1e3, M = 1e6, B = G = 1e9, T = 1e12, P = 1e15 (either case:
``pythia-160m`` means 160 million). A letter that is not one of them is refused, never read
as something else.
"""

from __future__ import annotations

import math
import re

SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_QUANTITY = re.compile(r"^\s*([+-]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")
HINT = "use a number such as 7e9, or one with a suffix: 125M, 2.5B, 1.4T (k, M, B, T, P)"


class UnitError(ValueError):
    """Text that is not a number with a known unit suffix; the message says why."""


def parse_quantity(text: object) -> float:
    """``"2.5B"`` -> 2.5e9; plain numbers (int, float, ``"1e21"``, ``"inf"``) as they are.
    Raises :class:`UnitError` for a suffix that is not one, or text that is not a number."""
    if isinstance(text, bool):
        raise UnitError(f"{text!r} is not a number")
    if isinstance(text, (int, float)):
        return float(text)
    if not isinstance(text, str):
        raise UnitError(f"{text!r} is not a number")
    try:
        return float(text)
    except ValueError:
        pass
    m = _QUANTITY.match(text)
    if not m:
        raise UnitError(f"{text.strip()!r} is not a number ({HINT})")
    number, suffix = m.groups()
    scale = SUFFIXES.get(suffix.lower()) if len(suffix) == 1 else None
    if scale is None:
        raise UnitError(f"{text.strip()!r}: {suffix!r} is not a unit suffix ({HINT})")
    value = float(number.replace("_", "")) * scale
    # 2.5B is 2.5e9 exactly as typed, not 2.5 * 1e9 = 2500000000.0000005
    return float(f"{value:.15g}") if math.isfinite(value) else value


def log_range(lo: float, hi: float, steps: int) -> list[float]:
    """``steps`` values log-spaced from ``lo`` to ``hi``, ends included (``lo..hi`` ranges of
    budgets and grids), rounded to 15 digits so 1e19..1e25 gives 1e23, not
    1.0000000000000001e23."""
    if steps == 1 or lo == hi:
        return [lo]
    a, b = math.log10(lo), math.log10(hi)
    return [float(f"{10 ** (a + (b - a) * i / (steps - 1)):.15g}") for i in range(steps)]
