"""The CLI end to end on the bundled sample sweep and real fixtures, through Typer's runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TRUE
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()
SAMPLE = ROOT / "sample_runs"
FIX = Path(__file__).parent / "data" / "fixtures"


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def test_fit_sample_runs_recovers_the_generating_law():
    r = invoke("fit", SAMPLE, "--law", "chinchilla", "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"law", "params", "objective", "rmse_log", "r2", "n_points", "n_runs",
                        "converged"}
    assert out["law"] == "chinchilla" and out["converged"] is True
    assert out["n_runs"] == 24 and out["n_points"] == 24
    p = out["params"]
    assert set(p) == {"E", "A", "B", "alpha", "beta"}
    # 24 final points with 0.5% noise: exponents within 0.05, E within 5% of the truth
    assert p["alpha"] == pytest.approx(TRUE["alpha"], abs=0.05)
    assert p["beta"] == pytest.approx(TRUE["beta"], abs=0.05)
    assert p["E"] == pytest.approx(TRUE["E"], rel=0.05)
    assert 0.002 < out["rmse_log"] < 0.01 and out["r2"] > 0.99
    # the columns used are echoed on stderr, results alone on stdout
    assert "columns:" in r.stderr


def test_fit_table_and_config_give_the_same_fit(tmp_path):
    r = invoke("fit", SAMPLE, "--law", "chinchilla")
    assert r.exit_code == 0 and "alpha" in r.stdout and "R²" in r.stdout
    a = json.loads(invoke("fit", SAMPLE, "--format", "json").stdout)
    b = json.loads(invoke("fit", SAMPLE, "--config", ROOT / "scalecli" / "configs" / "chinchilla.yaml",
                          "--format", "json").stdout)
    assert a["params"] == b["params"]


def test_fit_save_feeds_optimal_and_predict(tmp_path):
    fit = tmp_path / "fit.json"
    r = invoke("fit", SAMPLE, "--save", fit, "--format", "json")
    assert r.exit_code == 0 and fit.exists()
    p = json.loads(fit.read_text())["params"]
    r = invoke("predict", "--n", "7e9", "--d", "1.4e12", "--fit", fit, "--format", "json")
    want = p["E"] + p["A"] / 7e9 ** p["alpha"] + p["B"] / 1.4e12 ** p["beta"]
    assert json.loads(r.stdout)[0]["loss"] == pytest.approx(want, rel=1e-14)
    r = invoke("optimal", "--flops", "1e21", "--fit", fit, "--format", "json")
    row = json.loads(r.stdout)[0]
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    assert row["n_params"] == pytest.approx(G * (1e21 / 6) ** (p["beta"] / (p["alpha"] + p["beta"])),
                                            rel=1e-12)
    assert str(fit) in row["params_source"]


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_fit_pipe_formats(fmt):
    r = invoke("fit", SAMPLE, "--format", fmt)
    assert r.exit_code == 0
    assert "alpha" in r.stdout and ("|" in r.stdout) == (fmt == "markdown")


def test_runs_lists_every_sample_run_once():
    r = invoke("runs", SAMPLE, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    truth = json.loads((SAMPLE / "truth.json").read_text())
    assert len(rows) == 24
    names = sorted(x["name"] for x in rows)
    assert names == sorted(x["name"] for x in truth["runs"])
    by_name = {x["name"]: x for x in rows}
    for t in truth["runs"]:
        got = by_name[t["name"]]
        assert got["n_params"] == t["n_params"] and got["tokens"] == t["final_tokens"]
        assert got["flops"] == pytest.approx(6 * t["n_params"] * t["final_tokens"], rel=1e-12)
        assert got["flops_derived"] is True


def test_reduce_options_change_the_target():
    last = json.loads(invoke("fit", SAMPLE, "--format", "json").stdout)
    mean = json.loads(invoke("fit", SAMPLE, "--reduce", "mean-last:3", "--format", "json").stdout)
    assert mean["data"]["reduce"] == "mean-last:3" and mean["params"] != last["params"]
    r = invoke("fit", SAMPLE, "--reduce", "median")
    assert r.exit_code == 1 and "mean-last:K" in r.stderr


def test_plot_renders_in_80_columns():
    r = invoke("plot", SAMPLE, "--law", "chinchilla", "--no-color")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) >= 20 and max(len(x) for x in lines) <= 80
    assert "compute-optimal" in r.stdout and "N=1.5B" in r.stdout
    assert not re.search("\x1b\\[", r.stdout)


def test_ingest_then_commands_on_the_store(tmp_path):
    store = tmp_path / "store"
    r = invoke("ingest", SAMPLE, "--store", store)
    assert r.exit_code == 0, r.stderr
    assert "4 added" in r.stdout
    r = invoke("ingest", SAMPLE, "--store", store)
    assert "0 added" in r.stdout and "4 unchanged" in r.stdout
    direct = json.loads(invoke("fit", SAMPLE, "--format", "json").stdout)
    stored = json.loads(invoke("fit", "--store", store, "--format", "json").stdout)
    assert stored["params"] == direct["params"]


def test_map_option_names_columns(tmp_path):
    src = (FIX / "plain.csv").read_text().replace("n_params", "width_params", 1)
    path = tmp_path / "renamed.csv"
    path.write_text(src)
    r = invoke("runs", path)
    assert r.exit_code == 1 and "--map" in r.stderr and "width_params" in r.stderr
    r = invoke("runs", path, "--map", "N=width_params", "--format", "json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 6
    assert "width_params" in r.stderr  # the chosen column is echoed
    config = tmp_path / "map.yaml"
    config.write_text("law: {name: chinchilla}\ndata: {columns: {N: width_params}}\n")
    r = invoke("fit", path, "--config", config, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n_runs"] == 6


def test_config_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("law:\n  name: chinchilla\n  parameters:\n    alpha: {bounds: [2, 1]}\n")
    r = invoke("fit", SAMPLE, "--config", bad)
    assert r.exit_code == 1 and "bad.yaml" in r.stderr and "alpha" in r.stderr
    bad.write_text("law:\n  name: chinchilla\nfitt: {}\n")
    r = invoke("fit", SAMPLE, "--config", bad)
    assert r.exit_code == 1 and "fitt" in r.stderr
    r = invoke("fit", SAMPLE, "--law", "nope")
    assert r.exit_code == 1 and "chinchilla" in r.stderr


def test_readme_python_example_runs(monkeypatch):
    """The README's Python example, run as written from the repository root."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert blocks, "README has a python example"
    monkeypatch.chdir(ROOT)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_logged_compute_without_tokens_derives_d(epoch_points):
    """Epoch AI's file has N ('Model Size') and C ('Training FLOP') but no D: D = C / (6 N)."""
    path = Path(__file__).parent / "data" / "chinchilla_epoch" / "svg_extracted_data.csv"
    r = invoke("runs", path, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 245 and "D=C/(6·N)" in r.stderr
    for x in rows:
        assert x["tokens"] == pytest.approx(x["flops"] / (6 * x["n_params"]), rel=1e-15)
        assert x["flops_derived"] is False


def test_epoch_fit_through_the_cli_matches_the_replication(epoch_csv):
    r = invoke("fit", epoch_csv, "--format", "json")
    out = json.loads(r.stdout)
    assert out["n_points"] == 240 and out["converged"]
    assert out["params"]["alpha"] == pytest.approx(0.3478, abs=0.002)
    assert out["params"]["beta"] == pytest.approx(0.3658, abs=0.002)
    assert out["params"]["E"] == pytest.approx(1.82, abs=0.01)


def test_envelope_fits_the_frontier_only(tmp_path):
    """Three runs per budget, only the best one on the frontier: the envelope fit recovers the
    frontier's power law exactly, while all points would not."""
    rows = ["run,compute,loss"]
    for i, c in enumerate([1e18, 1e19, 1e20, 1e21, 1e22, 1e23]):
        best = 1.7 + 3000.0 * c ** -0.17
        for j, worse in enumerate([1.0, 1.05, 1.2]):
            rows.append(f"r{i}-{j},{c!r},{best * worse!r}")
    path = tmp_path / "budgets.csv"
    path.write_text("\n".join(rows) + "\n")
    r = invoke("fit", path, "--law", "power", "--x", "compute", "--envelope", "pareto",
               "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n_points"] == 6 and out["params"]["alpha"] == pytest.approx(0.17, rel=1e-5)
    r = invoke("fit", path, "--law", "power", "--x", "compute", "--envelope", "bins", "--bins",
               "6", "--format", "json")
    assert json.loads(r.stdout)["n_points"] == 6
    r = invoke("fit", path, "--law", "power", "--x", "compute", "--format", "json")
    assert json.loads(r.stdout)["n_points"] == 18
    r = invoke("fit", path, "--law", "power", "--x", "compute", "--envelope", "hull")
    assert r.exit_code == 1 and "pareto" in r.stderr


def test_frontier_and_isoflop_commands_report_approach_3(tmp_path):
    r = invoke("frontier", SAMPLE, "--flops", "1e21", "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert 0.4 < out["a"] < 0.6 and out["a"] + out["b"] == pytest.approx(1.0, abs=1e-9)
    third = out["approach3"]
    assert third["a"] == pytest.approx(third["params"]["beta"] / (third["params"]["alpha"]
                                                                 + third["params"]["beta"]))
    assert [p["flops"] for p in third["predictions"]] == [1e21]
    # IsoFLOP needs several sizes per budget: the sample's runs each have their own budget
    r = invoke("isoflop", SAMPLE)
    assert r.exit_code == 1
    assert "three" in r.stderr.lower() or "budget" in r.stderr.lower()
    rows = ["run,n_params,tokens,flops,loss"]
    for i, C in enumerate([1e18, 1e19, 1e20]):
        for j, f in enumerate([0.3, 0.6, 1.0, 1.7, 3.0]):
            G = (0.35 * 482 / (0.37 * 2085)) ** (1 / 0.72)
            N = G * (C / 6) ** (0.37 / 0.72) * f
            D = C / (6 * N)
            rows.append(f"r{i}{j},{N!r},{D!r},{C!r},{1.8 + 482 / N**0.35 + 2085 / D**0.37!r}")
    path = tmp_path / "iso.csv"
    path.write_text("\n".join(rows) + "\n")
    r = invoke("isoflop", path, "--optimum", "parabola", "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["a"] == pytest.approx(0.37 / 0.72, abs=0.02)
    assert out["approach3"]["a"] == pytest.approx(0.37 / 0.72, abs=1e-4)


def test_law_all_ranks_by_held_out_error(tmp_path):
    """On a sweep drawn from a Chinchilla law, chinchilla extrapolates best; each fit object
    carries its held-out error, and one-variable laws join only with --x."""
    rows = ["run,n_params,tokens,loss"]
    for n in np.geomspace(2e7, 3e9, 6):
        for m in (5, 10, 20, 40, 80):
            loss = 1.8 + 480 / n**0.35 + 2100 / (m * n) ** 0.37
            rows.append(f"m{n:.3g}-{m},{float(n)!r},{float(m * n)!r},{float(loss)!r}")
    path = tmp_path / "sweep.csv"
    path.write_text("\n".join(rows) + "\n")
    r = invoke("fit", path, "--law", "all", "--holdout", "4", "--format", "json")
    assert r.exit_code == 0, r.stderr
    fits = json.loads(r.stdout)
    laws = [f["law"] for f in fits]
    assert laws[0] == "chinchilla" and {"kaplan", "overtrain"} <= set(laws)
    assert "power" not in laws and "power skipped" in r.stderr
    assert fits[0]["holdout_error"] < 1e-6
    errs = [f["holdout_error"] for f in fits]
    assert errs == sorted(errs)
    assert len(fits[0]["data"]["holdout_runs"]) == 4
    r = invoke("fit", path, "--law", "all", "--x", "flops", "--format", "json")
    assert {"power", "bnsl"} <= {f["law"] for f in json.loads(r.stdout)}


def test_plot_of_a_one_variable_law():
    r = invoke("plot", SAMPLE, "--law", "power", "--x", "flops", "--no-color")
    assert r.exit_code == 0, r.stderr
    assert "fitted law" in r.stdout and "power fit" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    r = invoke("plot", SAMPLE, "--law", "kaplan-n", "--no-color")
    assert r.exit_code == 0 and "n_params" in r.stdout


def test_kaplan_s_derives_s_min_from_logged_steps(tmp_path):
    """Runs drawn from L(N, S_min) (Kaplan et al. Eq. 1.6), logged as steps S and tokens with
    S = S_min·(1 + B_crit(L)/B): the fit converts them back and recovers the law."""
    from scalecli.laws.kaplan import ALPHA_B, B_STAR

    truth = {"N_c": 6.5e13, "alpha_N": 0.077, "S_c": 2.1e3, "alpha_S": 0.76}
    rows = ["run,n_params,tokens,step,loss"]
    for i, n in enumerate(np.geomspace(1e7, 1e9, 5)):
        for j, smin in enumerate([2e3, 5e3, 1.5e4, 4e4]):
            L = (truth["N_c"] / n) ** truth["alpha_N"] + (truth["S_c"] / smin) ** truth["alpha_S"]
            B = 2.5e5 * (1 + j)  # tokens per step
            S = smin * (1 + B_STAR / (L ** (1 / ALPHA_B) * B))
            rows.append(f"r{i}{j},{float(n)!r},{float(S * B)!r},{float(S)!r},{float(L)!r}")
    path = tmp_path / "kaplan.csv"
    path.write_text("\n".join(rows) + "\n")
    r = invoke("fit", path, "--law", "kaplan-s", "--format", "json")
    assert r.exit_code == 0, r.stderr
    p = json.loads(r.stdout)["params"]
    for k, v in truth.items():
        assert p[k] == pytest.approx(v, rel=1e-4), k
    assert "S_min derived" in r.stderr
