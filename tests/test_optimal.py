"""Compute-optimal allocation and prediction, against a numeric minimization and the paper's
closed form; `optimal` and `predict` through the CLI."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from typer.testing import CliRunner

from scalecli.analyses.allocation import optimal, parse_budgets
from scalecli.cli import app
from scalecli.errors import ConfigError

runner = CliRunner()
HOFFMANN = {"E": 1.69, "A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28}
EPOCH = {"E": 1.82, "A": 482.01, "alpha": 0.3478, "B": 2085.43, "beta": 0.3658}


def loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def numeric_optimum(p, C):
    """argmin over N of L(N, C/(6N)), by a bounded scalar search in log N."""
    from scipy.optimize import minimize_scalar

    r = minimize_scalar(lambda x: loss(p, math.exp(x), C / (6 * math.exp(x))),
                        bounds=(math.log(1e3), math.log(C / 6 / 1e3)), method="bounded",
                        options={"xatol": 1e-12})
    return math.exp(r.x)


@pytest.mark.parametrize("params", [HOFFMANN, EPOCH])
@pytest.mark.parametrize("C", [1e19, 1e21, 5.88e23, 1e25])
def test_closed_form_equals_numeric_minimum(tmp_path, params, C):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"law": "chinchilla", "params": params}))
    row = optimal(str(path), C)[0]
    assert row.n_params == pytest.approx(numeric_optimum(params, C), rel=1e-6)
    assert row.tokens == pytest.approx(C / (6 * row.n_params), rel=1e-12)
    assert row.loss == pytest.approx(loss(params, row.n_params, row.tokens), rel=1e-12)


def test_epoch_allocation_at_chinchilla_budget():
    """Besiroglu et al.'s parameters give ~70B params and ~1.4T tokens at 5.88e23 FLOPs
    (N_opt 7.3e10, D_opt 1.34e12, 18.4 tokens/param by their closed form)."""
    from scalecli.fitting import FitResult

    row = optimal(FitResult(law="chinchilla", params=EPOCH), 5.88e23)[0]
    assert row.n_params == pytest.approx(7.3e10, rel=0.02)
    assert row.tokens == pytest.approx(1.34e12, rel=0.02)
    assert row.tokens_per_param == pytest.approx(18.4, rel=0.02)


def test_budget_parsing():
    assert parse_budgets("1e21") == [1e21]
    assert parse_budgets("1e20,1e21") == [1e20, 1e21]
    r = parse_budgets("1e19..1e25", steps=7)
    assert len(r) == 7 and r[0] == pytest.approx(1e19) and r[-1] == pytest.approx(1e25)
    assert r[3] == pytest.approx(1e22)
    assert parse_budgets("-", stdin=io.StringIO("1e22\n1e23\n")) == [1e22, 1e23]
    for bad in ("abc", "-1e21", "0", "1e25..1e19", "nan"):
        with pytest.raises(ConfigError):
            parse_budgets(bad)


def test_cli_optimal_published_defaults_json():
    r = runner.invoke(app, ["optimal", "--flops", "1e21", "--format", "json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)[0]
    G = (0.34 * 406.4 / (0.28 * 410.7)) ** (1 / 0.62)
    N = G * (1e21 / 6) ** (0.28 / 0.62)
    assert row["n_params"] == pytest.approx(N, rel=1e-12)
    assert row["tokens"] == pytest.approx(1e21 / (6 * N), rel=1e-12)
    assert set(row) >= {"flops", "n_params", "tokens", "tokens_per_param", "loss", "params_source"}
    assert row["method"] == "closed form"
    assert "Hoffmann" in row["params_source"]


def test_cli_optimal_range_csv_and_stdin(tmp_path):
    r = runner.invoke(app, ["optimal", "--flops", "1e19..1e25", "--steps", "7", "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    ns = [float(x["n_params"]) for x in rows]
    assert len(ns) == 7 and ns == sorted(ns)
    r = runner.invoke(app, ["optimal", "--flops", "-", "--format", "json"], input="1e22\n1e23\n")
    assert r.exit_code == 0 and [x["flops"] for x in json.loads(r.stdout)] == [1e22, 1e23]
    r = runner.invoke(app, ["optimal", "--flops", "1e21", "--format", "markdown"])
    assert r.exit_code == 0 and r.stdout.count("|") > 10


def test_cli_optimal_and_predict_from_saved_fit(tmp_path):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"law": "chinchilla", "params": EPOCH}))
    r = runner.invoke(app, ["optimal", "--flops", "5.88e23", "--fit", str(path), "-f", "json"])
    row = json.loads(r.stdout)[0]
    assert str(path) in row["params_source"]
    assert row["n_params"] == pytest.approx(numeric_optimum(EPOCH, 5.88e23), rel=1e-6)
    r = runner.invoke(app, ["predict", "--n", "7e9", "--d", "1.4e12", "--fit", str(path),
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)[0]
    assert got["loss"] == pytest.approx(loss(EPOCH, 7e9, 1.4e12), rel=1e-15)
    r = runner.invoke(app, ["predict", "--n", "7e10", "--d", "1.4e12"])
    assert r.exit_code == 0 and "Hoffmann" in r.stdout


@pytest.mark.parametrize("args,words", [
    (["optimal", "--flops", "lots"], "not a number"),
    (["optimal", "--flops", "1e21", "--fit", "/nonexistent/fit.json"], "/nonexistent/fit.json"),
    (["optimal", "--flops", "1e21", "--law", "nope"], "unknown law"),
    (["predict", "--n", "-1", "--d", "1e9"], "positive"),
])
def test_cli_bad_options_one_line_exit_1(args, words):
    r = runner.invoke(app, args)
    assert r.exit_code == 1
    assert words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_not_a_fit_file(tmp_path):
    bad = tmp_path / "fit.json"
    bad.write_text("{not json")
    r = runner.invoke(app, ["optimal", "--flops", "1e21", "--fit", str(bad)])
    assert r.exit_code == 1 and "fit.json" in r.stderr


def test_numeric_optimum_agrees_with_closed_form():
    from scalecli.analyses.allocation import Allocator
    from scalecli.laws import get_law

    law = get_law("chinchilla")
    closed = Allocator(law, EPOCH)
    numeric = Allocator(law, EPOCH, max_tokens=1e40)  # a cap that never binds: numeric path
    for C in (1e19, 1e22, 1e25):
        n1, d1, m1 = closed.optimum(C)
        n2, d2, m2 = numeric.optimum(C)
        assert m1 == "closed form" and m2.startswith("numeric")
        assert n2 == pytest.approx(n1, rel=1e-6) and d2 == pytest.approx(d1, rel=1e-6)


def test_max_tokens_caps_d_and_target_loss_inverts_the_frontier():
    rows = optimal(None, [1e21], max_tokens=5e10)
    assert rows[0].tokens == pytest.approx(5e10, rel=1e-9)
    row = optimal(None, target_loss=2.3)[0]
    assert row.loss == pytest.approx(2.3, rel=1e-9)
    # the frontier's loss falls with compute: 1% less compute misses the target
    assert optimal(None, [row.flops * 0.99])[0].loss > 2.3


def test_inference_aware_allocation_matches_brute_force():
    """Sardana et al. 2024: minimize 6ND + 2NT subject to L(N, D) = target."""
    from scipy.optimize import minimize_scalar

    p, target, T = HOFFMANN, 2.3, 1e13

    def d_for(n):  # the Chinchilla law solved for D
        rest = target - p["E"] - p["A"] / n ** p["alpha"]
        return (p["B"] / rest) ** (1 / p["beta"]) if rest > 0 else math.inf

    def cost(u):
        n = math.exp(u)
        return 6 * n * d_for(n) + 2 * n * T

    r = minimize_scalar(cost, bounds=(math.log(2e8), math.log(1e11)), method="bounded",
                        options={"xatol": 1e-10})
    row = optimal(None, target_loss=target, inference_tokens=T)[0]
    assert row.n_params == pytest.approx(math.exp(r.x), rel=1e-4)
    assert row.flops + row.inference_flops == pytest.approx(r.fun, rel=1e-8)


def test_planned_allocation_wastes_compute():
    at_opt = optimal(None, [1e21])[0]
    planned = optimal(None, [1e21], n_params=at_opt.n_params)[0]
    assert planned.wasted_flops == pytest.approx(0.0, abs=1e21 * 1e-6)
    big = optimal(None, [1e21], n_params=1e10)[0]
    reach = optimal(None, target_loss=big.loss)[0]
    assert big.wasted_flops == pytest.approx(1e21 - reach.flops, rel=1e-9)
    assert big.wasted_flops > 0.3e21
    r = runner.invoke(app, ["optimal", "--flops", "1e21", "--tokens", "1e11", "-f", "json"])
    assert r.exit_code == 0 and "wasted_flops" in json.loads(r.stdout)[0]


def test_numeric_optimum_for_a_law_without_closed_form(tmp_path):
    from scipy.optimize import minimize_scalar

    p = {"N_c": 6.4e13, "alpha_N": 0.076, "D_c": 1.8e13, "alpha_D": 0.103}
    fit = tmp_path / "kaplan.json"
    fit.write_text(json.dumps({"law": "kaplan", "params": p}))

    def L(N, D):
        return ((p["N_c"] / N) ** (p["alpha_N"] / p["alpha_D"]) + p["D_c"] / D) ** p["alpha_D"]

    C = 1e21
    r = minimize_scalar(lambda u: L(math.exp(u), C / 6 / math.exp(u)),
                        bounds=(math.log(1e3), math.log(C / 6e3)), method="bounded",
                        options={"xatol": 1e-12})
    row = optimal(str(fit), [C])[0]
    assert row.n_params == pytest.approx(math.exp(r.x), rel=1e-5)
