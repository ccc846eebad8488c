"""How a law asks to be fitted: search plans that a law declares and the fitter carries out.

A law is math, so it never runs an optimizer itself. :meth:`~scalecli.laws.base.Law.search_plan`
returns one of these plain descriptions, and :mod:`scalecli.fitting` executes it:

- :class:`StartGrid` (the default): the Cartesian product of the parameters' start values,
  scored at once, the best starts refined by L-BFGS-B with analytic gradients;
- :class:`ClosedForm`: the optimum computed directly (the power law's log-log least squares);
- :class:`GridLeastSquares`: a grid scored by the law's own vectorized scorer, then
  Levenberg-Marquardt from the best starts (BNSL, as its authors fit it).

Anything a plan holds that computes (``solve``, ``score``) is a pure NumPy function of the data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StartGrid:
    """The standard multi-start search over the parameters' ``init`` values.

    ``extra`` adds start values (natural units) to some parameters' grids, e.g. BNSL's breaks
    also turning the curve up (each c negated).
    """

    extra: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ClosedForm:
    """An optimum in closed form: ``solve(X, y)`` returns theta in internal coordinates (fixed
    parameters included); a weighted fit calls ``solve(X, y, weights=w)`` (one weight per
    point, mean 1). ``message`` says what was solved."""

    solve: Callable[[dict, Any], list[float]]
    message: str


@dataclass(frozen=True)
class GridLeastSquares:
    """Score every start of ``grids`` with ``score``, then refine by least squares
    (Levenberg-Marquardt, unbounded) from the best starts: for a mean-squared-error objective.

    grids:
        Each grid is one tuple of start values per parameter (internal coordinates, formula
        order; a fixed parameter has one value). The first grid's best start is refined first
        (the procedure a paper prescribes); then the lowest starts of all grids.
    score:
        ``score(axes, X, t, ix, weights=None)``: the objective of the starts ``axes[p][ix[p]]``
        (``ix`` one index array per parameter) on data ``X`` whose target in residual space is
        ``t``; with ``ix=None``, of the whole grid in C order (the law may factor the product).
        ``weights`` (one per point, mean 1) weight each point's squared residual; it is passed
        only when the fit is weighted.
    labels:
        How each grid is named in the fit's message ("with the breaks' c negated").
    refine, first_nfev, nfev:
        At most ``refine`` starts are refined; the first with at most ``first_nfev``
        evaluations, the others with ``nfev``.
    """

    grids: tuple[tuple[tuple[float, ...], ...], ...]
    score: Callable[..., Any]
    labels: tuple[str, ...] = ()
    refine: int = 8
    first_nfev: int = 5000
    nfev: int = 1000
