"""Each built-in law's config in configs/ is the law: it loads as the built-in law with the
same parameters and objective, and renamed, it fits as a custom formula to the same optimum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from test_laws import TRUTH, data

from scalecli.config import spec_from_dict
from scalecli.fitting import fit_points
from scalecli.laws import get_law
from scalecli.laws.custom import ExpressionLaw
from scalecli.reduce import Points

CONFIGS = Path(__file__).resolve().parent.parent / "scalecli" / "configs"
NAMES = sorted(p.stem for p in CONFIGS.glob("*.yaml"))


def test_every_builtin_law_has_its_config():
    from scalecli.laws import all_laws

    # the curve laws (multi-power, ...) are fitted to whole curves, not from a YAML config
    assert {law.name for law in all_laws() if not getattr(law, "curve", False)} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_config_loads_as_the_builtin_law(name):
    doc = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    spec = spec_from_dict(doc, name)
    law = get_law(name)
    assert spec.law.name == name and not isinstance(spec.law, ExpressionLaw) or (
        name == "data-constrained")
    assert spec.law.parameters == law.parameters
    assert spec.law.variables == law.variables
    want = {"loss": "huber", "delta": 1e-3, "space": "log", "overestimate_penalty": 1.0,
            **law.fit_defaults}
    assert spec.objective.to_dict() == want


def _points(name):
    if name == "bnsl":
        law = get_law(name)
        x = np.geomspace(1e2, 1e6, 40)
        truth = {"a": 0.1, "b": 5.0, "c0": 0.3, "c1": 0.4, "d1": 3e3, "f1": 0.5}
        y = np.array([law.value(truth, {"x": v}) for v in x])
        frame = pl.DataFrame({"run_id": [str(i) for i in range(x.size)], "flops": x, "y": y})
        return Points(frame, "loss", "last"), {"x": x}, y
    if name != "data-constrained":
        pts, X, y = data(name)
        return pts, X, y
    law = get_law(name)
    truth = {"E": 1.9, "A": 500.0, "alpha": 0.35, "B": 1500.0, "beta": 0.33, "RD_star": 12.0,
             "RN_star": 6.0}
    N = np.repeat(np.geomspace(5e7, 2e9, 5), 5)
    U = np.tile(np.array([1e9, 1e10, 1e11, 3e9, 3e10]), 5)
    D = N * 20 * np.tile([1.0, 4.0, 16.0, 2.0, 8.0], 5)
    X = {"N": N, "D": D, "U": U}
    y = np.array([law.value(truth, {k: v[i] for k, v in X.items()}) for i in range(N.size)])
    frame = pl.DataFrame({"run_id": [str(i) for i in range(N.size)], "n_params": N, "tokens": D,
                          "unique_tokens": U, "y": y})
    return Points(frame, "loss", "last"), X, y


@pytest.mark.parametrize("name", [n for n in NAMES if n != "bnsl"] + ["bnsl"])
def test_renamed_config_fits_as_a_custom_law_to_the_same_optimum(name):
    doc = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    builtin = spec_from_dict(doc, name)
    doc["law"]["name"] = f"my-{name}"
    custom = spec_from_dict(doc, f"my-{name}")
    assert isinstance(custom.law, ExpressionLaw) and custom.law.name == f"my-{name}"
    pts, X, y = _points(name)
    a = fit_points(pts, builtin.law, objective=builtin.objective)
    b = fit_points(pts, custom.law, objective=custom.objective)
    pa = np.array([builtin.law.value(a.params, {k: v[i] for k, v in X.items()})
                   for i in range(y.size)])
    pb = np.array([custom.law.value(b.params, {k: v[i] for k, v in X.items()})
                   for i in range(y.size)])
    assert np.max(np.abs(pa / y - 1)) < 1e-5 and np.max(np.abs(pb / y - 1)) < 1e-5
    assert np.max(np.abs(pb / pa - 1)) < 1e-5
    if name in TRUTH and name != "bnsl":
        for k in a.params:
            assert b.params[k] == pytest.approx(a.params[k], rel=1e-3), k
