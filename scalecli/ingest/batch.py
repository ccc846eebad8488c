"""Many small tidy CSV files with one header, read as one table and shaped by one ``build``.

A sweep logged as thousands of small files (one per run) pays, file by file, an open, a parse and
a dozen frame operations; read as one table, those are paid once. The result must be what
reading each file alone gives: run_id and source per file, and every decision ``build`` takes
per file (which text columns are numbers, which columns are config, whether the file is one row
per run) the same in every file of the batch. Whatever is not plainly so (quotes, blank lines,
a byte-order mark, a warning, an error, files that decide differently) sends the batch back to
the file-by-file path, which then says exactly what is wrong where.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

from .. import schema as S

SMALL = 1 << 20  # files up to this size are read in batches
BATCH = 2000  # files a batch, and at most BATCH_BYTES of them (memory stays bounded)
BATCH_BYTES = 32 << 20
KEY = "\x00run"  # the batch's run key (file and run): never a user's column
HERE = "\x00file"  # stands for the file in the column report until each file's is written
_F, _N = "\x00f", "\x00n"


class Declined(Exception):
    """The batch is not plainly its files read one by one."""


def read_batch(items: list[tuple[Path, str]], sep: str, mapping, strict: bool):
    """Per file ``(path, display)``, its Frames as ``read_raw(..., digest=True)`` reads them;
    None when the files must be read one by one."""
    if len(items) < 2:
        return None
    try:
        return _read(items, sep, mapping, strict)
    except Exception:  # noqa: BLE001 - refused or surprising: the file-by-file path says why
        return None


def _read(items, sep: str, mapping, strict: bool):
    import numpy as np
    import polars as pl

    from . import FileInfo, Frames
    from .shape import Spec, build
    from .tabular import Table

    datas = [Path(p).read_bytes() for p, _ in items]
    head = datas[0][:datas[0].find(b"\n") + 1]
    if len(head) < 2 or head[0] >= 0x80:  # no header line, or a byte-order mark
        raise Declined
    lines = []
    for d in datas:
        if (not d.startswith(head) or not d.endswith(b"\n") or b'"' in d or b"\n\n" in d
                or b"\n\r\n" in d or b"\x00" in d):
            raise Declined
        lines.append(d.count(b"\n") - 1)
    if min(lines) < 1:
        raise Declined
    body = b"".join([head, *(d[len(head):] for d in datas)])
    df = pl.read_csv(io.BytesIO(body), separator=sep, infer_schema_length=None)
    if df.height != sum(lines) or df.width < 2 or df[df.columns[-1]].null_count():
        raise Declined
    if df.select(pl.all_horizontal(pl.all().is_null()).any()).item():
        raise Declined
    clean = {c: c.strip().lstrip("\ufeff") for c in df.columns}
    if len(set(clean.values())) == len(clean):
        df = df.rename({c: n for c, n in clean.items() if c != n})
    found = list(df.columns)
    run = S.resolve("run", found, mapping)
    if run is None or KEY in found:
        raise Declined
    col = df[run]  # run names must read the same alone: text that is never a number, or integers
    if col.dtype == pl.String:
        if col.cast(pl.Float64, strict=False).is_not_null().any():
            raise Declined
    elif not col.dtype.is_integer():
        raise Declined
    displays = pl.Series([d for _, d in items], dtype=pl.String)
    file_of = pl.Series(_F, np.repeat(np.arange(len(items), dtype=np.int64), lines))
    key = displays.gather(file_of) + "::" + col.cast(pl.String)
    df = df.with_columns(key.alias(KEY))
    spec = Spec(HERE, "csv", mapping, strict, run_col=KEY, name_col=run, id_prefix="",
                check=lambda raw, checked: _agree(raw, checked, file_of, run))
    spec.params = (mapping or {}).get("params", spec.params)  # as ingest.finish sets it
    frames = build(Table(df, lambda rows: [r + 2 for r in rows]), spec)
    if spec.warnings or frames.warnings or getattr(spec, "derived", None):
        raise Declined  # a warning names its file; a derived N or D is said file by file
    pairs = pl.DataFrame({"k": key, "f": file_of}).unique("k")
    runs, hist = frames.runs, frames.history

    def file_index(frame):
        return frame[S.RUN_ID].replace_strict(pairs["k"], pairs["f"], return_dtype=pl.Int64)

    runs_f = file_index(runs)
    if not runs_f.is_sorted():
        raise Declined
    runs = runs.with_columns(displays.gather(runs_f).alias(S.SOURCE))
    if hist.height:
        hist = (hist.with_columns(file_index(hist).alias(_F)).sort(_F, maintain_order=True)
                .drop(_F))
        hist_n = np.bincount(file_index(hist).to_numpy(), minlength=len(items))
    else:
        hist_n = np.zeros(len(items), dtype=np.int64)
    runs_n = np.bincount(runs_f.to_numpy(), minlength=len(items))
    report = frames.columns[0].replace(f"run={KEY}", f"run={run}", 1)[len(HERE):]
    out, r0, h0 = [], 0, 0
    for i, (_, display) in enumerate(items):
        rn, hn = int(runs_n[i]), int(hist_n[i])
        info = FileInfo("csv", found, f"crc32:{zlib.crc32(datas[i]):08x}", lines[i])
        out.append(Frames(runs.slice(r0, rn), hist.slice(h0, hn), [], [display + report],
                          {display: info}))
        r0, h0 = r0 + rn, h0 + hn
    return out


def _agree(raw, checked, file_of, run: str) -> None:
    """Refuse (``Declined``) a batch whose files would each decide differently: a text column
    read as numbers in the batch but not in one file alone (or the reverse, by ``coerce``'s
    rule), a column constant within every run of one file but not of another, one file with
    a row per run and another with a row per step."""
    import polars as pl

    for c, t in raw.schema.items():
        if c in (KEY, run) or t != pl.String:
            continue
        text = raw[c].str.strip_chars()
        num = text.cast(pl.Float64, strict=False)
        bad = text.is_not_null() & (text != "") & num.is_null()
        per = pl.DataFrame({_F: file_of, "ok": num.is_not_null(), "bad": bad}).group_by(_F).agg(
            pl.col("ok").sum(), pl.col("bad").sum())
        ok, no = pl.col("ok"), pl.col("bad")
        convert = ((ok > 0) & (no <= 0.1 * (ok + no))) | ((ok + no) == 0)
        if checked.schema[c] == pl.String:
            if per.select(convert.any()).item():
                raise Declined
        elif bad.any() and not per.select(convert.all()).item():
            raise Declined
    cols = [c for c in checked.columns if c not in (KEY, run)]
    per_run = checked.with_columns(file_of).group_by(KEY).agg(
        pl.col(_F).first(), pl.len().alias(_N),
        *[(pl.col(c).min() != pl.col(c).max()).fill_null(False).alias(c) for c in cols])
    per_file = per_run.group_by(_F).agg((pl.col(_N).max() == 1).alias(_N),
                                        *[pl.col(c).any() for c in cols])
    if any(n != 1 for n in per_file.select(pl.exclude(_F).n_unique()).row(0)):
        raise Declined
