"""A damaged or missing part is rebuilt by the next ingest of its source; ``verify`` re-hashes
whatever size and mtime say; a copy of content already held counts once; readers see one
snapshot while an ingest replaces parts; ``check`` and ``prune`` say and drop what is gone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from scalecli.errors import StoreError, StrictError
from scalecli.store import Store
from scalecli.store import core as store_core
from scalecli.store import parts as store_parts

FX = Path(__file__).parent / "data" / "fixtures"


@pytest.fixture
def logs(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    shutil.copy(FX / "plain.csv", d / "good.csv")
    shutil.copy(FX / "wandb_api_runs.jsonl", d / "wb_runs.jsonl")
    return d


def entries(st: Store) -> dict:
    return json.loads((st.root / "manifest.json").read_text())["files"]


def names(st: Store) -> list[str]:
    return sorted(st.load().runs["name"].to_list())


@pytest.mark.parametrize("damage", ["zeros", "truncate", "delete", "other_columns", "flip"])
def test_a_damaged_part_is_rebuilt_by_the_next_ingest(tmp_path, logs, damage):
    st = Store(tmp_path / "s")
    st.ingest([logs])
    want = st.load()
    part = st.root / entries(st)[str((logs / "good.csv").resolve())]["runs"]
    size = part.stat().st_size
    if damage == "zeros":
        part.write_bytes(b"\0" * 64)
    elif damage == "truncate":
        part.write_bytes(part.read_bytes()[: size // 2])
    elif damage == "delete":
        part.unlink()
    elif damage == "other_columns":
        pl.DataFrame({"x": [1.0]}).write_parquet(part)
    else:  # same size, one byte changed: only a full check (verify) sees it
        data = bytearray(part.read_bytes())
        data[size // 2] ^= 0xFF
        part.write_bytes(bytes(data))
    if damage != "flip":
        with pytest.raises(StoreError, match=r"part parts/.*runs.parquet of .*good.csv is .*; "
                                             r"ingest .*good.csv again to rebuild it"):
            st.load()
    rep = st.ingest([logs], verify=(damage == "flip"))
    assert rep.repaired == [str(logs / "good.csv")] and not rep.replaced and not rep.added
    assert rep.unchanged == [str(logs / "wb_runs.jsonl")] and rep.n_runs == 12
    got = st.load()
    assert got.runs.equals(want.runs) and got.history.equals(want.history)
    assert not part.exists() and st.check().ok


def test_a_part_of_the_wrong_schema_is_named_when_read(tmp_path, logs):
    st = Store(tmp_path / "s")
    st.ingest([logs / "good.csv"])
    e = next(iter(entries(st).values()))
    pl.DataFrame({"run_id": ["a"], "step": ["not a number"]}).write_parquet(st.root / e["history"])
    with pytest.raises(StoreError, match=r"history.parquet of .*good.csv is not a history part "
                                         r"\('step' is String, not Int64\); ingest"):
        st.load()
    assert st.check().damaged[0]["problem"].endswith(" when written")
    m = json.loads((st.root / "manifest.json").read_text())
    next(iter(m["files"].values())).pop("sums")  # a manifest from before sizes were recorded
    (st.root / "manifest.json").write_text(json.dumps(m))
    assert "not a history part" in st.check().damaged[0]["problem"]


def test_verify_rehashes_whatever_size_and_mtime_say(tmp_path, logs):
    st = Store(tmp_path / "s")
    src = logs / "good.csv"
    st.ingest([src])
    stat = src.stat()
    text = src.read_text()
    changed = text.replace("gpt-10M,", "gpt-1XM,")  # same size, other runs
    src.write_text(changed)
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert st.ingest([src]).unchanged == [str(src)]  # size and mtime match: not read
    assert "gpt-1XM" not in names(st)
    assert str(src.resolve()) not in st.check().stale
    assert st.check(verify=True).stale == [str(src.resolve())]
    rep = st.ingest([src], verify=True)
    assert rep.replaced == [str(src)] and "gpt-1XM" in names(st)
    assert st.ingest([src], verify=True).unchanged == [str(src)]


def test_a_touched_file_verified_is_unchanged_and_writes_only_its_mtime(tmp_path, logs):
    st = Store(tmp_path / "s")
    src = logs / "good.csv"
    st.ingest([src])
    parts = sorted((st.root / "parts").iterdir())
    os.utime(src, ns=(1_000_000_000, 1_000_000_000))
    assert st.ingest([src], verify=True).unchanged == [str(src)]
    assert sorted((st.root / "parts").iterdir()) == parts
    assert next(iter(entries(st).values()))["mtime_ns"] == 1_000_000_000


def test_a_copied_log_directory_counts_once_with_a_warning(tmp_path, logs):
    st = Store(tmp_path / "s")
    st.ingest([logs])
    copy = tmp_path / "copy"
    shutil.copytree(logs, copy)
    rep = st.ingest([copy])
    assert rep.added == [str(copy / "good.csv"), str(copy / "wb_runs.jsonl")]
    assert rep.duplicates == rep.added and rep.n_runs == 12 and rep.n_rows == 300
    assert any(w == f"{copy / 'good.csv'}: same content as {logs / 'good.csv'}, already in the "
               "store; its runs are counted once" for w in rep.warnings)
    fr = st.load()
    assert fr.runs.height == 12 and set(fr.runs["source"]) == {
        str(logs / "good.csv"), str(logs / "wb_runs.jsonl")}
    assert st.ingest([copy]).unchanged == rep.added  # and stays counted once
    dup = st.check().duplicates
    assert [d["source"] for d in dup] == [str((copy / f).resolve())
                                          for f in ("good.csv", "wb_runs.jsonl")]
    with pytest.raises(StrictError, match="same content as"):
        st.ingest([copy], strict=True)


def test_twins_in_one_ingest_count_once(tmp_path):
    twins = tmp_path / "twins"
    twins.mkdir()
    for n in ("a.csv", "b.csv"):
        shutil.copy(FX / "plain.csv", twins / n)
    rep = Store(tmp_path / "s").ingest([twins])
    assert rep.n_runs == 6 and any(str(twins / "b.csv") in w for w in rep.warnings)
    assert Store(tmp_path / "s").load().runs.height == 6


def test_a_copy_counts_again_when_its_original_changes_or_goes(tmp_path, logs):
    st = Store(tmp_path / "s")
    st.ingest([logs / "good.csv"])
    copy = tmp_path / "copy.csv"
    shutil.copy(logs / "good.csv", copy)
    st.ingest([copy])
    assert st.load().runs.height == 6
    lines = (logs / "good.csv").read_text().splitlines()
    (logs / "good.csv").write_text("\n".join(lines[:-3]) + "\n")  # the original changes
    st.ingest([logs / "good.csv"])
    assert st.load().runs.height == 12  # both contents count now, the copy without a re-read
    (logs / "good.csv").unlink()
    pr = st.prune()
    assert pr.dropped == [str((logs / "good.csv").resolve())] and pr.n_runs == 6
    assert set(st.load().runs["source"]) == {str(copy)}


def test_check_reports_stale_missing_damaged_orphans(tmp_path, logs):
    st = Store(tmp_path / "s")
    st.ingest([logs])
    assert st.check().ok and st.check().sources == 2
    good, wb = (str((logs / n).resolve()) for n in ("good.csv", "wb_runs.jsonl"))
    with (logs / "good.csv").open("a") as f:
        f.write("gpt-10M,10000000,99999999999,999999,2.0\n")
    (logs / "wb_runs.jsonl").unlink()
    history = st.root / entries(st)[good]["history"]
    history.write_bytes(b"junk")
    (st.root / "parts" / "00000000000000aa-0000000000.runs.parquet").write_bytes(b"x")
    (st.root / ".tmp-left1234").write_bytes(b"x")
    rep = st.check()
    assert not rep.ok
    assert rep.stale == [good] and rep.missing == [wb]
    assert rep.damaged == [{"source": good, "part": entries(st)[good]["history"],
                            "problem": f"4 bytes, {entries(st)[good]['sums']['history']['bytes']}"
                                       " when written"}]
    assert rep.orphans == [".tmp-left1234", "parts/00000000000000aa-0000000000.runs.parquet"]
    d = rep.to_dict()
    assert d["ok"] is False and json.loads(json.dumps(d)) == d


def test_prune_drops_runs_whose_source_is_gone(tmp_path, logs):
    st = Store(tmp_path / "s")
    st.ingest([logs])
    wb = (logs / "wb_runs.jsonl").resolve()
    part = st.root / entries(st)[str(wb)]["runs"]
    wb.unlink()
    dry = st.prune(dry_run=True)
    assert dry.dropped == [str(wb)] and dry.runs_dropped == 6 and dry.removed == [
        f"parts/{part.name}"]
    assert part.exists() and len(entries(st)) == 2
    rep = st.prune()
    assert rep.dropped == [str(wb)] and (rep.n_runs, rep.n_rows, rep.runs_dropped) == (6, 300, 6)
    assert rep.removed == [f"parts/{part.name}"] and not part.exists()
    assert list(entries(st)) == [str((logs / "good.csv").resolve())]
    assert names(st) == sorted(pl.read_csv(FX / "plain.csv")["run"].unique().to_list())
    again = st.prune()
    assert not again.dropped and not again.removed and again.n_runs == 6
    assert json.loads(json.dumps(rep.to_dict()))["dropped"] == [str(wb)]


def test_a_reader_rereads_when_an_ingest_replaces_a_part_under_it(tmp_path, logs, monkeypatch):
    st = Store(tmp_path / "s")
    src = logs / "good.csv"
    st.ingest([src])
    real = store_parts.read
    calls = []

    def racing(root, rel, kind):  # another ingest publishes and deletes the old parts right now
        if not calls:
            calls.append(rel)
            with src.open("a") as f:
                f.write("gpt-10M,10000000,99999999999,999999,2.0\n")
            Store(st.root).ingest([src])
        return real(root, rel, kind)

    monkeypatch.setattr(store_parts, "read", racing)
    fr = st.load()
    assert calls and not (st.root / calls[0]).exists()
    assert fr.runs.filter(pl.col("name") == "gpt-10M")["tokens"].item() == 99999999999


def test_a_reader_gives_up_with_the_part_named_when_the_manifest_stays(tmp_path, logs,
                                                                       monkeypatch):
    st = Store(tmp_path / "s")
    st.ingest([logs / "good.csv"])
    monkeypatch.setattr(store_core, "READ_ATTEMPTS", 3)
    for p in (st.root / "parts").iterdir():
        p.unlink()
    with pytest.raises(StoreError, match="is missing; ingest .*good.csv again"):
        st.load()


def test_a_first_ingest_never_removes_a_store_another_process_filled(tmp_path, logs,
                                                                     monkeypatch):
    """Between reading its files and taking the lock, another ingest creates the store: this
    one plans again against it, keeps what the other wrote, and a failure removes nothing."""
    root = tmp_path / "s"
    other = tmp_path / "other.csv"
    other.write_text("run,n_params,tokens,loss\nx1,1e7,2e8,3.0\nx2,3e7,6e8,2.5\n")
    from scalecli.store import lock as store_lock

    real = store_lock.held

    def meanwhile(r, wait):
        if not (root / "manifest.json").exists():
            monkeypatch.setattr(store_lock, "held", real)
            Store(root).ingest([other])
        return real(r, wait)

    monkeypatch.setattr(store_lock, "held", meanwhile)
    rep = Store(root).ingest([logs / "good.csv"])
    assert rep.added == [str(logs / "good.csv")] and rep.n_runs == 8
    assert len(entries(Store(root))) == 2

    from scalecli.store import commit as store_commit

    root2, failing = tmp_path / "s2", []
    stage = store_commit.disk.stage

    def boom(path, data):
        if failing:
            raise OSError("disk full")
        return stage(path, data)

    def other_first(r, wait):
        if not failing:
            monkeypatch.setattr(store_lock, "held", real)
            Store(root2).ingest([other])
            failing.append(True)  # this ingest's own write then fails
        return real(r, wait)

    monkeypatch.setattr(store_lock, "held", other_first)
    monkeypatch.setattr(store_commit.disk, "stage", boom)
    with pytest.raises(OSError, match="disk full"):
        Store(root2).ingest([logs / "good.csv"])
    monkeypatch.undo()
    assert Store(root2).load().runs.height == 2  # the other's store is whole
    assert not Store(root2).check().orphans
