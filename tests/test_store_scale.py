"""Sweeps of many small files: read as one batch (the same frames as file by file), written to
shared parts (each source's slice in the manifest), and re-ingested source by source."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import TRUE, chinchilla_loss
from polars.testing import assert_frame_equal

from scalecli.ingest import batch, read_paths, read_raw
from scalecli.store import Store

SIZES = [2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9]


def write_sweep(folder: Path, n: int = 36, steps: int = 4) -> dict[str, float]:
    """One CSV per run (run, n_params, tokens, step, loss, dataset, seed); returns each run's
    true final loss from the generating law."""
    folder.mkdir(parents=True, exist_ok=True)
    final = {}
    for i in range(n):
        name, size = f"r{i:03d}", SIZES[i % len(SIZES)]
        rows = ["run,n_params,tokens,step,loss,dataset,seed"]
        for s in range(1, steps + 1):
            d = 20 * size * s / steps
            loss = chinchilla_loss(TRUE, size, d)
            rows.append(f"{name},{size:.0f},{d:.0f},{s},{loss:.9f},web,{i % 3}")
        final[name] = loss
        (folder / f"{name}.csv").write_text("\n".join(rows) + "\n")
    return final


def one_by_one(paths: list[Path]):
    return [read_raw(p, str(p), "csv", digest=True) for p in paths]


def test_a_batch_reads_what_the_files_read_one_by_one(tmp_path):
    truth = write_sweep(tmp_path / "sweep", n=12)
    paths = sorted((tmp_path / "sweep").glob("*.csv"))
    got = batch.read_batch([(p, str(p)) for p in paths], ",", None, False)
    assert got is not None and len(got) == len(paths)
    for one, alone in zip(got, one_by_one(paths), strict=True):
        assert_frame_equal(one.runs, alone.runs)
        assert_frame_equal(one.history, alone.history)
        assert one.columns == alone.columns and one.files == alone.files
    runs = pl.concat([f.runs for f in got])
    assert dict(zip(runs["name"], runs["loss"], strict=True)) == pytest.approx(truth, rel=1e-9)
    assert runs["source"].to_list() == [str(p) for p in paths]


def test_files_that_decide_differently_are_read_one_by_one(tmp_path):
    write_sweep(tmp_path / "sweep", n=4)
    odd = tmp_path / "sweep" / "r001.csv"  # its seed varies within the run: a metric, not config
    lines = odd.read_text().splitlines()
    odd.write_text("\n".join([lines[0]] + [x[:-1] + str(k) for k, x in enumerate(lines[1:])])
                   + "\n")
    paths = sorted((tmp_path / "sweep").glob("*.csv"))
    assert batch.read_batch([(p, str(p)) for p in paths], ",", None, False) is None
    quoted = tmp_path / "sweep" / "r002.csv"
    quoted.write_text(quoted.read_text().replace(",web,", ',"web",'))
    assert batch.read_batch([(p, str(p)) for p in paths[2:]], ",", None, False) is None


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def test_small_sources_share_parts_and_one_grown_run_rewrites_only_its_own(tmp_path):
    truth = write_sweep(tmp_path / "sweep", n=40)
    st = Store(tmp_path / "s")
    rep = st.ingest([tmp_path / "sweep"])
    assert len(rep.added) == 40 and rep.n_runs == 40
    parts = sorted(p.name for p in (st.root / "parts").iterdir())
    assert len(parts) == 3  # one runs, one history and one tails part for the 40 sources
    m0 = manifest(st.root)
    assert m0["version"] == 2 and all("slice" in e for e in m0["files"].values())
    loaded = st.load()
    fresh = read_paths([tmp_path / "sweep"])
    assert_frame_equal(loaded.runs, fresh.runs)
    assert_frame_equal(loaded.history, fresh.history)
    assert dict(zip(loaded.runs["name"], loaded.runs["loss"], strict=True)) == pytest.approx(truth)

    grown = tmp_path / "sweep" / "r007.csv"  # one run gains a step
    with grown.open("a") as f:
        f.write(f"r007,{SIZES[1]:.0f},{25 * SIZES[1]:.0f},5,2.5,web,1\n")
    rep = st.ingest([tmp_path / "sweep"])
    assert rep.replaced == [str(grown)] and len(rep.unchanged) == 39
    m1 = manifest(st.root)
    changed = [k for k in m1["files"] if m1["files"][k] != m0["files"][k]]
    assert changed == [str(grown.resolve())]
    after = sorted(p.name for p in (st.root / "parts").iterdir())
    new = set(after) - set(parts)
    assert len(new) == 3 and set(parts) <= set(after)  # the shared parts still serve the 39
    e = m1["files"][changed[0]]
    assert {e["runs"], e["history"], e["tails"]} == {f"parts/{n}" for n in new}
    loaded = st.load()
    assert loaded.runs.height == 40
    assert loaded.runs.filter(pl.col("name") == "r007")["loss"].item() == 2.5
    assert loaded.history.filter(pl.col("run_id").str.ends_with("::r007")).height == 5
    fresh = read_paths([tmp_path / "sweep"])
    assert_frame_equal(loaded.runs.sort("run_id"), fresh.runs.sort("run_id"))


def test_a_damaged_shared_part_rebuilds_every_source_in_it(tmp_path):
    write_sweep(tmp_path / "sweep", n=20)
    st = Store(tmp_path / "s")
    st.ingest([tmp_path / "sweep"])
    runs_part = next(iter(manifest(st.root)["files"].values()))["runs"]
    (st.root / runs_part).write_bytes(b"\0" * 16)
    rep = st.ingest([tmp_path / "sweep"])
    assert len(rep.repaired) == 20 and st.check().ok
    assert st.load().runs.height == 20


def test_a_version_1_store_is_read_and_written_as_version_2(tmp_path):
    write_sweep(tmp_path / "sweep", n=3)
    st = Store(tmp_path / "s")
    st.ingest([tmp_path / "sweep"])
    m = manifest(st.root)
    assert not any("slice" in e for e in m["files"].values())  # a few sources: a part each
    m["version"] = 1
    (st.root / "manifest.json").write_text(json.dumps(m))
    assert st.load().runs.height == 3
    write_sweep(tmp_path / "sweep", n=4)
    st.ingest([tmp_path / "sweep"])
    assert manifest(st.root)["version"] == 2 and st.load().runs.height == 4


@pytest.mark.parametrize("reduce", ["last", "min", "mean-last:2"])
def test_a_fit_from_the_store_reads_the_tails_not_the_history(tmp_path, reduce):
    from scalecli.reduce import reduce_runs

    truth = write_sweep(tmp_path / "sweep", n=30)
    st = Store(tmp_path / "s")
    st.ingest([tmp_path / "sweep"])
    lazy, whole = st.load(lazy=True), st.load()
    pts = reduce_runs(lazy, None, reduce)
    assert (lazy.__dict__["_history"] is None) == (reduce != "mean-last:2")
    want = reduce_runs(whole, None, reduce)
    assert_frame_equal(pts.frame, want.frame)
    if reduce == "last":
        assert dict(zip(pts.frame["name"], pts.frame["y"], strict=True)) == pytest.approx(truth)
    assert_frame_equal(lazy.history, whole.history)  # asked for: read in full


def test_fit_on_a_store_matches_the_fit_on_its_logs(tmp_path):
    from scalecli import api

    write_sweep(tmp_path / "sweep", n=36)
    Store(tmp_path / "s").ingest([tmp_path / "sweep"])
    a = api.fit(tmp_path / "sweep", "chinchilla")
    b = api.fit(store=tmp_path / "s", law="chinchilla")
    assert b.params == pytest.approx(a.params, rel=1e-9)
