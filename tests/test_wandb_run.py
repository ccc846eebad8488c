"""W&B run directories against independent truth: ground_truth.json (N, final tokens, eval
loss, ids) and the history rows of the API export (values parsed here by ``json``), for logs
written by wandb 0.31 (wandb-core) and by wandb 0.16 (legacy); a real multi-block log whose
logged values follow a formula; and logs damaged here, byte by byte."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.errors import DamagedSource, InputError, StrictError
from scalecli.ingest import read_file, read_paths, read_raw, wandb_log
from scalecli.ingest.detect import detect
from scalecli.store import Store

FX = Path(__file__).parent / "data" / "fixtures"
LONG = Path(__file__).parent / "data" / "wandb_long_run"
GENERATIONS = ["wandb_offline", "wandb_offline_legacy"]
TRUTH = json.loads((FX / "ground_truth.json").read_text())["runs"]
BY_NAME = {r["name"]: r for r in TRUTH}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def logs(root: Path) -> list[Path]:
    return sorted(root.glob("wandb/*/run-*.wandb"))


# --- an independent writer of the framing (FULL chunks; block tails padded with zeros) ------
def frame(records: list[bytes]) -> bytes:
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for rec in records:
        left = 32768 - len(out) % 32768
        if left < 7 + len(rec):
            assert len(rec) + 7 <= 32768
            out += b"\0" * left
        crc = zlib.crc32(bytes([1]) + rec)
        out += struct.pack("<IHB", crc, len(rec), 1) + rec
    return bytes(out)


def records_of(path: Path) -> list:
    """The records of a fixture log, parsed with wandb's classes (as the fixtures' README's
    reference reader does)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, out = path.read_bytes(), 7, []
    while pos + 7 <= len(data):
        _, length, kind = struct.unpack_from("<IHB", data, pos)
        assert kind == 1
        out.append(pb.Record.FromString(data[pos + 7:pos + 7 + length]))
        pos += 7 + length
    return out


# --- both generations read to the true sweep ------------------------------------------------
@pytest.mark.parametrize("gen", GENERATIONS)
def test_run_directories_read_to_the_true_runs(gen):
    fr = read_paths([FX / gen])
    assert fr.warnings == []
    assert fr.runs.height == 6
    for row in fr.runs.iter_rows(named=True):
        want = BY_NAME[row["name"]]
        assert row["run_id"] == f"wandb:{want['id']}"
        assert row["n_params"] == want["n_params"]
        assert row["tokens"] == want["final_tokens"]
        assert row["eval/loss"] == want["eval_loss"]  # a summary value, never logged as history
        assert row["format"] == "wandb-run" and row["source"].endswith(f"run-{want['id']}.wandb")
        assert row["n_layers"] is not None and row["optimizer"] == "adamw"
    assert "_wandb" not in fr.runs.columns and "wandb_version" not in fr.runs.columns
    assert not [c for c in fr.runs.columns if c.startswith("_")]
    assert "summary: eval/loss" in fr.columns[0] and "D=tokens_seen" in fr.columns[0]


@pytest.mark.parametrize("gen", GENERATIONS)
def test_history_is_every_logged_step_with_the_values_wandb_logged(gen):
    fr = read_paths([FX / gen])
    api = [json.loads(line) for line in (FX / "wandb_api_history.jsonl").read_text().splitlines()]
    want = {(f"wandb:{r['run_id']}", r["_step"]): r for r in api}
    loss = fr.history.filter(pl.col("metric") == "train/loss")
    assert loss.height == 300 == len(want)
    for rid, step, tokens, value, lr in loss.select("run_id", "step", "tokens", "value",
                                                    "lr").iter_rows():
        row = want[(rid, step)]
        assert value == row["train/loss"]  # exact: the same JSON text, parsed by json here
        assert tokens == row["tokens_seen"] and lr == row["train/lr"]
    assert set(fr.history["metric"]) == {"train/loss"}  # tokens_seen is D, train/lr is lr


