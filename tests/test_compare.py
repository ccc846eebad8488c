"""`scalecli compare`: sweeps drawn without noise from two known Chinchilla laws, whose
compute-optimal frontiers L*(C) = E + K·(C/6)^(-gamma) are closed forms (written out here, apart
from the code): the crossover found by root-finding them, the compute multiplier by inverting
them, the parameters the generating ones."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TRUE, chinchilla_loss, synthetic_sweep
from scipy.optimize import brentq
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()
LAW_A = dict(TRUE)  # E=1.8, A=482, alpha=0.35, B=2085, beta=0.37
LAW_B = {"E": 1.6, "A": 800.0, "alpha": 0.36, "B": 3000.0, "beta": 0.38}  # crosses A near 4e19
LAW_C = {"E": 1.5, "A": 700.0, "alpha": 0.35, "B": 3000.0, "beta": 0.37}  # crosses A near 1e20


def frontier_terms(p):
    """(E, K, gamma) of L*(C) = E + K·(C/6)^(-gamma): at N = G·(C/6)^(beta/(alpha+beta)),
    G = (alpha·A/(beta·B))^(1/(alpha+beta)), both terms scale as (C/6)^(-alpha·beta/(alpha+beta))."""
    a, b = p["alpha"], p["beta"]
    G = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
    return p["E"], p["A"] * G**-a + p["B"] * G**b, a * b / (a + b)


def frontier_loss(p, C):
    E, K, gamma = frontier_terms(p)
    return E + K * (C / 6) ** -gamma


def true_crossover(p, q, lo=1e15, hi=1e30):
    return math.exp(brentq(lambda u: frontier_loss(p, math.exp(u)) - frontier_loss(q, math.exp(u)),
                           math.log(lo), math.log(hi), xtol=1e-14))


def true_multiplier(p, q, C):
    """C_q / C where L*_q(C_q) = L*_p(C): the closed form inverted."""
    E, K, gamma = frontier_terms(q)
    return 6 * ((frontier_loss(p, C) - E) / K) ** (-1 / gamma) / C


def write_runs(path: Path, laws: dict, scale=1.0, keep=None) -> Path:
    """One CSV row per run with an ``arch`` column: the conftest sweep's N and D (times
    ``scale``, the first ``keep`` runs) and each law's loss there, without noise."""
    lines = ["run,arch,n_params,tokens,loss"]
    for arch, p in laws.items():
        N, D, _ = synthetic_sweep(0, noise=0.0, params=p)
        N, D = N * scale, D * scale
        L = chinchilla_loss(p, N, D)
        for i in range(N.size if keep is None else keep):
            lines.append(f"{arch}{i},{arch},{float(N[i])!r},{float(D[i])!r},{float(L[i])!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(r):
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr)
    return r


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweeps")
    return (write_runs(root / "dense" / "runs.csv", {"dense": LAW_A}).parent,
            write_runs(root / "moe" / "runs.csv", {"moe": LAW_B}).parent)


@pytest.fixture(scope="module")
def result(sweeps):
    return json.loads(ok(invoke("compare", *sweeps, "--format", "json")).stdout)


# ---- what the comparison finds, against the closed forms ----------------------------------
def test_crossover_of_two_known_laws_within_one_percent(result):
    truth = true_crossover(LAW_A, LAW_B)
    assert 1e19 < truth < 1e20  # inside the sweeps' compute, where both were fitted
    assert result["crossover_flops"] == pytest.approx(truth, rel=0.01)
    assert result["pairs"][0]["crossings"] == [pytest.approx(truth, rel=0.01)]


def test_compute_multiplier_is_the_closed_form(result):
    rows = result["budgets"]
    assert len(rows) >= 5
    for r in rows:
        C = r["flops"]
        assert r["multiplier"]["moe"] == pytest.approx(true_multiplier(LAW_A, LAW_B, C),
                                                       rel=1e-3)
        assert r["loss"]["dense"] == pytest.approx(frontier_loss(LAW_A, C), rel=1e-6)
        assert r["loss"]["moe"] == pytest.approx(frontier_loss(LAW_B, C), rel=1e-6)
    # below the crossover moe needs more compute than dense, above it less
    truth = true_crossover(LAW_A, LAW_B)
    assert all((r["multiplier"]["moe"] > 1) == (r["flops"] < truth) for r in rows)


