"""Readers against independent truth: ground_truth.json's N and final tokens, the known bad
lines of the malformed fixtures, and small files written here whose answer is obvious."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from scalecli.errors import ColumnError, InputError, StrictError
from scalecli.ingest import READERS, read_file, read_paths
from scalecli.ingest.detect import detect

FX = Path(__file__).parent / "data" / "fixtures"
BAD = FX / "bad"
TRUTH = json.loads((FX / "ground_truth.json").read_text())["runs"]
BY_NAME = {r["name"]: r for r in TRUTH}
RUN_COLUMNS = ["run_id", "name", "source", "format", "n_params", "tokens", "flops",
               "flops_derived"]


def sizes_and_tokens(runs: pl.DataFrame) -> dict[str, tuple[float, float]]:
    return {r["name"]: (r["n_params"], r["tokens"]) for r in runs.iter_rows(named=True)}


def assert_truth(runs: pl.DataFrame) -> None:
    got = sizes_and_tokens(runs)
    assert set(got) == set(BY_NAME)
    for name, (n, d) in got.items():
        assert n == BY_NAME[name]["n_params"]
        assert d == BY_NAME[name]["final_tokens"]


# --- the good fixtures ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["plain.csv", "plain.jsonl"])
def test_tidy_step_files_give_true_runs_and_history(name):
    fr = read_file(FX / name)
    assert fr.runs.columns[:8] == RUN_COLUMNS
    assert_truth(fr.runs)
    assert fr.runs["flops_derived"].to_list() == [True] * 6
    assert fr.runs.select((pl.col("flops") == 6 * pl.col("n_params") * pl.col("tokens")).all()).item()
    assert fr.history.height == 300
    assert fr.history.schema["step"] == pl.Int64 and fr.history.schema["value"] == pl.Float64
    assert set(fr.history["metric"]) == {"loss"}
    # final loss = the value logged at the largest step, read independently from the file
    rows = [line.split(",") for line in (FX / "plain.csv").read_text().splitlines()[1:]]
    last = {}
    for run, _n, _d, step, loss in rows:
        if run not in last or int(step) > last[run][0]:
            last[run] = (int(step), float(loss))
    assert {r: v for r, v in zip(fr.runs["name"], fr.runs["loss"], strict=True)} == {
        r: v for r, (_, v) in last.items()}
    assert fr.runs["run_id"][0] == f"{FX / name}::gpt-10M"
    assert fr.warnings == []
    assert "N=n_params" in fr.columns[0] and "D=tokens" in fr.columns[0]


def test_wandb_runs_table():
    fr = read_file(FX / "wandb_runs_table.csv")
    assert fr.runs["format"][0] == "wandb-table"
    assert_truth(fr.runs)
    evals = dict(zip(fr.runs["name"], fr.runs["eval/loss"], strict=True))
    assert evals == {r["name"]: r["eval_loss"] for r in TRUTH}
    assert fr.history.height == 0 and fr.history.columns[:5] == [
        "run_id", "step", "tokens", "metric", "value"]
    assert fr.runs["State"].to_list() == ["finished"] * 6  # metadata kept as config


def test_wandb_api_runs_ids_and_summary():
    fr = read_file(FX / "wandb_api_runs.jsonl")
    assert_truth(fr.runs)
    ids = dict(zip(fr.runs["name"], fr.runs["run_id"], strict=True))
    assert ids == {r["name"]: f"wandb:{r['id']}" for r in TRUTH}
    assert dict(zip(fr.runs["name"], fr.runs["eval/loss"], strict=True)) == {
        r["name"]: r["eval_loss"] for r in TRUTH}
    assert fr.runs["n_layers"].dtype == pl.Float64 and fr.runs["optimizer"].dtype == pl.String


def test_wandb_history_alone_has_no_n_and_says_how_to_fix():
    with pytest.raises(ColumnError, match=r"gpt-30M.*--map N=col") as exc:
        read_file(FX / "wandb_api_history.jsonl")
    assert "runs export" in str(exc.value) and "wandb_api_history.jsonl" in str(exc.value)


def test_wandb_history_joins_runs_dump_on_run_id():
    fr = read_paths([FX / "wandb_api_runs.jsonl", FX / "wandb_api_history.jsonl"])
    assert fr.runs.height == 6
    assert_truth(fr.runs)
    assert fr.history.height == 300
    assert set(fr.history["run_id"]) == set(fr.runs["run_id"])
    assert set(fr.history["metric"]) == {"train/loss"}
    assert "lr" in fr.history.columns  # train/lr varies along the run
    steps = fr.history.group_by("run_id").agg(pl.col("step").max(), pl.col("tokens").max())
    assert (steps["tokens"] == steps["step"] * 524288).all()


def test_directory_joins_history_and_runs(tmp_path):
    for f in ("wandb_api_history.jsonl", "wandb_api_runs.jsonl", "README.md",
              "ground_truth.json"):
        shutil.copy(FX / f, tmp_path / f)
    (tmp_path / ".scalecli").mkdir()
    (tmp_path / ".scalecli" / "junk.csv").write_text("not,a\nlog,file\n")
    fr = read_paths([tmp_path])
    assert_truth(fr.runs)
    assert fr.history.height == 300


def test_panel_export_joins_runs_table_by_name():
    with pytest.raises(ColumnError, match="--map N=col"):
        read_file(FX / "wandb_panel_export.csv")
    fr = read_paths([FX / "wandb_runs_table.csv", FX / "wandb_panel_export.csv"])
    assert_truth(fr.runs)
    per_run = fr.history.group_by("run_id").len()
    assert per_run.height == 6 and (per_run["len"] == 50).all()
    assert set(fr.history["run_id"]) == set(fr.runs["run_id"])


def test_detection_from_content():
    want = {"plain.csv": "csv", "plain.jsonl": "jsonl", "wandb_runs_table.csv": "wandb-table",
            "wandb_api_runs.jsonl": "wandb-api-runs",
            "wandb_api_history.jsonl": "wandb-api-history",
            "wandb_panel_export.csv": "wandb-panel", "ground_truth.json": None, "README.md": None}
    assert {f: detect(FX / f) for f in want} == want
    assert set(want.values()) - {None} <= set(READERS)


def test_reader_forced_and_unknown():
    fr = read_file(FX / "plain.csv", reader="csv")
    assert fr.runs.height == 6
    with pytest.raises(InputError, match="readers are: csv, jsonl"):
        read_file(FX / "plain.csv", reader="xlsx")
    with pytest.raises(InputError, match="--reader"):
        read_file(FX / "README.md")
    with pytest.raises(InputError, match="no such file or directory"):
        read_file(FX / "nope.csv")


# --- the bad fixtures -----------------------------------------------------------------------
@pytest.mark.parametrize(("name", "words"), [
    ("empty.csv", ["empty.csv", "empty"]),
    ("empty.jsonl", ["empty.jsonl", "empty"]),
    ("header_only.csv", ["header_only.csv", "no data rows"]),
    ("non_numeric_loss.csv", ["non_numeric_loss.csv:9:", "'n/a'", "line 25"]),
    ("negative_tokens.csv", ["negative_tokens.csv:7:", "-24117248"]),
    ("duplicate_run_names.csv", ["gpt-10M", "1e+07 and 3e+07"]),
])
def test_refused(name, words):
    with pytest.raises(InputError) as exc:
        read_file(BAD / name)
    text = str(exc.value)
    assert "\n" not in text
    for w in words:
        assert w in text


def test_missing_n_lists_columns_and_suggests_map():
    with pytest.raises(ColumnError) as exc:
        read_file(BAD / "missing_n_params.csv")
    assert "run, tokens, step, loss" in str(exc.value) and "--map N=col,D=col" in str(exc.value)


@pytest.mark.parametrize(("name", "lines"), [("nan_inf_loss.csv", "5, 12, 13"),
                                             ("nan_inf_loss.jsonl", "4, 11, 12")])
def test_non_finite_dropped_with_warning(name, lines):
    fr = read_file(BAD / name)
    assert fr.warnings == [f"{BAD / name}: dropped 3 non-finite loss values (lines {lines})"]
    assert fr.history.height == 57 and fr.history["value"].is_finite().all()
    with pytest.raises(StrictError, match=lines):
        read_file(BAD / name, strict=True)


def test_truncated_last_jsonl_line_is_warned():
    fr = read_file(BAD / "truncated_last_line.jsonl")
    assert fr.history.height == 59
    assert len(fr.warnings) == 1 and "line 60" in fr.warnings[0]
    with pytest.raises(StrictError, match="truncated_last_line.jsonl"):
        read_file(BAD / "truncated_last_line.jsonl", strict=True)


def test_bad_line_in_the_middle_is_an_error(tmp_path):
    lines = (FX / "plain.jsonl").read_text().splitlines()
    lines[4] = lines[4][:30]
    p = tmp_path / "mid.jsonl"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"mid.jsonl:5: not valid JSON"):
        read_file(p)


def test_bom_crlf_and_quotes_read_as_normal(tmp_path):
    fr = read_file(BAD / "utf8_bom_header.csv")
    assert sorted(fr.runs["n_params"]) == [1e7, 3e7]
    text = (FX / "plain.csv").read_text().splitlines()
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(("\r\n".join(text) + "\r\n").encode())
    quoted = tmp_path / "quoted.csv"
    quoted.write_text("\n".join(",".join(f'"{c}"' for c in line.split(",")) for line in text))
    for p in (crlf, quoted):
        assert_truth(read_file(p).runs)


def test_bad_cell_line_with_quoted_multiline_field(tmp_path):
    p = tmp_path / "notes.csv"
    p.write_text('run,n_params,tokens,loss,notes\na,1e7,2e8,3.1,"two\nlines"\nb,3e7,6e8,oops,x\n')
    with pytest.raises(InputError, match=r"notes.csv:4: column 'loss' holds 'oops'"):
        read_file(p)


# --- shapes and roles -----------------------------------------------------------------------
def test_one_row_per_run_with_logged_flops(tmp_path, epoch_points):
    N, D, L, C = epoch_points
    p = tmp_path / "epoch240.csv"
    rows = [f"run{i},{float(n)!r},{float(d)!r},{float(c)!r},{float(y)!r}"
            for i, (n, d, c, y) in enumerate(zip(N, D, C, L, strict=True))]
    p.write_text("run,n_params,tokens,flops,loss\n" + "\n".join(rows) + "\n")
    fr = read_file(p)
    assert fr.runs.height == 240 and fr.history.height == 0
    assert not fr.runs["flops_derived"].any()
    assert fr.runs["flops"].to_list() == [float(c) for c in C]


def test_no_run_column_each_row_is_a_run(tmp_path):
    p = tmp_path / "points.csv"
    p.write_text("params,total_tokens,val_loss\n1e7,2e8,3.5\n3e7,6e8,3.1\n")
    fr = read_file(p)
    assert fr.runs["name"].to_list() == ["row1", "row2"]
    assert fr.runs["n_params"].to_list() == [1e7, 3e7] and "val_loss" in fr.runs.columns


def test_single_run_log_without_run_column(tmp_path):
    p = tmp_path / "gpt-small.csv"
    p.write_text("step,n_params,tokens,loss\n1,1e7,1e6,5.0\n2,1e7,2e6,4.0\n3,1e7,3e6,3.5\n")
    fr = read_file(p)
    assert fr.runs["name"].to_list() == ["gpt-small"] and fr.runs["tokens"][0] == 3e6
    assert fr.history.height == 3


def test_config_vs_metrics_and_unsorted_steps(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_text(
        "run,n_params,tokens,step,loss,n_layers,grad_norm,opt,host\n"
        "a,1e7,3e6,3,2.5,6,0.3,adam,h1\n"
        "a,1e7,1e6,1,4.0,6,0.9,adam,h2\n"
        "a,1e7,2e6,2,3.0,6,0.5,adam,h1\n"
        "b,3e7,2e6,2,2.0,8,0.4,adam,h3\n"
        "b,3e7,1e6,1,3.0,8,0.8,adam,h3\n")
    fr = read_file(p)
    runs = {r["name"]: r for r in fr.runs.iter_rows(named=True)}
    assert runs["a"]["loss"] == 2.5 and runs["b"]["loss"] == 2.0  # value at the largest step
    assert runs["a"]["tokens"] == 3e6 and runs["a"]["n_layers"] == 6.0
    assert runs["a"]["grad_norm"] == 0.3 and runs["a"]["opt"] == "adam"
    assert "host" not in fr.runs.columns  # varying text: neither config nor metric
    assert set(fr.history["metric"]) == {"loss", "grad_norm"}
    assert "ignored: host" in fr.columns[0]


def test_jsonl_key_first_seen_late_is_not_lost(tmp_path):
    p = tmp_path / "late.jsonl"
    with open(p, "w") as f:
        for i in range(1, 301):
            row = {"run": "r", "n_params": 1e7, "step": i, "tokens": i * 1000, "loss": 5 - i / 100}
            if i % 150 == 0:
                row["eval/loss"] = 4 - i / 1000
            f.write(json.dumps(row) + "\n")
    fr = read_file(p)
    assert fr.runs["eval/loss"][0] == pytest.approx(3.7)
    assert fr.history.filter(pl.col("metric") == "eval/loss").height == 2


def test_nested_json_flattens_and_aliases_resolve(tmp_path):
    p = tmp_path / "nested.jsonl"
    p.write_text('{"name": "x", "model": {"n_params": 1e8}, "train": {"tokens": 2e9}, '
                 '"eval_loss": 3.0}\n{"name": "y", "model": {"n_params": 2e8}, '
                 '"train": {"tokens": 4e9}, "eval_loss": 2.8}\n')
    fr = read_file(p)
    assert fr.runs["n_params"].to_list() == [1e8, 2e8]
    assert fr.runs["tokens"].to_list() == [2e9, 4e9]


def test_mapping_names_columns(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("who,size,seen,err\na,1e7,2e8,3.0\nb,3e7,6e8,2.5\n")
    with pytest.raises(ColumnError, match="columns found: who, size, seen, err"):
        read_file(p)
    fr = read_file(p, mapping={"run": "who", "N": "size", "D": "seen", "loss": "err"})
    assert fr.runs["name"].to_list() == ["a", "b"] and fr.runs["tokens"].to_list() == [2e8, 6e8]
    assert "metrics: err" in fr.columns[0]
    with pytest.raises(ColumnError, match="--map N=nope"):
        read_file(p, mapping={"N": "nope", "D": "seen"})


@pytest.mark.parametrize(("body", "words"), [
    ("a,0,2e8,3.0\n", [":2:", "model size"]),
    ("a,1e7,0,3.0\n", ["'a'", "final tokens"]),
    ("a,1e7,2e8,3.0\na,1e7,-5,2.0\n", [":3:", "negative"]),
])
def test_zero_and_negative_sizes_refused(tmp_path, body, words):
    p = tmp_path / "z.csv"
    p.write_text("run,n_params,tokens,loss\n" + body)
    with pytest.raises(InputError) as exc:
        read_file(p)
    for w in words:
        assert w in str(exc.value)


def test_gadre_like_table(tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text("name,dataset,model,n_params,tokens,lr,seed,loss_c4_val,loss_openlm\n"
                 "m-0.5,c4,d=96,1e7,1e8,0.003,,4.1,4.5\n"
                 "m-1.0,c4,d=96,1e7,2e8,0.003,,3.9,4.3\n")
    fr = read_file(p)
    assert fr.runs["name"].to_list() == ["m-0.5", "m-1.0"] and fr.runs["model"][0] == "d=96"
    assert "metrics: loss_c4_val, loss_openlm" in fr.columns[0]


def test_text_config_named_like_a_loss_is_not_refused(tmp_path):
    p = tmp_path / "cfg.tsv"
    p.write_text("run\tn_params\ttokens\tloss_fn\teval_loss\tlearning_rate\tlr\n"
                 "a\t1e7\t2e8\tcross_entropy\t3.0\t0.001\twarmup\n"
                 "b\t3e7\t6e8\tcross_entropy\t2.5\t0.002\twarmup\n")
    fr = read_file(p, mapping={"lr": "learning_rate"})
    assert fr.runs["loss_fn"].to_list() == ["cross_entropy"] * 2
    assert fr.runs["eval_loss"].to_list() == [3.0, 2.5]
    assert fr.runs["learning_rate"].to_list() == [0.001, 0.002] and fr.runs["lr"][0] == "warmup"


def test_directory_without_logs_and_forced_reader(tmp_path):
    (tmp_path / "notes.md").write_text("# nothing here\n")
    with pytest.raises(InputError, match="no log files found"):
        read_paths([tmp_path])
    shutil.copy(FX / "plain.csv", tmp_path / "a.csv")
    shutil.copy(FX / "plain.jsonl", tmp_path / "b.jsonl")
    fr = read_paths([tmp_path], reader="csv")  # only files of the csv family
    assert set(fr.runs["source"]) == {str(tmp_path / "a.csv")}
