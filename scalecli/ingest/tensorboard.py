"""TensorBoard event files: one run per folder (see :mod:`.tbdirs`), read with the tensorboard
package's own record reader and protobufs (the ``tensorboard`` extra; no TensorFlow).

- Scalars: ``simple_value`` (tensorboardX, ``torch.utils.tensorboard``, TF1) and scalar tensors
  of dtype float or double (TF2's ``tf.summary.scalar``, torch's ``new_style``) go to the
  history, one column per tag, one row per step. A step logged twice keeps the later value
  (a restarted run's later file wins).
- Hparams: the hparams plugin's ``_hparams_/session_start_info`` becomes constant columns, so
  they end in the run's config.
- Scalars are 32-bit floats (``tokens_seen`` = 60000043008 is stored as the nearest float32),
  so N is taken from the hparams when they have it, and D is ``step × batch × seq_len`` when
  the hparams give both and that product agrees with the logged token counter to float32
  precision; the column report says which was used.
- A file cut in the middle of a record, a record failing its CRC, or a run with no scalar is a
  :class:`~scalecli.errors.DamagedSource` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .. import schema as S
from ..errors import DamagedSource, InputError, clip
from . import DEFAULT, Frames, ReadOptions, finish
from .cells import lines_text
from .shape import Spec, build
from .tabular import Table
from .tbdirs import members, run_name

INSTALL = "pip install 'scalecli[tensorboard]'"
RUN, STEP = "(run folder)", "step"  # columns this reader adds; a tag or hparam so named is renamed
BATCH = ("global_batch_size", "batch_size", "train_batch_size", "total_batch_size")
SEQ = ("seq_len", "seq_length", "sequence_length", "max_seq_len", "max_seq_length",
       "block_size", "context_length", "n_ctx", "max_position_embeddings")
PRODUCT = "step×batch×seq_len"  # the name of the exact D column, as the report shows it


def _library():
    """The tensorboard modules used, or one line saying what to install."""
    try:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
        from tensorboard.plugins.hparams import plugin_data_pb2
    except ImportError:
        return None
    return event_pb2, errors, pywrap_tensorflow.PyRecordReader_New, plugin_data_pb2


class _Run:
    """What the event files of one run hold: flat (tag, step, value) lists and the hparams."""

    def __init__(self):
        self.tags: list[str] = []
        self.steps: list[int] = []
        self.values: list[float] = []
        self.hparams: dict[str, object] = {}
        self.plugin: dict[str, str] = {}  # tag -> plugin named by its first metadata


def _read(file: Path, shown: str, lib, run: _Run) -> None:
    event_pb2, errors, record_reader, plugin_data_pb2 = lib
    parse = event_pb2.Event.FromString
    tags, steps, values, plugin = run.tags, run.steps, run.values, run.plugin
    try:
        reader = record_reader(str(file).encode(), 0, b"", None)
    except (errors.OpError, OSError) as exc:
        raise InputError(f"cannot be read ({exc})", shown) from None
    n = 0
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            break
        except errors.DataLossError as exc:
            cut = "truncated" in str(exc)
            if n == 0 and not cut:
                raise DamagedSource("not a TensorBoard event file (its first record fails the "
                                    "checksum)", shown) from None
            what = "cut in the middle of record" if cut else "checksum (CRC) mismatch in record"
            raise DamagedSource(f"damaged event file: {what} {n + 1} (after {n} whole "
                                "records)", shown) from None
        n += 1
        try:
            event = parse(reader.record())
        except Exception as exc:  # noqa: BLE001 (protobuf's DecodeError has no stable home)
            raise DamagedSource(f"damaged event file: record {n} is not an Event ({exc})",
                                shown) from None
        if not event.HasField("summary"):
            continue
        for v in event.summary.value:
            tag = v.tag
            if tag not in plugin and v.HasField("metadata"):
                plugin[tag] = v.metadata.plugin_data.plugin_name
            name = plugin.get(tag, "")
            if name == "hparams":
                if tag == "_hparams_/session_start_info":
                    _hparams(v.metadata.plugin_data.content, plugin_data_pb2, run)
                continue
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                x = v.simple_value
            elif kind == "tensor" and name in ("scalars", ""):
                x = _scalar(v.tensor)
                if x is None:
                    continue
            else:
                continue
            tags.append(tag)
            steps.append(event.step)
            values.append(x)


def _scalar(t) -> float | None:
    """A float or double tensor holding one value (any shape of size 1), else None."""
    if t.dtype not in (1, 2) or any(d.size != 1 for d in t.tensor_shape.dim):
        return None  # 1 = DT_FLOAT, 2 = DT_DOUBLE
    if t.tensor_content:
        arr = np.frombuffer(t.tensor_content, dtype="<f4" if t.dtype == 1 else "<f8")
        return float(arr[0]) if arr.size == 1 else None
    vals = t.float_val if t.dtype == 1 else t.double_val
    return float(vals[0]) if len(vals) == 1 else None


def _hparams(content: bytes, plugin_data_pb2, run: _Run) -> None:
    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    for key, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        if kind in ("number_value", "string_value", "bool_value"):
            run.hparams[key] = getattr(value, kind)


def read_tensorboard(path: Path, display: str, mapping=None, strict=False,
                     opts: ReadOptions = DEFAULT) -> Frames:
    """One run: the event files of a run folder (or one event file given by name)."""
    lib = _library()
    if lib is None:
        raise InputError("reading TensorBoard event files needs the tensorboard package: "
                         f"{INSTALL}", display)
    files = members(path)
    run = _Run()
    for f in files:
        _read(f, _shown(f, path, display), lib, run)
    if not run.values:
        what = "its event file has" if len(files) == 1 else f"its {len(files)} event files have"
        raise DamagedSource(f"no scalars: {what} no scalar summary", display)
    name = run_name(path)
    wide, warnings, note = _wide(run, name, display, mapping)
    table = Table(wide, lambda idx: [None] * len(idx), None, warnings)
    auto = dict(note.pop("map"))
    spec = Spec(display, "tensorboard", {**auto, **(mapping or {})}, strict, run_col=RUN,
                shape="steps")
    frames = finish(table, spec, build, opts)
    frames.columns[-1] += "; " + "; ".join(note["say"])
    return frames


def _shown(file: Path, path: Path, display: str) -> str:
    return display if file == path else str(Path(display) / file.relative_to(path))


def _wide(run: _Run, name: str, display: str, mapping) -> tuple:
    """One row per step: a column per tag (the later value of a step logged twice), the hparams
    as constant columns; and the roles N and D chosen for float32's sake (see the docstring)."""
    long = pl.DataFrame({"tag": run.tags, STEP: run.steps, "value": run.values},
                        schema={"tag": pl.String, STEP: pl.Int64, "value": pl.Float64})
    long, warnings = _finite(long, display)
    if not long.height:
        raise DamagedSource(f"no scalars: all {len(run.values)} logged values are NaN or "
                            "infinite", display)
    long = long.unique(["tag", STEP], keep="last", maintain_order=True)
    wide = long.pivot(on="tag", index=STEP, values="value").sort(STEP)
    tags = [c for c in wide.columns if c != STEP]
    rename = {t: f"scalar/{t}" for t in tags if t in (RUN, STEP) or t in run.hparams}
    wide = wide.rename(rename)
    tags = [rename.get(t, t) for t in tags]
    hp = {(f"hparams/{k}" if k in (RUN, STEP) else k): v for k, v in run.hparams.items()}
    wide = wide.with_columns(pl.lit(name).alias(RUN),
                             *[pl.lit(v).alias(k) for k, v in hp.items()])
    note = {"map": {}, "say": ["scalars are float32"]}
    mapping = mapping or {}
    if "N" not in mapping:
        _size(hp, tags, note)
    if "D" not in mapping:
        wide = _tokens(wide, hp, tags, note)
    return wide, warnings, note


