"""Choosing runs by name: --include-run and --exclude-run on the bundled sample sweep, whose
24 runs are named gpt-<size>-<tokens per parameter>tpp."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scalecli import inputs
from scalecli.cli import app

SAMPLE = Path(__file__).resolve().parent.parent / "sample_runs"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_exclude_leaves_out_the_matching_runs_and_their_history():
    frames = inputs.frames(SAMPLE, None, None, {}, False,
                           select=inputs.selection(None, ["gpt-20M-*", "*-40tpp"]))
    names = frames.runs["name"].to_list()
    assert len(names) == 24 - 4 - 5  # four 20M runs, five other 40tpp runs
    assert not any(n.startswith("gpt-20M-") or n.endswith("-40tpp") for n in names)
    kept = set(frames.runs["run_id"].to_list())
    assert set(frames.history["run_id"].unique().to_list()) <= kept
    assert any("15 of 24 kept" in n for n in frames.notes)


def test_include_keeps_only_matching_runs_and_the_fit_records_it(tmp_path):
    out = tmp_path / "fit.json"
    r = invoke("fit", SAMPLE, "--include-run", "gpt-*-5tpp", "--include-run", "gpt-*-20tpp",
               "--save", out)
    assert r.exit_code == 0, r.output
    saved = json.loads(out.read_text())
    assert saved["n_runs"] == 12
    assert saved["data"]["selection"] == {"include": ["gpt-*-5tpp", "gpt-*-20tpp"],
                                          "exclude": []}
    assert "12 of 24 kept" in r.stderr


def test_a_pattern_that_matches_nothing_is_said():
    r = invoke("runs", SAMPLE, "--exclude-run", "gpt-7B-*")
    assert r.exit_code == 0 and "--exclude-run 'gpt-7B-*' matches no run" in r.stderr


def test_a_selection_that_leaves_nothing_names_the_clause():
    r = invoke("fit", SAMPLE, "--include-run", "llama-*")
    assert r.exit_code == 1 and "--include-run llama-*: no run matches" in r.stderr
    r = invoke("fit", SAMPLE, "--include-run", "gpt-20M-*", "--exclude-run", "gpt-*")
    assert r.exit_code == 1
    assert "--exclude-run gpt-* leaves no run of those --include-run kept" in r.stderr
    r = invoke("runs", SAMPLE, "--exclude-run", " ")
    assert r.exit_code == 1 and "glob pattern" in r.stderr


def test_backtest_takes_the_selection():
    r = invoke("backtest", SAMPLE, "--exclude-run", "gpt-1.5B-*", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert not any(p["run"].startswith("gpt-1.5B") for p in out["predictions"])


def test_isoflop_frontier_and_plot_take_the_selection():
    iso = Path(__file__).resolve().parent.parent / "examples" / "isoflop.csv"
    r = invoke("isoflop", iso, "--format", "json")
    every = json.loads(r.stdout)
    r = invoke("isoflop", iso, "--exclude-run", "iso-1e+18-*", "--format", "json")
    assert r.exit_code == 0, r.output
    fewer = json.loads(r.stdout)
    assert len(fewer["budgets"]) == len(every["budgets"]) - 1
    assert all(b["flops"] != 1e18 for b in fewer["budgets"])
    r = invoke("frontier", SAMPLE, "--exclude-run", "gpt-20M-*")
    assert r.exit_code == 0 and "20 of 24 kept" in r.stderr
    r = invoke("plot", SAMPLE, "--include-run", "gpt-*-20tpp", "--no-color")
    assert r.exit_code == 0 and "6 of 24 kept" in r.stderr
