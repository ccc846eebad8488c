"""`scalecli plan`: IsoFLOP budgets around --flops and, at each, model sizes symmetric in log N
about the closed-form compute-optimal N (Hoffmann et al.'s, or a fit's), with D = C/(6N)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict

import pytest
from conftest import TRUE, synthetic_sweep, write_csv
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()
HOFFMANN = {"E": 1.69, "A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28}


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def n_opt(p, C):
    """N_opt = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta))."""
    a, b = p["alpha"], p["beta"]
    G = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
    return G * (C / 6) ** (b / (a + b))


def loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def plan_rows(*args):
    r = cli("plan", *args, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    for row in rows:
        for k in ("flops", "n_params", "tokens", "predicted_loss"):
            row[k] = float(row[k])
    return rows, r


def by_budget(rows):
    out = defaultdict(list)
    for row in rows:
        out[row["flops"]].append(row)
    return out


def test_default_plan_brackets_the_published_optimum_symmetrically():
    rows, r = plan_rows("--flops", "1e21")
    assert {"name", "flops", "n_params", "tokens", "predicted_loss"} <= set(rows[0])
    groups = by_budget(rows)
    assert len(groups) == 5 and all(len(g) == 7 for g in groups.values())
    # five budgets log-spaced over a decade either side of 1e21
    assert sorted(groups) == pytest.approx([1e20, 10 ** 20.5, 1e21, 10 ** 21.5, 1e22], rel=1e-12)
    for C, group in groups.items():
        opt = n_opt(HOFFMANN, C)
        sizes = sorted(row["n_params"] for row in group)
        assert sizes[0] < opt < sizes[-1]
        # symmetric in log N: the i-th smallest and i-th largest multiply to N_opt^2
        for lo, hi in zip(sizes, reversed(sizes)):
            assert math.log(lo) + math.log(hi) == pytest.approx(2 * math.log(opt), abs=1e-9)
        assert sizes[3] == pytest.approx(opt, rel=1e-9)  # 7 sizes: the middle one is N_opt
        assert sizes[-1] / sizes[0] == pytest.approx(16.0, rel=1e-9)  # x/÷ 4 by default
        for row in group:
            assert row["flops"] == pytest.approx(6 * row["n_params"] * row["tokens"], rel=1e-12)
            assert row["predicted_loss"] == pytest.approx(
                loss(HOFFMANN, row["n_params"], row["tokens"]), rel=1e-12)
        # the optimum is the lowest predicted loss of its budget
        best = min(group, key=lambda row: row["predicted_loss"])
        assert best["n_params"] == pytest.approx(opt, rel=1e-9)
    assert "Hoffmann et al. 2022" in r.stderr


def test_names_are_unique_and_say_budget_and_size():
    rows, _ = plan_rows("--flops", "1e21", "--budgets", "1", "--sizes", "5")
    names = [row["name"] for row in rows]
    assert len(set(names)) == 5
    mid = rows[2]
    assert mid["name"] == f"c1e21-n{mid['n_params'] / 1e9:.2g}e9"


def test_range_spread_and_even_sizes():
    rows, _ = plan_rows("--flops", "1e19..1e21", "--budgets", "3", "--sizes", "4",
                        "--spread", "1")
    groups = by_budget(rows)
    assert sorted(groups) == pytest.approx([1e19, 1e20, 1e21], rel=1e-12)
    for C, group in groups.items():
        sizes = sorted(row["n_params"] for row in group)
        opt = n_opt(HOFFMANN, C)
        assert sizes[0] == pytest.approx(opt / 10, rel=1e-9)
        assert sizes[-1] == pytest.approx(opt * 10, rel=1e-9)
        assert sizes[1] < opt < sizes[2]
        assert sizes[1] * sizes[2] == pytest.approx(opt ** 2, rel=1e-9)


def test_total_compute_is_the_sum_of_the_runs():
    r = cli("plan", "--flops", "1e21", "--budgets", "3", "--sizes", "5", "--total-compute",
            "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    # 5 runs at each of 1e20, 1e21, 1e22
    assert out["total_flops"] == pytest.approx(5 * (1e20 + 1e21 + 1e22), rel=1e-12)
    assert sum(row["flops"] for row in out["runs"]) == pytest.approx(out["total_flops"])
    assert "total compute of the plan: 5.55e22 FLOPs over 15 runs" in r.stderr
    plain = cli("plan", "--format", "json")
    assert "total_flops" not in json.loads(plain.stdout)


def test_plan_from_a_fit_centres_on_that_fits_optimum(tmp_path):
    N, D, L = synthetic_sweep(5, noise=0.002)
    data = write_csv(tmp_path / "sweep.csv", N, D, L)
    fit = tmp_path / "fit.json"
    r = cli("fit", data, "--law", "chinchilla", "--save", fit)
    assert r.exit_code == 0, r.stderr
    params = json.loads(fit.read_text())["params"]
    rows, r = plan_rows("--flops", "1e20", "--budgets", "2", "--sizes", "5", "--fit", fit)
    assert str(fit) in r.stderr
    groups = by_budget(rows)
    assert len(groups) == 2
    for C, group in groups.items():
        sizes = sorted(row["n_params"] for row in group)
        assert sizes[2] == pytest.approx(n_opt(params, C), rel=1e-9)
        # and that fit recovered the generating law: its optimum is near TRUE's
        assert sizes[2] == pytest.approx(n_opt(TRUE, C), rel=0.25)
        assert sizes[0] < n_opt(TRUE, C) < sizes[-1]
        for row in group:
            assert row["params_source"] == f"fit: {fit}"


@pytest.mark.parametrize("args, says", [
    (["--sizes", "2"], "at least 3 sizes"),
    (["--budgets", "0"], "at least one budget"),
    (["--law", "kaplan-n"], "not a law of N and D"),
    (["--spread", "0"], "--spread"),
    (["--flops", "1e21x"], "1e21x"),
])
def test_refusals_are_one_line(args, says):
    r = cli("plan", *args)
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in lines[0], r.stderr


def test_rounded_sizes_are_readable_and_still_bracket():
    rows, _ = plan_rows("--flops", "1e21", "--budgets", "3", "--sizes", "7", "--round")
    for C, group in by_budget(rows).items():
        sizes = sorted(row["n_params"] for row in group)
        assert all(float(f"{n:.2g}") == n for n in sizes)
        assert len(set(sizes)) == 7
        opt = n_opt(HOFFMANN, C)
        assert sizes[0] < opt < sizes[-1]
        assert abs(sizes[3] / opt - 1) <= 0.05  # two digits move N by at most 5%
        for row in group:
            assert row["flops"] == pytest.approx(6 * row["n_params"] * row["tokens"], rel=1e-12)
    r = cli("plan", "--sizes", "9", "--spread", "0.001", "--round")
    assert r.exit_code == 1 and "--round" in r.stderr
