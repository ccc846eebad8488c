"""The law registry: built-ins and plugins register through the same hook, plugins are found
through the entry-point group scalecli.laws (a fake entry point here), a name registered twice
is refused naming both sources, and BNSL with K breaks is a family, not a special case."""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import subprocess
import sys

import pytest

from scalecli.errors import ConfigError, UnknownLawError
from scalecli.laws import ENTRY_POINT_GROUP, Law, LawFamily, Parameter, all_laws, get_law, registry


@pytest.fixture
def fresh(monkeypatch):
    """An empty registry (restored after the test): nothing loaded, no plugins scanned."""
    monkeypatch.setattr(registry, "_LAWS", {})
    monkeypatch.setattr(registry, "_SOURCES", {})
    monkeypatch.setattr(registry, "_MEMBERS", {})
    monkeypatch.setattr(registry, "_HOOKS_RUN", set())
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)


class FakeEntryPoint:
    def __init__(self, name, value, target):
        self.name, self.value, self._target = name, value, target
        self.dist = None

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def plugins(monkeypatch, *eps):
    """Make importlib.metadata.entry_points(group=scalecli.laws) return ``eps``; count calls."""
    calls = []

    def entry_points(group=None, **kw):
        calls.append(group)
        return list(eps) if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return calls


def toy_law(name="toy"):
    class Toy(Law):
        def value(self, params, values):
            return params["E"] + params["A"] / values["x"]

    return Toy(name=name, formula="E + A / x", variables={"x": "flops"},
               parameters=(Parameter("E", (0.0, math.inf), (1.0,), log=True),
                           Parameter("A", (0.0, math.inf), (1.0,), log=True)))


def test_every_builtin_module_registers_what_the_index_says(fresh, monkeypatch):
    plugins(monkeypatch)
    for module in sorted(set(registry.BUILTINS.values())):
        mod = importlib.import_module(f"scalecli.laws.{module}")
        seen = []
        mod.register_laws(lambda law, seen=seen: seen.append(law.name))
        assert sorted(seen) == sorted(k for k, v in registry.BUILTINS.items() if v == module)
    assert {law.name for law in all_laws()} == set(registry.BUILTINS)


def test_a_plugin_registers_through_the_same_hook(fresh, monkeypatch):
    toy = toy_law()
    calls = plugins(monkeypatch, FakeEntryPoint("toys", "toys:register_laws",
                                                lambda register: register(toy)))
    assert get_law("chinchilla").name == "chinchilla"
    assert calls == []  # a built-in name never scans the entry points
    assert get_law("TOY") is toy
    assert calls == [ENTRY_POINT_GROUP]
    assert registry.source_of("toy") == "plugin toys = toys:register_laws"
    assert registry.source_of("chinchilla") == "scalecli.laws.chinchilla"
    assert "toy" in [law.name for law in all_laws()]
    assert calls == [ENTRY_POINT_GROUP]  # scanned once


def test_a_plugin_module_with_register_laws(fresh, monkeypatch):
    module = type(sys)("fake_plugin_module")
    module.register_laws = lambda register: register(toy_law("from-module"))
    plugins(monkeypatch, FakeEntryPoint("mod", "fake_plugin_module", module))
    assert get_law("from-module").name == "from-module"


def test_a_name_registered_twice_names_both_sources(fresh, monkeypatch):
    plugins(monkeypatch, FakeEntryPoint("evil", "evil:hook",
                                        lambda register: register(toy_law("chinchilla"))))
    with pytest.raises(ConfigError) as exc:
        all_laws()
    msg = str(exc.value)
    assert "registered twice" in msg and "scalecli.laws.chinchilla" in msg
    assert "plugin evil = evil:hook" in msg


def test_two_plugins_with_one_name(fresh, monkeypatch):
    plugins(monkeypatch,
            FakeEntryPoint("a", "a:hook", lambda register: register(toy_law("same"))),
            FakeEntryPoint("b", "b:hook", lambda register: register(toy_law("same"))))
    with pytest.raises(ConfigError, match=r"'same' is registered twice: by plugin a = a:hook "
                                          r"and by plugin b = b:hook"):
        get_law("same")


