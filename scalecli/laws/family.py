"""A family of laws made on demand from options: BNSL with K breaks.

A family registers under one name like any law. ``get_law("bnsl", breaks=3)`` asks it for a
member; a name with a numeric suffix (``bnsl-3``) sets the family's one integer ``option``, so
names of saved fits resolve without the registry knowing any family by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .base import Law


@dataclass(frozen=True)
class LawFamily:
    """``make(**options)`` returns a member law; ``option`` is the integer option a name
    suffix sets (``name-K``); ``summary`` describes the family in listings."""

    name: str
    make: Callable[..., Law]
    option: str = ""
    summary: str = ""

    def member(self, **options: Any) -> Law:
        """The member law for ``options`` (the family's default with none)."""
        unknown = sorted(k for k in options if k != self.option)
        if unknown:
            takes = f"the option {self.option}" if self.option else "no options"
            raise ConfigError(f"law {self.name} takes {takes}, not {', '.join(unknown)}")
        law = self.make(**options)
        if not isinstance(law, Law):
            raise ConfigError(f"law family {self.name} made {type(law).__name__}, not a law")
        return law
