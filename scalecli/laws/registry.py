"""Laws by name. Built-in laws register through the same :func:`register` a user's law does."""

from __future__ import annotations

from ..errors import UnknownLawError
from .base import Law

_LAWS: dict[str, Law] = {}
_BUILTINS_LOADED = False


def register(law: Law) -> Law:
    """Add ``law`` to the registry under ``law.name`` (replacing a law of that name)."""
    _LAWS[law.name] = law
    return law


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from . import bnsl, chinchilla, kaplan, overtrain, parscale, power  # noqa: F401  (register)


def get_law(name: str) -> Law:
    """The law registered as ``name``; :class:`UnknownLawError` lists the known names."""
    _load_builtins()
    key = name.lower()
    if key not in _LAWS and key.startswith("bnsl-") and key[5:].isdigit() and int(key[5:]) > 0:
        from .bnsl import bnsl_law  # any number of breaks, made on demand: bnsl-2, bnsl-3...

        return bnsl_law(int(key[5:]))
    try:
        return _LAWS[key]
    except KeyError:
        known = ", ".join(sorted(_LAWS))
        raise UnknownLawError(f"unknown law {name!r}; known laws: {known}") from None


def all_laws() -> list[Law]:
    """Every registered law, by name."""
    _load_builtins()
    return [_LAWS[k] for k in sorted(_LAWS)]
