"""Laws by name, filled by hooks: every built-in law module and every plugin exposes
``register_laws(register)`` and calls ``register(law)`` (or ``register(LawFamily(...))``).

Plugins are found as :mod:`llm` finds its plugins, through entry points, here of the group
``scalecli.laws``; in a plugin's ``pyproject.toml``::

    [project.entry-points."scalecli.laws"]
    my_laws = "my_package.laws"      # a module with register_laws(register), or
    my_law = "my_package:register_laws"

Loading is lazy so ``scalecli --help`` and ``scalecli optimal`` stay fast: a built-in name
imports only the module that registers it; plugins are looked up (entry points scanned, which
costs tens of milliseconds) only for a name no built-in has, or to list every law. A name
registered twice is an error naming both sources, raised when the second registers.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ConfigError, UnknownLawError
from .base import Law
from .family import LawFamily

ENTRY_POINT_GROUP = "scalecli.laws"

# Built-in law -> the module whose register_laws registers it (an index, so a lookup imports
# one module; test_registry checks it against what the modules register).
BUILTINS = {
    "chinchilla": "chinchilla", "kaplan": "kaplan", "kaplan-n": "kaplan", "kaplan-d": "kaplan",
    "kaplan-s": "kaplan", "overtrain": "overtrain", "overtrain-error": "overtrain",
    "parscale": "parscale", "power": "power", "bnsl": "bnsl",
    "data-constrained": "data_constrained",
    "sigmoid": "downstream", "log-bleu": "downstream", "coverage": "downstream",
    "multi-power": "curves", "lr-anneal": "curves", "power-area": "curves",
}

_LAWS: dict[str, Law | LawFamily] = {}
_SOURCES: dict[str, str] = {}
_MEMBERS: dict[tuple, Law] = {}  # family members made so far, by (name, options)
_HOOKS_RUN: set[str] = set()
_PLUGINS_LOADED = False


def register(law: Law | LawFamily, source: str = "register()") -> Law | LawFamily:
    """Add ``law`` (or a family of laws) under its name; a name registered by another source
    is a :class:`ConfigError` naming both. Returns ``law``."""
    if not isinstance(law, (Law, LawFamily)):
        raise ConfigError(f"{source} registered {type(law).__name__}, not a law")
    key = law.name.lower()
    if key in _LAWS:
        if _LAWS[key] is law:
            return law
        raise ConfigError(f"law {law.name!r} is registered twice: by {_SOURCES[key]} and by "
                          f"{source}")
    _LAWS[key] = law
    _SOURCES[key] = source
    return law


def run_hook(hook: Any, source: str) -> None:
    """Call ``hook(register)``, every law it registers tagged with ``source``."""
    def register_from(law):
        return register(law, source)

    try:
        hook(register_from)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 (a plugin's bug must not surface as a traceback)
        raise ConfigError(f"{source}: register_laws failed: {type(exc).__name__}: "
                          f"{str(exc)[:200]}") from None


def _load_builtin(module: str) -> None:
    if module in _HOOKS_RUN:
        return
    _HOOKS_RUN.add(module)
    mod = importlib.import_module(f"{__package__}.{module}")
    run_hook(mod.register_laws, f"{__package__}.{module}")


def _load_builtins() -> None:
    for module in sorted(set(BUILTINS.values())):
        _load_builtin(module)


def _load_plugins() -> None:
    """Run the hook of every entry point of ENTRY_POINT_GROUP (after the built-ins, so a
    plugin that reuses a built-in name is caught)."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    _load_builtins()
    import importlib.metadata  # here, not at the top: it costs `scalecli optimal` 20 ms

    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None)
        source = f"plugin {ep.name} = {ep.value}" + (f" ({dist})" if dist else "")
        if source in _HOOKS_RUN:
            continue
        _HOOKS_RUN.add(source)
        try:
            target = ep.load()
        except Exception as exc:  # noqa: BLE001 (any import error of a plugin)
            raise ConfigError(f"{source}: cannot be loaded: {type(exc).__name__}: "
                              f"{str(exc)[:200]}") from None
        hook = getattr(target, "register_laws", target)
        if not callable(hook):
            raise ConfigError(f"{source}: has no register_laws(register) function")
        run_hook(hook, source)


def _find(key: str) -> Law | LawFamily | None:
    if key not in _LAWS and key in BUILTINS:
        _load_builtin(BUILTINS[key])
    if key not in _LAWS:
        _load_plugins()
    return _LAWS.get(key)


def get_law(name: str, **options: Any) -> Law:
    """The law registered as ``name``: ``get_law("chinchilla")``. A family takes options,
    ``get_law("bnsl", breaks=3)``, or one integer option as a suffix, ``get_law("bnsl-3")``.
    :class:`UnknownLawError` lists the known names."""
    if not isinstance(name, str):
        raise UnknownLawError(f"a law name must be text, not {type(name).__name__}")
    key = name.lower()
    found = _find(key)
    if found is None:
        base, _, suffix = key.rpartition("-")
        family = _find(base) if base and suffix.isdigit() and len(suffix) <= 9 else None
        if isinstance(family, LawFamily) and family.option:
            if family.option in options:
                raise ConfigError(f"law {name}: {family.option} given twice (the name says "
                                  f"{suffix})")
            return _member(family, {**options, family.option: int(suffix)})
        raise UnknownLawError(f"unknown law {name!r}{_nearest(key)}; known laws: "
                              f"{', '.join(names())}")
    if isinstance(found, LawFamily):
        return _member(found, options)
    if options:
        raise ConfigError(f"law {found.name} takes no options ({', '.join(options)} given)")
    return found


def _nearest(key: str) -> str:
    """`` (did you mean chinchilla?)`` for a misspelt law name (difflib's closest), else ''."""
    import difflib

    known = [n.split()[0] for n in names()]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    return f" (did you mean {close[0]}?)" if close else ""


def _member(family: LawFamily, options: dict) -> Law:
    key = (family.name.lower(), tuple(sorted(options.items())))
    if key not in _MEMBERS:
        _MEMBERS[key] = family.member(**options)
    return _MEMBERS[key]


def names() -> list[str]:
    """Every registered name, a family's shown with its suffix form (``bnsl``, ``bnsl-K``)."""
    _load_plugins()
    out = []
    for key in sorted(_LAWS):
        entry = _LAWS[key]
        out.append(key)
        if isinstance(entry, LawFamily) and entry.option:
            out.append(f"{key}-K ({entry.option})")
    return out


def registered(name: str) -> Law | None:
    """The law registered as ``name``, or None: a custom law read back from a saved fit is
    not in the registry, and what is said of it falls back to a generic word."""
    try:
        return get_law(name)
    except (UnknownLawError, ConfigError):
        return None


def equation(name: str, formula: str) -> str:
    """``L = <formula>`` for a loss law, ``acc = <formula>`` for an accuracy law...; ``y = ``
    for a law no longer registered."""
    law = registered(name)
    return f"{law.symbol if law else 'y'} = {formula}"


def source_of(name: str) -> str:
    """Who registered ``name``: a built-in module, or the plugin's entry point."""
    key = name.lower()
    _find(key)
    return _SOURCES.get(key, "")


def all_laws() -> list[Law]:
    """Every registered law, by name (a family by its default member)."""
    _load_plugins()
    return [_member(v, {}) if isinstance(v, LawFamily) else v
            for _, v in sorted(_LAWS.items())]
