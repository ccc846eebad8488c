"""What the command line refuses, warns about or repairs instead of a traceback or a silent
wrong number: options out of range, options that used to be ignored, hostile configs, the
fit pipeline shared by --law all, configs by name, and the one error boundary."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import ROOT, TRUE, chinchilla_loss
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()
PLAIN = Path(__file__).parent / "data" / "fixtures" / "plain.csv"
SAMPLE = ROOT / "sample_runs"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def refused(r, *words, code=1):
    """Exit ``code``, one 'Error' line naming ``words``, no traceback."""
    text = r.stdout + r.stderr
    assert r.exit_code == code, (r.exit_code, text)
    assert "Traceback" not in text and r.exception is None or isinstance(r.exception,
                                                                          SystemExit)
    assert "Error" in text
    for w in words:
        assert w in text, (w, text)


# ---- options out of range: a refusal, never a number ------------------------------------
@pytest.mark.parametrize("args,words", [
    (["--flops", "1e21", "--n", "0"], ["--n", "positive"]),
    (["--flops", "1e21", "--n", "-1"], ["--n"]),
    (["--flops", "1e21", "--tokens", "-5"], ["--tokens"]),
    (["--flops", "5e-324"], ["at least 6"]),
    (["--flops", "1e21", "--max-tokens", "0"], ["--max-tokens"]),
    (["--flops", "1e21", "--max-tokens", "-5"], ["--max-tokens"]),
    (["--target-loss", "2.3", "--inference-tokens", "-1"], ["--inference-tokens"]),
    (["--law", "data-constrained", "--flops", "1e21", "--unique-tokens", "0"],
     ["--unique-tokens"]),
    (["--flops", "1e21", "--target-loss", "2.3"], ["not both"]),
])
def test_optimal_refuses_options_out_of_range(args, words):
    refused(invoke("optimal", *args), *words)


def test_optimal_steps_are_bounded_as_usage():
    r = invoke("optimal", "--flops", "1e19..1e25", "--steps", "100000000")
    refused(r, code=2)


@pytest.mark.parametrize("at,words", [
    ("N=1e400,D=1e11", ["N", "finite"]),
    ("N=1e9,D=1e11,X=5", ["'X'", "not a variable"]),
    ("N=1e9,N=2e9,D=1e11", ["given twice"]),
    ("N=1e9,n_params=2e9,D=1e11", ["given twice"]),
    ("N=1e9,D=0", ["D", "positive"]),
    ("N=nan,D=1e11", ["finite"]),
])
def test_predict_refuses_bad_points(at, words):
    refused(invoke("predict", "--at", at), *words)


def test_predict_refuses_zero_unique_tokens():
    refused(invoke("predict", "--law", "data-constrained", "--at", "N=1e9,D=1e11,U=0"), "U")


def test_target_loss_with_a_planned_size_keeps_that_size():
    r = invoke("optimal", "--target-loss", "2.3", "--n", "1e9", "--format", "json")
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["n_params"] == 1e9
    p = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}  # Hoffmann et al.
    assert chinchilla_loss(p, 1e9, row["tokens"]) == pytest.approx(2.3, rel=1e-9)


def test_target_loss_with_inference_respects_the_token_cap():
    r = invoke("optimal", "--target-loss", "2.3", "--inference-tokens", "1e13",
               "--max-tokens", "1e11", "--format", "json")
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["tokens"] <= 1e11 * (1 + 1e-9)
    assert row["loss"] == pytest.approx(2.3, rel=1e-6)
    # an unreachable loss under the cap is refused, not answered above it
    refused(invoke("optimal", "--target-loss", "2.3", "--inference-tokens", "1e13",
                   "--max-tokens", "1e6"), "2.3")


def test_fixed_values_are_checked_once_for_flag_and_config(tmp_path):
    refused(invoke("fit", PLAIN, "--fix", "E=nan"), "finite")
    refused(invoke("fit", PLAIN, "--fix", "E=-1"), "E = -1", "lower bound 0")
    refused(invoke("fit", PLAIN, "--fix", "Q=1"), "'Q'", "not a parameter")
    refused(invoke("fit", PLAIN, "--fix", "E=1,E=2"), "twice")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("law: {name: chinchilla, fixed: {E: -1}}\n")
    refused(invoke("fit", PLAIN, "--config", cfg), "law.fixed: E = -1", "lower bound 0")


def test_seed_out_of_range_is_a_usage_error():
    refused(invoke("fit", PLAIN, "--seed", "-1"), code=2)


@pytest.mark.parametrize("width,height", [(20, 24), (80, 11)])
def test_plot_too_small_is_a_usage_error(width, height):
    refused(invoke("plot", PLAIN, "--width", width, "--height", height), code=2)


def test_save_makes_the_missing_folder(tmp_path):
    out = tmp_path / "no" / "such" / "fit.json"
    r = invoke("fit", PLAIN, "--save", out)
    assert r.exit_code == 0, r.stderr
    assert json.loads(out.read_text())["law"] == "chinchilla"


def test_a_fit_file_without_parameters_is_refused(tmp_path):
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"law": "chinchilla", "params": {"E": 1.0}}))
    refused(invoke("optimal", "--flops", "1e21", "--fit", partial), "partial.json", "alpha")
    refused(invoke("predict", "--fit", partial, "--at", "N=1e9,D=2e10"), "partial.json")


# ---- hostile configs: bounded, one line ----------------------------------------------------
def test_a_400_digit_delta_is_refused_without_echoing_it(tmp_path):
    cfg = tmp_path / "big.yaml"
    cfg.write_text("law: {name: chinchilla}\nfit: {loss: huber, delta: " + "9" * 400 + "}\n")
    r = invoke("fit", PLAIN, "--config", cfg)
    refused(r, "fit.delta")
    assert "9" * 100 not in r.stderr


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    levels = ["a: &a [x,x,x,x,x,x,x,x,x,x]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    cfg = tmp_path / "laughs.yaml"
    cfg.write_text("\n".join(levels) + "\nlaw: {name: chinchilla}\ndata: {reduce: *i}\n")
    refused(invoke("fit", PLAIN, "--config", cfg), "aliases")


def test_mean_last_with_a_huge_k_is_refused():
    refused(invoke("fit", PLAIN, "--reduce", "mean-last:" + "9" * 30), "--reduce")
    r = invoke("fit", PLAIN, "--reduce", "mean-last:" + "9" * 400)
    refused(r, "--reduce")
    assert "9" * 100 not in r.stderr


# ---- --law all goes through the one fit path -------------------------------------------------
def test_law_all_saves_the_ranking_with_each_fit(tmp_path):
    out = tmp_path / "ranking.json"
    r = invoke("fit", SAMPLE, "--law", "all", "--save", out, "--format", "json")
    assert r.exit_code == 0, r.stderr
    saved = json.loads(out.read_text())
    assert saved == json.loads(r.stdout)
    chin = next(f for f in saved if f["law"] == "chinchilla")
    assert set(chin["params"]) == set(TRUE)
    assert chin["params"]["alpha"] == pytest.approx(TRUE["alpha"], abs=0.05)
    errors = [f["holdout_error"] for f in saved]
    assert errors == sorted(errors)
    assert all("holdout_error" in f and "params" in f for f in saved)


def test_law_all_applies_the_objective_to_every_law():
    r1 = json.loads(invoke("fit", SAMPLE, "--law", "all", "--format", "json").stdout)
    r2 = json.loads(invoke("fit", SAMPLE, "--law", "all", "--loss", "mse", "--format",
                           "json").stdout)
    assert {f["fit"]["objective"]["loss"] if isinstance(f["fit"].get("objective"), dict)
            else str(f["fit"].get("objective")) for f in r2} != {
        f["fit"]["objective"]["loss"] if isinstance(f["fit"].get("objective"), dict)
        else str(f["fit"].get("objective")) for f in r1}


@pytest.mark.parametrize("extra,words", [
    (["--fix", "E=1.7"], ["--fix", "one law"]),
    (["--config", "chinchilla"], ["--config", "one law"]),
    (["--holdout", "0"], ["--holdout"]),
    (["--holdout", "-2"], ["--holdout"]),
])
def test_law_all_refuses_what_describes_one_law(extra, words):
    refused(invoke("fit", PLAIN, "--law", "all", *extra), *words)


def test_holdout_without_law_all_is_refused():
    refused(invoke("fit", PLAIN, "--holdout", "3"), "--law all")


# ---- configs by name, and a law's YAML to start from ----------------------------------------
def test_a_builtin_config_by_name_fits_like_the_law():
    by_name = json.loads(invoke("fit", SAMPLE, "--config", "chinchilla", "--format",
                                "json").stdout)
    by_law = json.loads(invoke("fit", SAMPLE, "--law", "chinchilla", "--format", "json").stdout)
    for k, v in by_law["params"].items():
        assert by_name["params"][k] == pytest.approx(v, rel=1e-9)


def test_an_unknown_config_name_lists_the_builtin_ones():
    refused(invoke("fit", PLAIN, "--config", "no-such-config"), "chinchilla")


@pytest.mark.parametrize("name", ["chinchilla", "kaplan", "bnsl-2"])
def test_laws_show_prints_a_config_that_fits_like_the_law(name, tmp_path):
    r = invoke("laws", "show", name)
    assert r.exit_code == 0, r.stderr
    cfg = tmp_path / "law.yaml"
    cfg.write_text(r.stdout)
    if name == "bnsl-2":
        args = ["--x", "flops"]
    else:
        args = []
    a = invoke("fit", SAMPLE, "--config", cfg, *args, "--format", "json")
    b = invoke("fit", SAMPLE, "--law", name, *args, "--format", "json")
    assert a.exit_code == 0 and b.exit_code == 0, (a.stderr, b.stderr)
    pa, pb = json.loads(a.stdout)["params"], json.loads(b.stdout)["params"]
    for k, v in pb.items():
        assert pa[k] == pytest.approx(v, rel=1e-6), k


def test_laws_show_an_unknown_law_lists_the_known_ones():
    refused(invoke("laws", "show", "nope"), "chinchilla")


# ---- runs counted once ------------------------------------------------------------------
def test_runs_from_paths_and_the_store_are_counted_once(tmp_path):
    store = tmp_path / "store"
    assert invoke("ingest", PLAIN, "--store", store).exit_code == 0
    r = invoke("fit", PLAIN, "--store", store, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n_runs"] == 6
    assert "counted once" in r.stderr
    refused(invoke("fit", PLAIN, "--store", store, "--strict"), "--strict", "counted once")


# ---- IsoFLOP budgets follow Porian et al.'s spline rule ------------------------------------
def test_spline_keeps_a_budget_whose_spline_minimum_is_inside():
    import numpy as np
    import polars as pl

    from scalecli.analyses.isoflop import isoflop

    rows = []
    sizes = np.array([1e8, 2e8, 4e8, 8e8, 1.6e9])
    for C, losses in ((1e19, [3.0, 3.001, 3.2, 3.5, 3.9]),       # lowest at the smallest size
                      (1e20, [3.0, 2.9, 2.85, 2.9, 3.0]),
                      (1e21, [2.9, 2.7, 2.6, 2.65, 2.8]),
                      (1e22, [2.6, 2.8, 3.0, 3.2, 3.4])):         # rises all the way: dropped
        for n, loss in zip(sizes * C / 1e20, losses):
            rows.append({"n_params": n, "tokens": C / (6 * n), "flops": C, "y": loss})
    res = isoflop(pl.DataFrame(rows), optimum="spline")
    kept = [b.flops for b in res.budgets]
    assert kept == [1e19, 1e20, 1e21]
    assert [b.flops for b in res.dropped] == [1e22]
    assert "interpolated minimum" in res.dropped[0].reason
    assert any("1e19" in n and "kept" in n for n in res.notes)
    assert math.log(res.budgets[0].n_opt) > math.log(sizes[0] * 0.1)


# ---- one error boundary ------------------------------------------------------------------
def test_an_unexpected_failure_is_one_line_naming_itself_a_bug(monkeypatch):
    from scalecli import api

    def boom(*a, **k):
        raise ZeroDivisionError("inside")

    monkeypatch.setattr(api, "law_table", boom)
    r = invoke("laws")
    refused(r, "internal error", "ZeroDivisionError", "SCALECLI_TRACEBACK")
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_text_target_is_refused_naming_run_and_value(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("run,n_params,tokens,loss,opt\nr1,1e7,1e9,3.1,adam\nr2,1e8,1e9,2.9,adam\n"
                    "r3,1e9,1e10,2.5,sgd\nr4,3e9,1e11,2.2,sgd\nr5,1e10,1e11,2.1,adam\n"
                    "r6,2e10,3e11,2.0,adam\n")
    refused(invoke("fit", path, "--y", "opt"), "'opt' is not a number", "'r1'", "'adam'")


def test_law_all_keeps_the_reading_warnings_and_strict_refuses_on_them(tmp_path):
    path = tmp_path / "w.csv"
    rows = [(1e7, 1e9, 3.1), (3e7, 1e9, "nan"), (1e8, 3e9, 2.7), (3e8, 1e10, 2.4),
            (1e9, 3e10, 2.2), (3e9, 1e11, 2.05), (1e10, 3e11, 1.95), (3e10, 1e12, 1.9),
            (1e8, 1e10, 2.5), (1e9, 1e11, 2.1)]
    path.write_text("run,n_params,tokens,loss\n" + "".join(
        f"r{i},{n},{d},{y}\n" for i, (n, d, y) in enumerate(rows)))
    r = invoke("fit", path, "--law", "all")
    assert r.exit_code == 0 and "non-finite loss" in r.stderr
    refused(invoke("fit", path, "--law", "all", "--strict"), "non-finite loss", "--strict")
