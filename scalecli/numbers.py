"""Plain number formatting, below every layer: results format their own text reports with it,
and ``report/`` re-exports it, so the same value reads the same way everywhere."""

from __future__ import annotations

import math


def fmt(x, digits: int = 4) -> str:
    """Significant digits, compact exponents: 0.3478 -> '0.3478', 2085.43 -> '2085',
    1.4e12 -> '1.4e12', 5.998e8 -> '5.998e8', 3e-05 -> '3e-5'."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}" if abs(x) < 10**15 else f"{x:.{digits}g}"
    if not isinstance(x, float):
        return str(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        mantissa, _, exponent = f"{x:.{digits - 1}e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{int(exponent)}"
    return f"{x:.{digits}g}"
