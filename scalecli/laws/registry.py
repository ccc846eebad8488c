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


# Built-in law -> the module that registers it: a lookup imports only the module it needs,
# so `scalecli optimal` does not pay for parsing every law in the catalogue.
_BUILTINS = {
    "chinchilla": "chinchilla", "kaplan": "kaplan", "kaplan-n": "kaplan", "kaplan-d": "kaplan",
    "kaplan-s": "kaplan",
    "overtrain": "overtrain", "overtrain-error": "overtrain", "parscale": "parscale",
    "power": "power", "bnsl": "bnsl", "data-constrained": "data_constrained",
}


def _load(module: str) -> None:
    import importlib

    importlib.import_module(f"{__package__}.{module}")


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        for module in sorted(set(_BUILTINS.values())):
            _load(module)


def get_law(name: str) -> Law:
    """The law registered as ``name``; :class:`UnknownLawError` lists the known names."""
    key = name.lower()
    if key not in _LAWS and key in _BUILTINS:
        _load(_BUILTINS[key])
    if key not in _LAWS and key.startswith("bnsl-") and key[5:].isdigit() and int(key[5:]) > 0:
        from .bnsl import bnsl_law  # any number of breaks, made on demand: bnsl-2, bnsl-3...

        return bnsl_law(int(key[5:]))
    if key not in _LAWS:
        _load_builtins()
    try:
        return _LAWS[key]
    except KeyError:
        known = ", ".join(sorted(_LAWS))
        raise UnknownLawError(f"unknown law {name!r}; known laws: {known}") from None


def all_laws() -> list[Law]:
    """Every registered law, by name."""
    _load_builtins()
    return [_LAWS[k] for k in sorted(_LAWS)]
