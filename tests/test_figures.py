"""Figures for a paper (--png, --svg): every figure is a valid file that names its axes and law,
figures drawn from a known law show that law's exponents, a missing matplotlib is one clear line,
and the terminal plots without colour tell their series apart by marker."""

from __future__ import annotations

import re
import struct
import sys
import xml.etree.ElementTree as ET

import numpy as np
import polars as pl
import pytest
from conftest import ROOT, TRUE, chinchilla_loss
from typer.testing import CliRunner

from scalecli.cli import app

pytest.importorskip("matplotlib")

runner = CliRunner()
SAMPLE = ROOT / "sample_runs"
EXAMPLES = ROOT / "examples"
A_TRUE = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])  # N_opt ∝ C^a of the generating law
B_TRUE = TRUE["alpha"] / (TRUE["alpha"] + TRUE["beta"])


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(r):
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr)
    return r


def png_size(path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_texts(path) -> str:
    """All the text of an SVG, after checking it parses with an <svg> root."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t for t in root.itertext() if t.strip())


def isoflop_grid(path):
    """A noise-free IsoFLOP grid from the known law: 7 budgets, 9 sizes around each optimum."""
    alpha, beta = TRUE["alpha"], TRUE["beta"]
    g = (alpha * TRUE["A"] / (beta * TRUE["B"])) ** (1 / (alpha + beta))
    C = np.repeat(np.logspace(18, 21, 7), 9)
    N = g * (C / 6) ** (beta / (alpha + beta)) * np.tile(np.logspace(-0.6, 0.6, 9), 7)
    D = C / (6 * N)
    pl.DataFrame({"run": [f"r{i}" for i in range(C.size)], "n_params": N, "tokens": D,
                  "flops": C, "loss": chinchilla_loss(TRUE, N, D)}).write_csv(path)
    return path


CASES = {  # name: (command line, the labels its figure must show)
    "fit": (["plot", SAMPLE, "--law", "chinchilla"],
            ["compute C (FLOPs)", "loss (train/loss)", "chinchilla fit", "N=20M", "N=1.5B",
             "compute-optimal frontier"]),
    "residuals": (["plot", SAMPLE, "--law", "chinchilla", "--residuals"],
                  ["compute C (FLOPs)", "residual (log", "chinchilla fit", "median ± 3 robust sd"]),
    "frontier": (["frontier", SAMPLE, "--flops", "1e21"],
                 ["compute C (FLOPs)", "loss", "envelope", "parameters N, tokens D",
                  "approach 1"]),
    "isoflop": (["isoflop", EXAMPLES / "isoflop.csv", "--flops", "1e22"],
                ["model size N (parameters)", "compute C (FLOPs)", "IsoFLOP profiles",
                 "minimum (spline)", "C=1e18"]),
    "compare": (["compare", EXAMPLES / "compare" / "dense.csv", EXAMPLES / "compare" / "moe.csv"],
                ["compute C (FLOPs)", "compute-optimal loss L*(C)", "dense frontier",
                 "moe frontier", "chinchilla per group"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_figure_is_a_valid_png_and_svg_with_its_labels(tmp_path, name):
    import matplotlib.image

    args, labels = CASES[name]
    png, svg = tmp_path / "new" / "folder" / f"{name}.png", tmp_path / f"{name}.svg"
    r = ok(invoke(*args, "--png", png, "--svg", svg))
    assert f"wrote {png}" in r.stderr and f"wrote {svg}" in r.stderr
    assert r.stdout.strip()  # the command's usual output is still printed
    w, h = png_size(png)
    assert w >= 600 and h >= 400
    assert matplotlib.image.imread(png).shape[:2] == (h, w)
    text = svg_texts(svg)
    for label in labels:
        assert label in text, (label, text[:400])
    assert not list(tmp_path.rglob(".*.tmp"))  # written atomically: no temporary file left


def test_optimal_figure_from_a_bootstrapped_fit_shades_the_intervals(tmp_path):
    fit = tmp_path / "fit.json"
    ok(invoke("fit", SAMPLE, "--law", "chinchilla", "--bootstrap", "30", "--save", fit))
    png, svg = tmp_path / "opt.png", tmp_path / "opt.svg"
    ok(invoke("optimal", "--fit", fit, "--flops", "1e19..1e25", "--steps", "4", "--png", png,
              "--svg", svg))
    assert png_size(png)[0] >= 600
    text = svg_texts(svg)
    for label in ("compute C (FLOPs)", "parameters N, tokens D", "N_opt interval",
                  "D_opt interval", "loss at the optimum", "fit.json"):
        assert label in text, label
    # the drawn N_opt and D_opt are the fitted law's closed form at each budget
    import json

    from scalecli import api
    from scalecli.report.figures import figures_for

    p = json.loads(fit.read_text())["params"]
    a, b = p["alpha"], p["beta"]
    g = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
    budgets = np.array([1e19, 1e22, 1e25])
    ax = figures_for("optimal", api.optimal_table(fit, list(budgets))).axes[0]
    n_line, d_line = ax.lines[0], ax.lines[1]
    n_opt = g * (budgets / 6) ** (b / (a + b))
    assert np.allclose(n_line.get_xdata(), budgets)
    assert np.allclose(n_line.get_ydata(), n_opt, rtol=1e-6)
    assert np.allclose(d_line.get_ydata(), budgets / (6 * n_opt), rtol=1e-6)


def test_isoflop_figure_shows_the_generating_laws_exponents(tmp_path):
    """From a noise-free grid of a known law the legend's a and b are that law's."""
    data = isoflop_grid(tmp_path / "grid.csv")
    ok(invoke("isoflop", data, "--svg", tmp_path / "iso.svg", "--flops", "1e22"))
    text = svg_texts(tmp_path / "iso.svg")
    a = float(re.search(r"a = (\d\.\d+)", text).group(1))
    b = float(re.search(r"b = (\d\.\d+)", text).group(1))
    assert a == pytest.approx(A_TRUE, abs=3e-3) and b == pytest.approx(B_TRUE, abs=3e-3)
    assert text.count("C=") >= 7  # one legend entry per budget


def test_svg_is_reproducible(tmp_path):
    args = CASES["fit"][0]
    ok(invoke(*args, "--svg", tmp_path / "a.svg"))
    ok(invoke(*args, "--svg", tmp_path / "b.svg"))
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


@pytest.mark.parametrize("flag", ["--png", "--svg"])
def test_without_matplotlib_one_clear_line_and_no_work(tmp_path, monkeypatch, flag):
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "fig.png"
    r = invoke("plot", SAMPLE, "--law", "chinchilla", flag, out)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        f"Error: {flag} needs matplotlib: pip install 'scalecli[plots]'"]
    assert r.stdout == "" and not out.exists()


def test_a_figure_path_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    r = invoke("plot", SAMPLE, "--law", "chinchilla", "--png", tmp_path / "file" / "fig.png")
    assert r.exit_code == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "cannot write" in errors[0] and "Traceback" not in r.stderr


# ---- terminal plots without colour: one marker per series --------------------------------
def legend_markers(text: str, labels: list[str]) -> dict[str, str]:
    """The glyph before each label in the legend lines (the last lines of the plot)."""
    out = {}
    for label in labels:
        m = re.search(r"(\S+) " + re.escape(label) + r"(?:\s|$)", text)
        assert m, (label, text[-400:])
        out[label] = m.group(1)
    return out


@pytest.mark.parametrize("args", [["plot", SAMPLE, "--law", "chinchilla"],
                                  ["frontier", SAMPLE, "--plot"]])
def test_no_color_plots_tell_series_apart_by_marker(args):
    text = ok(invoke(*args, "--no-color")).stdout
    assert "\x1b[" not in text
    sizes = ["N=20M", "N=50M", "N=120M", "N=300M", "N=700M", "N=1.5B"]
    marks = legend_markers(text, sizes)
    assert len(set(marks.values())) == len(sizes)  # six series, six different markers
    body = "\n".join(text.splitlines()[1:-3])  # the plot area, without legend
    for glyph in marks.values():
        assert glyph[0] in body  # each marker is drawn, not only listed
