"""Fits on many points (every checkpoint of a large ladder): the start grid is searched on a
stratified subsample above a threshold and the optimum refined on all points. Checked against
the generating law, an independent objective, and the search on every point."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from conftest import TRUE, as_points
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.fitting import fit_points, subsample
from scalecli.fitting.provenance import natural_order
from scalecli.laws import get_law

runner = CliRunner()


def ladder(n: int, seed: int = 7, noise: float = 0.01):
    """The acceptance check's sweep: N in 1e7..1e10 and D in 1e9..1e12 log-uniform, the
    conftest law times lognormal noise."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 12, n)
    L = (TRUE["E"] + TRUE["A"] / N ** TRUE["alpha"] + TRUE["B"] / D ** TRUE["beta"]) \
        * np.exp(rng.normal(0, noise, n))
    return N, D, L


def huber_sum(params, N, D, L, delta=1e-3):
    """Hoffmann et al.'s objective, written independently of scalecli (natural parameters)."""
    pred = params["E"] + params["A"] / N ** params["alpha"] + params["B"] / D ** params["beta"]
    r = np.abs(np.log(pred) - np.log(L))
    return float(np.sum(np.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta))))


@pytest.fixture(scope="module")
def big():
    N, D, L = ladder(20_000)
    return N, D, L, fit_points(as_points(N, D, L), get_law("chinchilla"))


def test_a_large_sweep_recovers_its_generating_law(big):
    N, D, L, res = big
    assert res.converged and res.warnings == [] and res.alternatives == []
    # Tolerances: about 4 standard errors at 1% noise on 20,000 points (the lack-of-fit
    # covariance of this design gives E 0.07%, A 1%, alpha 0.0006, B 2%, beta 0.001).
    assert res.params["E"] == pytest.approx(TRUE["E"], rel=0.005)
    assert res.params["A"] == pytest.approx(TRUE["A"], rel=0.05)
    assert res.params["alpha"] == pytest.approx(TRUE["alpha"], abs=0.003)
    assert res.params["B"] == pytest.approx(TRUE["B"], rel=0.1)
    assert res.params["beta"] == pytest.approx(TRUE["beta"], abs=0.005)
    # An optimum on all points: no worse than the generating law under an independent objective,
    # and reported as that objective computes it.
    assert huber_sum(res.params, N, D, L) <= huber_sum(TRUE, N, D, L)
    assert res.objective == pytest.approx(huber_sum(res.params, N, D, L), rel=1e-9)


def test_the_subsample_is_recorded_with_the_fit(big):
    *_, res = big
    sample = res.fit["subsample"]
    assert sample["of"] == 20_000 and sample["above"] == subsample.SAMPLE_ABOVE
    assert abs(sample["points"] - subsample.SAMPLE_POINTS) <= sample["cells"]
    assert sample["strata"] == "16 bins of log N × 16 bins of log D" and sample["cells"] == 256
    assert any("subsample of" in n and "refined on all points" in n for n in res.notes)


def test_the_subsample_search_reaches_the_optimum_of_the_search_on_every_point(monkeypatch):
    N, D, L = ladder(8_000, seed=3)
    points = as_points(N, D, L)
    sampled = fit_points(points, get_law("chinchilla"))
    monkeypatch.setattr(subsample, "SAMPLE_ABOVE", 10**9)  # the search before subsampling
    full = fit_points(points, get_law("chinchilla"))
    assert "subsample" in sampled.fit and "subsample" not in full.fit
    for k, v in full.params.items():
        assert sampled.params[k] == pytest.approx(v, rel=1e-6), k
    assert sampled.objective == pytest.approx(full.objective, rel=1e-12)


def test_fits_up_to_the_threshold_search_every_point():
    n = subsample.SAMPLE_ABOVE
    X = {"N": np.geomspace(1e7, 1e10, n), "D": np.geomspace(1e9, 1e12, n)}
    assert subsample.choose(X) is None
    assert subsample.choose({k: np.append(v, v[-1]) for k, v in X.items()}) is not None
    N, D, L = ladder(300)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"))
    assert "subsample" not in res.fit and not any("subsample" in n for n in res.notes)


