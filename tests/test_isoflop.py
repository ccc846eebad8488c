"""Chinchilla approach 2 (scalecli.analyses.isoflop): synthetic IsoFLOP grids drawn from a known law
recover a = beta/(alpha+beta) and b = alpha/(alpha+beta); budgets that cannot locate a
minimum are dropped with their reason."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from conftest import TRUE, chinchilla_loss

import scalecli
from scalecli.analyses.isoflop import OPTIMA, isoflop
from scalecli.errors import ColumnError, ConfigError, FitError
from scalecli.report.isoplots import isoflop_plot, render_tables

A_TRUE = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])
B_TRUE = TRUE["alpha"] / (TRUE["alpha"] + TRUE["beta"])
G = (TRUE["alpha"] * TRUE["A"] / (TRUE["beta"] * TRUE["B"])) ** (1 / (TRUE["alpha"] + TRUE["beta"]))
BUDGETS = np.logspace(18, 21, 7)
SPREAD = np.logspace(-0.6, 0.6, 9)  # sizes around each budget's optimum, symmetric in log N
WIDE = np.logspace(-0.8, 0.8, 9)


def grid(seed=0, noise=0.0, budgets=BUDGETS, spread=SPREAD, params=TRUE, flop_factor=1.0):
    """One run per (budget, size): N = N_opt(C)·spread, D = C/(6·N·flop_factor)."""
    alpha, beta = params["alpha"], params["beta"]
    g = (alpha * params["A"] / (beta * params["B"])) ** (1 / (alpha + beta))
    C = np.repeat(np.asarray(budgets, float), len(spread))
    N = g * (C / 6) ** (beta / (alpha + beta)) * np.tile(spread, len(budgets))
    D = C / (6 * N * flop_factor)
    rng = np.random.default_rng(seed)
    L = chinchilla_loss(params, N, D) * np.exp(rng.normal(0, noise, N.size))
    return pl.DataFrame({"n_params": N, "tokens": D, "flops": C, "loss": L})


def write(path, frame: pl.DataFrame):
    frame.with_columns(pl.Series("run", [f"r{i}" for i in range(frame.height)])).write_csv(path)
    return path


@pytest.mark.parametrize("optimum", OPTIMA)
def test_noise_free_grid_recovers_exponents(optimum):
    res = isoflop(grid(), optimum=optimum)
    assert abs(res.a - A_TRUE) < 2e-3
    assert abs(res.b - B_TRUE) < 2e-3
    assert len(res.budgets) == 7 and not res.dropped


def test_noise_free_optima_are_the_laws_own():
    """Spline and window find each budget's true argmin of L(N, C/6N) to a fraction of a %."""
    from scipy.optimize import minimize_scalar

    res = isoflop(grid(spread=np.logspace(-0.5, 0.5, 11)), optimum="spline")
    for b in res.budgets:
        def loss(x, c=b.flops):
            return chinchilla_loss(TRUE, 10**x, c / (6 * 10**x))

        true = minimize_scalar(loss, bounds=(6, 12), method="bounded", options={"xatol": 1e-10})
        assert b.n_opt == pytest.approx(10**true.x, rel=5e-3)
        assert b.loss_opt == pytest.approx(true.fun, rel=1e-5)


