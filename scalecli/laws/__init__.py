"""The law registry: ``get_law("chinchilla")``, ``register(law)``, ``all_laws()``."""

from .base import Law, Parameter
from .registry import all_laws, get_law, register

__all__ = ["Law", "Parameter", "all_laws", "get_law", "register"]