def test_both_generations_and_the_api_export_are_the_same_runs():
    a, b = (read_paths([FX / g]) for g in GENERATIONS)
    key = ["run_id", "metric", "step"]
    assert a.history.sort(key).equals(b.history.sort(key))
    cols = [c for c in a.runs.columns if c != "source"]
    assert a.runs.select(cols).sort("run_id").equals(b.runs.select(cols).sort("run_id"))
    both = read_paths([FX / "wandb_offline", FX / "wandb_api_runs.jsonl"])
    assert both.runs.height == 6  # one run per W&B id, not 12
    assert sorted(both.runs["run_id"]) == sorted(f"wandb:{r['id']}" for r in TRUTH)


@pytest.mark.parametrize("gen", GENERATIONS)
def test_cli_runs_json_gives_the_true_runs(gen):
    r = invoke("runs", FX / gen, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {(x["name"], x["n_params"], x["tokens"]) for x in rows} == {
        (t["name"], t["n_params"], t["final_tokens"]) for t in TRUTH}


def test_both_generations_fit_the_same_law_as_the_api_export():
    fits = []
    for path in [FX / g for g in GENERATIONS] + [FX / "wandb_api_runs.jsonl"]:
        r = invoke("fit", path, "--law", "chinchilla", "--format", "json")
        assert r.exit_code == 0, r.stderr
        fits.append(json.loads(r.stdout))
    for other in fits[1:]:
        assert other["n_runs"] == fits[0]["n_runs"] == 6
        for k, v in fits[0]["params"].items():
            got = other["params"][k]
            v, got = (x["value"] if isinstance(x, dict) else x for x in (v, got))
            assert got == pytest.approx(v, rel=1e-9, abs=1e-12), k


# --- a real log that spans blocks, with nested keys, text values and a latest-run link -------
def test_a_log_spanning_blocks_reads_every_step_and_value():
    fr = read_paths([LONG])  # also walks wandb/latest-run, a link to the same run: skipped quietly
    assert fr.warnings == []
    assert fr.runs.height == 1
    run = fr.runs.row(0, named=True)
    assert run["run_id"] == "wandb:mblk0001" and run["name"] == "gpt-tiny-long"
    assert run["n_params"] == 5_000_000 and run["tokens"] == 1200 * 65536
    assert run["note"] == "x" * 33000  # a config record longer than a 32 KiB block
    assert run["optim.name"] == "adamw" and run["eval/loss"] == 2.125
    steps = [10 * i for i in range(1, 121)]
    for metric, base in (("train/loss", 2.0), ("val.loss", 2.1)):  # val: {loss: x} -> val.loss
        h = fr.history.filter(pl.col("metric") == metric).sort("step")
        assert h["step"].to_list() == steps
        assert h["value"].to_list() == [base + 100.0 / s for s in steps]
        assert h["tokens"].to_list() == [s * 65536 for s in steps]
    assert "ignored: phase" in fr.columns[0]  # a text value that varies is neither config nor metric


def test_detection_and_a_run_directorys_other_files(tmp_path):
    run = tmp_path / "wandb" / "run-20240101_000000-abc"
    shutil.copytree(logs(FX / "wandb_offline")[0].parent, run)
    (run / "files" / "media").mkdir(parents=True)
    (run / "files" / "media" / "t.table.json").write_text('{"columns": ["a"], "data": [[1]]}\n')
    (run / "files" / "results.csv").write_text("a,b\n1,2\n")
    assert detect(logs(FX / "wandb_offline")[0]) == "wandb-run"
    plain = tmp_path / "renamed.wandb"  # a log named by hand is still a W&B log
    shutil.copy(logs(FX / "wandb_offline")[0], plain)
    assert read_file(plain).runs.height == 1
    plain.unlink()
    fr = read_paths([tmp_path])
    assert fr.runs.height == 1 and list(fr.files) == [str(next(run.glob("run-*.wandb")))]


# --- synced runs: config.yaml and wandb-summary.json beside the log -------------------------
def test_synced_run_files_add_what_the_log_lacks(tmp_path):
    src = logs(FX / "wandb_offline")[0]
    run = tmp_path / "run-x"
    (run / "files").mkdir(parents=True)
    shutil.copy(src, run / src.name)
    (run / "files" / "config.yaml").write_text(
        "wandb_version: 1\n_wandb:\n  value:\n    cli_version: 0.31.0\n"
        "n_params:\n  desc: null\n  value: 123\nvocab_size:\n  desc: null\n  value: 50304\n")
    (run / "files" / "wandb-summary.json").write_text(
        json.dumps({"eval/acc": 0.5, "eval/loss": 99.0, "_wandb": {"runtime": 3}}))
    row = read_paths([tmp_path]).runs.row(0, named=True)
    want = next(r for r in TRUTH if src.name == f"run-{r['id']}.wandb")
    assert row["n_params"] == want["n_params"]  # the log's config wins over the file's
    assert row["vocab_size"] == 50304 and row["eval/acc"] == 0.5
    assert row["eval/loss"] == want["eval_loss"]
    assert "wandb_version" not in row and "_wandb" not in row

    st = Store(tmp_path / "s")  # the files beside the log are part of the source
    st.ingest([tmp_path])
    (run / "files" / "wandb-summary.json").write_text(json.dumps({"eval/acc": 0.75}))
    report = st.ingest([tmp_path])
    assert report.replaced == [str(run / src.name)]
    assert st.load().runs["eval/acc"].to_list() == [0.75]


# --- damaged logs ------------------------------------------------------------------------------
def damage(how: str, good: Path, bad: Path) -> str:
    """Write a damaged copy of ``good`` to ``bad``; return the words its reason must hold."""
    data = good.read_bytes()
    if how == "checksum":
        bad.write_bytes(data[:2000] + bytes([data[2000] ^ 0xFF]) + data[2001:])
        return "checksum"
    if how == "garbage":
        bad.write_bytes(bytes(range(256)) * 40)
        return "not a W&B run log"
    if how == "garbage tail":
        bad.write_bytes(data + b"\x13\x37" * 50)
        return "not a log chunk"
    if how == "truncated":
        bad.write_bytes(data[:len(data) - 100])  # in the middle of a record
        return "cut short"
    if how == "empty":
        bad.write_bytes(b"")
        return "empty"
    if how == "no history":
        kept = [r.SerializeToString() for r in records_of(good)
                if r.WhichOneof("record_type") != "history"]
        bad.write_bytes(frame(kept))
        return "no history"
    raise AssertionError(how)


HOW = ["checksum", "garbage", "garbage tail", "truncated", "empty", "no history"]


def sweep_with_one_bad(tmp_path: Path, how: str) -> tuple[Path, Path, str]:
    root = tmp_path / "sweep"
    shutil.copytree(FX / "wandb_offline", root)
    victim = logs(root)[2]
    why = damage(how, victim, victim)
    return root, victim, why


@pytest.mark.parametrize("how", HOW)
def test_a_damaged_log_is_skipped_with_its_path_and_reason(tmp_path, how):
    root, victim, why = sweep_with_one_bad(tmp_path, how)
    with pytest.raises(DamagedSource, match=why) as exc:
        read_raw(victim, str(victim), "wandb-run")
    assert str(victim) in str(exc.value)
    fr = read_paths([root])
    assert fr.runs.height == 5 and fr.history.height == 250
    assert len(fr.warnings) == 1 and str(victim) in fr.warnings[0] and why in fr.warnings[0]
    with pytest.raises(StrictError, match="--strict"):
        read_paths([root], strict=True)


def test_framing_written_here_reads_back():
    """The independent writer above, padded block tails included, against the reader."""
    good = logs(FX / "wandb_offline")[0]
    recs = [r.SerializeToString() for r in records_of(good)] * 3  # about 70 KB: three blocks
    data = frame(recs)
    assert len(data) > 2 * 32768
    assert [bytes(p) for p in wandb_log.payloads(data, "x")] == recs


@pytest.mark.parametrize("how", ["checksum", "truncated", "no history"])
def test_cli_ingest_skips_a_damaged_run_and_strict_writes_nothing(tmp_path, how):
    root, victim, why = sweep_with_one_bad(tmp_path, how)
    store = tmp_path / "store"
    r = invoke("ingest", root, "--store", store, "--strict")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert str(victim) in r.stderr and why in r.stderr
    assert not store.exists() or not any(p for p in store.rglob("*") if p.suffix != ".lock")
    r = invoke("ingest", root, "--store", store)
    assert r.exit_code == 0, r.stderr
    assert str(victim) in r.stderr and why in r.stderr
    assert Store(store).load().runs.height == 5


# --- without the wandb package ------------------------------------------------------------------
def test_without_wandb_one_line_says_what_to_install(monkeypatch):
    monkeypatch.setattr(wandb_log, "_PB", None)
    for name in [n for n in sys.modules if n.startswith("wandb.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed: import -> ImportError
    with pytest.raises(InputError, match=r"pip install 'scalecli\[wandb\]'"):
        read_paths([FX / "wandb_offline"])
    r = invoke("runs", FX / "wandb_offline")
    assert r.exit_code == 1 and r.stdout == ""
    errors = [x for x in r.stderr.strip().splitlines() if x.startswith("Error: ")]
    assert len(errors) == 1 and "pip install 'scalecli[wandb]'" in errors[0]
    assert "Traceback" not in r.stderr


def test_reading_a_log_leaves_wandb_importable_as_usual():
    """The protobuf classes are loaded without ``import wandb``; a later ``import wandb`` in the
    same process is whole and parses the same records."""
    code = (
        "import sys\n"
        "from scalecli.ingest import read_paths\n"
        f"fr = read_paths([{str(FX / 'wandb_offline')!r}])\n"
        "assert fr.runs.height == 6\n"
        "assert 'wandb' not in sys.modules\n"
        "import wandb\n"
        "from wandb.proto import wandb_internal_pb2 as pb\n"
        "assert wandb.proto.wandb_internal_pb2 is pb and hasattr(wandb, 'init')\n"
        "r = pb.Record(); r.history.item.add(key='a', value_json='1')\n"
        "from scalecli.ingest.wandb_log import record_class\n"
        "assert record_class('x').FromString(r.SerializeToString()).history.item[0].key == 'a'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_a_side_file_that_cannot_be_read_is_said_and_left_out(tmp_path):
    src = logs(FX / "wandb_offline")[0]
    run = tmp_path / "run-x"
    (run / "files").mkdir(parents=True)
    shutil.copy(src, run / src.name)
    (run / "files" / "config.yaml").write_text("n_params: [unclosed\n")
    fr = read_paths([tmp_path])
    assert fr.runs.height == 1
    assert len(fr.warnings) == 1 and "files/config.yaml not used" in fr.warnings[0]
    with pytest.raises(StrictError, match="config.yaml"):
        read_paths([tmp_path], strict=True)


def test_records_an_older_wandb_cannot_parse_are_left_out_with_a_warning(monkeypatch):
    """wandb 0.16's classes cannot parse the environment record that wandb 0.31 writes (its
    checksum holds): the run is read without it, and the warning says to upgrade wandb."""
    from google.protobuf.message import DecodeError

    real = wandb_log.record_class("x")

    class Older:
        @staticmethod
        def FromString(data):  # protobuf's name
            rec = real.FromString(data)
            if rec.WhichOneof("record_type") == "environment":
                raise DecodeError("Error parsing message")
            return rec

    monkeypatch.setattr(wandb_log, "_PB", type("pb", (), {"Record": Older}))
    fr = read_paths([FX / "wandb_offline"])
    assert fr.runs.height == 6 and fr.history.height == 300
    assert len(fr.warnings) == 6
    assert all("cannot be parsed" in w and "pip install -U wandb" in w for w in fr.warnings)
    with pytest.raises(StrictError, match="cannot be parsed"):
        read_paths([FX / "wandb_offline"], strict=True)