def _finite(long: pl.DataFrame, display: str) -> tuple[pl.DataFrame, list[str]]:
    """NaN/inf scalars (a diverged step) are dropped, one warning per tag naming its steps
    (``finish`` refuses them under --strict)."""
    bad = long.filter(~pl.col("value").is_finite())
    if not bad.height:
        return long, []
    warnings = []
    for (tag,), grp in bad.group_by("tag", maintain_order=True):
        steps = grp[STEP].to_list()
        many = "s" if len(steps) > 1 else ""
        warnings.append(f"{display}: dropped {len(steps)} non-finite {clip(tag)} value{many} "
                        f"(step{many} {lines_text(steps[:8], len(steps))})")
    return long.filter(pl.col("value").is_finite()), warnings


def _size(hp: dict, tags: list[str], note: dict) -> None:
    """N from the hparams (exact) before a scalar tag (float32)."""
    numbers = [k for k, v in hp.items() if isinstance(v, float)]
    col = S.resolve("N", numbers)
    if col:
        note["map"]["N"] = col
        note["say"].append(f"N from the hparams ({col}, exact)")
    elif col := S.resolve("N", tags):
        note["say"].append(f"N from the scalar {col} (float32: ~7 significant digits)")


def _tokens(wide: pl.DataFrame, hp: dict, tags: list[str], note: dict) -> pl.DataFrame:
    """D: the logged counter, or step × batch × seq_len from the hparams when that product
    agrees with the counter at every logged step to float32 precision (then it is exact)."""
    counter = S.resolve("D", tags)
    batch = next((k for k in BATCH if isinstance(hp.get(k), float)), None)
    seq = next((k for k in SEQ if isinstance(hp.get(k), float)), None)
    if batch and seq:
        product = pl.col(STEP).cast(pl.Float64) * (hp[batch] * hp[seq])
        if counter is None:
            note["map"]["D"] = PRODUCT
            note["say"].append(f"no token counter logged: D = step × {batch} × {seq}")
            return wide.with_columns(product.alias(PRODUCT))
        logged = wide.select(product.alias("p"), pl.col(counter).alias("c")).drop_nulls()
        p32 = logged["p"].to_numpy().astype(np.float32)
        if logged.height and bool((p32 == logged["c"].to_numpy()).all()):
            note["map"]["D"] = PRODUCT
            note["say"].append(f"D = step × {batch} × {seq} (exact; agrees with the float32 "
                               f"counter {counter} at all {logged.height} logged steps, which "
                               "it replaces)")
            return wide.with_columns(product.alias(PRODUCT)).drop(counter)
        note["say"].append(f"D from the float32 counter {counter} (step × {batch} × {seq} "
                           "does not match it)")
    elif counter:
        note["say"].append(f"D from the float32 counter {counter}")
    if counter:
        note["map"]["D"] = counter
    return wide