def test_parameters_side_by_side_are_the_generating_laws(result):
    assert list(result["groups"]) == ["dense", "moe"]
    assert result["baseline"] == "dense"
    for name, law in (("dense", LAW_A), ("moe", LAW_B)):
        g = result["groups"][name]
        assert g["params"] == {k: pytest.approx(v, rel=1e-5) for k, v in law.items()}
        assert g["n_runs"] == 30 and g["intervals"] == {}


def test_json_keys(result):
    assert set(result) == {"law", "formula", "group_by", "baseline", "groups", "shared_flops",
                           "budgets", "crossover_flops", "pairs", "crossover_span", "level",
                           "notes", "warnings"}
    assert set(result["groups"]["moe"]) == {"law", "params", "intervals", "fixed", "n_runs",
                                            "n_points", "rmse_log", "r2", "converged",
                                            "flops_range", "warnings"}
    assert set(result["budgets"][0]) == {"flops", "extrapolated", "loss", "multiplier",
                                         "loss_interval", "ranking"}
    assert set(result["pairs"][0]) == {"baseline", "group", "crossover_flops", "crossings",
                                       "note"}
    assert result["crossover_span"] == [1e15, 1e30]
    # the sweeps span 4.8e15..5.4e20 FLOPs: budgets past that are marked as extrapolations
    assert result["shared_flops"] == pytest.approx([4.8e15, 5.4e20])
    assert [r["extrapolated"] for r in result["budgets"]] == [
        not 4.8e15 <= r["flops"] <= 5.4e20 for r in result["budgets"]]


def test_group_by_column_and_either_baseline_find_the_crossover(tmp_path):
    path = write_runs(tmp_path / "both.csv", {"moe": LAW_B, "dense": LAW_A})
    first = json.loads(ok(invoke("compare", path, "--group-by", "arch", "-f", "json")).stdout)
    assert first["baseline"] == "dense" and first["group_by"] == "arch"
    swapped = json.loads(ok(invoke("compare", path, "--group-by", "arch", "--baseline", "moe",
                                   "--flops", "1e18,1e21", "-f", "json")).stdout)
    truth = true_crossover(LAW_A, LAW_B)
    for res in (first, swapped):
        assert res["crossover_flops"] == pytest.approx(truth, rel=0.01)
    assert [r["flops"] for r in swapped["budgets"]] == [1e18, 1e21]
    for r in swapped["budgets"]:
        assert r["multiplier"] == {"dense": pytest.approx(
            true_multiplier(LAW_B, LAW_A, r["flops"]), rel=1e-3)}


def test_three_groups_are_each_weighed_against_the_first(tmp_path):
    path = write_runs(tmp_path / "three.csv", {"a": LAW_A, "b": LAW_B, "c": LAW_C})
    res = json.loads(ok(invoke("compare", path, "--group-by", "arch", "-f", "json")).stdout)
    assert res["crossover_flops"] is None  # one number cannot say it: each pair has its own
    assert [(p["baseline"], p["group"]) for p in res["pairs"]] == [("a", "b"), ("a", "c")]
    for p, law in zip(res["pairs"], (LAW_B, LAW_C)):
        assert p["crossover_flops"] == pytest.approx(true_crossover(LAW_A, law), rel=0.01)


def test_frontiers_that_never_cross_say_so(tmp_path):
    worse = {**LAW_A, "E": LAW_A["E"] + 0.1}  # the same law, 0.1 higher everywhere
    a = write_runs(tmp_path / "a" / "runs.csv", {"a": LAW_A}).parent
    b = write_runs(tmp_path / "b" / "runs.csv", {"b": worse}).parent
    res = json.loads(ok(invoke("compare", a, b, "-f", "json")).stdout)
    assert res["crossover_flops"] is None and res["pairs"][0]["crossings"] == []
    note = res["pairs"][0]["note"]
    assert "do not cross between 1e15 and 1e30" in note and "a reaches the lower loss" in note
    for r in res["budgets"]:
        assert r["multiplier"]["b"] == pytest.approx(true_multiplier(LAW_A, worse, r["flops"]),
                                                     rel=1e-3)
        assert r["multiplier"]["b"] > 1


def test_a_formula_law_without_closed_form_finds_the_same_crossover(sweeps):
    """examples/my-chinchilla.yaml is Chinchilla as a formula: no closed-form optimum, so the
    frontier comes from the numeric search over N."""
    res = json.loads(ok(invoke("compare", *sweeps, "--config",
                               ROOT / "examples" / "my-chinchilla.yaml", "-f", "json")).stdout)
    assert res["law"] == "my-chinchilla"
    assert res["crossover_flops"] == pytest.approx(true_crossover(LAW_A, LAW_B), rel=0.01)
    r = res["budgets"][2]
    assert r["multiplier"]["moe"] == pytest.approx(true_multiplier(LAW_A, LAW_B, r["flops"]),
                                                   rel=1e-3)


