"""The papers' own fits, reproduced through the CLI from the papers' own data.

One test per published figure or table (configs/papers/README.md), asserting the digits the
paper or its authors' notebook prints. Sources:

- Besiroglu et al. 2024 (arXiv:2404.10102): epoch-research/analyzing-chinchilla @ 92258837,
  data_analysis.ipynb (cells are named by their execution count, In[n]).
- Gadre et al. 2024 (arXiv:2403.08540): mlfoundations/scaling @ a003c491,
  scaling_explorer.ipynb cell 2 (Figure 1), scaling/laws.py and scaling/shared.py.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()
PAPERS = ROOT / "scalecli" / "configs" / "papers"
EPOCH = Path(__file__).parent / "data" / "chinchilla_epoch"
GADRE = Path(__file__).parent / "data" / "gadre_overtraining"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def fit_json(data: Path, *args) -> dict:
    r = invoke("fit", data, *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def logs8(p: dict) -> list[str]:
    """(log A, log B, log E, alpha, beta) to 8 decimals, as the notebook prints its x."""
    return [f"{v:.8f}" for v in (math.log(p["A"]), math.log(p["B"]), math.log(p["E"]),
                                 p["alpha"], p["beta"])]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---- Besiroglu, Erdil, Barnett, You (2024): Chinchilla approach 3 on Epoch's digitised data ----

def test_epoch_240_rows_are_the_notebooks_selection():
    """In[25]: indices = [i for i in range(len(N)) if losses[i] < sorted(losses)[-5]]."""
    full = read_csv(EPOCH / "svg_extracted_data.csv")
    kept = read_csv(EPOCH / "svg_extracted_data_240.csv")
    threshold = sorted(float(r["loss"]) for r in full)[-5]
    assert kept == [r for r in full if float(r["loss"]) < threshold]
    assert len(full) == 245 and len(kept) == 240


def test_epoch_published_fit():
    """The paper's estimates are the notebook's maximum-likelihood fit (In[31], In[32])."""
    out = fit_json(EPOCH / "svg_extracted_data_240.csv",
                   "--config", PAPERS / "epoch2024-chinchilla.yaml")
    assert out["n_points"] == 240 and out["converged"]
    assert out["fit"]["loss"] == "huber" and out["fit"]["space"] == "log"
    p = out["params"]
    # In[31]: x = [6.17795598 7.64273236 0.59711196 0.34781303 0.36585412 -12.26662388]
    assert logs8(p) == ["6.17795598", "7.64273236", "0.59711196", "0.34781303", "0.36585412"]
    # In[32]: A: 482.00572  B: 2085.43420  E: 1.81686  alpha: 0.34781  beta: 0.36585
    assert [f"{p[k]:.5f}" for k in ("A", "B", "E", "alpha", "beta")] == [
        "482.00572", "2085.43420", "1.81686", "0.34781", "0.36585"]
    # The paper: E = 1.82, A = 482.01, B = 2085.43, alpha = 0.3478, beta = 0.3658 (beta cut
    # to 4 decimals, not rounded: 0.365854).
    assert (f"{p['E']:.2f}", f"{p['A']:.2f}", f"{p['B']:.2f}", f"{p['alpha']:.4f}") == (
        "1.82", "482.01", "2085.43", "0.3478")
    assert math.floor(p["beta"] * 1e4) / 1e4 == 0.3658
    # The fitted scale of In[31], exp(-12.26662388), is 1e-3 * mean |log residual| at the fit:
    # the config's delta = 1e-3 * scale is the notebook's, not a tuned number.
    assert math.log(1e-3 * _mean_abs_log_residual(p)) == pytest.approx(-12.26662388, abs=2e-5)


def _mean_abs_log_residual(p: dict) -> float:
    rows = read_csv(EPOCH / "svg_extracted_data_240.csv")
    total = 0.0
    for r in rows:
        n, c, loss = float(r["Model Size"]), float(r["Training FLOP"]), float(r["loss"])
        d = c / (6 * n)
        pred = p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]
        total += abs(math.log(pred) - math.log(loss))
    return total / len(rows)


def test_epoch_with_outliers_from_the_original_file():
    """All 245 rows, read as they are: the notebook's fitted_params_with_outliers (In[38])."""
    out = fit_json(EPOCH / "svg_extracted_data.csv",
                   "--config", PAPERS / "epoch2024-chinchilla-245.yaml")
    assert out["n_points"] == 245 and out["converged"]
    assert logs8(out["params"]) == [
        "6.13834459", "9.43584213", "0.63412782", "0.34535680", "0.45189211"]


def test_epoch_huber_1e3_fit_is_the_replicate_exactly_cell_not_the_published_one():
    """The published numbers are not the Huber(delta=1e-3) fit. That fit is In[27] ('Replicate
    exactly': A=477.84171, B=2143.86379, E=1.8172355, alpha=0.3473127, beta=0.3671826, best
    loss 0.0010182740346154362), whose L-BFGS-B stopped at scipy's default tolerances with
    finite-difference gradients; scalecli's default reaches a lower objective, within 3e-4 of
    every In[27] parameter, and 0.9% below the published A."""
    out = fit_json(EPOCH / "svg_extracted_data_240.csv", "--config", ROOT / "scalecli" / "configs" /
                   "chinchilla.yaml")
    p = out["params"]
    assert out["objective"] < 0.0010182740346154362
    in27 = {"A": 477.84171252965143, "B": 2143.8637880335505, "E": 1.817235504463726,
            "alpha": 0.34731265761033453, "beta": 0.3671826173946711}
    for k, v in in27.items():
        assert p[k] == pytest.approx(v, rel=3e-4), k
    assert f"{p['A']:.2f}" != "482.01" and abs(p["A"] / 482.00572 - 1) > 0.008


