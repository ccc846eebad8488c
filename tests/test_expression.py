"""Custom laws from formulas: the whitelist parser, its exact gradients against finite
differences, and a YAML Chinchilla that must reproduce the built-in law's fit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from conftest import ROOT, TRUE, as_points, synthetic_sweep, write_csv
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.config import spec_from_dict
from scalecli.errors import ConfigError
from scalecli.fitting import Objective, fit_points
from scalecli.laws import get_law
from scalecli.laws.custom import ExpressionLaw, law_from_config, law_from_fit
from scalecli.laws.expression import parse

runner = CliRunner()
CHINCHILLA = "E + A / N**alpha + B / D**beta"


def scalar(formula: str, **env: float) -> float:
    e = parse(formula)
    return e.bind([], e.names).scalar(env)


def hoffmann_config(name="custom-chinchilla", formula=CHINCHILLA) -> dict:
    """The acceptance check's config: Hoffmann's start grid, positive bounds on E, A, B."""
    grid = lambda xs: [float(f"{math.exp(x):.10g}") for x in xs]
    return {
        "law": {
            "name": name, "formula": formula, "variables": {"N": "n_params", "D": "tokens"},
            "target": "loss",
            "parameters": {
                "E": {"bounds": [1e-3, 10], "init": grid([-1, -0.5, 0, 0.5, 1])},
                "A": {"bounds": [1, 1e12], "init": grid(range(0, 30, 5))},
                "B": {"bounds": [1, 1e12], "init": grid(range(0, 30, 5))},
                "alpha": {"bounds": [0, 3], "init": [0, 0.5, 1, 1.5, 2]},
                "beta": {"bounds": [0, 3], "init": [0, 0.5, 1, 1.5, 2]},
            },
        },
        "fit": {"loss": "huber", "delta": 1e-3, "space": "log"},
    }


# ---- parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize("formula, tree", [
    ("-x**2", "neg(pow('x', 2.0))"),
    ("2**3**2", "pow(2.0, pow(3.0, 2.0))"),
    ("a-b-c", "sub(sub('a', 'b'), 'c')"),
    ("a/b*c", "mul(div('a', 'b'), 'c')"),
    ("a+b*c**d", "add('a', mul('b', pow('c', 'd')))"),
    ("2**-x", "pow(2.0, neg('x'))"),
    ("-+-x", "neg(neg('x'))"),
    ("min(a, b, exp(c))", "min('a', 'b', exp('c'))"),
    ("1e-3 + .5 + 2. + 1E+2", "add(add(add(0.001, 0.5), 2.0), 100.0)"),
])
def test_precedence_and_associativity_follow_python(formula, tree):
    assert repr(parse(formula).tree) == tree


@pytest.mark.parametrize("formula, expected", [
    ("-x**2", -9.0), ("(-x)**2", 9.0), ("2**3**2", 512.0), ("-2**2", -4.0), ("2**-1", 0.5),
    ("x-y-z", 3 - 4 - 5), ("x/y/z", 3 / 4 / 5), ("x+y*z", 23.0), ("(x+y)*z", 35.0),
    ("-x*y", -12.0), ("x**y**0.5", 9.0), ("+x", 3.0),
])
def test_values_follow_python_arithmetic(formula, expected):
    assert scalar(formula, x=3.0, y=4.0, z=5.0) == pytest.approx(expected, rel=1e-15)


def test_functions_evaluate_as_math_does():
    f = "exp(a) + log(b) * sqrt(c) - min(a, b, c) / max(a, c) + max(a, b, c, 7)"
    a, b, c = 0.3, 2.5, 4.0
    expected = math.exp(a) + math.log(b) * math.sqrt(c) - min(a, b, c) / max(a, c) + 7
    assert scalar(f, a=a, b=b, c=c) == pytest.approx(expected, rel=1e-15)
    e = parse(f)
    bound = e.bind(["a"], ["b", "c"])
    X = {"b": np.array([b, 1.5]), "c": np.array([c, 9.0])}
    vec = bound.values([np.array([[a], [1.0]])], X, 2)
    assert vec[0, 0] == pytest.approx(expected, rel=1e-14)
    assert vec[1, 1] == pytest.approx(math.exp(1) + math.log(1.5) * 3 - 1 / 9 + 9, rel=1e-14)


@pytest.mark.parametrize("formula, position, fragment", [
    ("E + A / N**", 12, "expected a number, name or '('"),
    ("E + A ? N", 7, "unexpected character '?'"),
    ("E + (A / N", 11, "expected ')' to close the '(' at position 5"),
    ("E A", 3, "expected an operator"),
    ("2N", 1, "malformed number"),
    ("E + foo(N)", 5, "unknown function 'foo'; the functions allowed are exp, log, sqrt, min, max"),
    ("exp(a, b)", 1, "exp takes 1 argument, got 2"),
    ("max(a)", 1, "max takes 2 or more arguments"),
    ("E + exp", 5, "exp is a function"),
    ("", 1, "empty"),
    ("1e999 * N", 1, "too large"),
])
def test_syntax_errors_name_the_position(formula, position, fragment):
    with pytest.raises(ConfigError) as info:
        parse(formula)
    msg = str(info.value)
    assert f'formula "{formula}" at position {position}' in msg and fragment in msg
    assert "\n" not in msg
    assert info.value.caret.splitlines()[1] == " " * (position - 1) + "^"


@pytest.mark.parametrize("formula", [
    "__import__('os').system('touch {marker}')",
    "E + (lambda: __import__('os').system('touch {marker}'))()",
    "E.__class__.__mro__[1].__subclasses__()",
    "E + open('{marker}', 'w')",
    "E + A[0]", "E if A else N", "E + N == 1", "E + f'x'", "min(a=1, b=2)", "E; N", "E @ N",
    "(" * 500 + "N" + ")" * 500, "-" * 500 + "N", "N" + "**N" * 500, "+".join(["N"] * 500),
])
def test_hostile_formulas_are_refused_and_nothing_runs(formula, tmp_path, monkeypatch):
    import ast
    import builtins

    marker = tmp_path / "pwned"

    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached eval/exec/compile/ast")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    monkeypatch.setattr(ast, "parse", forbidden)
    with pytest.raises(ConfigError):
        parse(formula.format(marker=marker))
    monkeypatch.undo()
    assert not marker.exists()


def test_names_must_be_variables_or_declared_parameters():
    doc = hoffmann_config(formula="E + A / N**alpha + B / D**beta + G")["law"]
    with pytest.raises(ConfigError, match="'G' is neither a variable"):
        law_from_config(doc, "c.yaml")
    doc = hoffmann_config()["law"]
    del doc["parameters"]["beta"]["bounds"]
    with pytest.raises(ConfigError, match="law.parameters.beta needs bounds"):
        law_from_config(doc, "c.yaml")
    doc = hoffmann_config()
    doc["law"]["fixed"] = {"K": 1.0}
    with pytest.raises(ConfigError, match="law.fixed: 'K' is not a parameter"):
        spec_from_dict(doc, "c.yaml")
    doc = hoffmann_config()
    doc["law"]["variables"]["C"] = "flops"
    with pytest.raises(ConfigError, match="'C' is not in the formula"):
        spec_from_dict(doc, "c.yaml")
    doc = hoffmann_config()
    doc["fit"]["loss"] = "cauchy"
    with pytest.raises(ConfigError, match="unknown loss"):
        spec_from_dict(doc, "c.yaml")


def test_log_coordinates_and_default_starts():
    law = spec_from_dict(hoffmann_config(), "c.yaml").law
    assert isinstance(law, ExpressionLaw)
    assert law.param_names == ["E", "A", "alpha", "B", "beta"]  # formula order
    assert {p.name: p.log for p in law.parameters} == {
        "E": True, "A": True, "alpha": False, "B": True, "beta": False}
    doc = {"name": "p", "formula": "E + A / x**alpha", "variables": {"x": "flops"},
           "parameters": {"E": {"bounds": [1, 50]}, "A": {"bounds": [1, 1e4], "log": False},
                          "alpha": {"bounds": [0, 2]}}}
    law = law_from_config(doc)
    E, A, alpha = law.parameters
    assert not E.log and not A.log  # 50/1 < 100; explicit log: false
    assert E.init == (13.25, 25.5, 37.75) and alpha.init == (0.5, 1.0, 1.5)
    doc["parameters"]["A"] = {"bounds": [1, 1e4]}
    assert law_from_config(doc).parameters[1].init == pytest.approx((10, 100, 1000))


# ---- gradients and vectorization -----------------------------------------------------------
FORMULAS = [
    CHINCHILLA,
    "E + A * exp(-alpha * log(N)) + sqrt(B) / D**beta",
    "min(A / N**alpha, B / D**beta) + max(E, 0.5 * E + 0.1)",
    "(A / N**alpha + B / D**beta)**(beta + 0.5) + E",
    "E + A * (1 + N / B)**(-alpha) * (D / (D + beta))",
    "E + log(1 + A**2 / (N**alpha * (B + D**beta)))",
]


def _law(formula):
    doc = {"name": "t", "formula": formula, "variables": {"N": "n_params", "D": "tokens"},
           "parameters": {"E": {"bounds": [0.1, 10]}, "A": {"bounds": [1, 1e4]},
                          "B": {"bounds": [1, 1e4]}, "alpha": {"bounds": [0.1, 2]},
                          "beta": {"bounds": [0.1, 2]}}}
    doc["parameters"] = {k: v for k, v in doc["parameters"].items() if k in parse(formula).names}
    return law_from_config(doc)


@pytest.mark.parametrize("formula", FORMULAS)
def test_gradients_match_central_differences(formula):
    law = _law(formula)
    rng = np.random.default_rng(1)
    X = {"N": 10 ** rng.uniform(7, 9, 40), "D": 10 ** rng.uniform(8, 10, 40)}
    for _ in range(4):
        theta = np.array([p.to_internal(rng.uniform(*p.bounds)) for p in law.parameters])
        for fn in (law.predict_jac, law.log_predict_jac):
            f, J = fn(theta, X)
            h = 1e-6
            for k in range(len(theta)):
                up, down = theta.copy(), theta.copy()
                up[k] += h
                down[k] -= h
                fd = (fn(up, X)[0] - fn(down, X)[0]) / (2 * h)
                assert J[:, k] == pytest.approx(fd, rel=1e-6, abs=1e-9 * np.abs(f).max())


@pytest.mark.parametrize("formula", FORMULAS)
def test_vectorized_values_equal_the_scalar_evaluator(formula):
    law = _law(formula)
    rng = np.random.default_rng(2)
    X = {"N": 10 ** rng.uniform(7, 9, 15), "D": 10 ** rng.uniform(8, 10, 15)}
    theta = np.array([[p.to_internal(rng.uniform(*p.bounds)) for p in law.parameters]
                      for _ in range(7)])
    vec = law.predict(theta, X)
    assert vec.shape == (7, 15)
    for s in range(7):
        params = law.to_natural(theta[s])
        f, _ = law.predict_jac(theta[s], X)
        assert f == pytest.approx(vec[s], rel=1e-13)
        for m in range(15):
            exact = law.value(params, {"N": X["N"][m], "D": X["D"][m]})
            assert vec[s, m] == pytest.approx(exact, rel=1e-13)


def test_non_positive_predictions_score_as_infinite():
    law = law_from_config({"name": "neg", "formula": "E - A * N", "variables": {"N": "n_params"},
                           "parameters": {"E": {"bounds": [0, 2]}, "A": {"bounds": [0, 1]}}})
    X = {"N": np.array([1.0, 2.0, 3.0])}
    theta = np.array([[1.0, 0.1], [1.0, 0.9]])
    scores = Objective().values(law, theta, X, np.log(np.array([0.9, 0.8, 0.7])))
    assert np.isfinite(scores[0]) and scores[1] == np.inf
    assert law.value({"E": 1.0, "A": 0.9}, {"N": 3.0}) == pytest.approx(1.0 - 2.7)


# ---- fits ----------------------------------------------------------------------------------
def test_custom_chinchilla_reproduces_the_builtin_fit(epoch_points):
    N, D, L, _ = epoch_points
    pts = as_points(N, D, L)
    builtin = fit_points(pts, get_law("chinchilla"))
    spec = spec_from_dict(hoffmann_config(), "custom.yaml")
    custom = fit_points(pts, spec.law, objective=spec.objective)
    assert custom.law == "custom-chinchilla" and custom.converged
    assert custom.objective == pytest.approx(builtin.objective, rel=1e-6)
    for k, v in builtin.params.items():
        assert custom.params[k] == pytest.approx(v, rel=1e-4), k


def test_builtin_config_loads_both_ways_with_the_same_fit(epoch_points):
    doc = yaml.safe_load((ROOT / "scalecli" / "configs" / "chinchilla.yaml").read_text())
    as_builtin = spec_from_dict(doc, "chinchilla.yaml")
    doc["law"]["name"] = "my-chinchilla"
    as_custom = spec_from_dict(doc, "my.yaml")
    assert not isinstance(as_builtin.law, ExpressionLaw) and isinstance(as_custom.law, ExpressionLaw)
    N, D, L, _ = epoch_points
    pts = as_points(N, D, L)
    a = fit_points(pts, as_builtin.law, objective=as_builtin.objective)
    b = fit_points(pts, as_custom.law, objective=as_custom.objective)
    assert b.objective == pytest.approx(a.objective, rel=1e-6)


def test_shared_exponent_and_fixed_parameters_fit():
    true = {"E": 1.8, "A": 400.0, "alpha": 0.33, "B": 2000.0}
    N, D, _ = synthetic_sweep(0, noise=0.0)
    L = true["E"] + true["A"] / N ** true["alpha"] + true["B"] / D ** true["alpha"]
    doc = hoffmann_config(formula="E + A/N**alpha + B/D**alpha")
    del doc["law"]["parameters"]["beta"]
    spec = spec_from_dict(doc, "shared.yaml")
    assert spec.law.param_names == ["E", "A", "alpha", "B"]
    res = fit_points(as_points(N, D, L), spec.law, objective=spec.objective)
    for k, v in true.items():
        assert res.params[k] == pytest.approx(v, rel=1e-6), k
    doc["law"]["fixed"] = {"E": 1.8}
    spec = spec_from_dict(doc, "shared.yaml")
    res = fit_points(as_points(N, D, L), spec.law, objective=spec.objective, fixed=spec.fixed)
    assert res.params["E"] == 1.8 and res.params["alpha"] == pytest.approx(0.33, rel=1e-6)


def test_a_saved_custom_fit_rebuilds_its_law(epoch_points):
    N, D, L, _ = epoch_points
    spec = spec_from_dict(hoffmann_config(), "custom.yaml")
    res = fit_points(as_points(N[:60], D[:60], L[:60]), spec.law, objective=spec.objective)
    law = law_from_fit(res.law, res.formula, res.variables, res.params)
    at = {"N": 7e9, "D": 1.4e12}
    expected = res.params["E"] + res.params["A"] / at["N"] ** res.params["alpha"] \
        + res.params["B"] / at["D"] ** res.params["beta"]
    assert law.value(res.params, at) == pytest.approx(expected, rel=1e-14)
    all_fixed = hoffmann_config()
    all_fixed["law"]["fixed"] = {"E": 1.0, "A": 2.0, "B": 3.0, "alpha": 0.5, "beta": 0.5}
    with pytest.raises(ConfigError, match="every parameter of custom-chinchilla is fixed"):
        spec_from_dict(all_fixed, "c.yaml")


# ---- the CLI -------------------------------------------------------------------------------
def test_cli_fits_a_custom_config(epoch_csv, tmp_path):
    cfg = tmp_path / "custom.yaml"
    cfg.write_text(yaml.safe_dump(hoffmann_config()))
    r = runner.invoke(app, ["fit", str(epoch_csv), "--config", str(cfg), "--format", "json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["law"] == "custom-chinchilla" and out["formula"] == CHINCHILLA
    assert out["params"]["alpha"] == pytest.approx(0.3473, abs=1e-3)
    assert out["objective"] == pytest.approx(1.018274017801e-3, rel=1e-6)


@pytest.mark.parametrize("formula", [
    "__import__('os').system('touch {marker}')",
    "E + A / N**alpha + (lambda: __import__('os').system('touch {marker}'))()",
    "E.__class__.__mro__[1].__subclasses__()",
    "E + A / N**alpha + open('/etc/passwd').read()",
    "E + A / N**",
])
def test_cli_refuses_hostile_configs_in_one_line(formula, tmp_path):
    marker = tmp_path / "pwned"
    cfg = tmp_path / "hostile.yaml"
    law = {"name": "hostile", "formula": formula.format(marker=marker),
           "variables": {"N": "n_params"}, "parameters": {"E": {"bounds": [0, 10]}}}
    cfg.write_text(yaml.safe_dump({"law": law}))
    r = runner.invoke(app, ["fit", str(ROOT / "sample_runs"), "--config", str(cfg)])
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    errors = [x for x in r.stderr.splitlines() if x.startswith("Error")]
    assert len(r.stderr.strip().splitlines()) == 1 and len(errors) == 1
    assert "hostile.yaml" in errors[0] and not marker.exists()


def test_cli_refuses_a_python_yaml_tag(tmp_path):
    marker = tmp_path / "pwned"
    cfg = tmp_path / "tag.yaml"
    cfg.write_text(f"law: !!python/object/apply:os.system ['touch {marker}']\n")
    r = runner.invoke(app, ["fit", str(ROOT / "sample_runs"), "--config", str(cfg)])
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "not valid YAML" in r.stderr and not marker.exists()


@pytest.mark.parametrize("text,where", [
    ("law: chinchilla\nfit:\n  loss: huber\n  loss: mse\n", ":4: the key 'loss'"),
    ("law: chinchilla\nlaw: kaplan\n", ":2: the key 'law'"),
])
def test_a_key_given_twice_in_a_config_is_refused(tmp_path, text, where):
    """YAML keeps the last of a key given twice without a word; a config says which it meant."""
    cfg = tmp_path / "twice.yaml"
    cfg.write_text(text)
    r = runner.invoke(app, ["fit", str(ROOT / "sample_runs"), "--config", str(cfg)])
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert where in r.stderr and "given twice" in r.stderr


def test_cli_custom_fit_on_synthetic_csv(tmp_path):
    N, D, L = synthetic_sweep(3, noise=0.0)
    csv = write_csv(tmp_path / "runs.csv", N, D, L)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(hoffmann_config(name="mine")))
    r = runner.invoke(app, ["fit", str(csv), "--config", str(cfg), "--fix", "E=1.8",
                            "--format", "json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["fixed"] == {"E": 1.8}
    for k in ("A", "alpha", "B", "beta"):
        assert out["params"][k] == pytest.approx(TRUE[k], rel=1e-5), k
