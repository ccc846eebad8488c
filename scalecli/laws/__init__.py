"""The law registry: ``get_law("chinchilla")``, ``get_law("bnsl", breaks=3)``, ``all_laws()``.

Laws register through ``register_laws(register)`` hooks, built-ins and plugins (entry-point
group ``scalecli.laws``) alike: see :mod:`scalecli.laws.registry`.
"""

from .base import Law, Parameter
from .family import LawFamily
from .registry import ENTRY_POINT_GROUP, all_laws, equation, get_law, register, registered

__all__ = ["ENTRY_POINT_GROUP", "Law", "LawFamily", "Parameter", "all_laws", "equation", "get_law",
           "register", "registered"]
