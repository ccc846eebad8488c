"""W&B offline run directories at sweep scale: ``scalecli ingest`` against the library alone.

Run by hand (it prints figures; nothing is asserted)::

    python benchmarks/formats_wandb.py                       # 1000 runs x 1000 steps
    python benchmarks/formats_wandb.py --runs 100 --steps 200  # a quick look
    python benchmarks/formats_wandb.py --baseline-python /path/to/venv-wandb-0.16/bin/python

1. Writes R run directories (``wandb/offline-run-*/run-<id>.wandb``) of S logged steps each.
   ``wandb.init`` is far too slow for 1000 runs, so the records are wandb's own protobuf
   ``Record`` classes in the layout of a real wandb 0.31 offline run (the fixture
   ``tests/data/fixtures/wandb_offline``: header, run with config, then per step one history
   record and two summary records, then exit), framed as wandb frames them (the LevelDB-style
   log of ``wandb/sdk/internal/datastore.py``, re-implemented here: wandb 0.31 has no Python
   writer).
2. Times, each as a whole command in a fresh process, with its peak memory (``ru_maxrss`` of
   the child):
   - the library alone: a loop that reads every log with wandb's own reader where the installed
     wandb has one (``DataStore.scan_data``, wandb <= 0.17; give its Python with
     ``--baseline-python``), else with the minimal framing loop of the fixtures' reference
     reader, ``Record.ParseFromString`` on every record and ``json.loads`` on every value of the
     history, summary and config records;
   - ``scalecli ingest DIR --store S`` (the CLI: read, shape, write Parquet parts);
   - scalecli's reader alone, every run read in one loop and dropped (peak memory = one run).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = next((ROOT / "tests/data/fixtures/wandb_offline/wandb").glob("*/run-*.wandb"))
BLOCK, HEAD = 32768, 7


# --- writing --------------------------------------------------------------------------------
def frame(payloads, out) -> None:
    """wandb's framing: FULL chunks, or FIRST/MIDDLE/LAST across 32 KiB blocks; a block tail
    shorter than a chunk header is zero padding (as DataStore._write_data)."""
    pos = out.tell()
    for data in payloads:
        left = BLOCK - pos % BLOCK
        if left < HEAD:
            out.write(b"\0" * left)
            pos += left
            left = BLOCK
        first, used = True, 0
        while True:
            room = left - HEAD
            piece = data[used:used + room]
            used += len(piece)
            done = used >= len(data)
            kind = (1 if done else 2) if first else (4 if done else 3)
            out.write(struct.pack("<IHB", zlib.crc32(bytes([kind]) + piece), len(piece), kind))
            out.write(piece)
            pos += HEAD + len(piece)
            if done:
                break
            first, left = False, BLOCK


def template():
    """The records of a real wandb 0.31 offline run, split where the steps go."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, recs = TEMPLATE.read_bytes(), HEAD, []
    while pos + HEAD <= len(data):
        _, length, _ = struct.unpack_from("<IHB", data, pos)
        recs.append(pb.Record.FromString(data[pos + HEAD:pos + HEAD + length]))
        pos += HEAD + length
    kinds = [r.WhichOneof("record_type") for r in recs]
    first = kinds.index("history")
    last = len(kinds) - 1 - kinds[::-1].index("history")
    before = [r for r, k in zip(recs[:first], kinds[:first], strict=True) if k != "summary"]
    after = [r for r, k in zip(recs[last + 1:], kinds[last + 1:], strict=True)
             if k != "summary" or any(u.key == "eval/loss" for u in r.summary.update)]
    hist = recs[first]
    values = next(r for r in recs[first + 1:] if r.WhichOneof("record_type") == "summary"
                  and len(r.summary.update) > 2)
    runtime = next(r for r in recs[:first] if r.WhichOneof("record_type") == "summary")
    return before, hist, values, runtime, after


def loss(n: float, d: float) -> float:
    return 1.7 + 400 / n ** 0.34 + 410 / d ** 0.28


