"""Property-based fuzzing of every reader (hypothesis): random bytes, and structure-aware
mutations of each fixture (cut lines, wrong types, huge numbers, deep nesting, empty fields,
keys given twice, odd encodings, byte-order marks, NULs). Whatever the input, a read ends in
Frames or in one ScaleCLIError of one short line: never another exception, a Python warning,
a hang (hypothesis' deadline) or a memory blow-up (peak RSS checked after every case).

The default run takes about half a minute; ``SCALECLI_FUZZ_EXAMPLES=2000`` asks hypothesis for
that many cases per test (the README's reliability section quotes such a run).
"""

from __future__ import annotations

import json
import os
import resource
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalecli.errors import ScaleCLIError
from scalecli.ingest import Frames, read_paths

FX = Path(__file__).parent / "data" / "fixtures"
EXAMPLES = int(os.environ.get("SCALECLI_FUZZ_EXAMPLES", "300"))
PEAK_RSS = 2 << 30  # bytes; a case that takes more is a blow-up
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                database=None)


def _sample(name: str, every: int = 1) -> str:
    """A fixture with every ``every``-th data line (all runs, fewer steps: faster cases)."""
    lines = (FX / name).read_text(encoding="utf-8").splitlines()
    head = [lines[0]] if name.endswith(".csv") else []
    body = lines[len(head):]
    return "\n".join(head + body[::every]) + "\n"


def _array() -> str:
    """A JSON array of records, one record per line (so that line mutations apply)."""
    records = [x for x in _sample("plain.jsonl", 6).splitlines() if x]
    return "[\n" + ",\n".join(records) + "\n]\n"


# reader -> (base text, file suffix); "json-array" is read by the jsonl reader
BASES = {
    "csv": (_sample("plain.csv", 6), ".csv"),
    "jsonl": (_sample("plain.jsonl", 6), ".jsonl"),
    "json-array": (_array(), ".json"),
    "wandb-table": (_sample("wandb_runs_table.csv"), ".csv"),
    "wandb-api-runs": (_sample("wandb_api_runs.jsonl"), ".jsonl"),
    "wandb-api-history": (_sample("wandb_api_history.jsonl", 6), ".jsonl"),
    "wandb-panel": (_sample("wandb_panel_export.csv", 4), ".csv"),
}
READER = {name: ("jsonl" if name == "json-array" else name) for name in BASES}

HOSTILE = ["1e400", "-1e400", "9" * 400, "-" + "9" * 30, "18446744073709551616", "0", "-0",
           "-1", "NaN", "nan", "Infinity", "-inf", "", " ", "null", "true", '"x"', "[]", "{}",
           "[1,2]", '{"a":1}', '{"_type":"histogram"}', "1.5", "0x10", "1_000", "\u0661\u0662",
           "\u00e9t\u00e9", '"', "\\", ",", "\t", "\x00", "a" * 300, '"' + "b" * 5000 + '"']
DEPTHS = [1, 10, 31, 32, 33, 64, 200, 1000, 5000]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-32"]
JUNK = [b"\x00", b"\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"\r", b"\r\n", b'"', b"\x1f", b"\xe9",
        b"\n\n", b"{", b"[", b"}", b",", b"\t"]


def _nest(depth: int, inner: str = "1", obj: bool = True) -> str:
    return ('{"a":' * depth + inner + "}" * depth) if obj else "[" * depth + inner + "]" * depth


@st.composite
def mutated(draw, name: str) -> bytes:
    """The fixture of ``name`` with one to five mutations, in one of several encodings."""
    text, _ = BASES[name]
    lines = text.splitlines(keepends=True)
    sep = ","
    for _ in range(draw(st.integers(1, 5))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["cut", "drop", "dup", "cell", "key", "deep", "empty",
                                     "bytes", "header", "swap", "blank"]))
        line = lines[i]
        if kind == "cut":
            lines = lines[:i] + [line[:draw(st.integers(0, len(line)))]]
        elif kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, line)
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "blank":
            lines.insert(i, draw(st.sampled_from(["\n", " \n", "\r\n", ",,,,\n"])))
        elif kind == "header":
            lines[0] = draw(st.sampled_from([
                "\ufeff" + lines[0], lines[0].replace(sep, sep + sep, 1),
                lines[0].rstrip("\n") + sep + lines[0], lines[0].upper(), "\n",
                lines[0].replace("loss", "loss" + sep + "loss", 1)]))
        elif kind == "bytes":
            pos = draw(st.integers(0, len(line)))
            junk = draw(st.sampled_from(JUNK)).decode("latin-1")
            lines[i] = line[:pos] + junk + line[pos:]
        else:
            lines[i] = _value_mutation(draw, kind, line, name)
    body = "".join(lines)
    enc = draw(st.sampled_from(ENCODINGS))
    return body.encode(enc, errors="replace")


