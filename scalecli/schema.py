"""The two normalized frames every reader returns, and the column names that resolve to them.

``runs``: one row per run. ``history``: long form, one row per logged (run, step, metric).
Nothing downstream of a reader knows which file format a frame came from.
"""

from __future__ import annotations

# --- the runs frame -------------------------------------------------------------------------
# Fixed leading columns, in this order; a reader may add final metrics (e.g. ``loss``,
# ``eval/loss``) and config values (``lr``, ``n_layers``...) as further columns.
RUN_ID = "run_id"  # stable: "<source file>::<name>" or "wandb:<id>"
NAME = "name"  # what the user calls the run
SOURCE = "source"  # the file the run was read from
FORMAT = "format"  # the reader that read it
N = "n_params"  # N, parameters
D = "tokens"  # D, total tokens trained (final)
C = "flops"  # C, training compute
C_DERIVED = "flops_derived"  # True where C = 6·N·D was computed, not logged

# Present only where N or D was worked out from the config (see ingest.derive): the rule used.
N_DERIVED = "n_params_derived"
D_DERIVED = "tokens_derived"

RUN_COLUMNS = (RUN_ID, NAME, SOURCE, FORMAT, N, D, C, C_DERIVED)

# On a fit's points only: True on a point the user added (``--anchor``), not a logged run's.
# A bootstrap keeps it, once, in every resample instead of drawing it as if it were a run.
FIXED_POINT = "fixed_point"

# --- the history frame ----------------------------------------------------------------------
STEP = "step"
METRIC = "metric"
VALUE = "value"
LR = "lr"
BATCH_SIZE = "batch_size"
HISTORY_COLUMNS = (RUN_ID, STEP, D, METRIC, VALUE)

# --- names found in the wild ----------------------------------------------------------------
# role -> accepted column names, most specific first. Matching is case-insensitive.
# ``--map ROLE=column`` and a config's ``columns:`` override these.
ALIASES: dict[str, tuple[str, ...]] = {
    "run": ("run", "run_name", "name", "run_id", "id", "experiment", "model"),
    "N": (
        "n_params", "params", "num_params", "n_parameters", "num_parameters", "parameters",
        "model_size", "model size", "model/n_params", "model/num_params", "config/n_params",
        "nparams", "N",
    ),
    "D": (
        "tokens", "total_tokens", "tokens_seen", "num_tokens", "n_tokens", "train_tokens",
        "tokens_trained", "train/tokens", "trainer/tokens", "dataset_tokens", "D",
    ),
    "C": (
        "flops", "training_flops", "training flop", "train_flops", "compute", "total_flops",
        "C",
    ),
    "step": ("step", "_step", "global_step", "iteration", "iter", "trainer/global_step"),
    "loss": (
        "loss", "eval/loss", "val/loss", "valid/loss", "validation/loss", "eval_loss",
        "val_loss", "validation_loss", "test/loss", "train/loss", "train_loss", "final_loss",
    ),
    "lr": ("lr", "learning_rate", "train/lr", "optim/lr"),
    "batch_size": ("batch_size", "global_batch_size", "train/batch_size"),
}

# Roles a user may name on the command line: ``--map N=params``.
ROLE_NAMES = {
    "n": "N", "n_params": "N", "params": "N",
    "d": "D", "tokens": "D",
    "c": "C", "flops": "C",
    "loss": "loss", "y": "loss", "target": "loss",
    "run": "run", "name": "run",
    "step": "step", "lr": "lr", "batch_size": "batch_size",
}


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse ``N=my_col,D=tokens_seen,loss=eval/loss`` into ``{"N": "my_col", ...}``.

    Keys are roles (N, D, C, loss, run, step, lr, batch_size); values are column names. N, D
    and C may be scaled: ``N=params_m*1e6`` or ``N=params_m*1M`` reads params_m times a
    million, ``D=tokens_k/1e-3`` divides (see :func:`split_scale`).
    """
    from .errors import ConfigError, clip
    from .pairs import parse_pairs

    out: dict[str, str] = {}
    for key, col in parse_pairs(text, "--map", example="ROLE=column (e.g. N=params)").items():
        if key.lower() in SETTINGS:  # how to read, not a column: params=non-embedding
            if col.lower() not in SETTINGS[key.lower()]:
                raise ConfigError(f"--{key.lower()} {clip(col)!r}: use "
                                  + " or ".join(SETTINGS[key.lower()]))
            out[key.lower()] = col.lower()
            continue
        role = ROLE_NAMES.get(key.lower())
        if role is None:
            raise ConfigError(
                f"--map: unknown role {clip(key)!r}; roles are N, D, C, loss, run, step, lr, "
                "batch_size"
            )
        if role in out:
            raise ConfigError(f"--map: role {role} is given twice")
        check_scale(role, col, "--map")
        out[role] = col
    return out


# Keys of a mapping that say how to read rather than which column plays a role: which
# parameters an N derived from the config counts (``--params``, see ingest.derive).
SETTINGS: dict[str, tuple[str, ...]] = {"params": ("total", "non-embedding")}

SCALED_ROLES = ("N", "D", "C")  # the sizes people log in millions or billions


def split_scale(value: str, columns: list[str] | None = None,
                label: str = "--map ") -> tuple[str, float]:
    """``"params_m*1e6"`` -> ``("params_m", 1e6)``; ``"tokens_b/1e-9"`` -> ``("tokens_b",
    1e9)``; a value with no ``*NUMBER`` or ``/NUMBER`` tail (``model/n_params``), or that is
    itself one of ``columns``, is the column unscaled. ConfigError for a zero, negative or
    infinite factor."""
    import math
    import re

    from .units import UnitError, parse_quantity

    if columns is not None and value.lower() in {c.lower() for c in columns}:
        return value, 1.0
    m = re.match(r"^(.*?)\s*([*/])\s*([^*/]+?)\s*$", value)
    if not m or not m.group(1):
        return value, 1.0
    column, op, number = m.groups()
    try:
        factor = parse_quantity(number)
    except (UnitError, OverflowError):
        if op == "/":  # model/n_params: a name with a slash, not a division
            return value, 1.0
        from .errors import ConfigError, clip

        raise ConfigError(f"{label}{clip(value)}: {clip(number)!r} is not a number to scale "
                          "by (e.g. params_m*1e6 or params_m*1M)") from None
    if not math.isfinite(factor) or factor <= 0:
        from .errors import ConfigError, clip

        raise ConfigError(f"{label}{clip(value)}: the scale must be a positive number")
    return column, factor if op == "*" else 1.0 / factor


def check_scale(role: str, value: str, option: str) -> None:
    """A scale (``col*1e6``) is for N, D and C only; any other role's value is a column."""
    factor = split_scale(value, label=f"{option} {role}=")[1]
    if factor != 1.0 and role not in SCALED_ROLES:
        from .errors import ConfigError, clip

        raise ConfigError(f"{option} {role}={clip(value)}: only N, D and C can be scaled "
                          "(e.g. N=params_m*1e6)")


def resolve(role: str, columns: list[str], mapping: dict[str, str] | None = None) -> str | None:
    """The column of ``columns`` that plays ``role``: the mapped one, else the first alias found."""
    if mapping and role in mapping:
        want = split_scale(mapping[role], columns)[0]
        if want in columns:
            return want
        lower = {c.lower(): c for c in columns}
        return lower.get(want.lower())
    lower = {c.lower(): c for c in columns}
    for alias in ALIASES.get(role, ()):
        hit = lower.get(alias.lower())
        if hit is not None:
            return hit
    return None
