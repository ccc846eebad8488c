"""Bad input through the CLI: one line on stderr naming the file (and line or run), exit 1,
no traceback, and a refused ingest leaves the store byte-for-byte as it was."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()
FIX = Path(__file__).parent / "data" / "fixtures"
BAD = FIX / "bad"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if not name.endswith(".lock"):
                p = Path(dirpath) / name
                h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


def one_line_error(r, *words):
    assert r.exit_code == 1, (r.exit_code, r.stdout, r.stderr)
    err = r.stderr.strip()
    errors = [x for x in err.splitlines() if not x.startswith(("columns:", "warning:"))]
    assert "Traceback" not in err and len(errors) == 1 and errors[0].startswith("Error: "), err
    err = errors[0]
    for w in words:
        assert w in err, (w, err)
    assert r.stdout == ""


@pytest.fixture
def store(tmp_path):
    s = tmp_path / "store"
    assert invoke("ingest", FIX / "plain.csv", "--store", s).exit_code == 0
    return s


@pytest.mark.parametrize(("name", "words"), [
    ("empty.csv", ["empty.csv", "empty"]),
    ("empty.jsonl", ["empty.jsonl", "empty"]),
    ("header_only.csv", ["header_only.csv"]),
    ("non_numeric_loss.csv", ["non_numeric_loss.csv:9", "n/a"]),
    ("missing_n_params.csv", ["missing_n_params.csv", "--map", "tokens", "step"]),
    ("duplicate_run_names.csv", ["duplicate_run_names.csv", "gpt-10M", "1e+07", "3e+07"]),
    ("negative_tokens.csv", ["negative_tokens.csv:7", "-24117248"]),
])
def test_refused_and_store_untouched(store, name, words):
    before = digest(store)
    one_line_error(invoke("ingest", BAD / name, "--store", store), *words)
    one_line_error(invoke("runs", BAD / name), *words[:1])
    assert digest(store) == before


def test_missing_path_and_unknown_format(tmp_path, store):
    one_line_error(invoke("fit", tmp_path / "nope.csv"), "nope.csv", "no such file")
    odd = tmp_path / "notes.txt"
    odd.write_text("hello\n")
    one_line_error(invoke("ingest", odd, "--store", store), "notes.txt", "--reader")
    one_line_error(invoke("runs", FIX / "plain.csv", "--reader", "xlsx"), "xlsx")


@pytest.mark.parametrize(("name", "runs", "where"), [
    ("nan_inf_loss.csv", 2, "nan_inf_loss.csv"),
    ("nan_inf_loss.jsonl", 2, "nan_inf_loss.jsonl"),
    ("truncated_last_line.jsonl", 2, "truncated_last_line.jsonl"),
])
def test_warned_then_refused_under_strict(store, name, runs, where):
    r = invoke("runs", BAD / name, "--format", "json")
    assert r.exit_code == 0
    assert len(json.loads(r.stdout)) == runs
    assert "warning:" in r.stderr and where in r.stderr
    before = digest(store)
    one_line_error(invoke("ingest", BAD / name, "--store", store, "--strict"), where, "strict")
    assert digest(store) == before


def test_non_finite_points_are_dropped_from_the_fit_data():
    import csv
    import math

    r = invoke("runs", BAD / "nan_inf_loss.csv", "--format", "json")
    finals = {x["name"]: x["loss"] for x in json.loads(r.stdout)}
    want = {}
    with open(BAD / "nan_inf_loss.csv") as f:
        for row in csv.DictReader(f):
            if math.isfinite(float(row["loss"])):
                want[row["run"]] = float(row["loss"])  # the last finite value of each run
    assert finals == want
    assert "3 non-finite" in r.stderr


def test_bom_reads_as_normal():
    r = invoke("runs", BAD / "utf8_bom_header.csv", "--format", "json")
    assert r.exit_code == 0 and "warning" not in r.stderr
    assert sorted(x["n_params"] for x in json.loads(r.stdout)) == [1e7, 3e7]


def test_fit_refuses_too_few_points(tmp_path):
    lines = (FIX / "plain.csv").read_text().splitlines()
    few = tmp_path / "four_runs.csv"
    few.write_text("\n".join([lines[0]] + [x for x in lines[1:]
                                           if not x.startswith(("gpt-1B,", "gpt-3B,"))]) + "\n")
    one_line_error(invoke("fit", few, "--law", "chinchilla"), "4 point(s)", "5 free parameters")
    one = tmp_path / "one_size.csv"
    one.write_text("run,n_params,tokens,loss\n" + "".join(
        f"r{i},1e8,{d},{3 + 1 / (i + 1)}\n" for i, d in enumerate([1e9, 2e9, 4e9, 8e9, 16e9, 32e9])))
    one_line_error(invoke("fit", one), "one model size")


def test_fit_warns_with_few_points(tmp_path):
    lines = (FIX / "plain.csv").read_text().splitlines()
    path = tmp_path / "six.csv"
    path.write_text("\n".join(lines) + "\n")
    r = invoke("fit", path, "--format", "json")
    assert r.exit_code == 0 and "fewer than twice" in r.stderr
    r = invoke("fit", path, "--strict")
    assert r.exit_code == 1 and "fewer than twice" in r.stderr


def test_a_header_cell_with_a_line_break_is_quoted_on_one_line(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b'run,"n_params\r\nx",tokens,loss\na,1e8,1e9,3\n')
    r = invoke("fit", path)
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "n_params\\r\\nx" in lines[0] and "crlf.csv" in lines[0]


def test_a_library_error_is_one_line_whatever_it_quotes():
    from scalecli.errors import ColumnError, InputError

    assert str(ColumnError("columns found: n_params\r\nx")) == "columns found: n_params\\r\\nx"
    assert "\n" not in str(InputError("bad\ncell", path="a.csv", line=3))
