"""Prediction grids: ``--n 1e9,3e9,7e9 --tokens 1e11..1e13 --steps 5``, the Cartesian product
of the axes predicted by one vectorized evaluation of the law (``law.predict`` takes arrays), so
a 1000 × 1000 grid costs one NumPy call, not a million Python ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, clip
from ..units import log_range
from .table import Table

MAX_CELLS = 1_000_000  # beyond this a table of predictions is no longer something to read
AXES = (("N", "--n"), ("D", "--tokens"))  # grid axes: name as typed, option that sets it


def axes_where(axes) -> str:
    """The options that set ``axes``, to start a message: ``--n/--tokens: ``."""
    return "/".join(o for k, o in AXES if k in axes) + ": "


@dataclass
class Grid:
    """Where the grid's cells sit in a table's rows: ``rows[start:start + size]``, row-major
    over ``axes`` (each ``(symbol, values)``; the first axis varies slowest)."""

    start: int
    axes: list[tuple[str, list[float]]]

    @property
    def size(self) -> int:
        return math.prod(len(v) for _, v in self.axes)


@dataclass
class PredictionTable(Table):
    """A prediction table; ``grid`` says which rows form the grid, for the heat map."""

    grid: Grid | None = None


def parse_axis(value: Any, steps: int, option: str) -> list[float]:
    """One axis: a number, a list, or text: ``7e9``, ``1e9,3e9,7e9``, ``1B..70B`` (``steps``
    log-spaced values, ends included), or a mix (``1e9,1e10..1e12``); unit suffixes read."""
    from ..pairs import finite_number

    if not 1 <= steps <= MAX_CELLS:
        raise ConfigError(f"--steps must be from 1 to {MAX_CELLS:,}, got {clip(steps)}")
    parts = value.split(",") if isinstance(value, str) else (
        list(value) if isinstance(value, (list, tuple)) else [value])
    out: list[float] = []
    for part in parts:
        text = part.strip() if isinstance(part, str) else part
        if text == "":
            continue
        if isinstance(text, str) and ".." in text:
            lo_s, _, hi_s = text.partition("..")
            lo, hi = (_positive(finite_number(s.strip(), option), option) for s in (lo_s, hi_s))
            if lo > hi:
                raise ConfigError(f"{option} range {clip(text)!r}: the low end is above the high "
                                  "end")
            out.extend(log_range(lo, hi, steps))
        else:
            out.append(_positive(finite_number(text, option), option))
    if not out:
        raise ConfigError(f"{option}: give a value (7e9), a list (1e9,3e9) or a range (1B..70B)")
    return out


def _positive(v: float, option: str) -> float:
    if not v > 0:
        raise ConfigError(f"{option}: {v:g} is not positive (scaling laws are laws of positive "
                          "quantities)")
    return v


def parse_axes(n: Any, d: Any, steps: int) -> dict[str, list[float]]:
    """``{"N": [...], "D": [...]}`` for the axes given; a grid over :data:`MAX_CELLS` refused."""
    axes = {name: parse_axis(v, steps, option)
            for (name, option), v in zip(AXES, (n, d)) if v is not None}
    cells = math.prod(len(v) for v in axes.values())
    if cells > MAX_CELLS:
        sizes = " × ".join(f"{len(v):,} {k}" for k, v in axes.items())
        raise ConfigError(f"the grid has {cells:,} cells ({sizes}); at most {MAX_CELLS:,}: use "
                          "fewer values or a smaller --steps")
    return axes


def grid_rows(law, params: dict[str, float], axes: dict[str, list[float]]
              ) -> tuple[list[dict], Grid]:
    """One row per cell (the law's symbols and ``prediction``), from one call of
    ``law.predict`` over the whole grid; and the grid's shape (start 0). The axes must name
    the law's variables (:func:`scalecli.analyses.prediction.to_symbols` checks a cell)."""
    import numpy as np

    sym_of = {k: _symbol(law, k) for k in axes}
    mesh = np.meshgrid(*(np.asarray(v, dtype=float) for v in axes.values()), indexing="ij")
    X = {sym_of[k]: m.ravel() for k, m in zip(axes, mesh)}
    theta = np.asarray(law.to_internal(params), dtype=float)[None, :]
    with np.errstate(all="ignore"):
        pred = np.asarray(law.predict(theta, X), dtype=float)[0]
    bad = np.flatnonzero(~np.isfinite(pred))
    if bad.size:
        cell = {s: float(x[bad[0]]) for s, x in X.items()}
        raise ConfigError(f"the law cannot be evaluated at {cell} ({bad.size:,} cells)")
    keys = list(X)
    cols = [X[s].tolist() for s in keys]
    rows = [{**dict(zip(keys, vals)), "prediction": p}
            for *vals, p in zip(*cols, pred.tolist())]
    return rows, Grid(0, [(sym_of[k], list(v)) for k, v in axes.items()])


def _symbol(law, name: str) -> str:
    for sym, col in law.variables.items():
        if name.lower() in (sym.lower(), col.lower()):
            return sym
    raise ConfigError(f"{name} is not a variable of {law.name}")
