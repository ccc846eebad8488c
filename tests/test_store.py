"""The store: incremental (unchanged files write nothing, changed files replace only their own
rows), atomic (a refused ingest leaves the directory byte-for-byte as it was), locked."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zlib
from pathlib import Path

import polars as pl
import pytest
from filelock import FileLock

from scalecli.errors import ColumnError, InputError, StoreError, StrictError
from scalecli.ingest import read_file
from scalecli.store import Store
from scalecli.store import disk as store_disk

FX = Path(__file__).parent / "data" / "fixtures"
TRUTH = {r["name"]: r for r in json.loads((FX / "ground_truth.json").read_text())["runs"]}


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for n in sorted(files):
            if n.endswith(".lock"):
                continue
            p = Path(dirpath) / n
            h.update(str(p).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def tokens(frames) -> dict[str, float]:
    return dict(zip(frames.runs["name"], frames.runs["tokens"], strict=True))


@pytest.fixture
def logs(tmp_path):
    """a.csv: gpt-10M and gpt-30M with gpt-30M's last 5 points missing; b.jsonl: gpt-3B."""
    lines = (FX / "plain.csv").read_text().splitlines()
    small = [x for x in lines[1:] if x.startswith(("gpt-10M,", "gpt-30M,"))]
    a, b = tmp_path / "a.csv", tmp_path / "b.jsonl"
    a.write_text("\n".join([lines[0], *small[:-5]]) + "\n")
    b.write_text("".join(x + "\n" for x in (FX / "plain.jsonl").read_text().splitlines()
                         if '"gpt-3B"' in x))
    return a, b, lines[0], small


def test_ingest_then_load_matches_read_file(tmp_path):
    st = Store(tmp_path / "s")
    assert not st.exists()
    rep = st.ingest([FX / "plain.csv"])
    assert rep.added == [str(FX / "plain.csv")] and rep.n_runs == 6 and rep.n_rows == 300
    assert st.exists()
    loaded, direct = st.load(), read_file(FX / "plain.csv")
    assert loaded.runs.equals(direct.runs)
    assert loaded.history.equals(direct.history)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    (entry,) = manifest["files"].values()
    assert entry["path"] == str((FX / "plain.csv").resolve())
    assert entry["size"] == (FX / "plain.csv").stat().st_size and entry["rows"] == 300
    assert entry["hash"] == f"crc32:{zlib.crc32((FX / 'plain.csv').read_bytes()):08x}"


def test_unchanged_reingest_is_byte_identical_and_growth_replaces_own_rows(tmp_path, logs):
    a, b, head, small = logs
    st = Store(tmp_path / "s")
    st.ingest([a])
    st.ingest([b])
    first, d0 = tokens(st.load()), digest(tmp_path / "s")
    rep = st.ingest([a, b])
    assert rep.unchanged == [str(a), str(b)] and not rep.added and not rep.replaced
    assert digest(tmp_path / "s") == d0
    a.write_text("\n".join([head, *small]) + "\n")
    rep = st.ingest([a])
    assert rep.replaced == [str(a)]
    after = tokens(st.load())
    assert after["gpt-30M"] == float(small[-1].split(",")[2]) == TRUTH["gpt-30M"]["final_tokens"]
    assert after["gpt-10M"] == first["gpt-10M"] and after["gpt-3B"] == first["gpt-3B"]
    # old parts of a.csv removed: runs, history and tails of each of the two sources are left
    assert len(list((tmp_path / "s" / "parts").iterdir())) == 6


def test_touched_file_keeps_its_parts(tmp_path, logs):
    a, *_ = logs
    st = Store(tmp_path / "s")
    st.ingest([a])
    parts = sorted((tmp_path / "s" / "parts").iterdir())
    os.utime(a, ns=(1_000_000_000, 1_000_000_000))
    rep = st.ingest([a])
    assert rep.unchanged == [str(a)]
    assert sorted((tmp_path / "s" / "parts").iterdir()) == parts
    mtime = json.loads((tmp_path / "s" / "manifest.json").read_text())["files"]
    assert next(iter(mtime.values()))["mtime_ns"] == 1_000_000_000


@pytest.mark.parametrize(("bad", "error"), [
    ("non_numeric_loss.csv", InputError), ("missing_n_params.csv", ColumnError),
    ("duplicate_run_names.csv", InputError), ("negative_tokens.csv", InputError),
    ("empty.jsonl", InputError), ("header_only.csv", InputError),
])
def test_refused_ingest_leaves_store_unchanged(tmp_path, bad, error):
    st = Store(tmp_path / "s")
    st.ingest([FX / "plain.csv"])
    d0 = digest(tmp_path / "s")
    with pytest.raises(error):
        st.ingest([FX / "plain.jsonl", FX / "bad" / bad])  # the good file is not written either
    assert digest(tmp_path / "s") == d0
    assert not list((tmp_path / "s").rglob(".tmp-*"))


