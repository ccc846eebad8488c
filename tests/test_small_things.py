"""What people expect of a command-line tool: a store found without flags, logs on stdin,
--version, --quiet, shell completion, plain --help, nearest-name suggestions, and output that
says the same thing the same way everywhere."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import numpy as np
import pytest
from conftest import ROOT, TRUE, chinchilla_loss
from typer.testing import CliRunner

from scalecli import __version__
from scalecli.cli import app

runner = CliRunner()
SAMPLE = ROOT / "sample_runs"
FIX = ROOT / "tests" / "data" / "fixtures"
TRUTH = json.loads((SAMPLE / "truth.json").read_text())


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def names(r) -> list[str]:
    return sorted(x["name"] for x in json.loads(r.stdout))


# ---- a store found without flags -----------------------------------------------------------
@pytest.fixture
def stored(tmp_path):
    """A copy of sample_runs ingested into tmp/.scalecli."""
    shutil.copytree(SAMPLE, tmp_path / "logs")
    r = invoke("ingest", tmp_path / "logs", "--store", tmp_path / ".scalecli")
    assert r.exit_code == 0, r.stderr
    return tmp_path


def test_a_store_in_the_working_directory_is_used_and_named(stored, monkeypatch):
    monkeypatch.delenv("SCALECLI_STORE", raising=False)
    monkeypatch.chdir(stored)
    r = invoke("runs", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert names(r) == sorted(t["name"] for t in TRUTH["runs"])
    assert f"note: store: {(stored / '.scalecli').resolve()} (found in the working directory)" \
        in r.stderr


def test_scalecli_store_names_the_store(stored, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SCALECLI_STORE", str(stored / ".scalecli"))
    r = invoke("fit", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n_runs"] == 24 and "(from $SCALECLI_STORE)" in r.stderr
    monkeypatch.setenv("SCALECLI_STORE", str(elsewhere / "none"))
    r = invoke("runs")
    assert r.exit_code == 1 and "no scalecli store here" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_paths_and_no_store_says_where_a_store_is_looked_for(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALECLI_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    r = invoke("runs")
    assert r.exit_code == 1 and "$SCALECLI_STORE" in r.stderr and ".scalecli" in r.stderr


# ---- logs on standard input ----------------------------------------------------------------
def test_stdin_csv_is_read_like_the_file():
    text = (FIX / "plain.csv").read_text()
    truth = json.loads((FIX / "ground_truth.json").read_text())
    for args in (["-", "--reader", "csv"], ["-"]):  # told, and sniffed
        r = invoke("runs", *args, "--format", "json", input=text)
        assert r.exit_code == 0, r.stderr
        rows = json.loads(r.stdout)
        assert sorted(x["n_params"] for x in rows) == sorted(t["n_params"] for t in truth["runs"])
        assert {x["source"] for x in rows} == {"<stdin>"}


def test_stdin_jsonl_is_sniffed_or_told():
    text = (SAMPLE / "sweep_mid.jsonl").read_text()
    r = invoke("runs", "-", "--format", "json", input=text)
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 8
    r = invoke("runs", "-", "--reader", "jsonl", "--format", "csv", input=text)
    assert r.exit_code == 0 and r.stdout.count("<stdin>") == 8


@pytest.mark.parametrize("text,message", [("", "standard input is empty"),
                                          ("\n\n", "standard input is empty")])
def test_empty_stdin_is_one_line(text, message):
    r = invoke("runs", "-", input=text)
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_stdin_cannot_be_ingested_into_a_store(tmp_path):
    r = invoke("ingest", "-", "--store", tmp_path / "s", input="run,n_params,tokens,loss\n")
    assert r.exit_code == 1 and "save standard input to a file" in r.stderr


# ---- --version, --quiet, completion, help, suggestions -------------------------------------
def test_version():
    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout == f"scalecli {__version__}\n"


def test_quiet_silences_notes_and_columns_but_not_warnings(tmp_path):
    loud = invoke("fit", SAMPLE, "--format", "json")
    quiet = invoke("--quiet", "fit", SAMPLE, "--format", "json")
    assert loud.exit_code == quiet.exit_code == 0
    assert "columns:" in loud.stderr and "columns:" not in quiet.stderr
    assert "note:" not in quiet.stderr
    assert json.loads(quiet.stdout)["params"] == json.loads(loud.stdout)["params"]
    # a warning still prints: 6 runs for 5 parameters
    r = invoke("-q", "fit", FIX / "plain.csv")
    assert "warning: only 6 points for 5 free parameters" in r.stderr
    assert "columns:" not in r.stderr
    r = invoke("-q", "ingest", SAMPLE, "--store", tmp_path / "st")
    assert r.exit_code == 0 and "columns:" not in r.stderr


def test_quiet_is_read_wherever_it_is_typed():
    """`scalecli fit runs/ -q` as well as `scalecli -q fit runs/`, through the installed
    entry point; words after `--` are not options."""
    import subprocess
    import sys

    code = "import sys; from scalecli.cli import main; sys.argv[0] = 'scalecli'; main()"
    run = [sys.executable, "-c", code]
    r = subprocess.run([*run, "fit", str(SAMPLE), "--format", "json", "-q"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "columns:" not in r.stderr and "note:" not in r.stderr
    from scalecli.cli import _quiet_first

    assert _quiet_first(["fit", "x", "--quiet"]) == ["--quiet", "fit", "x"]
    assert _quiet_first(["fit", "--", "-q"]) == ["fit", "--", "-q"]


def test_command_list_has_one_line_summaries():
    """A command whose first docstring paragraph spans lines is listed as one sentence."""
    text = invoke("--help", env={"COLUMNS": "400"}).stdout
    line = next(ln for ln in text.splitlines() if ln.lstrip("│ ").startswith("compare "))
    assert "where the frontiers cross" in line


def test_completion_script():
    """The script for the shell scalecli runs under (bash, zsh, fish, powershell): each calls
    back into scalecli through _SCALECLI_COMPLETE."""
    # the shell named: detecting it from the parent process fails where pytest has no shell
    # above it (a background job, a service)
    for shell in ("bash", "zsh", "fish"):
        r = runner.invoke(app, ["--show-completion", shell], prog_name="scalecli")
        assert r.exit_code == 0 and "_SCALECLI_COMPLETE" in r.stdout and "scalecli" in r.stdout
    assert "--install-completion" in invoke("--help").stdout


def test_help_shows_defaults_and_plain_flags():
    text = invoke("plot", "--help", env={"COLUMNS": "200"}).stdout
    assert "<bool>" not in text
    assert re.search(r"--residuals\s+Plot each run's residual", text)
    assert "[default: 80]" in text and "--color" in text and "--no-color" in text
    assert "<bool>" not in invoke("--help").stdout and "<bool>" not in invoke("fit", "--help").stdout


def test_misspelt_names_suggest_the_nearest():
    r = invoke("fit", SAMPLE, "--law", "chinchila")
    assert r.exit_code == 1 and "did you mean chinchilla?" in r.stderr
    assert "did you mean" not in invoke("fit", SAMPLE, "--law", "zzz").stderr
    r = invoke("fitt")  # commands and options: Click's own suggestions
    assert r.exit_code == 2 and "Did you mean 'fit'?" in r.stderr
    r = invoke("fit", SAMPLE, "--lw", "x")
    assert r.exit_code == 2 and "--law" in r.stderr


# ---- consistent output ---------------------------------------------------------------------
def iso_grid(path):
    """Noise-free IsoFLOP runs of the law TRUE: 3 budgets x 9 sizes around each optimum."""
    rows = []
    for c in (1e18, 1e19, 1e20):
        for n in np.logspace(7, 9.5, 13):
            d = c / (6 * n)
            rows.append({"name": f"c{c:.0e}-n{n:.3g}", "n_params": n, "tokens": d,
                         "loss": chinchilla_loss(TRUE, n, d)})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_isoflop_csv_rows_carry_the_exponents(tmp_path):
    r = invoke("isoflop", iso_grid(tmp_path / "iso.csv"), "--format", "csv", "--flops", "1e22")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    a_true = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])
    assert [x["kind"] for x in rows] == ["budget"] * 3 + ["prediction"]
    for x in rows:  # every row carries the same a, b and standard errors
        assert float(x["a"]) == pytest.approx(a_true, abs=0.01)
        assert float(x["b"]) == pytest.approx(1 - a_true, abs=0.01)
        assert float(x["a_se"]) >= 0 and float(x["b_se"]) >= 0
        assert float(x["a"]) + float(x["b"]) == pytest.approx(1, abs=1e-9)  # C = 6ND
    assert len({(x["a"], x["b"], x["a_se"], x["b_se"]) for x in rows}) == 1


def test_frontier_csv_rows_carry_the_exponents():
    r = invoke("frontier", SAMPLE, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows and {"a", "a_se", "b", "b_se"} <= set(rows[0])
    truth = TRUTH["compute_optimal"]
    assert float(rows[0]["a"]) == pytest.approx(truth["a"], abs=0.03)
    assert float(rows[0]["b"]) == pytest.approx(truth["b"], abs=0.03)


def test_fit_law_all_csv_calls_the_parameter_count_k():
    r = invoke("fit", SAMPLE, "--law", "all", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert "n_params" not in rows[0] and "k" in rows[0]
    by_law = {x["law"]: int(x["k"]) for x in rows}
    assert by_law["chinchilla"] == 5  # E, A, alpha, B, beta


def test_runs_marks_derived_compute_and_names_each_runs_metric(tmp_path):
    (tmp_path / "logged.csv").write_text(
        "run,n_params,tokens,flops,eval/loss\nbig,1e9,2e10,1.3e20,2.5\n")
    (tmp_path / "derived.csv").write_text("run,n_params,tokens,train_loss\nsmall,1e8,2e9,3.1\n")
    r = invoke("runs", tmp_path, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.stderr
    line = {ln.split("│")[1].strip(): ln for ln in r.stdout.splitlines() if "│" in ln}
    assert "1.2e18*" in line["small"] and "train_loss" in line["small"]  # 6·1e8·2e9
    assert "1.3e20*" not in line["big"] and "1.3e20" in line["big"] and "eval/loss" in line["big"]
    assert "* C derived as 6·N·D" in r.stdout
    rows = {x["name"]: x for x in csv.DictReader(io.StringIO(
        invoke("runs", tmp_path, "--format", "csv").stdout))}
    assert rows["small"]["flops_derived"] == "True" and rows["big"]["flops_derived"] == "False"
    assert rows["small"]["metric"] == "train_loss" and rows["big"]["metric"] == "eval/loss"
    assert float(rows["small"]["flops"]) == 6 * 1e8 * 2e9


def test_columns_line_claims_6nd_only_with_n_and_d():
    r = invoke("runs", SAMPLE)
    lines = {ln.split(" ")[1].rsplit("/", 1)[-1]: ln for ln in r.stderr.splitlines()
             if ln.startswith("columns:")}
    assert "C=6·N·D" not in lines["history.jsonl"]
    assert "C=none (no N in this file)" in lines["history.jsonl"]
    assert "C=6·N·D" in lines["runs.jsonl"] and "C=6·N·D" in lines["sweep_small.csv"]


def test_compute_in_messages_reads_as_in_tables():
    r = invoke("isoflop", SAMPLE)
    assert r.exit_code == 1 and "C=1.2e16" in r.stderr and "e+" not in r.stderr


def test_the_command_listing_is_the_full_apps_own():
    """`scalecli --help` through the entry point (each command a parameterless stub, so no
    option is built) prints what the app with every command built prints."""
    import os
    import subprocess
    import sys

    code = "import sys; from scalecli.cli import main; sys.argv[0] = 'scalecli'; main()"
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    r = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True,
                       timeout=120, check=False, env=env)
    assert r.returncode == 0, r.stderr
    full = runner.invoke(app, ["--help"], env={"COLUMNS": "100", "TERM": "dumb",
                                               "NO_COLOR": "1"}, prog_name="scalecli")
    assert full.exit_code == 0
    assert r.stdout == full.stdout
    for name in ("fit", "hparams", "passk", "evaluate", "laws", "store"):
        assert re.search(rf"│ {name} ", r.stdout), name


def test_the_rmse_row_names_what_the_law_predicts(tmp_path):
    x = np.linspace(0.4, 1.6, 30)
    acc = -0.7 / (1 + np.exp(-5 * (x - 0.9))) + 0.95
    path = tmp_path / "acc.csv"
    path.write_text("run,x,acc\n" + "".join(f"r{i},{float(a)!r},{float(b)!r}\n"
                                            for i, (a, b) in enumerate(zip(x, acc, strict=True))))
    r = runner.invoke(app, ["fit", str(path), "--law", "sigmoid", "--x", "x", "--y", "acc",
                            "--format", "markdown"])
    assert r.exit_code == 0, r.output
    assert "RMSE of log accuracy" in r.stdout and "log loss" not in r.stdout
    assert "sigmoid: acc = a / (1 + exp(" in r.stdout  # the equation's left side too
    r = runner.invoke(app, ["fit", str(SAMPLE), "--format", "markdown"])
    assert "RMSE of log loss" in r.stdout and "chinchilla: L = E + A" in r.stdout


def test_a_target_column_named_y_is_fitted_like_any_other(tmp_path):
    """The points' own target column is called y: a run column of that name used to be
    dropped, leaving '0 point(s)'. The recovered sigmoid is the generating one either way."""
    x = np.linspace(0.4, 1.6, 30)
    acc = -0.7 / (1 + np.exp(-5 * (x - 0.9))) + 0.95
    fitted = []
    for name in ("acc", "y"):
        path = tmp_path / f"{name}.csv"
        path.write_text(f"run,x,{name}\n" + "".join(
            f"r{i},{float(a)!r},{float(b)!r}\n" for i, (a, b) in enumerate(zip(x, acc, strict=True))))
        r = runner.invoke(app, ["fit", str(path), "--law", "sigmoid", "--x", "x", "--y", name,
                                "--format", "json"])
        assert r.exit_code == 0, r.output
        fitted.append(json.loads(r.stdout)["params"])
    assert fitted[1] == pytest.approx(fitted[0], rel=1e-9)
    assert fitted[1]["x0"] == pytest.approx(0.9, rel=1e-4)
    assert fitted[1]["k"] == pytest.approx(5, rel=1e-4)
