"""Units where numbers are typed or read: ``--map N=params_m*1e6`` scales a column (the same
fit as a pre-scaled file), optimal and predict sizes take suffixes (``7B``, ``1.4T``), a suffix
that is not one is one line and exit 1, and a fit whose N or D look like millions warns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalecli.cli import app

FIXTURES = Path(__file__).resolve().parent / "data" / "fixtures"
TRUTH = {r["name"]: r for r in json.loads((FIXTURES / "ground_truth.json").read_text())["runs"]}
PUBLISHED = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}  # Hoffmann et al.


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def in_millions(tmp_path_factory) -> Path:
    """plain.csv with N in millions (params_m) and D in thousands (tokens_k)."""
    with open(FIXTURES / "plain.csv") as f:
        rows = list(csv.DictReader(f))
    out = tmp_path_factory.mktemp("units") / "millions.csv"
    lines = ["run,params_m,tokens_k,step,loss"]
    lines += [f"{r['run']},{float(r['n_params']) / 1e6!r},{float(r['tokens']) / 1e3!r},"
              f"{r['step']},{r['loss']}" for r in rows]
    out.write_text("\n".join(lines) + "\n")
    return out


def runs_json(*args) -> dict[str, dict]:
    r = invoke("runs", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return {row["name"]: row for row in json.loads(r.stdout)}, r.stderr


def test_map_scales_a_column_to_the_truth_and_says_so(in_millions):
    for spec in ("N=params_m*1e6,D=tokens_k*1e3", "N=params_m * 1M,D=tokens_k/1e-3"):
        runs, err = runs_json(in_millions, "--map", spec)
        assert set(runs) == set(TRUTH)
        for name, row in runs.items():
            assert row["n_params"] == pytest.approx(TRUTH[name]["n_params"], rel=1e-12)
            assert row["tokens"] == pytest.approx(TRUTH[name]["final_tokens"], rel=1e-12)
    assert "N=params_m*1M D=tokens_k/1e-3" in err


def test_a_scaled_map_gives_the_fit_of_the_prescaled_file(in_millions, tmp_path):
    plain, scaled = tmp_path / "plain.json", tmp_path / "scaled.json"
    r = invoke("fit", FIXTURES / "plain.csv", "--save", plain)
    assert r.exit_code == 0, r.stderr
    r = invoke("fit", in_millions, "--map", "N=params_m*1M,D=tokens_k*1k", "--save", scaled)
    assert r.exit_code == 0, r.stderr
    a, b = (json.loads(p.read_text())["params"] for p in (plain, scaled))
    assert set(a) == set(b) == set(PUBLISHED)
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-6), k
    assert "under 1e5" not in r.stderr


def test_a_config_scales_its_columns_too(in_millions, tmp_path):
    config = tmp_path / "law.yaml"
    config.write_text("law: {name: chinchilla}\n"
                      "data: {columns: {N: 'params_m*1e6', D: 'tokens_k*1e3'}}\n")
    r = invoke("fit", in_millions, "--config", config, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert "N=params_m*1e6" in r.stderr and "under 1e5" not in r.stderr
    config.write_text("law: {name: chinchilla}\ndata: {columns: {loss: 'loss*2'}}\n")
    r = invoke("fit", in_millions, "--config", config)
    assert r.exit_code == 1 and "only N, D and C can be scaled" in r.stderr


@pytest.mark.parametrize(("spec", "message"), [
    ("N=params_m*1Q", "--map N=params_m*1Q: '1Q' is not a number to scale by"),
    ("N=params_m*0", "the scale must be a positive number"),
    ("N=params_m*-1e6", "the scale must be a positive number"),
    ("loss=loss*2", "--map loss=loss*2: only N, D and C can be scaled"),
])
def test_a_bad_scale_is_one_line(in_millions, spec, message):
    r = invoke("runs", in_millions, "--map", spec)
    assert r.exit_code == 1 and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_slash_in_a_column_name_is_not_a_division(tmp_path):
    data = tmp_path / "slash.csv"
    data.write_text("run,model/size,tokens,loss\n"
                    + "".join(f"r{i},{n},{20 * n},{3.0 - i / 10}\n"
                              for i, n in enumerate([1e7, 3e7, 1e8])))
    runs, err = runs_json(data, "--map", "N=model/size")
    assert sorted(r["n_params"] for r in runs.values()) == [1e7, 3e7, 1e8]
    assert "N=model/size " in err


def test_the_n_in_millions_warning(in_millions):
    r = invoke("fit", in_millions, "--map", "N=params_m,D=tokens_k*1k")
    assert r.exit_code == 0, r.stderr
    largest = max(t["n_params"] for t in TRUTH.values()) / 1e6
    assert (f"warning: all N are under 1e5 (largest {largest:g} parameters): if N is in "
            "millions or billions, scale it: --map N=COLUMN*1e6") in r.stderr
    assert "all D are under 1e5" not in r.stderr
    r = invoke("fit", in_millions, "--map", "N=params_m", "--strict")
    assert r.exit_code == 1


def chinchilla(N, D):
    p = PUBLISHED
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def test_predict_takes_unit_suffixes():
    r = invoke("predict", "--n", "7B", "--d", "1.4T", "--format", "json")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["n_params"] == 7e9 and row["tokens"] == 1.4e12
    assert row["loss"] == pytest.approx(chinchilla(7e9, 1.4e12), rel=1e-12)


def test_optimal_takes_unit_suffixes():
    r = invoke("optimal", "--flops", "1e21", "--max-tokens", "10B", "--format", "json")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["tokens"] == pytest.approx(1e10, rel=1e-9)  # the cap binds: C/6 = N·D
    assert row["n_params"] == pytest.approx(1e21 / 6 / 1e10, rel=1e-9)
    r = invoke("optimal", "--target-loss", "2.5", "--n", "1.2B", "--format", "json")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["n_params"] == 1.2e9
    assert chinchilla(1.2e9, row["tokens"]) == pytest.approx(2.5, abs=1e-9)


@pytest.mark.parametrize(("flag", "args"), [
    ("--n", ("predict", "--n", "7Q", "--d", "1.4T")),
    ("--tokens", ("predict", "--n", "7e9", "--d", "1.4X")),  # --d is --tokens's alias
    ("--max-tokens", ("optimal", "--max-tokens", "10Bn")),
    ("--unique-tokens", ("optimal", "--unique-tokens", "lots")),
    ("--inference-tokens", ("optimal", "--target-loss", "2.5", "--inference-tokens", "1Z")),
    ("--tokens", ("optimal", "--tokens", "1e")),
])
def test_a_suffix_that_is_not_one_is_one_line(flag, args):
    r = invoke(*args)
    assert r.exit_code == 1, r.stdout
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith(f"Error: {flag}")
    assert "not a unit suffix" in line or "not a number" in line


def test_cells_written_with_suffixes_are_read_as_numbers(tmp_path):
    data = tmp_path / "suffixes.csv"
    data.write_text("run,params,tokens,arch,loss\n"
                    "a,125M,2.3B,gpt-7B,3.1\nb,1.7B,30B,gpt-7B,2.5\nc,350m,1_000M,gpt-7B,2.8\n")
    runs, _ = runs_json(data)
    got = {n: (r["n_params"], r["tokens"]) for n, r in runs.items()}
    assert got == {"a": (125e6, 2.3e9), "b": (1.7e9, 30e9), "c": (350e6, 1e9)}
    data.write_text("run,params,tokens,loss\na,125M,2.3B,3.1\nb,1.7Q,30B,2.5\n")
    r = invoke("runs", data)
    assert r.exit_code == 1
    assert r.stderr.strip().endswith(":3: column 'params' holds '1.7Q', which is not a number "
                                     "(1 such cell)")
