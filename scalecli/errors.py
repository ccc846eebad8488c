"""The one error boundary: library code raises these, the CLI prints them as one line, exit 1.

Every message names where the problem is (file, line, run) and what the user can do about it,
because the person reading it is looking at a terminal, not at our source.
"""

from __future__ import annotations


class ScaleCLIError(Exception):
    """Base of every user-facing error; its ``str`` is the one line the CLI prints (control
    characters quoted from the input, such as a line break in a header cell, print escaped)."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class InputError(ScaleCLIError):
    """A log file or path that cannot be read as asked (missing, unknown format, bad cell)."""

    def __init__(self, message: str, path: object = None, line: int | None = None,
                 unit: str = "line"):
        self.path = str(path) if path is not None else None
        self.line = line
        where = ""
        if self.path:
            where = f"{self.path}: " if line is None else (
                f"{self.path}:{line}: " if unit == "line" else f"{self.path}: {unit} {line}: ")
        super().__init__(where + message)


class ColumnError(InputError):
    """A column the analysis needs is absent; the message lists the columns found."""


class StrictError(InputError):
    """Something that is only a warning by default, refused because ``--strict`` was given."""


class DamagedSource(InputError):
    """A log that cannot be read to the end (a truncated ``.wandb`` or event file, a run with no
    history, a compressed file cut short): in a sweep it is skipped with its path and reason
    (refused under ``--strict``), so one dead run does not stop the ingest of a thousand."""


class StoreError(ScaleCLIError):
    """The Parquet store is missing, locked by another ingest, or damaged."""


class ConfigError(ScaleCLIError):
    """A YAML config or command-line option that does not describe a valid law or fit."""


class UnknownLawError(ConfigError, KeyError):
    """A law name that is not registered; the message lists the registered names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class FitError(ScaleCLIError):
    """Data that cannot identify the law (too few points, one model size) or a fit that failed."""


_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(32), *range(127, 160)]}
_CONTROLS.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def one_line(text: str) -> str:
    """``text`` with its control characters escaped (a newline as ``\\n``): a message quoting a
    header cell or a value that holds a line break still prints as the one line it is."""
    return text.translate(_CONTROLS)


def clip(value: object, limit: int = 40) -> str:
    """``value`` as text for a message, cut to ``limit`` characters: an error never echoes a
    400-digit number or a megabyte line whole."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}… ({len(text)} characters)"