def test_a_law_of_compute_alone_is_its_own_frontier(tmp_path):
    """`--config power` fits L = E + A·C^(-alpha) with C = 6·N·D: the frontier is the law."""
    laws = {"p": {"E": 1.8, "A": 3e3, "alpha": 0.16}, "q": {"E": 1.5, "A": 5e3, "alpha": 0.17}}
    paths = []
    for name, p in laws.items():
        N, D, _ = synthetic_sweep(0, noise=0.0)
        L = p["E"] + p["A"] * (6 * N * D) ** -p["alpha"]
        lines = ["run,n_params,tokens,loss"] + [
            f"{name}{i},{float(n)!r},{float(d)!r},{float(y)!r}" for i, (n, d, y)
            in enumerate(zip(N, D, L))]
        (tmp_path / f"{name}.csv").write_text("\n".join(lines) + "\n")
        paths.append(tmp_path / f"{name}.csv")
    res = json.loads(ok(invoke("compare", *paths, "--config", "power", "-f", "json")).stdout)

    def law(p, C):
        return p["E"] + p["A"] * C ** -p["alpha"]

    p, q = laws["p"], laws["q"]
    truth = math.exp(brentq(lambda u: law(p, math.exp(u)) - law(q, math.exp(u)),
                            math.log(1e15), math.log(1e30)))
    assert 1e16 < truth < 1e21
    assert res["crossover_flops"] == pytest.approx(truth, rel=0.01)
    for r in res["budgets"]:
        reach = ((law(p, r["flops"]) - q["E"]) / q["A"]) ** (-1 / q["alpha"])
        assert r["multiplier"]["q"] == pytest.approx(reach / r["flops"], rel=1e-3)


# ---- intervals: the ranking logic a bootstrap will feed -----------------------------------
def test_overlapping_loss_intervals_do_not_support_a_ranking(sweeps):
    import scalecli
    from scalecli.analyses.compare import compare
    from scalecli.pipeline import fit_spec

    frames = {p.name: scalecli.load(p) for p in sweeps}
    truth = true_crossover(LAW_A, LAW_B)
    budgets = [1e16, truth]  # far apart at 1e16 (5.39 vs 6.27); equal at the crossover
    plain = compare(frames, fit_spec("chinchilla"), flops=budgets)
    assert all(r["ranking"] == {} and r["loss_interval"] == {} for r in plain.budgets)
    assert not any("support" in n for n in plain.notes)

    rng = np.random.default_rng(7)
    samples = {name: [{k: v * (1 + 0.01 * rng.standard_normal()) for k, v in law.items()}
                      for _ in range(200)] for name, law in (("dense", LAW_A), ("moe", LAW_B))}
    res = compare(frames, fit_spec("chinchilla"), flops=budgets, samples=samples, level=0.9)
    assert [r["ranking"] for r in res.budgets] == [{"moe": "supported"},
                                                   {"moe": "not supported"}]
    lo, hi = res.budgets[1]["loss_interval"]["dense"]
    assert lo < frontier_loss(LAW_A, truth) < hi
    e_lo, e_hi = res.groups["dense"].intervals["E"]
    assert e_lo < LAW_A["E"] < e_hi and e_hi - e_lo < 0.1
    assert any("do not support ranking" in n and "90%" in n for n in res.notes)
    assert res.to_dict()["level"] == 0.9


# ---- how it is shown -----------------------------------------------------------------------
def test_table_markdown_and_csv_say_where_the_frontiers_cross(sweeps):
    truth = true_crossover(LAW_A, LAW_B)
    table = ok(invoke("compare", *sweeps)).stdout
    assert "fitted to each group" in table and "× C for moe" in table
    assert "the frontiers cross at" in table and "dense reaches the lower loss below" in table
    md = ok(invoke("compare", *sweeps, "-f", "markdown")).stdout
    assert "| C (FLOPs) |" in md and "the frontiers cross at" in md
    rows = ok(invoke("compare", *sweeps, "-f", "csv")).stdout.splitlines()
    assert rows[0] == "kind,group,name,flops,value,low,high"
    assert sum(r.startswith("param,") for r in rows) == 10
    (cross,) = [r for r in rows if r.startswith("crossover,")]
    assert float(cross.split(",")[3]) == pytest.approx(truth, rel=0.01)


