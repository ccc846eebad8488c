"""``scalecli plot`` of a curve law: per run, the observed loss curve and the law's predicted
curve (structure, not pixels)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_curve_schedules import ETAS, LOGGED, SPECS, write_runs
from test_curves import TRUE, _refused, invoke, mpl_loop

from scalecli import api
from scalecli.report import plots


@pytest.fixture
def folder(tmp_path):
    runs = {"cos": ETAS["cos"], "const": ETAS["const"], "drop": ETAS["drop"]}
    folder = write_runs(tmp_path / "p", runs)
    (folder / "scalecli.yaml").write_text(
        "schedules:\n" + "".join(f"  - runs: {k}\n    spec: {SPECS[k]}\n" for k in SPECS))
    fit = tmp_path / "mpl.json"
    fit.write_text(json.dumps({"kind": "curve-fit", "law": "multi-power", "params": TRUE}))
    return folder, fit


def test_one_observed_and_one_predicted_series_per_run(folder, monkeypatch):
    path, fit = folder
    result = api.plot_curves(path, fit_file=fit)
    series = {run: (steps, obs, pred) for run, steps, obs, pred in result.series()}
    assert set(series) == {"cos", "const", "drop"}
    for run, (steps, obs, pred) in series.items():
        assert list(steps) == list(LOGGED)
        want = [mpl_loop(ETAS[run], s, TRUE) for s in LOGGED]
        np.testing.assert_allclose(obs, want, rtol=1e-15)  # the logged loss
        np.testing.assert_allclose(pred, want, rtol=1e-12)  # the law at the true parameters
    lines = []
    real = plots._draw_line
    monkeypatch.setattr(plots, "_draw_line",
                        lambda fig, m, x, y, ylim: (lines.append((list(x), list(y))),
                                                    real(fig, m, x, y, ylim)))
    r = invoke("plot", path, "--fit", fit, "--no-color", "--width", 90, "--height", 26)
    assert r.exit_code == 0, r.output
    assert len(lines) == 3  # one predicted line per run, at its logged steps
    assert all(x == [float(s) for s in LOGGED] for x, _ in lines)
    text = r.stdout.splitlines()
    assert len(text) == 26 and max(len(t) for t in text) <= 90
    legend = text[-1]
    for k, run in enumerate(run for run, *_ in result.series()):  # in the order read
        assert f"{plots._MARKERS[k]} {run}" in legend
        assert any(plots._MARKERS[k] in t for t in text[1:-3])  # its points are drawn
    assert "predicted" in legend and "multi-power (from" in text[0]


def test_plot_fits_a_curve_law_when_no_fit_is_given(folder):
    path, _ = folder
    r = invoke("plot", path, "--law", "power-area", "--no-color")
    assert r.exit_code == 0, r.output
    assert "power-area (fitted)" in r.stdout.splitlines()[0]
    assert "fitted on 3 curve(s)" in r.stderr


def test_options_of_final_loss_plots_are_refused_for_curves(folder):
    path, fit = folder
    _refused(invoke("plot", path, "--law", "multi-power", "--residuals"), "--residuals")
    _refused(invoke("plot", path, "--fit", fit, "--reduce", "min"), "--reduce")
    _refused(invoke("plot", path, "--law", "chinchilla", "--schedule", SPECS["cos"]),
             "--schedule")