def test_refused_first_ingest_creates_nothing(tmp_path):
    with pytest.raises(InputError):
        Store(tmp_path / "s").ingest([FX / "bad" / "empty.csv"])
    assert not (tmp_path / "s").exists()
    with pytest.raises(StoreError, match="no scalecli store"):
        Store(tmp_path / "s").load()


def test_strict_refuses_warned_files_even_when_unchanged(tmp_path):
    st = Store(tmp_path / "s")
    with pytest.raises(StrictError, match="nan_inf_loss.csv"):
        st.ingest([FX / "bad" / "nan_inf_loss.csv"], strict=True)
    assert not (tmp_path / "s").exists()
    rep = st.ingest([FX / "bad" / "nan_inf_loss.csv"])
    assert rep.warnings and "dropped 3 non-finite loss values" in rep.warnings[0]
    d0 = digest(tmp_path / "s")
    with pytest.raises(StrictError):
        st.ingest([FX / "bad" / "nan_inf_loss.csv"], strict=True)
    assert digest(tmp_path / "s") == d0


def test_failed_write_is_undone(tmp_path, logs, monkeypatch):
    a, b, *_ = logs
    st = Store(tmp_path / "s")
    st.ingest([a])
    d0 = digest(tmp_path / "s")

    def boom(path, data):
        raise OSError("disk full")

    monkeypatch.setattr(store_disk, "stage", boom)
    with pytest.raises(OSError, match="disk full"):
        st.ingest([b])
    assert digest(tmp_path / "s") == d0


def test_lock_held_by_another_ingest(tmp_path, logs):
    a, b, *_ = logs
    st = Store(tmp_path / "s")
    st.ingest([a])
    wanted = r"another ingest holds the lock \(.*ingest.lock\) and did not finish within 0.2 s"
    with FileLock(str(tmp_path / "s" / "ingest.lock")), pytest.raises(StoreError, match=wanted):
        st.ingest([b], wait=0.2)
    assert st.ingest([b]).added == [str(b)]


def test_leftover_temp_files_are_swept(tmp_path, logs):
    a, b, *_ = logs
    st = Store(tmp_path / "s")
    st.ingest([a])
    (tmp_path / "s" / "parts" / ".tmp-dead1234").write_bytes(b"half a parquet")
    st.ingest([b])
    assert not list((tmp_path / "s").rglob(".tmp-*"))


def test_changed_mapping_replaces(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("run,size,seen,loss,alt_size\na,1e7,2e8,3.0,2e7\nb,3e7,6e8,2.5,4e7\n")
    st = Store(tmp_path / "s")
    st.ingest([p], mapping={"N": "size", "D": "seen"})
    rep = st.ingest([p], mapping={"N": "alt_size", "D": "seen"})
    assert rep.replaced == [str(p)]
    assert st.load().runs["n_params"].to_list() == [2e7, 4e7]


@pytest.mark.parametrize("order", [("runs", "history"), ("history", "runs")])
def test_wandb_history_joins_across_ingests(tmp_path, order):
    files = {"runs": FX / "wandb_api_runs.jsonl", "history": FX / "wandb_api_history.jsonl"}
    st = Store(tmp_path / "s")
    first = st.ingest([files[order[0]]])
    if order[0] == "history":  # waits for its runs file, with a warning
        assert any("no model size" in w for w in first.warnings)
        assert st.load().runs["n_params"].null_count() == 6
    st.ingest([files[order[1]]])
    fr = st.load()
    assert fr.runs.height == 6 and fr.runs["n_params"].null_count() == 0
    assert dict(zip(fr.runs["name"], fr.runs["n_params"], strict=True)) == {
        k: float(v["n_params"]) for k, v in TRUTH.items()}
    assert set(fr.history["run_id"]) == set(fr.runs["run_id"]) and fr.history.height == 300


def test_directory_ingest_skips_the_store_inside_it(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for f in ("wandb_api_runs.jsonl", "wandb_api_history.jsonl", "plain.csv", "README.md"):
        shutil.copy(FX / f, logs / f)
    st = Store(logs / ".scalecli")
    rep = st.ingest([logs])
    assert len(rep.added) == 3 and rep.n_runs == 12
    d0 = digest(logs / ".scalecli")
    again = st.ingest([logs])
    assert len(again.unchanged) == 3 and (again.n_runs, again.n_rows) == (12, 600)
    assert digest(logs / ".scalecli") == d0
    fr = st.load()
    assert fr.runs.height == 12 and fr.runs["n_params"].null_count() == 0
    assert fr.history.filter(pl.col("metric") == "train/loss").height == 300


def test_damaged_store_is_a_store_error(tmp_path):
    st = Store(tmp_path / "s")
    st.ingest([FX / "plain.csv"])
    for p in (tmp_path / "s" / "parts").iterdir():
        p.unlink()
    with pytest.raises(StoreError, match=r"runs.parquet of .*plain.csv is missing; ingest .* again"):
        st.load()
    (tmp_path / "s" / "manifest.json").write_text("{not json")
    with pytest.raises(StoreError, match="damaged manifest"):
        st.load()
