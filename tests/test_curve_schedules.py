"""Per-run schedules from the project file (``schedules:`` in scalecli.yaml): by run name, by
glob, by a run-level column; their precedence against a dense lr, --schedule and a
``schedule`` column; bad entries refused in one line naming the file.

The loss curves are drawn from the paper's formula written as a loop (tests/test_curves.py),
each with its own schedule written step by step here: a run given another run's schedule
scores far from zero error, so zero error says each run got its own."""

from __future__ import annotations

import json
import math

import pytest
from test_curves import TRUE, _params, _refused, invoke, mpl_loop

N_STEPS, WARM = 600, 30
LOGGED = range(WARM + 20, N_STEPS, 40)


def _warm(eta):
    for s in range(WARM):
        eta[s] = 3e-4 * s / (WARM - 1)
    return eta


def cosine(n=N_STEPS):
    return _warm([3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + math.cos(math.pi * (s - WARM) / (n - WARM)))
                  for s in range(n)])


def constant(n=N_STEPS):
    return _warm([3e-4] * n)


def two_stage(low, at=400, n=N_STEPS):
    return _warm([3e-4 if s < at else low for s in range(n)])


SPECS = {"cos": f"cosine:peak=3e-4,warmup={WARM},final=3e-5,steps={N_STEPS}",
         "const": f"constant:peak=3e-4,warmup={WARM}",
         "drop": f"piecewise:steps=0/400,values=3e-4/3e-5,warmup={WARM}"}
ETAS = {"cos": cosine(), "const": constant(), "drop": two_stage(3e-5)}