def test_a_broken_plugin_is_one_line_naming_it(fresh, monkeypatch):
    plugins(monkeypatch, FakeEntryPoint("bad", "bad:hook", ImportError("no module named bad")))
    with pytest.raises(ConfigError, match="plugin bad = bad:hook: cannot be loaded"):
        get_law("not-a-law")

    def hook(register):
        raise RuntimeError("oops")

    registry._PLUGINS_LOADED = False
    plugins(monkeypatch, FakeEntryPoint("buggy", "buggy:hook", hook))
    with pytest.raises(ConfigError, match="plugin buggy = buggy:hook: register_laws failed"):
        all_laws()
    registry._PLUGINS_LOADED = False
    plugins(monkeypatch, FakeEntryPoint("odd", "odd:hook", lambda register: register(3)))
    with pytest.raises(ConfigError, match="registered int, not a law"):
        all_laws()


def test_unknown_law_lists_the_known_ones(monkeypatch):
    plugins(monkeypatch)
    with pytest.raises(UnknownLawError) as exc:
        get_law("chinchila")
    assert "chinchilla" in str(exc.value) and "bnsl-K (breaks)" in str(exc.value)


def test_a_family_takes_options_and_a_numeric_suffix(monkeypatch):
    plugins(monkeypatch)
    three = get_law("bnsl", breaks=3)
    assert three.name == "bnsl-3" and len(three.parameters) == 12
    assert get_law("bnsl-3") is three and get_law("BNSL-3") is three
    assert get_law("bnsl") is get_law("bnsl", breaks=1) and get_law("bnsl").name == "bnsl"
    with pytest.raises(ConfigError, match="1 to 12 breaks"):
        get_law("bnsl-0")
    with pytest.raises(ConfigError, match="1 to 12 breaks"):
        get_law("bnsl-" + "9" * 9)
    with pytest.raises(UnknownLawError):
        get_law("bnsl-" + "9" * 30)  # not an option value at all
    with pytest.raises(ConfigError, match="takes the option breaks, not sharpness"):
        get_law("bnsl", sharpness=2)
    with pytest.raises(ConfigError, match="takes no options"):
        get_law("chinchilla", breaks=2)
    with pytest.raises(UnknownLawError):
        get_law("chinchilla-2")  # a suffix means something only to a family


def test_any_family_gets_the_suffix_form(fresh, monkeypatch):
    made = []

    def make(order=1):
        made.append(order)
        law = toy_law(f"poly-{order}" if order > 1 else "poly")
        return law

    plugins(monkeypatch, FakeEntryPoint("poly", "poly:hook", lambda register: register(
        LawFamily("poly", make, option="order"))))
    assert get_law("poly-4").name == "poly-4" and get_law("poly").name == "poly"
    assert get_law("poly", order=4) is get_law("poly-4") and made == [4, 1]


def test_register_by_hand():
    from scalecli.laws import register

    law = toy_law("by-hand-law")
    try:
        assert register(law) is law and get_law("by-hand-law") is law
        assert register(law) is law  # the same object again is no clash
        with pytest.raises(ConfigError, match="registered twice"):
            register(toy_law("by-hand-law"))
    finally:
        registry._LAWS.pop("by-hand-law", None)
        registry._SOURCES.pop("by-hand-law", None)


def test_a_builtin_lookup_imports_neither_other_laws_nor_entry_points():
    code = ("import sys; from scalecli.laws import get_law; get_law('chinchilla'); "
            "print(sorted(m for m in sys.modules if m.startswith('scalecli.laws.'))); "
            "print('importlib.metadata' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert "scalecli.laws.bnsl" not in out[0] and "scalecli.laws.chinchilla" in out[0]
    assert out[1] == "False False"
