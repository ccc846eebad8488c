"""The one number formatter of every table and report (it lives below every layer, in
:mod:`scalecli.numbers`, so results can format their own text with the same rule)."""

from __future__ import annotations

from ..numbers import fmt

__all__ = ["fmt"]