def test_plot_draws_both_frontiers_and_the_crossover(sweeps):
    out = ok(invoke("compare", *sweeps, "--plot", "--no-color")).stdout
    lines = out.splitlines()
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
    assert "\x1b" not in out
    legend = "\n".join(lines[-2:])
    assert "dense" in legend and "moe" in legend and "X crossover" in legend
    assert "compute C (FLOPs)" in out and "1e19" in out
    assert "\x1b[" in ok(invoke("compare", *sweeps, "--plot", "--color")).stdout


# ---- bad input: one line, exit 1 -----------------------------------------------------------
def refused(r, *words):
    text = r.stdout + r.stderr
    assert r.exit_code == 1, (r.exit_code, text)
    assert "Traceback" not in text
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, r.stderr
    for w in words:
        assert w in errors[0], (w, errors[0])


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Runs with an arch (two values), a one-valued column and an eight-valued one."""
    path = write_runs(tmp_path_factory.mktemp("mixed") / "runs.csv",
                      {"dense": LAW_A, "moe": LAW_B})
    lines = path.read_text().splitlines()
    out = [lines[0] + ",site,seed"] + [f"{line},here,{i % 8}" for i, line in
                                       enumerate(lines[1:])]
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.mark.parametrize("args,words", [
    (["--group-by", "arch_name"], ["--group-by 'arch_name'", "no such run column", "arch"]),
    (["--group-by", "site"], ["--group-by 'site'", "same value", "'here'"]),
    (["--group-by", "seed"], ["--group-by 'seed' has 8 values", "0, 1, 2", "2 to 6 groups"]),
    (["--group-by", "arch", "--baseline", "sparse"], ["--baseline 'sparse'", "dense, moe"]),
    (["--group-by", "arch", "--law", "kaplan-n"], ["kaplan-n", "not of n_params and tokens"]),
    ([], ["two groups", "--group-by"]),
])
def test_bad_groupings_are_refused(mixed, args, words):
    refused(invoke("compare", mixed, *args), *words)


def test_a_group_with_too_few_runs_is_refused(tmp_path):
    a = write_runs(tmp_path / "a" / "runs.csv", {"a": LAW_A}).parent
    b = write_runs(tmp_path / "b" / "runs.csv", {"b": LAW_B}, keep=4).parent
    refused(invoke("compare", a, b), "b:", "4 usable run(s)", "at least 6")


def test_groups_without_shared_compute_are_refused(tmp_path):
    a = write_runs(tmp_path / "small" / "runs.csv", {"small": LAW_A}).parent
    b = write_runs(tmp_path / "big" / "runs.csv", {"big": LAW_A}, scale=1e3).parent
    refused(invoke("compare", a, b), "share no compute range", "small 4.8e15..5.4e20",
            "big 4.8e21")


def test_an_empty_path_is_refused(tmp_path, sweeps):
    (tmp_path / "empty").mkdir()
    refused(invoke("compare", sweeps[0], tmp_path / "empty"), "empty", "no log files")


def test_the_same_path_twice_and_a_store_without_group_by_are_refused(tmp_path, sweeps):
    refused(invoke("compare", sweeps[0], sweeps[0]), "given twice")
    refused(invoke("compare", *sweeps, "--store", tmp_path / "st"), "--store", "--group-by")


def test_bootstrap_says_where_the_data_do_not_support_a_ranking():
    """Each group's runs resampled: at the crossing the two frontiers' loss intervals overlap
    (no ranking), four decades before it they do not; the groups carry parameter intervals."""
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from scalecli.cli import app

    ex = Path(__file__).resolve().parent.parent / "examples" / "compare"
    r = CliRunner().invoke(app, ["compare", str(ex / "dense.csv"), str(ex / "moe.csv"),
                                 "--bootstrap", "100", "--flops", "3.85e19,1e15",
                                 "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    at = {row["flops"]: row for row in out["budgets"]}
    assert at[3.85e19]["ranking"]["moe"] == "not supported"
    assert at[1e15]["ranking"]["moe"] == "supported"
    for g in (out["groups"].values() if isinstance(out["groups"], dict) else out["groups"]):
        lo, hi = g["intervals"]["alpha"]
        assert lo < g["params"]["alpha"] < hi
    r = CliRunner().invoke(app, ["compare", str(ex / "dense.csv"), str(ex / "moe.csv"),
                                 "--bootstrap", "-1"])
    assert r.exit_code == 1 and "--bootstrap -1" in r.stderr