def write_runs(folder, runs, extra=None, dense_lr=()):
    """runs: name -> eta; one CSV of loss rows (and lr rows at every step for ``dense_lr``);
    ``extra``: a run-level column {name: value}."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["run,step,lr,loss" + (",sched" if extra else "")]
    for name, eta in runs.items():
        tail = f",{extra[name]}" if extra else ""
        for s in range(len(eta)):
            loss = repr(mpl_loop(eta, s, TRUE)) if s in LOGGED else ""
            lr = repr(eta[s]) if name in dense_lr else ""
            if loss or lr:
                lines.append(f"{name},{s},{lr},{loss}{tail}")
    (folder / "runs.csv").write_text("\n".join(lines) + "\n")
    return folder


def evaluate(folder, *extra):
    r = invoke("evaluate", folder, "--law", "multi-power", "--params", _params(TRUE), "-f",
               "json", *extra)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def errors(out):
    return {c["run"]: c["pred_e"] for c in out["curves"]}


def test_entries_by_name_by_glob_and_as_a_mapping(tmp_path):
    runs = {"cos": ETAS["cos"], "const-a": ETAS["const"], "const-b": ETAS["const"],
            "drop": ETAS["drop"]}
    folder = write_runs(tmp_path / "p", runs)
    (folder / "scalecli.yaml").write_text(
        "schedules:\n"
        f"  - runs: cos\n    spec: {SPECS['cos']}\n"
        f"  - runs: 'const-*'\n    spec: \"{SPECS['const']}\"\n"
        "  - runs: [drop]\n"
        f"    spec: {{kind: piecewise, steps: [0, 400], values: [3e-4, 3e-5], warmup: {WARM}}}\n")
    out = evaluate(folder)
    assert set(errors(out)) == set(runs)
    assert max(errors(out).values()) < 1e-12
    assert set(out["data"]["lr_source"].values()) == {str(folder / "scalecli.yaml")}
    assert out["data"]["lr"]["drop"] == f"piecewise:steps=0/400,values=3e-4/3e-5,warmup={WARM}"
    assert "schedule entries" in out["notes"][0]


def test_by_column_takes_specs_and_entry_names(tmp_path):
    runs = {"cos": ETAS["cos"], "drop": ETAS["drop"], "const": ETAS["const"]}
    folder = write_runs(tmp_path / "p", runs,
                        extra={"cos": "the-cosine", "drop": SPECS["drop"].replace(",", ";"),
                               "const": ""})
    # a spec in a CSV cell cannot hold commas unquoted: write the cells quoted instead
    text = (folder / "runs.csv").read_text().replace(SPECS["drop"].replace(",", ";"),
                                                     f'"{SPECS["drop"]}"')
    (folder / "runs.csv").write_text(text)
    (folder / "scalecli.yaml").write_text(
        "schedules:\n"
        f"  - name: the-cosine\n    spec: {SPECS['cos']}\n"
        "  - by_column: sched\n"
        f"  - runs: '*'\n    spec: {SPECS['const']}\n")  # the runs without a cell
    out = evaluate(folder)
    assert max(errors(out).values()) < 1e-12, errors(out)
    assert out["data"]["lr"] == {"cos": SPECS["cos"], "drop": SPECS["drop"],
                                 "const": SPECS["const"]}


def test_precedence_lr_then_command_line_then_file_then_column(tmp_path):
    runs = {"cos": ETAS["cos"], "const": ETAS["const"]}
    # the file says constant for every run; the `schedule` column says cosine for both
    folder = tmp_path / "p"
    folder.mkdir()
    lines = ["run,step,lr,loss,schedule"]
    for name, eta in runs.items():
        lines += [f"{name},{s},{eta[s]!r},{mpl_loop(eta, s, TRUE)!r},\"{SPECS['cos']}\""
                  if name == "cos" else f"{name},{s},,{mpl_loop(eta, s, TRUE)!r},\"{SPECS['cos']}\""
                  for s in LOGGED]
    (folder / "runs.csv").write_text("\n".join(lines) + "\n")
    (folder / "scalecli.yaml").write_text(f"schedules:\n  - runs: '*'\n    spec: {SPECS['const']}\n")
    # the file beats the column: const is right, cos (no dense lr: logged at 14 steps) wrong
    out = evaluate(folder)
    assert errors(out)["const"] < 1e-12 and errors(out)["cos"] > 1e-3
    assert out["data"]["lr_source"]["const"] == str(folder / "scalecli.yaml")
    # the command line beats the file
    out = evaluate(folder, "--schedule", SPECS["cos"])
    assert errors(out)["cos"] < 1e-12 and errors(out)["const"] > 1e-3
    assert set(out["data"]["lr_source"].values()) == {"--schedule"}
    # without the file's entries, the column
    (folder / "scalecli.yaml").write_text("law: multi-power\n")
    out = evaluate(folder)
    assert errors(out)["cos"] < 1e-12 and errors(out)["const"] > 1e-3
    assert out["data"]["lr_source"]["cos"] == "schedule column"


def test_a_dense_lr_beats_the_file(tmp_path):
    runs = {"cos": ETAS["cos"], "const": ETAS["const"]}
    folder = write_runs(tmp_path / "p", runs, dense_lr=("cos",))
    (folder / "scalecli.yaml").write_text(f"schedules:\n  - runs: '*'\n    spec: {SPECS['const']}\n")
    out = evaluate(folder)
    assert max(errors(out).values()) < 1e-12
    assert out["data"]["lr_source"]["cos"] == "lr column"


def test_fit_reads_the_files_schedules(tmp_path):
    runs = {"cos": ETAS["cos"], "const": ETAS["const"], "drop": ETAS["drop"]}
    folder = write_runs(tmp_path / "p", runs)
    (folder / "scalecli.yaml").write_text(
        "schedules:\n" + "".join(f"  - runs: {k}\n    spec: {SPECS[k]}\n" for k in SPECS))
    r = invoke("fit", folder, "--law", "multi-power", "--train-runs", "cos",
               "--train-runs", "const", "-f", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["splits"]["test"]["pred_e"] < 5e-3


@pytest.mark.parametrize("yaml,words", [
    ("schedules:\n  - runs: a\n    spec: cosine:peak=3e-4,steps=600\n    when: now\n",
     ["schedules[0]", "unknown key 'when'"]),
    ("schedules:\n  - runs: a\n    spec: cosine:peak=3e-4,bogus=1\n",
     ["schedules[0]", "'bogus=1'"]),
    ("schedules:\n  - runs: a\n    spec: {kind: zigzag, peak: 1}\n",
     ["schedules[0]", "unknown kind 'zigzag'"]),
    ("schedules:\n  - spec: constant:peak=3e-4\n", ["schedules[0]", "which runs"]),
    ("schedules:\n  - runs: a\n", ["schedules[0]", "spec"]),
    ("schedules: constant:peak=3e-4\n", ["schedules must be a list"]),
    ("schedules:\n  - by_column: nowhere\n", ["schedules[0]", "by_column 'nowhere'"]),
    ("schedules:\n  - by_column: sched\n  - name: x\n    spec: constant:peak=3e-4\n",
     ["schedules[0]", "run 'cos'", "neither an entry's name nor a spec"]),
])
def test_bad_entries_are_one_line_naming_the_file(tmp_path, yaml, words):
    folder = write_runs(tmp_path / "p", {"cos": ETAS["cos"]}, extra={"cos": "zigzag"})
    (folder / "scalecli.yaml").write_text(yaml)
    r = invoke("evaluate", folder, "--law", "multi-power", "--params", _params(TRUE))
    _refused(r, "scalecli.yaml", *words)


def test_a_run_no_entry_names_gets_the_usual_error(tmp_path):
    folder = write_runs(tmp_path / "p", {"cos": ETAS["cos"], "other": ETAS["const"]})
    (folder / "scalecli.yaml").write_text(f"schedules:\n  - runs: cos\n    spec: {SPECS['cos']}\n")
    r = invoke("fit", folder, "--law", "multi-power")
    _refused(r, "run 'other'", "learning rate at every step", "scalecli.yaml")


def test_a_short_schedule_from_the_file_and_a_split_without_test_runs(tmp_path):
    folder = write_runs(tmp_path / "p", {"cos": ETAS["cos"]}, extra={"cos": "train"})
    (folder / "scalecli.yaml").write_text(
        "schedules:\n  - runs: cos\n    spec: cosine:peak=3e-4,warmup=30,final=3e-5,steps=500\n")
    _refused(invoke("evaluate", folder, "--law", "multi-power", "--params", _params(TRUE)),
             "run 'cos'", "has 500 steps", "logged up to step 570")
    (folder / "scalecli.yaml").write_text(f"schedules:\n  - runs: cos\n    spec: {SPECS['cos']}\n")
    _refused(invoke("fit", folder, "--law", "multi-power", "--split", "sched"),
             "--split sched", "no test runs")
