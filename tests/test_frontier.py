"""Chinchilla approach 1 (scalecli.analyses.frontier): the envelope of full loss curves drawn from a known
law recovers a = beta/(alpha+beta), b = alpha/(alpha+beta)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from conftest import ROOT, TRUE, chinchilla_loss

import scalecli
from scalecli.analyses.frontier import frontier
from scalecli.errors import ColumnError, ConfigError, FitError
from scalecli.report.isoplots import frontier_plot, render_tables

A_TRUE = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])
B_TRUE = TRUE["alpha"] / (TRUE["alpha"] + TRUE["beta"])


def curves(sizes=None, points=100, tpp=(1.0, 400.0), noise=0.0, seed=0) -> pl.DataFrame:
    """One run per size, logging the law's loss at ``points`` token counts (log-spaced)."""
    sizes = np.geomspace(1e7, 1e10, 10) if sizes is None else np.asarray(sizes, float)
    N = np.repeat(sizes, points)
    D = N * np.tile(np.geomspace(*tpp, points), sizes.size)
    rng = np.random.default_rng(seed)
    L = chinchilla_loss(TRUE, N, D) * np.exp(rng.normal(0, noise, N.size))
    return pl.DataFrame({"run": np.repeat([f"m{i:02d}" for i in range(sizes.size)], points),
                         "n_params": N, "tokens": np.round(D),
                         "step": np.tile(np.arange(1, points + 1), sizes.size), "loss": L})


def load(tmp_path, frame: pl.DataFrame, name="curves.csv"):
    frame.write_csv(tmp_path / name)
    return scalecli.load(tmp_path / name)