def test_parabola_is_the_least_squares_vertex():
    """Hoffmann et al.'s procedure, computed here independently with numpy.polyfit."""
    frame = grid()
    res = isoflop(frame, optimum="parabola")
    for b, (c, sub) in zip(res.budgets, frame.group_by("flops", maintain_order=True), strict=True):
        x, y = np.log10(sub["n_params"].to_numpy()), sub["loss"].to_numpy()
        p2, p1, p0 = np.polyfit(x, y, 2)
        vertex = -p1 / (2 * p2)
        assert b.flops == pytest.approx(c[0], rel=1e-12)
        assert b.n_opt == pytest.approx(10**vertex, rel=1e-9)
        assert b.loss_opt == pytest.approx(p0 + p1 * vertex + p2 * vertex**2, rel=1e-9)
        assert b.tokens_opt == pytest.approx(b.flops / (6 * b.n_opt), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("optimum", ["parabola", "window"])
def test_noisy_grid_recovers_exponents(seed, optimum):
    """0.2% noise, sizes over 1.6 decades per budget (as in the acceptance check)."""
    res = isoflop(grid(seed, noise=0.002, spread=WIDE), optimum=optimum)
    assert abs(res.a - A_TRUE) < 0.02
    assert abs(res.b - B_TRUE) < 0.02
    assert res.n_fit.slope_se is not None and res.n_fit.slope_se < 0.02


def test_acceptance_grid_through_a_csv_file(tmp_path):
    """The default (spline) on the acceptance check's own grid, read with scalecli.load."""
    E, A, B, al, be = 1.9, 520.0, 1800.0, 0.36, 0.30
    params = {"E": E, "A": A, "B": B, "alpha": al, "beta": be}
    rng = np.random.default_rng(7)
    g = (al * A / (be * B)) ** (1 / (al + be))
    rows = []
    for C in np.logspace(18, 21, 7):
        for f in np.logspace(-0.8, 0.8, 9):
            N = g * (C / 6) ** (be / (al + be)) * f
            D = C / (6 * N)
            rows.append((N, D, C, chinchilla_loss(params, N, D) * np.exp(rng.normal(0, 0.002))))
    frame = pl.DataFrame(rows, schema=["n_params", "tokens", "flops", "loss"], orient="row")
    res = isoflop(scalecli.load(write(tmp_path / "iso.csv", frame)), flops=[1e22])
    assert res.options["compute"] == "logged" and res.options["optimum"] == "spline"
    assert abs(res.a - be / (al + be)) < 0.02 and abs(res.b - al / (al + be)) < 0.02
    assert res.predictions[0]["flops"] == 1e22


def test_spline_following_noise_is_cross_checked_against_window():
    """Interpolation goes through every noisy point; when its a strays from window's, it says so."""
    noisy = grid(1, noise=0.002)
    spline, window = isoflop(noisy), isoflop(noisy, optimum="window")
    assert abs(spline.a - window.a) > 0.02
    assert any(f"window gives a={window.a:.3f}" in w for w in spline.warnings)
    assert not any("window gives" in w for w in isoflop(grid()).warnings)


def test_budgets_with_too_few_sizes_or_an_edge_minimum_are_dropped():
    frame = pl.concat([
        grid(),
        grid(budgets=[3e21], spread=np.array([0.5, 2.0])),  # two sizes
        grid(budgets=[1e22], spread=np.logspace(-1.6, -0.6, 5)),  # all below the optimum
        grid(budgets=[3e22], spread=np.logspace(0.6, 1.6, 5)),  # all above the optimum
    ])
    res = isoflop(frame)
    assert len(res.budgets) == 7
    reasons = {round(np.log10(d.flops), 2): d.reason for d in res.dropped}
    assert "only 2 model size" in reasons[round(np.log10(3e21), 2)]
    assert "largest size" in reasons[22.0]
    assert "smallest size" in reasons[round(np.log10(3e22), 2)]
    out = res.to_dict()
    assert {tuple(sorted(d)) for d in out["dropped"]} == {("flops", "reason", "sizes")}
    assert abs(res.a - A_TRUE) < 2e-3


def test_too_few_budgets_is_refused():
    with pytest.raises(FitError, match="at least two compute budgets"):
        isoflop(grid(budgets=[1e19]))
    with pytest.raises(FitError, match="only 2 model size"):
        isoflop(grid(spread=np.array([0.5, 2.0])))


def test_budgets_within_tolerance_are_merged(tmp_path):
    """Logged FLOPs jittered by ±3% per run are one budget at 10%, many at 0.1%."""
    frame = grid()
    rng = np.random.default_rng(3)
    jitter = frame.with_columns(pl.col("flops") * (1 + rng.uniform(-0.03, 0.03, frame.height)))
    res = isoflop(jitter, tolerance=0.1)
    assert len(res.budgets) == 7 and res.options["tolerance"] == 0.1
    assert abs(res.a - A_TRUE) < 0.01
    with pytest.raises(FitError):
        isoflop(jitter, tolerance=0.001)


def test_derived_compute_is_binned_from_6nd(tmp_path):
    """No FLOPs column: C = 6·N·D per run (rounded tokens), grouped within the tolerance."""
    frame = grid().with_columns((pl.col("tokens") / 1e6).round() * 1e6).drop("flops")
    for data in (scalecli.load(write(tmp_path / "no_flops.csv", frame)), frame):
        res = isoflop(data)
        assert res.options["compute"] == "6·N·D"
        assert len(res.budgets) == 7
        assert abs(res.a - A_TRUE) < 2e-3
    with pytest.raises(ColumnError, match="flops or tokens"):
        isoflop(frame.drop("tokens"))


def test_logged_tokens_give_d_opt_apart_from_6n():
    """FLOPs counted as 7.2·N·D (say, attention included): D_opt follows the logged tokens."""
    res = isoflop(grid(flop_factor=1.2), optimum="parabola")
    for b in res.budgets:
        assert b.tokens_opt == pytest.approx(b.flops / (7.2 * b.n_opt), rel=1e-9)


def test_weighting_by_runs():
    frame = pl.concat([grid(), grid(budgets=BUDGETS[:3])])  # first three budgets run twice
    plain, weighted = isoflop(frame), isoflop(frame, weighted=True)
    assert weighted.options["weighted"] is True
    assert [b.n_runs for b in weighted.budgets][:4] == [18, 18, 18, 9]
    assert abs(weighted.a - A_TRUE) < 2e-3 and abs(plain.a - A_TRUE) < 2e-3


def test_group_by_gives_exponents_per_group(tmp_path):
    other = {**TRUE, "alpha": 0.30, "beta": 0.40}
    frame = pl.concat([grid().with_columns(pl.lit("base").alias("family")),
                       grid(params=other).with_columns(pl.lit("other").alias("family"))])
    res = isoflop(scalecli.load(write(tmp_path / "families.csv", frame)), group_by="family")
    assert res.a is None and set(res.groups) == {"base", "other"}
    assert abs(res.groups["base"].a - A_TRUE) < 2e-3
    assert abs(res.groups["other"].a - 0.40 / 0.70) < 2e-3
    out = json.loads(render_tables(res, "json"))
    assert [g["value"] for g in out["groups"]] == ["base", "other"]
    assert out["group_by"] == "family" and out["a"] is None
    with pytest.raises(ColumnError, match="no such run column"):
        isoflop(scalecli.load(tmp_path / "families.csv"), group_by="nope")


def test_asymmetric_sampling_is_warned():
    res = isoflop(grid(spread=np.logspace(-0.3, 0.9, 9)))
    assert any("asymmetrically" in w for w in res.warnings)
    assert not any("asymmetrically" in w for w in isoflop(grid()).warnings)


def test_parabola_over_a_wide_span_is_warned():
    wide = isoflop(grid(spread=np.logspace(-1.0, 1.0, 11)), optimum="parabola")
    assert any("more than 1 decade" in w for w in wide.warnings)
    assert not any("decade" in w for w in isoflop(grid(), optimum="spline").warnings)


def test_json_contract_and_predictions():
    res = isoflop(grid(), flops=[1e22, 1e23])
    out = json.loads(json.dumps(res.to_dict()))
    for key in ("a", "b", "k_n", "k_d", "a_se", "b_se", "budgets", "dropped", "warnings",
                "predictions", "optimum", "tolerance", "compute"):
        assert key in out
    assert set(out["budgets"][0]) >= {"flops", "n_opt", "tokens_opt", "loss_opt"}
    p = out["predictions"][1]
    assert p["flops"] == 1e23
    assert p["n_opt"] == pytest.approx(out["k_n"] * 1e23 ** out["a"])
    assert 6 * p["n_opt"] * p["tokens_opt"] == pytest.approx(1e23, rel=1e-9)
    n_true = G * (1e23 / 6) ** A_TRUE
    assert p["n_opt"] == pytest.approx(n_true, rel=0.02)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="optimum"):
        isoflop(grid(), optimum="cubic")
    with pytest.raises(ConfigError, match="tolerance"):
        isoflop(grid(), tolerance=2.0)


