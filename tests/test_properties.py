"""Properties over many random laws (hypothesis): the closed-form optimum is the numeric one,
the optimum's loss is the lowest on its budget, and a formula evaluates the same vectorized,
scalar and as the built-in law."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scalecli.analyses.allocation import Allocator
from scalecli.laws import get_law
from scalecli.laws.custom import law_from_config

params = st.fixed_dictionaries({
    "E": st.floats(0.5, 3.0), "A": st.floats(10.0, 1e4), "alpha": st.floats(0.1, 1.0),
    "B": st.floats(10.0, 1e4), "beta": st.floats(0.1, 1.0),
})
budgets = st.floats(1e15, 1e27)


@settings(max_examples=60, deadline=None)
@given(params, budgets)
def test_closed_form_optimum_is_the_numeric_optimum(p, C):
    """Where the reducible loss is at least 1% of E: a flatter optimum is flatter than float
    precision of the loss can resolve (|du| ~ sqrt(eps / reducible share)), for any search."""
    law = get_law("chinchilla")
    n1, d1, _ = Allocator(law, p).optimum(C)
    assume(law.value(p, {"N": n1, "D": d1}) - p["E"] > 0.01 * p["E"])
    assume(n1 > 1e3 and d1 > 1e3)  # the search covers models of one parameter and up
    n2, d2, method = Allocator(law, p, max_tokens=1e300).optimum(C)  # a cap that never binds
    assert math.isclose(d2, C / (6 * n2), rel_tol=1e-12)
    assert method.startswith("numeric")
    assert math.isclose(n1, n2, rel_tol=1e-6) and math.isclose(d1 * 6 * n1, C, rel_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(params, budgets, st.floats(0.2, 5.0))
def test_no_allocation_on_the_budget_beats_the_optimum(p, C, factor):
    law = get_law("chinchilla")
    n, d, _ = Allocator(law, p).optimum(C)
    best = law.value(p, {"N": n, "D": d})
    other = n * factor
    assert best <= law.value(p, {"N": other, "D": C / (6 * other)}) * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(params, st.lists(st.floats(1e6, 1e11), min_size=1, max_size=5),
       st.lists(st.floats(1e7, 1e13), min_size=1, max_size=5))
def test_a_formula_law_evaluates_like_the_builtin(p, ns, ds):
    builtin = get_law("chinchilla")
    custom = law_from_config({"name": "f", "formula": builtin.formula,
                              "variables": {"N": "n_params", "D": "tokens"},
                              "parameters": {k: {"bounds": [0, 1e5], "init": [1.0]}
                                             for k in p}}, "test")
    k = min(len(ns), len(ds))
    X = {"N": np.array(ns[:k]), "D": np.array(ds[:k])}
    theta_b = np.array([builtin.to_internal(p)])
    theta_c = np.array([custom.to_internal(p)])
    want = np.array([builtin.value(p, {"N": n, "D": d}) for n, d in zip(X["N"], X["D"])])
    assert np.allclose(builtin.predict(theta_b, X)[0], want, rtol=1e-12)
    assert np.allclose(custom.predict(theta_c, X)[0], want, rtol=1e-12)
    assert all(math.isclose(custom.value(p, {"N": n, "D": d}), w, rel_tol=1e-12)
               for n, d, w in zip(X["N"], X["D"], want))
