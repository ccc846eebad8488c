"""One number formatter for every table and report, so the same value reads the same way."""

from __future__ import annotations

import math


def fmt(x, digits: int = 4) -> str:
    """Significant-digit formatting: 0.3478, 482.0, 2.085e+03 -> '2085', 1.4e12 -> '1.4e+12'."""
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
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"
