"""Parquet, Arrow/Feather and gzip/zstd-compressed CSV and JSON lines, against independent
truth: each file in ``data/fixtures/tables/`` is ``plain.csv`` converted by polars
(``make_tables.py``), so each must read to the six runs of ``ground_truth.json``, carry the
same history, and fit to the same law. Damaged files are cut here from good ones; the walk's
report is checked against the files a test puts in a folder."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.errors import ColumnError, DamagedSource, InputError, StrictError
from scalecli.ingest import READERS, read_file, read_paths, read_raw
from scalecli.ingest.detect import detect

FX = Path(__file__).parent / "data" / "fixtures"
TABLES = FX / "tables"
TRUTH = {r["name"]: r for r in json.loads((FX / "ground_truth.json").read_text())["runs"]}
FILES = {  # fixture -> the reader detection must choose
    "plain.parquet": "parquet",
    "plain.feather": "arrow",
    "plain_stream.arrow": "arrow",
    "plain.csv.gz": "csv",
    "plain.jsonl.gz": "jsonl",
    "plain.jsonl.zst": "jsonl",
    "gzipped_named.csv": "csv",  # gzip bytes under a plain .csv name
}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def history(frames) -> pl.DataFrame:
    h = frames.history.join(frames.runs.select("run_id", "name"), on="run_id")
    return h.filter(pl.col("metric") == "loss").select("name", "step", "value").sort("name",
                                                                                      "step")


@pytest.fixture(scope="module")
def plain():
    return read_file(FX / "plain.csv")


# --- every format reads to the truth ----------------------------------------------------------
@pytest.mark.parametrize("name", FILES)
def test_each_format_reads_to_the_true_runs_and_history(name, plain):
    assert detect(TABLES / name) == FILES[name]
    fr = read_file(TABLES / name)
    got = {r["name"]: r for r in fr.runs.iter_rows(named=True)}
    assert set(got) == set(TRUTH)
    for run, want in TRUTH.items():
        assert got[run]["n_params"] == want["n_params"]
        assert got[run]["tokens"] == want["final_tokens"]
    assert fr.runs["format"].unique().to_list() == [FILES[name]]
    assert history(fr).equals(history(plain))  # every logged loss, bit for bit
    assert fr.warnings == []


@pytest.fixture(scope="module")
def plain_fit():
    from scalecli import api

    return api.fit(FX / "plain.csv")


@pytest.mark.parametrize("name", FILES)
def test_each_format_gives_the_fit_the_same_points(name):
    """A fit is a function of its points (and options): the same points, the same law."""
    from scalecli.pipeline import points

    want, got = points(FX / "plain.csv"), points(TABLES / name)
    cols = ["name", "n_params", "tokens", "flops", "y"]
    assert got.target == want.target
    assert got.frame.select(cols).sort("name").equals(want.frame.select(cols).sort("name"))


@pytest.mark.parametrize("name", ["plain.parquet", "plain.jsonl.zst"])  # a table; compressed
def test_each_format_fits_to_the_same_law(name, plain_fit):
    from scalecli import api

    fit = api.fit(TABLES / name)
    assert fit.params.keys() == plain_fit.params.keys()
    for k, v in plain_fit.params.items():
        assert fit.params[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_the_forced_reader_takes_the_new_names():
    assert read_file(TABLES / "plain.parquet", reader="parquet").runs.height == 6
    assert read_file(TABLES / "plain.feather", reader="arrow").runs.height == 6
    assert read_file(TABLES / "plain.csv.gz", reader="csv").runs.height == 6
    assert read_file(TABLES / "plain.jsonl.zst", reader="jsonl").runs.height == 6
    with pytest.raises(InputError, match="not a Parquet file"):
        read_file(FX / "plain.csv", reader="parquet")
    r = invoke("runs", TABLES / "plain.feather", "--reader", "arrow", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 6


def test_help_lists_every_reader():
    r = runner.invoke(app, ["ingest", "--help"], terminal_width=250)
    text = re.sub(r"[\s│]+", " ", r.stdout)
    for name in READERS:
        assert f" {name}," in text or f" {name}." in text, name


# --- by content, whatever the name ----------------------------------------------------------
def test_content_decides_over_the_name(tmp_path):
    shutil.copy(TABLES / "plain.parquet", tmp_path / "sweep.dat")
    shutil.copy(TABLES / "plain.feather", tmp_path / "sweep")
    shutil.copy(TABLES / "plain.jsonl.gz", tmp_path / "metrics.gz")
    (tmp_path / "notes.gz").write_bytes(gzip.compress(b"just some text\n"))
    (tmp_path / "plain_text.csv.gz").write_bytes((FX / "plain.csv").read_bytes())  # not gzip
    assert detect(tmp_path / "sweep.dat") == "parquet"
    assert detect(tmp_path / "sweep") == "arrow"
    assert detect(tmp_path / "metrics.gz") == "jsonl"
    assert detect(tmp_path / "notes.gz") is None  # compressed, but not a log
    assert detect(tmp_path / "plain_text.csv.gz") == "csv"
    fr = read_file(tmp_path / "plain_text.csv.gz")  # read as the text it is
    assert fr.runs.height == 6


# --- nested columns -------------------------------------------------------------------------
def test_struct_columns_are_flattened_with_dots():
    with pytest.raises(ColumnError, match=r"model\.n_params"):
        read_file(TABLES / "nested.parquet")
    fr = read_file(TABLES / "nested.parquet", mapping={"N": "model.n_params"})
    assert {r["name"]: r["n_params"] for r in fr.runs.iter_rows(named=True)} == {
        k: v["n_params"] for k, v in TRUTH.items()}


def test_a_list_column_is_refused_by_name(tmp_path):
    df = pl.read_csv(FX / "plain.csv").with_columns(tags=pl.lit(["a", "b"]))
    df.write_parquet(tmp_path / "tagged.parquet")
    with pytest.raises(InputError, match=r"tagged\.parquet: column 'tags' holds lists"):
        read_file(tmp_path / "tagged.parquet")
    r = invoke("runs", tmp_path / "tagged.parquet")
    assert r.exit_code == 1 and "column 'tags' holds lists" in r.stderr
    assert "Traceback" not in r.stderr


# --- where a bad cell is: rows in a table, lines in decompressed text -----------------------
def test_a_table_names_the_row(tmp_path):
    # bad/negative_tokens.csv: -24117248 on line 7, i.e. the 6th data row
    pl.read_csv(FX / "bad" / "negative_tokens.csv").write_parquet(tmp_path / "neg.parquet")
    with pytest.raises(InputError, match=r"neg\.parquet: row 6: tokens must not be negative"):
        read_file(tmp_path / "neg.parquet")
    # bad/nan_inf_loss.csv: nan, inf, -inf on lines 5, 12, 13
    pl.read_csv(FX / "bad" / "nan_inf_loss.csv").write_ipc(tmp_path / "nan.feather")
    fr = read_file(tmp_path / "nan.feather")
    assert any("(rows 4, 11, 12)" in w for w in fr.warnings), fr.warnings


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_decompressed_text_keeps_its_line_numbers(tmp_path, how):
    bad = FX / "bad" / "non_numeric_loss.csv"  # n/a on line 9 and 1.23.4 on line 25
    path = tmp_path / ("bad.csv.gz" if how == "gzip" else "bad.csv.zst")
    pl.read_csv(bad, infer_schema=False).write_csv(path, compression=how)
    with pytest.raises(InputError, match=r"bad\.csv\.(gz|zst):9: column 'loss' holds 'n/a'.*"
                                         r"also line 25"):
        read_file(path)
    nan = FX / "bad" / "nan_inf_loss.jsonl"  # NaN, Infinity, -Infinity on lines 4, 11, 12
    (tmp_path / "nan.jsonl.gz").write_bytes(gzip.compress(nan.read_bytes()))
    fr = read_file(tmp_path / "nan.jsonl.gz")
    assert any("(lines 4, 11, 12)" in w for w in fr.warnings), fr.warnings


# --- cut short ----------------------------------------------------------------------------
def test_a_compressed_file_cut_short_is_skipped_in_a_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    shutil.copy(FX / "bad" / "truncated.csv.gz", sweep / "a_truncated.csv.gz")
    whole = (TABLES / "plain.jsonl.zst").read_bytes()
    (sweep / "b_truncated.jsonl.zst").write_bytes(whole[: len(whole) // 2])
    shutil.copy(TABLES / "plain.parquet", sweep / "good.parquet")
    with pytest.raises(DamagedSource, match=r"a_truncated\.csv\.gz: .*gzip stream is cut short"):
        read_raw(sweep / "a_truncated.csv.gz", "a_truncated.csv.gz", "csv")
    fr = read_paths([sweep])
    assert fr.runs.height == 6 and set(fr.runs["name"]) == set(TRUTH)
    assert set(fr.runs["source"]) == {str(sweep / "good.parquet")}
    cut = [w for w in fr.warnings if "cannot be read to the end" in w]
    assert len(cut) == 2 and "a_truncated.csv.gz" in cut[0] and "b_truncated.jsonl.zst" in cut[1]
    assert all(w.endswith("; skipped") for w in cut)
    with pytest.raises(StrictError, match="a_truncated.csv.gz"):
        read_paths([sweep], strict=True)
    # the store: the good file's runs only, no partial rows; --strict refuses and writes nothing
    store = tmp_path / "store"
    r = invoke("ingest", sweep, "--store", store, "--strict")
    assert r.exit_code == 1 and "a_truncated.csv.gz" in r.stderr and not store.exists()
    r = invoke("ingest", sweep, "--store", store)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("cannot be read to the end") == 2
    r = invoke("runs", "--store", store, "--format", "json")
    rows = json.loads(r.stdout)
    assert sorted(x["n_params"] for x in rows) == sorted(v["n_params"] for v in TRUTH.values())


def test_zstd_without_its_module_says_what_to_install(monkeypatch):
    from scalecli.ingest import compressed

    monkeypatch.setattr(compressed, "_zstd", lambda: None)
    with pytest.raises(InputError, match=r"pip install 'scalecli\[zstd\]'"):
        read_file(TABLES / "plain.jsonl.zst")


# --- what a walk found and ignored ------------------------------------------------------------
def junk_folder(root: Path) -> Path:
    """The tables fixtures beside files a log folder also holds."""
    root.mkdir()
    for name in FILES:
        if name not in ("plain.csv.gz",):  # its bytes are gzipped_named.csv's: read once
            shutil.copy(TABLES / name, root / name)
    (root / "sub").mkdir()
    shutil.copy(FX / "plain.csv", root / "sub" / "plain.csv")
    for name in ("a.txt", "b.txt", "c.yaml", "plot.png", "sub/README.md", "NOTES"):
        (root / name).write_text("not a log\n")
    (root / "wandb-summary.json").write_text('{"loss": 1}\n')
    (root / "truth.json").write_text('{\n  "runs": []\n}\n')
    return root


IGNORED = ("note: ignored 8 files: 6 not a log format (.txt, .md, .png, .yaml, no extension), "
           "1 JSON that is not records of runs or steps, 1 W&B metadata")


def test_the_walk_reports_formats_found_and_files_ignored(tmp_path):
    root = junk_folder(tmp_path / "logs")
    r = invoke("runs", root, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 6
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("note: ")]
    assert notes == ["note: found: 2 arrow, 2 csv, 1 jsonl.gz, 1 jsonl.zst, 1 parquet", IGNORED]
    # the same through ingest, and through the library
    r = invoke("ingest", root, "--store", tmp_path / "store")
    assert r.exit_code == 0, r.stderr
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("note: ")] == notes
    assert read_paths([root]).notes == [n.removeprefix("note: ") for n in notes]
    # --quiet keeps them out; a file named alone is not reported
    assert "found:" not in invoke("-q", "runs", root).stderr
    assert "found:" not in invoke("runs", TABLES / "plain.parquet").stderr


def test_with_a_reader_the_walk_counts_the_other_files(tmp_path):
    root = junk_folder(tmp_path / "logs")
    fr = read_paths([root], reader="parquet")
    # 15 files in all (6 tables, 1 CSV, 8 others): the one .parquet is read
    assert fr.notes == ["found: 1 parquet", "ignored 14 files: 14 not parquet files"]


@pytest.mark.parametrize("name", ["plain.jsonl.gz", "plain.csv.gz", "plain.jsonl.zst",
                                  "plain.parquet", "plain_stream.arrow"])
def test_standard_input_may_be_compressed_or_a_table(name):
    r = runner.invoke(app, ["runs", "-", "--format", "json"],
                      input=(TABLES / name).read_bytes())
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert sorted(x["tokens"] for x in rows) == sorted(v["final_tokens"] for v in TRUTH.values())


def test_init_guesses_the_columns_of_tables_and_compressed_logs(tmp_path):
    for name in ("plain.parquet", "plain.csv.gz"):
        shutil.copy(TABLES / name, tmp_path / name)
    r = invoke("init", tmp_path, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "scalecli.yaml").exists()
    rows = json.loads(r.stdout)
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    found = {(Path(x["file"]).name, x["role"]): x["column"] for x in rows}
    for name in ("plain.parquet", "plain.csv.gz"):
        assert found[name, "N"] == "n_params" and found[name, "D"] == "tokens"
    assert "W&B" not in r.stdout


def test_a_decompression_bomb_is_refused_before_it_fills_the_disk(tmp_path, monkeypatch):
    from scalecli.ingest import compressed

    # gzip compresses at most about 1000:1, so the test scales the limits down: 1 MiB, 100x
    monkeypatch.setattr(compressed, "MAX_FLOOR", 1 << 20)
    monkeypatch.setattr(compressed, "MAX_RATIO", 100)
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"run,n_params,tokens,loss\n" + b"a,1,1,1\n" * 2_000_000))
    assert bomb.stat().st_size * 100 < 16_000_000  # it holds 16 MB of text
    with pytest.raises(InputError, match=r"bomb\.csv\.gz: decompresses to more than"):
        read_file(bomb)


def test_a_store_inside_the_walked_folder_is_not_read_as_logs(tmp_path):
    shutil.copy(TABLES / "plain.parquet", tmp_path / "sweep.parquet")
    r = invoke("ingest", tmp_path, "--store", tmp_path / "store")
    assert r.exit_code == 0, r.stderr
    r = invoke("ingest", tmp_path, "--store", tmp_path / "store")  # the store's parts are there
    assert r.exit_code == 0, r.stderr
    assert "0 added, 0 replaced, 1 unchanged; 6 runs" in r.stdout
    assert "note: found: 1 parquet" in r.stderr
    assert "1 scalecli store folder" in r.stderr