def test_renders_and_plots():
    res = isoflop(grid(), flops=1e22)
    for fmt in ("table", "markdown", "csv"):
        assert "1e22" in render_tables(res, fmt) or "1e+22" in render_tables(res, fmt)
    csv = render_tables(res, "csv").splitlines()
    assert csv[0] == ("kind,flops,n_opt,tokens_opt,tokens_per_param,loss_opt,a,a_se,b,b_se,"
                      "k_n,k_d")
    assert [r.split(",")[0] for r in csv[1:]] == ["budget"] * 7 + ["prediction"]
    text = isoflop_plot(res)
    lines = text.splitlines()
    assert len(lines) == 24 and max(len(line) for line in lines) <= 80
    assert "C=1e18" in text and "optimum (spline)" in text and "\x1b" not in text
    assert "\x1b[" in isoflop_plot(res, color=True)


def test_modules_import_without_heavy_dependencies():
    code = ("import sys, scalecli.analyses.isoflop, scalecli.analyses.frontier, scalecli.report.isoplots; "
            "print(sorted(m for m in ('numpy', 'polars', 'scipy', 'plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bootstrap_intervals_on_a_and_b_cover_the_truth():
    """Runs resampled within each budget: over 12 noisy grids from the known law, the 90%
    interval of a holds the true a in at least 8 (a broken resampling, one that keeps every
    run, gives a zero-width interval that holds it almost never), and noise-free grids give
    intervals narrower than 0.01 around the truth."""
    hits = 0
    for seed in range(12):
        res = isoflop(grid(seed=seed, noise=0.01), optimum="window", bootstrap=150, ci=0.9,
                      seed=seed)
        lo, hi = res.uncertainty["intervals"]["a"]
        hits += lo <= A_TRUE <= hi
        assert res.uncertainty["bootstrap"]["failed"] < 150
    assert hits >= 8, hits
    exact = isoflop(grid(), optimum="window", bootstrap=100, seed=1)
    lo, hi = exact.uncertainty["intervals"]["b"]
    assert lo - 1e-3 <= B_TRUE <= hi + 1e-3 and hi - lo < 0.01


def test_isoflop_bootstrap_through_the_command(tmp_path):
    from typer.testing import CliRunner

    from scalecli.cli import app

    path = write(tmp_path / "iso.csv", grid(seed=3, noise=0.01))
    r = CliRunner().invoke(app, ["isoflop", str(path), "--bootstrap", "100", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out["intervals"]) == {"a", "b"} and out["bootstrap"]["resamples"] == 100
    assert out["intervals"]["a"][0] < out["a"] < out["intervals"]["a"][1]
    r = CliRunner().invoke(app, ["isoflop", str(path), "--bootstrap", "0"])
    assert r.exit_code == 1 and "--bootstrap 0" in r.stderr
