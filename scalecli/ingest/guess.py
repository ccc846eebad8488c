"""Guess which column plays which role in files the alias table does not know (``scalecli
init``): the alias table (:func:`scalecli.schema.resolve`, via ``shape.resolve_roles``) decides
first; only a role it leaves open is guessed from words in the column names (``param``,
``token``, ``flop``, ``loss``...) and checked against the values (a model size is a positive
number of at least 10^4; a loss is a positive number; a run name is text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import schema as S

ROLES = ("run", "N", "D", "C", "loss", "step", "lr", "batch_size")

# role -> words that, found in a column name, suggest it (checked in this order)
WORDS: dict[str, tuple[str, ...]] = {
    "N": ("param", "nparam", "model_size", "modelsize", "size"),
    "D": ("token", "tok", "data_size", "dataset_size", "samples_seen"),
    "C": ("flop", "compute"),
    "loss": ("loss", "nll", "xent", "cross_entropy", "perplexity", "ppl"),
    "step": ("step", "iter", "update"),
    "lr": ("learning_rate", "lr"),
    "batch_size": ("batch",),
    "run": ("run", "name", "experiment", "exp", "model", "id"),
}


@dataclass
class Guess:
    """One file's roles: ``found`` by the alias table, ``guessed`` from names and values (these
    need a ``map:`` entry), the ``config`` columns left over, and the reader that reads it."""

    display: str
    reader: str
    found: dict[str, str] = field(default_factory=dict)
    guessed: dict[str, str] = field(default_factory=dict)
    config: list[str] = field(default_factory=list)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def _mentions(name: str, word: str) -> bool:
    low = name.lower()
    if "_" in word or len(word) > 3:
        return word in low
    return word in _words(name)  # short words (lr, tok, id) only as whole words


def _fits(role: str, series) -> bool:
    """Whether a column's values can play ``role``."""
    import polars as pl

    if role == "run":
        return series.dtype == pl.String
    values = series.cast(pl.Float64, strict=False).drop_nulls()
    if values.len() == 0 or values.len() < 0.5 * series.drop_nulls().len():
        return False
    low, high = values.min(), values.max()
    if role in ("N", "D", "C"):
        return low > 0 and high >= 1e4
    if role == "loss":
        return low > 0
    if role == "step":
        return low >= 0 and bool((values == values.round(0)).all())
    return low >= 0


def guess_roles(df, display: str, reader: str) -> Guess:
    """The roles of one wide table's columns (see the module docstring)."""
    from .shape import Spec, lossy, resolve_roles

    cols = list(df.columns)
    spec = Spec(display, reader, need_n=False, need_d=False)
    found = {r: c for r, c in resolve_roles(cols, spec).items() if c}
    loss = S.resolve("loss", cols)
    if loss:
        found["loss"] = loss
    guess = Guess(display, reader, found=found)
    taken = set(found.values())
    for role in ROLES:
        if role in found:
            continue
        for word in WORDS[role]:
            hit = next((c for c in cols if c not in taken and _mentions(c, word)
                        and _fits(role, df[c])), None)
            if hit is not None:
                guess.guessed[role] = hit
                taken.add(hit)
                break
    used = taken
    guess.config = [c for c in cols if c not in used and not lossy(c)]
    return guess


TIDY = ("csv", "jsonl", "parquet", "arrow")  # readers of a user's own columns (guessed)


def guess_file(path: Path, display: str, reader: str) -> Guess:
    """A tidy file's roles; a W&B export's layout is its reader's to know (nothing guessed)."""
    if reader not in TIDY:
        return Guess(display, reader)
    from . import detect
    from .columnar import read_columnar
    from .compressed import plain
    from .jsonl import read_jsonl
    from .tabular import read_csv

    with plain(path, display) as text:  # a .csv.gz: its text
        table = (read_csv(text, display, detect.separator(text)) if reader == "csv"
                 else read_jsonl(text, display) if reader == "jsonl"
                 else read_columnar(text, display, reader))
    return guess_roles(table.df, display, reader)


def guess_paths(paths: list, reader: str | None = None) -> list[Guess]:
    """Every log file under ``paths`` (walked and sniffed as ingest does), guessed."""
    from . import expand

    return [guess_file(p, d, r) for p, d, r in expand(list(paths), reader)]
