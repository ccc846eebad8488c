"""Fits that are not unique: other optima within the tolerance are listed with what they imply,
and the quantities they agree on are told apart from those they do not."""

from __future__ import annotations

import json

import numpy as np
from conftest import TRUE, chinchilla_loss
from typer.testing import CliRunner

from scalecli.cli import app

REDUNDANT = """law:
  name: redundant-chinchilla
  formula: "E + A * K / N**alpha + B / D**beta"
  variables: {N: n_params, D: tokens}
  parameters:
    E:     {bounds: [0.1, 10],  init: [1, 2]}
    A:     {bounds: [1, 1.0e6], init: [10, 100, 1000]}
    K:     {bounds: [0.01, 100], init: [0.1, 1, 10]}
    alpha: {bounds: [0, 2],     init: [0.3, 0.5]}
    B:     {bounds: [1, 1.0e6], init: [1.0e2, 1.0e3]}
    beta:  {bounds: [0, 2],     init: [0.3, 0.5]}
"""


def _sweep(tmp_path, noise=0.003, seed=0):
    rng = np.random.default_rng(seed)
    N = np.repeat([2e7, 6e7, 2e8, 6e8, 2e9], 5)
    D = N * np.tile([5.0, 10.0, 20.0, 40.0, 80.0], 5)
    L = chinchilla_loss(TRUE, N, D) * np.exp(noise * rng.standard_normal(N.size))
    path = tmp_path / "sweep.csv"
    rows = ["run,n_params,tokens,loss"] + [f"r{i},{n},{d},{y}" for i, (n, d, y)
                                          in enumerate(zip(N, D, L))]
    path.write_text("\n".join(rows) + "\n")
    return path


def _fit(tmp_path, *extra):
    cfg = tmp_path / "redundant.yaml"
    cfg.write_text(REDUNDANT)
    r = CliRunner().invoke(app, ["fit", str(_sweep(tmp_path)), "--config", str(cfg),
                                 "--format", "json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout), r.stderr


def test_a_redundant_law_lists_its_alternatives_and_what_they_agree_on(tmp_path):
    """A and K enter only as their product: the optima disagree on each but agree on A·K (the
    generating law's A, 482, to the noise), on every other parameter and on the allocation."""
    out, err = _fit(tmp_path)
    alts = out["alternatives"]
    assert len(alts) >= 2
    best = out["params"]
    for alt in alts:
        p = alt["params"]
        assert abs(p["A"] * p["K"] / (best["A"] * best["K"]) - 1) < 1e-3
        assert abs(alt["objective"] / out["objective"] - 1) <= 0.005
        assert abs(alt["allocation"]["a"] - TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])) < 0.05
    assert 0.8 < best["A"] * best["K"] / TRUE["A"] < 1.25
    ident = out["data"]["identified"]
    assert not ident["A"] and not ident["K"]
    assert ident["E"] and ident["alpha"] and ident["a"] and ident["N_opt@1e+21"]
    assert "A, K not identified" in err and "allocation agrees" in err


def test_a_unique_fit_has_no_alternatives(tmp_path):
    r = CliRunner().invoke(app, ["fit", str(_sweep(tmp_path)), "--law", "chinchilla",
                                 "--format", "json"])
    out = json.loads(r.stdout)
    assert "alternatives" not in out and "not identified" not in r.stderr


def test_a_zero_tolerance_keeps_only_exact_ties_and_bad_tolerance_is_refused(tmp_path):
    out, _ = _fit(tmp_path, "--tolerance", "0")
    assert all(a["objective"] <= out["objective"] for a in out.get("alternatives", []))
    cfg = tmp_path / "redundant.yaml"
    r = CliRunner().invoke(app, ["fit", str(_sweep(tmp_path)), "--config", str(cfg),
                                 "--tolerance", "2"])
    assert r.exit_code == 1 and "--tolerance 2" in r.stderr
