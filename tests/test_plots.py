"""Terminal plots: scalecli.report.plots.fit_plot renders a string, no terminal needed."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import numpy as np
import pytest

from scalecli.errors import ConfigError, InputError
from scalecli.report.plots import fit_plot

E, A, B, ALPHA, BETA = 1.8, 482.0, 2085.0, 0.35, 0.37
SIZES = [20e6, 50e6, 120e6, 300e6, 700e6, 1.5e9]
LABELS = ["N=20M", "N=50M", "N=120M", "N=300M", "N=700M", "N=1.5B"]


def law(n, d):
    return E + A / n**ALPHA + B / d**BETA


def frontier(c):
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    n = g * (c / 6) ** (BETA / (ALPHA + BETA))
    return law(n, c / (6 * n))


def sweep(sizes=SIZES, tpp=(5, 10, 20, 40), noise=0.005, seed=0):
    n = np.repeat(np.asarray(sizes, dtype=float), len(tpp))
    d = n * np.tile(np.asarray(tpp, dtype=float), len(sizes))
    rng = np.random.default_rng(seed)
    loss = law(n, d) * (1 + noise * rng.standard_normal(n.size))
    return n, d, 6 * n * d, loss


def columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


@pytest.fixture(scope="module")
def plain() -> str:
    return fit_plot(*sweep(), law, frontier, title="synthetic sweep")


def test_plain_plot_fits_80_columns_and_24_rows(plain):
    lines = plain.splitlines()
    assert plain.strip()
    assert len(lines) == 24
    assert max(columns(line) for line in lines) <= 80


def test_plain_plot_has_legend_labels_title_and_no_ansi(plain):
    for label in LABELS:
        assert label in plain
    assert "compute-optimal" in plain
    assert "fitted law" in plain
    assert "synthetic sweep" in plain
    assert "compute C (FLOPs)" in plain
    assert "\x1b" not in plain


def test_plain_plot_has_readable_ticks(plain):
    assert "1e18" in plain and "1e19" in plain
    tick_rows = [line for line in plain.splitlines() if "┤" in line]
    assert any(line.split("┤")[0].strip() in {"2", "2.5", "3", "4", "5"} for line in tick_rows)


def test_every_size_marker_is_drawn(plain):
    body = "\n".join(plain.splitlines()[1:-3])  # plot area only, not the legend
    for marker in "ox+*#@":
        assert marker in body


def test_color_plot_has_ansi_escapes():
    out = fit_plot(*sweep(), law, frontier, color=True)
    assert "\x1b[" in out
    assert "compute-optimal" in out


def test_no_frontier_means_no_frontier_label():
    out = fit_plot(*sweep(), law)
    assert "compute-optimal" not in out
    assert "N=1.5B" in out


def test_custom_size_is_respected():
    out = fit_plot(*sweep(), law, frontier, width=60, height=18)
    lines = out.splitlines()
    assert len(lines) == 18
    assert max(columns(line) for line in lines) <= 60


def test_many_sizes_are_binned_into_at_most_eight_groups():
    sizes = np.geomspace(1e7, 1e10, 15)
    out = fit_plot(*sweep(sizes=sizes, tpp=(10, 20)), law, frontier)
    legend = "\n".join(out.splitlines()[-3:])
    assert 1 <= legend.count("N=") <= 8
    assert "-" in legend  # at least one bin shows a range, e.g. N=10M-16.4M
    assert max(columns(line) for line in out.splitlines()) <= 80


def test_missing_flops_fall_back_to_6nd():
    n, d, c, loss = sweep()
    assert fit_plot(n, d, np.full_like(c, np.nan), loss, law) == fit_plot(n, d, c, loss, law)


def test_renders_without_printing(capsys):
    fit_plot(*sweep(), law, frontier)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bad_input_is_refused():
    n, d, c, loss = sweep()
    with pytest.raises(ValueError, match="length"):
        fit_plot(n, d[:-1], c, loss, law)
    with pytest.raises(InputError, match="nothing to plot"):
        fit_plot(n, d, c, np.full_like(loss, np.nan), law)
    with pytest.raises(ConfigError, match="at least"):
        fit_plot(n, d, c, loss, law, width=20)


def test_module_import_does_not_import_plotext():
    code = "import sys, scalecli.report.plots; print('plotext' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