def test_every_region_counts_and_dense_ones_count_in_proportion():
    rng = np.random.default_rng(0)
    # 95% of the points among small models on little data, 5% spread over the whole span.
    n_dense, n_wide = 57_000, 3_000
    N = np.concatenate([10 ** rng.uniform(7, 7.5, n_dense), 10 ** rng.uniform(7, 10, n_wide)])
    D = np.concatenate([10 ** rng.uniform(9, 9.5, n_dense), 10 ** rng.uniform(9, 12, n_wide)])
    sample = subsample.choose({"N": N, "D": D}, seed=0)
    idx = sample.index

    def cell(n, d):  # 16 × 16 equal bins of log N × log D, over the data's span
        i = np.minimum(((np.log(n) - np.log(N).min()) / np.ptp(np.log(N)) * 16).astype(int), 15)
        j = np.minimum(((np.log(d) - np.log(D).min()) / np.ptp(np.log(D)) * 16).astype(int), 15)
        return i * 16 + j

    counts = np.bincount(cell(N, D), minlength=256)
    taken = np.bincount(cell(N[idx], D[idx]), minlength=256)
    share = counts * subsample.SAMPLE_POINTS / N.size  # each cell's proportional share
    assert np.all(taken[counts > 0] >= 1)  # every occupied cell has a point
    assert np.all(taken[counts == 0] == 0)
    big = share >= 1
    assert big.sum() >= 4 and np.all(np.abs(taken[big] - share[big]) <= 0.5 + 1e-9)
    assert np.all(taken[(counts > 0) & ~big] == 1)
    assert taken[big].sum() > 0.8 * idx.size  # the dense corner keeps its weight
    assert np.all(np.diff(idx) > 0)  # distinct points, in the data's order


def test_the_same_seed_gives_the_same_subsample_and_another_seed_another():
    N, D, _ = ladder(30_000)
    a, b, c = (subsample.choose({"N": N, "D": D}, seed=s) for s in (0, 0, 1))
    assert np.array_equal(a.index, b.index)
    assert not np.array_equal(a.index, c.index)


def test_a_large_fit_from_the_command_line_is_deterministic(tmp_path):
    N, D, L = ladder(20_000, seed=11)
    path = tmp_path / "big.csv"
    pl.DataFrame({"run": [f"r{i}" for i in range(N.size)], "n_params": N, "tokens": D,
                  "loss": L}).write_csv(path)
    outs = []
    for _ in range(2):
        r = runner.invoke(app, ["fit", str(path), "--law", "chinchilla", "--format", "json"])
        assert r.exit_code == 0, r.output
        outs.append(json.loads(r.stdout))
    assert outs[0]["params"] == outs[1]["params"]  # to the last digit
    assert outs[0]["fit"]["subsample"] == outs[1]["fit"]["subsample"]
    assert outs[0]["fit"]["subsample"]["of"] == 20_000
    used = outs[0]["provenance"]["runs_used"]
    assert used[:3] == ["r0", "r1", "r2"] and used[10] == "r10" and len(used) == 20_000


def natural_key(text: str):
    """The natural order written plainly: text parts as text, digit runs as numbers."""
    import re

    return [int(t) if i % 2 else t for i, t in enumerate(re.split(r"([0-9]+)", text))], text


def test_runs_are_listed_in_natural_order_without_a_python_key_per_name():
    rng = np.random.default_rng(5)
    alphabet = list("ab-_.0123456789")
    names = {"".join(rng.choice(alphabet, size=rng.integers(0, 9))) for _ in range(5_000)}
    names |= {"r10", "r2", "r02", "10", "1a", "a1", "a", "", "a01b", "a1b", "run-007", "r9x"}
    assert natural_order(pl.Series(sorted(names))) == sorted(names, key=natural_key)
    assert natural_order(pl.Series(["ß2", "ß10", "a"])) == ["a", "ß2", "ß10"]  # not ASCII
