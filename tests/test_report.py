"""`scalecli report`: one file that opens and holds each section; its numbers are the fit's (as
`fit --format json` gives them) and the closed-form allocation of those parameters; an injected
outlier is named; without matplotlib the report still writes, with terminal plots."""

from __future__ import annotations

import json
import re
import struct
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import ROOT, TRUE, synthetic_sweep, write_csv
from typer.testing import CliRunner

import scalecli
from scalecli.cli import app

runner = CliRunner()
SAMPLE = ROOT / "sample_runs"
SECTIONS = ["Data", "Fit", "Residuals", "Allocation", "Figures", "Provenance"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(r):
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr)
    return r


class Page(HTMLParser):
    """Headings, table cells by row, <pre> blocks and inline <svg> roots of an HTML page."""

    def __init__(self):
        super().__init__()
        self.headings, self.rows, self.pre, self.svgs = [], [], [], 0
        self._in, self._row = None, None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "td", "th", "pre"):
            self._in = tag
            if tag in ("td", "th"):
                self._row.append("")
            if tag == "pre":
                self.pre.append("")
        elif tag == "tr":
            self._row = []
        elif tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        if tag == "tr":
            self.rows.append(self._row)
        if tag in ("h1", "h2", "td", "th", "pre"):
            self._in = None

    def handle_data(self, data):
        if self._in == "h2":
            self.headings.append(data)
        elif self._in in ("td", "th"):
            self._row[-1] += data
        elif self._in == "pre":
            self.pre[-1] += data

    def row(self, first: str) -> list[str]:
        return next(r for r in self.rows if r and r[0] == first)


def parse(path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def html_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "deep" / "report.html"
    r = ok(invoke("report", SAMPLE, "--law", "chinchilla", "--bootstrap", "40",
                  "--flops", "1e21,1e23", "-o", out))
    assert f"wrote {out}" in r.stderr and r.stdout == ""
    return out


@pytest.fixture(scope="module")
def fit_json():
    return json.loads(ok(invoke("fit", SAMPLE, "--law", "chinchilla", "--bootstrap", "40",
                                "--flops", "1e21,1e23", "--format", "json")).stdout)


def test_html_report_opens_and_holds_every_section(html_report):
    page = parse(html_report)
    assert page.headings == SECTIONS
    assert page.svgs == 3  # fit, residuals, allocation, inline: one file, nothing beside it
    assert sorted(p.name for p in html_report.parent.iterdir()) == ["report.html"]
    assert page.row("runs")  # the sources table
    assert [c for c in page.row("N (parameters)")] == ["N (parameters)", "2e7", "1.5e9"]


def test_report_numbers_are_the_fits(html_report, fit_json):
    """Parameters and their intervals agree with `fit --format json` on the same data."""
    page = parse(html_report)
    for name, value in fit_json["params"].items():
        cells = page.row(name)
        assert float(cells[1]) == pytest.approx(value, rel=5e-4)
        low, high = fit_json["intervals"][name]
        assert float(cells[2]) == pytest.approx(low, rel=5e-4)
        assert float(cells[3]) == pytest.approx(high, rel=5e-4)
    assert float(page.row("R²")[1]) == pytest.approx(fit_json["r2"], rel=5e-4)
    assert page.row("data_hash")[1] == fit_json["data"]["hash"]
    assert page.row("scalecli")[1] == scalecli.__version__


def test_allocation_is_the_closed_form_of_the_fitted_law(html_report, fit_json):
    p = fit_json["params"]
    a, b = p["alpha"], p["beta"]
    g = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
    page = parse(html_report)
    for c in (1e21, 1e23):
        row = page.row(f"{c:.0e}".replace("e+", "e"))
        n_opt = g * (c / 6) ** (b / (a + b))
        assert float(row[1]) == pytest.approx(n_opt, rel=5e-4)
        assert float(row[3]) == pytest.approx(c / (6 * n_opt), rel=5e-4)


def test_markdown_report_has_the_same_sections_and_its_images_beside(tmp_path):
    out = tmp_path / "notes" / "sweep.md"
    ok(invoke("report", SAMPLE, "--law", "chinchilla", "-o", out))
    text = out.read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", text, re.MULTILINE) == SECTIONS
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images == ["sweep_files/fit.png", "sweep_files/residuals.png",
                      "sweep_files/optimal.png"]
    for rel in images:
        data = (out.parent / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        w, h = struct.unpack(">II", data[16:24])
        assert w >= 600 and h >= 400
    assert "| E |" in text and "| 1e21 |" in text  # a parameter row, a default budget row


def test_a_law_of_one_variable_reports_without_an_allocation(tmp_path):
    out = tmp_path / "power.md"
    ok(invoke("report", SAMPLE, "--law", "power", "-o", out))
    text = out.read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", text, re.MULTILINE) == SECTIONS
    assert "no allocation: power is not a law of N and D" in text
    assert re.findall(r"\]\(([^)]+)\)", text) == ["power_files/fit.png",
                                                    "power_files/residuals.png"]


def test_an_injected_outlier_is_named_in_the_residuals(tmp_path):
    N, D, L = synthetic_sweep(0)
    L = L.copy()
    L[13] *= 1.10  # run13 made 10% worse than the law
    data = write_csv(tmp_path / "runs.csv", N, D, L)
    out = tmp_path / "r.html"
    ok(invoke("report", data, "--law", "chinchilla", "-o", out))
    page = parse(out)
    flagged = [r[0] for r in page.rows if r and r[-1] == "outlier" and r[0] != "run"]
    assert flagged == ["run13"]
    # the fit itself stays near the generating law (the Huber objective discounts the outlier)
    assert float(page.row("alpha")[1]) == pytest.approx(TRUE["alpha"], abs=0.03)
    assert float(page.row("beta")[1]) == pytest.approx(TRUE["beta"], abs=0.03)
    assert np.isfinite(float(page.row("E")[1]))


def test_without_matplotlib_the_report_writes_terminal_plots(tmp_path, monkeypatch):
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "report.html"
    r = ok(invoke("report", SAMPLE, "--law", "chinchilla", "-o", out))
    assert "warning: matplotlib is not installed" in r.stderr
    page = parse(out)
    assert page.headings == SECTIONS and page.svgs == 0
    assert len(page.pre) >= 3  # two terminal plots, and the fit's JSON
    assert "compute C (FLOPs)" in page.pre[0] and "N=1.5B" in page.pre[0]
    assert "matplotlib is not installed" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("args,message", [
    (["-o", "report.txt"], "report.txt: a report is written as .html or .md"),
    ([], "report needs -o FILE"),
])
def test_a_report_file_it_cannot_write_is_one_line(tmp_path, args, message):
    r = invoke("report", SAMPLE, "--law", "chinchilla", *args)
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
