"""Windows on curve data (--min-step, --min-tokens, --max-tokens) and checkpoint points
(--points last|all|every:K|at-tokens:LIST), on a history sampled along each run's curve from a
known law L(N, D) = E + A/N^alpha + B/D^beta, with D the tokens seen at each checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import TRUE, chinchilla_loss
from typer.testing import CliRunner

from scalecli import api, inputs
from scalecli.cli import app

SIZES = (2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9)
RATIOS = (5, 20, 80)  # tokens per parameter of the runs' lengths
STEPS = 16  # logged checkpoints per run, evenly spaced in tokens
SAMPLE = Path(__file__).resolve().parent.parent / "sample_runs"


def curves(path: Path, sizes=SIZES, ratios=RATIOS, steps=STEPS) -> Path:
    """One run per (size, length); checkpoint k of a run of D tokens is at k·D/steps tokens,
    step 100·k, and logs the law's loss there exactly."""
    lines = ["run,n_params,tokens,step,loss"]
    for n in sizes:
        for r in ratios:
            total = n * r
            for k in range(1, steps + 1):
                d = total * k / steps
                lines.append(f"m{n:.0e}-{r}tpp,{n!r},{d!r},{100 * k},"
                             f"{chinchilla_loss(TRUE, n, d)!r}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sweep(tmp_path):
    return curves(tmp_path / "curves.csv")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def fit_json(*args):
    r = invoke("fit", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout), r.stderr


def frame_of(path, **options):
    return api.fit(path, **options).points


def test_default_is_one_point_per_run_at_its_total_tokens(sweep):
    pts = frame_of(sweep)
    assert pts.height == len(SIZES) * len(RATIOS)
    want = sorted(n * r for n in SIZES for r in RATIOS)
    assert sorted(pts["tokens"].to_list()) == pytest.approx(want, rel=1e-12)


def test_points_all_gives_every_checkpoint_with_its_tokens_and_recovers_the_law(sweep):
    out, err = fit_json(sweep, "--points", "all")
    n_runs = len(SIZES) * len(RATIOS)
    assert out["n_points"] == n_runs * STEPS and out["n_runs"] == n_runs
    for name, value in TRUE.items():
        assert out["params"][name] == pytest.approx(value, rel=1e-3), name
    assert out["data"]["points"] == "all"
    assert "sound only for schedules without a final decay" in err
    # runs of other lengths meet at some (N, D) checkpoints: they are not seeds of each other
    assert "seeds:" not in err
    pts = frame_of(sweep, points="all")
    one = pts.filter(pl.col("name") == "m2e+07-5tpp").sort("tokens")
    assert one["tokens"].to_list() == pytest.approx([1e8 * k / STEPS for k in range(1, 17)])
    # C = 6·N·D at each checkpoint, and y is the law there
    assert one["flops"].to_list() == pytest.approx([6 * 2e7 * d for d in one["tokens"]])
    assert one["y"].to_list() == pytest.approx(
        [chinchilla_loss(TRUE, 2e7, d) for d in one["tokens"]], rel=1e-12)


def test_every_k_keeps_each_kth_checkpoint_and_the_last(sweep):
    pts = frame_of(sweep, points="every:5").filter(pl.col("name") == "m5e+07-20tpp")
    total = 5e7 * 20
    want = [total * k / STEPS for k in (5, 10, 15, 16)]
    assert sorted(pts["tokens"].to_list()) == pytest.approx(want, rel=1e-12)


def test_at_tokens_takes_the_last_checkpoint_at_or_below_within_5_percent(tmp_path):
    path = curves(tmp_path / "c.csv", sizes=(1e8,), ratios=(20,), steps=20)  # 1e8 tokens a step
    # 1B: a checkpoint exactly there; 1.04B: 1B is within 5% below; 1.2B: 1.2B exactly;
    # 1.58B: 1.5B is 5.1% below it: no point; 9B: past the run's end
    pts = api.points(api.load(path), points="at-tokens:1B,1.04B,1.2B,1.58B,9B")
    assert sorted(pts.frame["tokens"].to_list()) == pytest.approx([1e9, 1.2e9])
    said = " ".join(pts.notes)
    assert "1.58e9: 1 run(s) have no checkpoint within 5% below it" in said
    assert "9e9" in said and "1e9:" not in said


def test_at_tokens_leaves_a_run_without_any_point_out_with_the_reason(tmp_path):
    path = curves(tmp_path / "c.csv", sizes=(1e8, 2e8), ratios=(10,), steps=10)
    pts = api.points(api.load(path), points="at-tokens:1.4B")  # only the 2e8 run reaches it
    assert pts.frame["name"].to_list() == ["m2e+08-10tpp"]
    assert pts.frame["tokens"].to_list() == pytest.approx([1.4e9])
    assert any("m1e+08-10tpp" in d and "--points at-tokens:1.4B" in d for d in pts.dropped)


def test_max_tokens_caps_each_run_and_recovers_the_law(sweep):
    cap = 2e10
    out, err = fit_json(sweep, "--max-tokens", "20B")
    assert out["data"]["window"] == {"max_tokens": cap}
    assert "its D is the tokens at its last kept checkpoint" in err
    for name, value in TRUE.items():
        assert out["params"][name] == pytest.approx(value, rel=1e-3), name
    pts = frame_of(sweep, max_tokens="20B")
    for row in pts.iter_rows(named=True):
        n, total = row["n_params"], float(row["name"].split("-")[1][:-3]) * row["n_params"]
        ckpts = [total * k / STEPS for k in range(1, STEPS + 1)]
        want = max(d for d in ckpts if d <= cap)
        assert row["tokens"] == pytest.approx(want, rel=1e-12)
        assert row["flops"] == pytest.approx(6 * n * want, rel=1e-12)
        assert row["y"] == pytest.approx(chinchilla_loss(TRUE, n, want), rel=1e-12)


def test_runs_table_shows_the_windowed_tokens(sweep):
    r = invoke("runs", sweep, "--max-tokens", "1e9", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    # 1.2e8 x 20 = 2.4e9 tokens in 16 steps of 1.5e8: the last at or below 1e9 is 9e8
    assert rows["m1e+08-20tpp"]["tokens"] == pytest.approx(9e8)
    assert rows["m2e+07-5tpp"]["tokens"] == pytest.approx(1e8)  # never reaches the cap
    # runs whose first checkpoint is past 1e9 are left out, with the reason
    assert "m1e+09-80tpp" not in rows
    assert "--max-tokens 1e9 leaves none of its 16 logged points" in r.stderr


def test_min_step_and_min_tokens_drop_early_checkpoints(sweep):
    pts = frame_of(sweep, points="all", min_step=1000)
    per_run = pts.group_by("run_id").len()["len"].unique().to_list()
    assert per_run == [STEPS - 9]  # steps 1000..1600 of 100..1600
    pts = frame_of(sweep, points="all", min_tokens="1B")
    assert pts["tokens"].min() >= 1e9
    want = sum(1 for n in SIZES for r in RATIOS for k in range(1, STEPS + 1)
               if n * r * k / STEPS >= 1e9)
    assert pts.height == want
    # with the default one point per run, D stays each run's total
    last = frame_of(sweep, min_step=1000)
    assert sorted(last["tokens"].to_list()) == pytest.approx(
        sorted(n * r for n in SIZES for r in RATIOS))


def test_a_window_that_empties_a_run_drops_it_with_the_reason(sweep):
    # runs of N x tokens-per-parameter >= 20B reach it: 3e8 x 80, 7e8 x 80, 1.5e9 x 20 and x 80
    out, err = fit_json(sweep, "--min-tokens", "20B", "--points", "all")
    assert "warning: 14 run(s) not used" in err
    assert "--min-tokens 2e10 leaves none of its 16 logged points" in err
    assert len(out["data"]["dropped"]) == 14 and out["n_runs"] == 4


def test_a_window_that_empties_every_run_is_one_error_line(sweep):
    r = invoke("fit", sweep, "--max-tokens", "1M")
    assert r.exit_code == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: the window --max-tokens 1e6 leaves no run with a "
                                "point: the curves span steps 100 to 1,600, tokens")
    assert "Traceback" not in r.stderr
    r = invoke("fit", sweep, "--min-step", "5000")
    assert r.exit_code == 1 and "Error: the window --min-step 5000 leaves no run" in r.stderr


@pytest.mark.parametrize("args, said", [
    (("--points", "some"), "--points 'some': use last, all, every:K"),
    (("--points", "every:0"), "--points 'every:0'"),
    (("--points", "at-tokens:1Q"), "'Q' is not a unit suffix"),
    (("--max-tokens", "3X"), "--max-tokens: '3X'"),
    (("--min-tokens", "2B", "--max-tokens", "1B"), "--min-tokens 2e9 is above --max-tokens"),
    (("--min-step", "-3"), "--min-step -3: give a finite number >= 0"),
    (("--points", "all", "--reduce", "min"), "--reduce min applies to --points last only"),
    (("--points", "all", "--law", "all"), "--points all with --law all"),
])
def test_bad_window_and_points_options_are_one_line(sweep, args, said):
    r = invoke("fit", sweep, *args)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Error: ") and said in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2  # perhaps a columns: line, then the error


def test_bootstrap_with_points_all_resamples_runs(sweep):
    from scalecli.fitting.bootstrap import draw_weights

    out, _ = fit_json(sweep, "--points", "all", "--bootstrap", "20", "--seed", "1")
    assert out["n_runs"] == 18 and out["n_points"] == 18 * STEPS
    # noiseless: whichever runs are drawn, the law is the same, so the intervals are tight
    lo, hi = out["intervals"]["alpha"]
    assert lo == pytest.approx(TRUE["alpha"], rel=1e-2) and hi == pytest.approx(
        TRUE["alpha"], rel=1e-2)
    # the weights a resample gives are shared by every point of a run
    groups = np.repeat(np.arange(18), STEPS)
    w = np.asarray(draw_weights(groups, 5, 0))
    assert w.shape[-1] == groups.size
    for row in w.reshape(5, 18, STEPS):
        assert (row == row[:, :1]).all()


def test_tokens_are_interpolated_from_steps_when_the_history_has_none(sweep):
    frames = api.load(sweep)
    blank = frames.history.with_columns(pl.lit(None, pl.Float64).alias("tokens"))
    import dataclasses

    frames = dataclasses.replace(frames, history=blank)
    pts = api.points(frames, points="all")
    one = pts.frame.filter(pl.col("name") == "m2e+07-5tpp").sort("tokens")
    # the run's 1e8 tokens over its final step 1600: 62,500 tokens a step, linear
    assert one["tokens"].to_list() == pytest.approx([1e8 * k / STEPS for k in range(1, 17)])
    assert any("interpolated linearly from the step" in n for n in pts.notes)
    capped = inputs.frames(frames, None, None, {}, False, window=inputs.window(max_tokens="5e7"))
    assert capped.runs.filter(pl.col("name") == "m2e+07-5tpp")["tokens"].item() == 5e7


def test_a_token_window_on_runs_without_token_counts_is_refused(sweep):
    import dataclasses

    from scalecli.errors import ColumnError

    frames = api.load(sweep)
    frames = dataclasses.replace(
        frames, history=frames.history.with_columns(pl.lit(None, pl.Float64).alias("tokens")),
        runs=frames.runs.with_columns(pl.lit(None, pl.Float64).alias("tokens")))
    with pytest.raises(ColumnError, match="--max-tokens 1e9 needs the tokens at each "
                                          "checkpoint: run 'm2e\\+07-5tpp' logs no tokens"):
        inputs.frames(frames, None, None, {}, False, window=inputs.window(max_tokens="1B"))


def test_config_window_and_points_apply_and_the_command_line_overrides(sweep, tmp_path):
    cfg = tmp_path / "fit.yaml"
    cfg.write_text("law: {name: chinchilla}\n"
                   "data: {window: {min_step: 1000}, points: every:4}\n")
    out, _ = fit_json(sweep, "--config", cfg)
    assert out["n_points"] == 18 * 2  # steps 1000..1600 kept: the 4th (1300) and the last
    assert out["data"]["window"] == {"min_step": 1000.0}
    assert out["data"]["points"] == "every:4"
    out, _ = fit_json(sweep, "--config", cfg, "--points", "last", "--min-step", "0")
    assert out["n_points"] == 18 and out["data"]["points"] == "last"
    bad = tmp_path / "bad.yaml"
    bad.write_text("law: {name: chinchilla}\ndata: {window: {max_step: 3}}\n")
    r = invoke("fit", sweep, "--config", bad)
    assert r.exit_code == 1 and "window: unknown key(s) max_step" in r.stderr


def test_other_commands_take_the_window_and_points(sweep):
    r = invoke("backtest", sweep, "--points", "all", "--max-tokens", "50B", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert "several points per run" in r.stderr
    r = invoke("plot", sweep, "--points", "every:8", "--no-color")
    assert r.exit_code == 0, r.stderr
    r = invoke("frontier", SAMPLE, "--min-step", "100", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert "--min-step 100:" in r.stderr



def test_a_token_window_judges_a_run_without_a_curve_by_its_total_tokens():
    iso = Path(__file__).resolve().parent.parent / "examples" / "isoflop.csv"
    table = pl.read_csv(iso)
    short = table.filter(pl.col("tokens") < 5e8)["run"].to_list()
    assert short  # the example holds runs below the window
    r = invoke("isoflop", iso, "--min-tokens", "500M", "--format", "json")
    assert r.exit_code == 0, r.stderr
    said = [ln for ln in r.stderr.splitlines() if "not used" in ln]
    assert said and f"{len(short)} run(s) not used" in said[0]
    assert all(name in r.stderr for name in short[:5])
    assert "leaves none of its final value (at" in r.stderr


def test_compare_takes_the_window(tmp_path):
    a = curves(tmp_path / "a.csv")
    b = curves(tmp_path / "b.csv", sizes=(3e7, 8e7, 2e8, 5e8, 1e9, 2e9))
    r = invoke("compare", a, b, "--max-tokens", "20B", "--points", "every:4", "--format",
               "json")
    assert r.exit_code == 0, r.stderr
    assert "capped" in r.stderr and "several points per run" in r.stderr


def test_points_all_on_1000_runs_is_vectorized():
    import time

    from scalecli.ingest import Frames

    runs_n, ckpts = 1000, 100
    n = np.repeat(np.geomspace(1e7, 1e9, runs_n), 1)
    total = 20 * n
    ids = [f"r{i}" for i in range(runs_n)]
    runs = pl.DataFrame({"run_id": ids, "name": ids, "source": ["x"] * runs_n,
                         "format": ["csv"] * runs_n, "n_params": n, "tokens": total,
                         "flops": 6 * n * total, "flops_derived": [True] * runs_n})
    k = np.tile(np.arange(1, ckpts + 1), runs_n)
    d = np.repeat(total, ckpts) * k / ckpts
    history = pl.DataFrame({"run_id": np.repeat(ids, ckpts), "step": k, "tokens": d,
                            "metric": ["loss"] * (runs_n * ckpts),
                            "value": chinchilla_loss(TRUE, np.repeat(n, ckpts), d)})
    frames = Frames(runs, history)
    t0 = time.perf_counter()
    pts = api.points(inputs.frames(frames, None, None, {}, False,
                                   window=inputs.window(min_step=5, max_tokens="1T")),
                     points="all")
    seconds = time.perf_counter() - t0
    assert pts.frame.height == runs_n * (ckpts - 4)
    assert seconds < 5, seconds


def test_a_window_on_points_already_reduced_is_refused(sweep):
    from scalecli.errors import ConfigError

    pts = api.points(api.load(sweep))
    with pytest.raises(ConfigError, match="--max-tokens 1e9 cuts runs' curves"):
        api.fit(pts, max_tokens="1B")