def _value_mutation(draw, kind: str, line: str, name: str) -> str:
    """Change one value (or key) of a line: wrong type, huge number, deep nesting, empty."""
    end = ",\n" if line.endswith(",\n") else "\n"  # a record line of a JSON array
    if line.lstrip().startswith(("{", "[")):
        try:
            obj = json.loads(line.rstrip().rstrip(","))
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict) and obj:
            key = draw(st.sampled_from(sorted(obj)))
            if kind == "key":
                raw = json.dumps(obj)
                dup = f'"{key}": ' + draw(st.sampled_from(HOSTILE[:20] or ["1"])) + ", "
                return raw.replace(f'"{key}": ', dup + f'"{key}": ', 1) + end
            if kind == "deep":
                value = _nest(draw(st.sampled_from(DEPTHS)), obj=draw(st.booleans()))
            elif kind == "empty":
                value = draw(st.sampled_from(['""', "null", "{}", "[]"]))
            else:
                value = draw(st.sampled_from(HOSTILE))
            raw = json.dumps(obj).replace(json.dumps(key) + ": " + json.dumps(obj[key]),
                                          json.dumps(key) + ": " + value, 1)
            return raw + end
        if kind == "deep":
            return _nest(draw(st.sampled_from(DEPTHS)), obj=draw(st.booleans())) + end
    cells = line.rstrip("\n").split(",")
    j = draw(st.integers(0, len(cells) - 1))
    if kind == "empty":
        cells[j] = ""
    elif kind == "deep":
        cells[j] = _nest(draw(st.sampled_from(DEPTHS)), obj=False)
    elif kind == "key":
        cells.insert(j, cells[j])
    else:
        cells[j] = draw(st.sampled_from(HOSTILE))
    return ",".join(cells) + "\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def read(folder: Path, data: bytes, suffix: str, reader: str | None,
         need=("N", "D")) -> Frames | None:
    """Read ``data`` as a file: Frames, or None after a ScaleCLIError of one short line."""
    path = folder / f"case{suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (NumPy, polars) is a failure here
        try:
            frames = read_paths([path], reader=reader, need=need)
        except ScaleCLIError as exc:
            msg = str(exc)
            assert "\n" not in msg and len(msg) < 1000, msg[:2000]
            return None
    assert isinstance(frames, Frames)
    for w in frames.warnings:
        assert "\n" not in w and len(w) < 1000, w[:2000]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak < PEAK_RSS, f"peak RSS {peak >> 20} MiB"
    return frames


NAMES = sorted(BASES)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_fixtures_read_or_refuse(folder, name, data):
    blob = data.draw(mutated(name))
    need = data.draw(st.sampled_from([("N", "D"), ()]))
    read(folder, blob, BASES[name][1], READER[name], need)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(blob=st.binary(max_size=4096), keep=st.integers(0, 3),
       need=st.sampled_from([("N", "D"), ()]))
def test_random_bytes_read_or_refuse(folder, name, blob, keep, need):
    head = "".join(BASES[name][0].splitlines(keepends=True)[:keep]).encode()
    read(folder, head + blob, BASES[name][1], READER[name], need)


@FUZZ
@given(data=st.data())
def test_detection_reads_or_refuses_whatever_the_name(folder, data):
    name = data.draw(st.sampled_from(NAMES))
    blob = data.draw(st.one_of(mutated(name), st.binary(max_size=2048)))
    suffix = data.draw(st.sampled_from([".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".txt"]))
    read(folder, blob, suffix, None)


@pytest.mark.parametrize("name", NAMES)
def test_every_base_reads(folder, name):
    """The unmutated bases are valid logs, so mutations start from something that reads."""
    text, suffix = BASES[name]
    frames = read(folder, text.encode(), suffix, READER[name], need=())
    assert frames is not None and frames.runs.height > 0