# ---- Gadre et al. (2024): Figure 1, RedPajama ----------------------------------------------

def test_gadre_figure1_rows_are_fit_ds_selection():
    """scaling/shared.py fit_ds: the four small models at M=20 and the 11M model at M=320;
    the error fit adds the 1.4B model at M=20; the targets are 1.4B at M=640 and 6.9B at M=20."""
    names = [r["name"] for r in read_csv(GADRE / "figure1_rpj_loss.csv")]
    assert names == ["rpj-d=96_l=8_h=4-1.0", "rpj-d=512_l=8_h=4-1.0", "rpj-d=576_l=24_h=8-1.0",
                     "rpj-d=1024_l=24_h=8-1.0", "rpj-d=96_l=8_h=4-16.0"]
    names_err = [r["name"] for r in read_csv(GADRE / "figure1_rpj_error.csv")]
    assert names_err == names + ["rpj-open_lm_1b-1.0"]
    assert [r["name"] for r in read_csv(GADRE / "figure1_rpj_targets.csv")] == [
        "rpj-open_lm_7b-1.0", "rpj-open_lm_1b-32.0"]
    runs = {r["name"]: r for r in read_csv(GADRE / "runs.csv")}
    for r in read_csv(GADRE / "figure1_rpj_error.csv"):  # rows copied from runs.csv unchanged
        assert {k: r[k] for k in runs[r["name"]]} == runs[r["name"]]


@pytest.fixture(scope="module")
def gadre_loss(tmp_path_factory):
    """The loss law fitted to Figure 1's five runs, saved, and its predictions at the targets."""
    saved = tmp_path_factory.mktemp("gadre") / "loss.json"
    out = fit_json(GADRE / "figure1_rpj_loss.csv", "--config", PAPERS / "gadre2024-rpj-loss.yaml",
                   "--save", saved)
    r = invoke("predict", "--fit", saved, "--points", GADRE / "figure1_rpj_targets.csv",
               "--format", "json")
    assert r.exit_code == 0, r.stderr
    targets = read_csv(GADRE / "figure1_rpj_targets.csv")
    preds = {t["name"]: (row["prediction"], t) for t, row in zip(targets, json.loads(r.stdout))}
    return out, preds


def test_gadre_figure1_loss_extrapolation(gadre_loss):
    out, preds = gadre_loss
    assert out["n_points"] == 5 and out["target"] == "loss_c4_val" and out["converged"]
    p = out["params"]
    # scaling/laws.py curve_fit_powlaw_ours on these runs: alpha=166.210992, beta=366.687198,
    # b=-0.272850706, E=1.836648409; here eta = -b/2, a = alpha * 6**eta, b = beta.
    assert p["E"] == pytest.approx(1.836648409, rel=1e-6)
    assert p["eta"] == pytest.approx(0.272850706 / 2, rel=1e-6)
    assert p["b"] == pytest.approx(366.687198, rel=1e-5)
    assert p["a"] == pytest.approx(166.210992 * 6 ** (0.272850706 / 2), rel=1e-5)
    # scaling_explorer.ipynb cell 2: relative error predicting (open_lm_1b, M=640.0) C4 eval
    # loss: 0.7103%; (open_lm_7b, M=20.0): 0.7320%.
    rel = {name: abs(pred - float(t["loss_c4_val"])) / float(t["loss_c4_val"])
           for name, (pred, t) in preds.items()}
    assert f"{rel['rpj-open_lm_1b-32.0']:.4%}" == "0.7103%"
    assert f"{rel['rpj-open_lm_7b-1.0']:.4%}" == "0.7320%"


def test_gadre_figure1_error_extrapolation(gadre_loss, tmp_path):
    _, preds = gadre_loss
    saved = tmp_path / "error.json"
    out = fit_json(GADRE / "figure1_rpj_error.csv", "--config", PAPERS / "gadre2024-rpj-error.yaml",
                   "--save", saved)
    assert out["n_points"] == 6 and out["target"] == "err_avg_subset"
    p = out["params"]
    # reference code (curve_fit of E - a*exp(-b*t)): a=2.2064901, b=0.71459055, E=0.85699193
    assert p["k"] == pytest.approx(2.2064901, rel=1e-5)
    assert p["gamma"] == pytest.approx(0.71459055, rel=1e-5)
    assert p["epsilon"] == pytest.approx(0.85699193, rel=1e-6)
    names = list(preds)
    r = invoke("predict", "--fit", saved, *[a for n in names for a in
                                            ("--at", f"L={preds[n][0]!r}")], "--format", "json")
    assert r.exit_code == 0, r.stderr
    rel = {}
    for name, row in zip(names, json.loads(r.stdout)):
        actual = float(preds[name][1]["err_avg_subset"])
        rel[name] = abs(row["prediction"] - actual) / actual
    # scaling_explorer.ipynb cell 2: relative error predicting (open_lm_1b, M=640.0) 17-task
    # split top-1 error: 3.6365%; (open_lm_7b, M=20.0): 0.0464%.
    assert f"{rel['rpj-open_lm_1b-32.0']:.4%}" == "3.6365%"
    assert f"{rel['rpj-open_lm_7b-1.0']:.4%}" == "0.0464%"
