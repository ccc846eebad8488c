"""The manifest is validated before the store acts on it: a part path that would leave the store
(``..``, absolute, a link out) or an entry of the wrong shape is one StoreError naming the store
and the entry, and nothing outside the store is ever read or deleted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from scalecli.errors import StoreError
from scalecli.store import Store

FX = Path(__file__).parent / "data" / "fixtures"


@pytest.fixture
def store(tmp_path):
    """A store of one log directory (logs/good.csv), and a precious file beside it."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "good.csv").write_bytes((FX / "plain.csv").read_bytes())
    st = Store(tmp_path / "s")
    st.ingest([logs])
    victim = tmp_path / "victim" / "precious.txt"
    victim.parent.mkdir()
    victim.write_text("keep me\n")
    return st, logs, victim


def edit(st: Store, change) -> None:
    path = st.root / "manifest.json"
    m = json.loads(path.read_text())
    change(m)
    path.write_text(json.dumps(m))


def entry(m: dict) -> dict:
    return next(iter(m["files"].values()))


@pytest.mark.parametrize("bad", [
    "../victim/precious.txt", "parts/../../victim/precious.txt", "/etc/passwd",
    "parts/x.parquet/../../../victim/precious.txt", "parts/.hidden.parquet", "parts\\..\\x.parquet",
    "manifest.json", "parts/", "",
])
def test_part_paths_that_leave_the_store_are_refused(store, bad):
    st, logs, victim = store
    edit(st, lambda m: entry(m).update(runs=bad, history=bad))
    (logs / "good.csv").open("a").write("gpt-10M,10000000,99999999999,999999,2.0\n")
    for act in (st.load, lambda: st.ingest([logs]), st.check, st.prune):
        with pytest.raises(StoreError, match=r"manifest.json: entry '.*good.csv': 'runs' is .*"
                                             r"not a part; the manifest is damaged"):
            act()
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize(("change", "words"), [
    (lambda m: m.update(files=list(m["files"].values())), "'files' is a list, not an object"),
    (lambda m: m.update(files="x"), "'files' is a string"),
    (lambda m: m.pop("files"), "'files' is null"),
    (lambda m: m.update(n_runs="6"), "'n_runs' is not a count"),
    (lambda m: m["files"].update({k: [1] for k in m["files"]}), "is a list, not an object"),
    (lambda m: entry(m).pop("hash"), "lacks 'hash'"),
    (lambda m: entry(m).update(size="12771"), "'size' is '12771', not a count"),
    (lambda m: entry(m).update(size=True), "'size' is true, not a count"),
    (lambda m: entry(m).update(rows=-1), "'rows' is -1, not a count"),
    (lambda m: entry(m).update(mtime_ns=1.5), "'mtime_ns' is 1.5, not a time"),
    (lambda m: entry(m).update(found=[1, 2]), "'found' is \\[1, 2\\], not a list of strings"),
    (lambda m: entry(m).update(mapping={"N": 3}), "'mapping' is .*not a object of strings"),
    (lambda m: entry(m).update(warnings=["x" * 10_000]), None),  # long texts are fine
    (lambda m: entry(m).update(path="/elsewhere.csv"), "not the entry's absolute path"),
    (lambda m: entry(m).update(same_as=7), "'same_as' is 7, not a string"),
    (lambda m: entry(m).update(sums={"runs": {"bytes": "x"}}), "'sums' is .*not a sums"),
    (lambda m: entry(m).update(history=entry(m)["runs"]), "name the same part"),
    (lambda m: entry(m).update(size=10 ** 400), "'size' is an integer of 401 digits"),
])
def test_wrong_types_are_one_line_errors(store, change, words):
    st, logs, _victim = store
    edit(st, change)
    if words is None:
        assert st.load().runs.height == 6
        return
    with pytest.raises(StoreError, match=words) as err:
        st.load()
    text = str(err.value)
    assert "\n" not in text and len(text) < 400 and str(st.root) in text
    with pytest.raises(StoreError):
        st.ingest([logs])


def test_a_manifest_that_is_not_json_or_not_ours(store):
    st, *_ = store
    (st.root / "manifest.json").write_text("[" * 100_000)
    with pytest.raises(StoreError, match="damaged manifest"):
        st.load()
    (st.root / "manifest.json").write_text('{"version": 99, "files": {}}')
    with pytest.raises(StoreError, match="not a scalecli store manifest"):
        st.load()


def test_a_part_that_is_a_link_out_is_neither_read_nor_deleted(store, tmp_path):
    st, logs, _victim = store
    outside = tmp_path / "victim" / "frame.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(outside)
    rel = entry(json.loads((st.root / "manifest.json").read_text()))["runs"]
    (st.root / rel).unlink()
    (st.root / rel).symlink_to(outside)
    with pytest.raises(StoreError, match="a link or special file, not a part; ingest .* again"):
        st.load()
    rep = st.ingest([logs])  # rebuilt under a new name; the link is removed, not its target
    assert rep.repaired == [str(logs / "good.csv")]
    assert outside.exists() and not (st.root / rel).is_symlink()
    assert st.load().runs.height == 6


def test_a_parts_directory_that_links_out_is_refused(store, tmp_path):
    st, logs, _victim = store
    elsewhere = tmp_path / "elsewhere"
    (st.root / "parts").rename(elsewhere)
    (st.root / "parts").symlink_to(elsewhere)
    for act in (st.load, lambda: st.ingest([logs]), st.prune):
        with pytest.raises(StoreError, match="parts: is a link or a file"):
            act()
    assert len(list(elsewhere.iterdir())) == 3  # runs, history and tails, untouched


def test_sweep_removes_only_the_store_own_leftovers(store, tmp_path):
    st, logs, victim = store
    parts = st.root / "parts"
    (parts / ".tmp-abc12345").write_bytes(b"half")
    (st.root / ".tmp-zz_9abcd").write_bytes(b"{")
    (parts / "0123456789abcdef-0123456789.runs.parquet").write_bytes(b"x")
    (parts / "0123456789abcdef0123.history.parquet").write_bytes(b"x")  # an older store's name
    (parts / "0123456789abcdef-aaaaaaaaaa.runs.parquet").symlink_to(victim)
    foreign = ["notes.txt", "mine.parquet", ".tmp-mine.txt"]  # not names the store gives
    for name in foreign:
        (parts / name).write_text("mine")
    rep = st.ingest([logs])
    assert rep.unchanged == [str(logs / "good.csv")]
    assert rep.swept == [".tmp-zz_9abcd", "parts/.tmp-abc12345",
                         "parts/0123456789abcdef-0123456789.runs.parquet",
                         "parts/0123456789abcdef-aaaaaaaaaa.runs.parquet",
                         "parts/0123456789abcdef0123.history.parquet"]
    assert victim.read_text() == "keep me\n"
    assert all((parts / name).read_text() == "mine" for name in foreign)
    assert st.check().orphans == [] and st.prune().removed == []


def test_a_store_path_that_is_a_file(tmp_path):
    (tmp_path / "s").write_text("not a store")
    with pytest.raises(StoreError, match="exists and is not a store directory"):
        Store(tmp_path / "s").ingest([FX / "plain.csv"])


def test_unreadable_manifest(store):
    st, *_ = store
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    (st.root / "manifest.json").chmod(0)
    with pytest.raises(StoreError, match="cannot read the manifest"):
        st.load()