def write_run(args) -> int:
    """One run directory; returns its log's size in bytes."""
    root, i, runs, steps = args
    before, hist, values, runtime, after = template()
    rid = f"r{i:07d}"
    n = 1e7 * 10 ** (3 * i / max(runs - 1, 1))
    run = next(r for r in before if r.WhichOneof("record_type") == "run")
    run.run.run_id, run.run.display_name = rid, f"run-{i}"
    for u in run.run.config.update:
        if u.key == "n_params":
            u.value_json = str(int(n))
    folder = Path(root) / "wandb" / f"offline-run-20260101_000000-{rid}"
    folder.mkdir(parents=True)
    num = 0

    def payloads():
        nonlocal num
        for r in before:
            num += 1
            r.num = num
            yield r.SerializeToString()
        by_key = {}
        for rec in (hist, values):
            items = rec.history.item if rec is hist else rec.summary.update
            by_key[id(rec)] = {"/".join(it.nested_key): it for it in items}
        h, v = by_key[id(hist)], by_key[id(values)]
        per = 20 * n / 524288 / steps  # about 20 tokens per parameter over the run
        for s in range(1, steps + 1):
            step = max(1, round(s * per))
            tokens = step * 524288
            vals = {"train/loss": repr(loss(n, tokens)), "tokens_seen": str(tokens),
                    "train/lr": repr(1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / steps)))),
                    "_timestamp": repr(1.7e9 + s), "_runtime": repr(s * 0.01), "_step": str(step)}
            for k, text in vals.items():
                h[k].value_json = text
                v[k].value_json = text
            hist.history.step.num = step
            for rec in (hist, values, runtime):
                num += 1
                rec.num = num
                yield rec.SerializeToString()
        for r in after:
            num += 1
            r.num = num
            if r.WhichOneof("record_type") == "summary":
                r.summary.update[0].value_json = repr(loss(n, tokens) * 0.99)
            yield r.SerializeToString()

    path = folder / f"run-{rid}.wandb"
    with open(path, "wb") as out:
        out.write(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
        frame(payloads(), out)
    return path.stat().st_size


def generate(root: Path, runs: int, steps: int, jobs: int) -> int:
    from multiprocessing import Pool

    with Pool(jobs) as pool:
        return sum(pool.map(write_run, [(str(root), i, runs, steps) for i in range(runs)],
                            chunksize=max(1, runs // (jobs * 8))))


# --- timing ----------------------------------------------------------------------------------
BASELINE = r'''
import glob, json, struct, sys, time, zlib
t0 = time.perf_counter()
from wandb.proto import wandb_internal_pb2 as pb
try:
    import wandb
    from wandb.sdk.internal.datastore import DataStore
    wandb._assert_is_internal_process = True
except ImportError:
    DataStore = None

def scan_minimal(path):
    data, pos = open(path, "rb").read(), 7
    assert data[:4] == b":W&B"
    parts = []
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        chunk = data[pos + 7:pos + 7 + length]
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) == crc
        pos += 7 + length
        if kind == 1:
            yield chunk
        elif kind == 4:
            yield b"".join(parts) + chunk
            parts = []
        else:
            parts.append(chunk)

def scan_datastore(path):
    ds = DataStore()
    ds.open_for_scan(path)
    while (data := ds.scan_data()) is not None:
        yield data
    ds.close()

scan = scan_datastore if DataStore else scan_minimal
t1 = time.perf_counter()
n = skipped = 0
for path in sorted(glob.glob(sys.argv[1] + "/wandb/*/run-*.wandb")):
    for data in scan(path):
        rec = pb.Record()
        try:
            rec.ParseFromString(data)
        except Exception:  # an older wandb's classes may not know a newer record (environment)
            skipped += 1
            continue
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            items = rec.history.item
        elif kind == "summary":
            items = rec.summary.update
        elif kind == "config":
            items = rec.config.update
        elif kind == "run":
            items = rec.run.config.update
        else:
            continue
        for it in items:
            json.loads(it.value_json)
            n += 1
t2 = time.perf_counter()
print(json.dumps({"reader": scan.__name__, "import_s": t1 - t0, "loop_s": t2 - t1, "values": n,
                  "skipped": skipped}))
'''

READER_ONLY = r'''
import glob, json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from scalecli.ingest import read_raw
rows = 0
for path in sorted(glob.glob(sys.argv[1] + "/wandb/*/run-*.wandb")):
    rows += read_raw(Path(path), path, "wandb-run").history.height
print(json.dumps({"loop_s": time.perf_counter() - t0, "history_rows": rows}))
'''


def measured(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak MiB of the child, its stdout)."""
    probe = ("import resource, subprocess, sys, time, json\n"
             "t = time.perf_counter()\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "wall = time.perf_counter() - t\n"
             "if r.returncode: sys.stderr.write(r.stderr[-3000:]); sys.exit(r.returncode)\n"
             "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
             "print(json.dumps({'wall': wall, 'peak_mib': peak, 'out': r.stdout}))\n")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True,
                         check=True)
    import json

    got = json.loads(out.stdout)
    return got["wall"], got["peak_mib"], got["out"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--dir", type=Path, help="write (or reuse) the runs here; kept")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--baseline-python", help="also time the library alone in this Python "
                    "(e.g. a venv with wandb 0.16, whose DataStore is wandb's own reader)")
    ap.add_argument("--repeat", type=int, default=1, help="take the best of N timings")
    args = ap.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # children cache their bytecode as usual

    tmp = None
    root = args.dir
    if root is None:
        tmp = Path(tempfile.mkdtemp(prefix="scalecli-wandb-bench-"))
        root = tmp / "sweep"
    if not (root / "wandb").is_dir():
        t = time.perf_counter()
        size = generate(root, args.runs, args.steps, args.jobs)
        print(f"wrote {args.runs} runs x {args.steps} steps: {size / 2**20:.0f} MiB of logs "
              f"in {time.perf_counter() - t:.1f} s ({root})")
    logs = sorted(root.glob("wandb/*/run-*.wandb"))
    largest = max(p.stat().st_size for p in logs) / 2**20
    print(f"{len(logs)} run logs, largest {largest:.2f} MiB")

    def best(cmd):
        return min((measured(cmd) for _ in range(args.repeat)), key=lambda x: x[0])

    import json

    pythons = [("library alone (this wandb)", sys.executable)]
    if args.baseline_python:
        pythons.append(("library alone (--baseline-python)", args.baseline_python))
    base = None
    for label, py in pythons:
        wall, peak, out = best([py, "-c", BASELINE, str(root)])
        info = json.loads(out)
        print(f"{label}: {wall:.2f} s, peak {peak:.0f} MiB; reader {info['reader']}, "
              f"import {info['import_s']:.2f} s + loop {info['loop_s']:.2f} s, "
              f"{info['values']:,} values" + (f", {info['skipped']} records it cannot parse"
                                                if info["skipped"] else ""))
        base = wall if base is None else base
    exe = str(Path(sys.executable).with_name("scalecli"))
    store = Path(tempfile.mkdtemp(prefix="scalecli-wandb-store-"))
    try:
        wall, peak, _ = measured([exe, "ingest", str(root), "--store", str(store / "s")])
        print(f"scalecli ingest --store: {wall:.2f} s ({wall / base:.2f}x the library alone), "
              f"peak {peak:.0f} MiB")
    finally:
        shutil.rmtree(store, ignore_errors=True)
    wall, peak, out = best([sys.executable, "-c", READER_ONLY, str(root)])
    info = json.loads(out)
    print(f"scalecli reader alone (read_raw per run, in one loop): {wall:.2f} s "
          f"({wall / base:.2f}x), loop {info['loop_s']:.2f} s, peak {peak:.0f} MiB, "
          f"{info['history_rows']:,} history rows")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
