"""One sweep, every format: the simulated 6-run sweep of tests/data/fixtures was written by the
real wandb, tensorboardX and MLflow libraries (and exported to CSV, JSONL, Parquet, Arrow and
compressed text from the same numbers), so every reader must give the same fit points and the
same fitted law. Exact doubles (W&B, MLflow, the API dump) agree to 1e-9; TensorBoard keeps
float32 scalars (about 6e-8 relative), and plain.csv and its table copies keep the loss to six
decimals (about 2e-7 relative at a loss near 3), so those agree with the exact ones to what
that rounding moves the optimum: 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scalecli import api

FX = Path(__file__).parent / "data" / "fixtures"
TRUTH = json.loads((FX / "ground_truth.json").read_text())
TRUE_N = {r["name"]: r["n_params"] for r in TRUTH["runs"]}

EXACT = {
    "wandb offline (wandb 0.31)": [FX / "wandb_offline"],
    "wandb offline (wandb 0.16)": [FX / "wandb_offline_legacy"],
    "W&B API dumps": [FX / "wandb_api_runs.jsonl", FX / "wandb_api_history.jsonl"],
    "MLflow file store": [FX / "mlflow"],
    "MLflow SQLite store": [FX / "mlflow_sqlite" / "mlflow.db"],
}
ROUNDED = {
    "TensorBoard (float32)": [FX / "tensorboard"],
    "plain.csv (6 decimals)": [FX / "plain.csv"],
    "Parquet copy of plain.csv": [FX / "tables" / "plain.parquet"],
}


def _fit(paths):
    mapping = None if any(p.name.startswith(("plain", "tables")) or p.parent.name == "tables"
                          for p in paths) else "loss=train/loss"
    res = api.fit([str(p) for p in paths], "chinchilla", mapping=mapping, points="all")
    out = res.to_dict()
    assert out["n_points"] == 300  # 6 runs × 50 logged steps
    return out["params"]


@pytest.fixture(scope="module")
def reference():
    return _fit(EXACT["wandb offline (wandb 0.31)"])


@pytest.mark.parametrize("name", [k for k in EXACT if "0.31" not in k])
def test_exact_formats_fit_the_same_law(reference, name):
    got = _fit(EXACT[name])
    for k, v in reference.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=0), (name, k)


@pytest.mark.parametrize("name", list(ROUNDED))
def test_rounded_formats_fit_the_same_law_to_their_precision(reference, name):
    got = _fit(ROUNDED[name])
    for k, v in reference.items():
        assert got[k] == pytest.approx(v, rel=1e-5, abs=0), (name, k)


@pytest.mark.parametrize("name", list(EXACT) + list(ROUNDED))
def test_every_format_lists_the_true_runs(name):
    table = api.runs([str(p) for p in (EXACT | ROUNDED)[name]])
    got = {r["name"]: r["n_params"] for r in table.rows}
    assert got == TRUE_N
