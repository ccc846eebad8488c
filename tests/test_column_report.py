"""The column report says each kind of file once: a sweep of many files read the same way is
one stderr line naming the first file and how many more, not one line a file."""

from __future__ import annotations

from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.ingest.report import summarize

runner = CliRunner()


def _write(folder, i, extra=""):
    (folder / f"run{i:02d}.csv").write_text(
        f"run,n_params,tokens,step,loss{extra and ',' + extra}\n"
        + "".join(f"r{i},{1e7 * (i + 1):.0f},{1e8 * s:.0f},{s},{3 + 1 / s}"
                  f"{extra and ',1'}\n" for s in (1, 2, 3)))


def test_many_files_read_alike_are_one_line(tmp_path):
    for i in range(7):
        _write(tmp_path, i)
    for i in range(7, 9):
        _write(tmp_path, i, extra="seed")
    r = runner.invoke(app, ["runs", str(tmp_path)])
    assert r.exit_code == 0, r.output
    lines = [x for x in r.stderr.splitlines() if x.startswith("columns:")]
    # 7 alike: one line; the 2 files with a seed column are a different kind, each said
    assert len(lines) == 3
    assert "run00.csv (and 6 more files read the same way)" in lines[0]
    assert sum("seed" in x for x in lines) == 2


def test_few_files_keep_a_line_each():
    lines = [f"a{i}.csv [csv, one row per run]: run=run N=n D=d" for i in range(3)]
    assert summarize(lines) == lines