def test_noise_free_curves_recover_exponents(tmp_path):
    res = frontier(load(tmp_path, curves()), flops=[1e21])
    assert abs(res.a - A_TRUE) < 0.005 and abs(res.b - B_TRUE) < 0.005
    assert res.options["regress"] == "sizes" and res.options["buckets"] == 1500
    assert res.options["compute"] == "6·N·tokens"
    p = res.predictions[0]
    assert 6 * p["n_opt"] * p["tokens_opt"] == pytest.approx(1e21, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_curves_recover_exponents(tmp_path, seed):
    res = frontier(load(tmp_path, curves(noise=0.002, seed=seed)))
    assert abs(res.a - A_TRUE) < 0.03 and abs(res.b - B_TRUE) < 0.03


def test_bucket_fit_has_the_staircase_bias(tmp_path):
    """The paper's fit through every bucket: slope a·(1 − 1/m²) for m interior sizes."""
    frames = load(tmp_path, curves(sizes=np.geomspace(1e7, 1e10, 6)))
    buckets, sizes = frontier(frames, regress="buckets"), frontier(frames, regress="sizes")
    m = len(sizes.envelope)
    assert m == 4
    assert buckets.a == pytest.approx(A_TRUE * (1 - 1 / m**2), abs=0.003)
    assert abs(sizes.a - A_TRUE) < 0.003
    assert buckets.n_fit.slope_se is None and sizes.n_fit.slope_se is not None
    assert frontier(load(tmp_path, curves(sizes=np.geomspace(1e7, 1e10, 20)), "many.csv"),
                    regress="buckets").a == pytest.approx(A_TRUE, abs=0.03)


def test_envelope_leaves_out_the_edge_sizes(tmp_path):
    res = frontier(load(tmp_path, curves()))
    sizes = np.geomspace(1e7, 1e10, 10)
    won = [s["n_opt"] for s in res.envelope]
    assert won == sorted(won) and len(won) == 8
    assert min(won) > sizes[0] * 1.01 and max(won) < sizes[-1] * 0.99
    assert res.options["buckets_at_edge"] > 0
    assert res.options["buckets_used"] + res.options["buckets_at_edge"] <= 1500
    for seg in res.envelope:
        assert seg["flops_lo"] <= seg["flops"] <= seg["flops_hi"]
        assert seg["tokens_opt"] == pytest.approx(seg["flops"] / (6 * seg["n_opt"]))


def test_fewer_buckets(tmp_path):
    res = frontier(load(tmp_path, curves()), buckets=200)
    assert res.options["buckets"] == 200 and abs(res.a - A_TRUE) < 0.01


def test_logged_flops_scale_compute_along_the_curve():
    """A run's logged FLOPs (here 7.2·N·D) are spread over its curve pro rata to tokens."""
    from scalecli.ingest import Frames

    h = curves()
    final = h.group_by("run", maintain_order=True).agg(pl.col("n_params").first(),
                                                      pl.col("tokens").max())
    runs = final.select(
        pl.col("run").alias("run_id"), pl.col("run").alias("name"), pl.lit("x").alias("source"),
        pl.lit("csv").alias("format"), "n_params", "tokens",
        (7.2 * pl.col("n_params") * pl.col("tokens")).alias("flops"),
        pl.lit(False).alias("flops_derived"))
    hist = h.select(pl.col("run").alias("run_id"), "step", "tokens",
                    pl.lit("loss").alias("metric"), pl.col("loss").alias("value"))
    res = frontier(Frames(runs, hist))
    assert res.options["compute"] == "logged"
    for seg in res.envelope:
        assert seg["tokens_opt"] == pytest.approx(seg["flops"] / (7.2 * seg["n_opt"]), rel=1e-6)
    assert abs(res.a - A_TRUE) < 0.005


def test_run_with_one_point_is_dropped_with_its_reason(tmp_path):
    lone = pl.DataFrame({"run": ["lone"], "n_params": [3e8], "tokens": [6e9], "step": [1],
                         "loss": [2.9]})
    res = frontier(load(tmp_path, pl.concat([curves(), lone])))
    assert res.dropped == [{"run": "lone",
                            "reason": "fewer than two logged points with tokens and a finite loss"}]


def test_refusals(tmp_path):
    one_row_per_run = pl.DataFrame({"run": ["a", "b", "c"], "n_params": [1e8, 2e8, 4e8],
                                    "tokens": [1e9, 2e9, 4e9], "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(ColumnError, match="isoflop"):
        frontier(load(tmp_path, one_row_per_run, "runs.csv"))
    with pytest.raises(FitError, match="three model sizes"):
        frontier(load(tmp_path, curves(sizes=[1e8, 1e9]), "two.csv"))
    with pytest.raises(ConfigError):
        frontier(load(tmp_path, curves(), "c.csv"), regress="median")
    with pytest.raises(ConfigError):
        frontier(load(tmp_path, curves(), "c.csv"), buckets=3)


def test_sample_sweep(tmp_path):
    """The bundled sweep (6 sizes × 4 horizons, 0.5% noise) gives the law's a to 0.03."""
    res = frontier(scalecli.load(ROOT / "sample_runs"), flops=1e21)
    assert abs(res.a - A_TRUE) < 0.03
    assert res.options["target"] == "train/loss"


def test_json_render_and_plot(tmp_path):
    res = frontier(load(tmp_path, curves()), flops=[1e20, 1e21])
    out = json.loads(render_tables(res, "json"))
    for key in ("a", "b", "k_n", "k_d", "envelope", "dropped", "warnings", "predictions",
                "buckets", "buckets_used"):
        assert key in out
    assert set(out["envelope"][0]) >= {"flops", "n_opt", "tokens_opt", "loss_opt", "run"}
    assert [p["flops"] for p in out["predictions"]] == [1e20, 1e21]
    assert "approach 1" in render_tables(res, "table") and "| a (N_opt" in render_tables(res, "markdown")
    assert render_tables(res, "csv").splitlines()[1].startswith("envelope,")
    text = frontier_plot(res, width=72, height=20)
    lines = text.splitlines()
    assert len(lines) == 20 and max(len(line) for line in lines) <= 72
    assert "envelope" in text and "N=10M" in text and "\x1b" not in text
