"""What an API call reads: its arguments made into what the analyses take.

The runs (from paths, a store, Frames or Points; the runs selected, their curves windowed),
the store a call finds without being told, one law's fit settings, column maps, fixed
values, seeds, quantities, budgets and bootstrap options, a saved fit named by path, and the
options refused before anything is read. Every command of :mod:`scalecli.api` reads its
arguments through these, so the same option means the same thing, and is refused in the
same words, whichever command is given it.

Heavy modules (polars, the pipeline, the analyses) are imported inside the functions: importing
this module costs nothing, so ``scalecli --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path


def frames(data, store, reader, mapping, strict, need=("N", "D"), select=None, window=None,
           experiment=None, listing=False):
    """The runs: given Frames or Points as they are, else read from paths and/or a store;
    then only those ``select`` (a :class:`~scalecli.selection.Selection`) keeps, their curves
    cut to ``window`` (a :class:`~scalecli.windows.Window`)."""
    import dataclasses

    from .ingest import Frames
    from .pipeline import load
    from .reduce import Points

    if isinstance(data, (Frames, Points)):
        frames = data
    else:
        paths = [] if data is None else [data] if isinstance(data, (str, Path)) else list(data)
        found = found_store() if not paths and store is None else None
        frames = load(*paths, store=found[0] if found else store, reader=reader,
                      mapping=mapping, strict=strict, need=need, experiment=experiment,
                      listing=listing)
        if found:
            frames.notes = [found[1], *frames.notes]
    if select and isinstance(frames, Frames):
        from .selection import select_runs

        frames, notes = select_runs(frames, select)
        frames = dataclasses.replace(frames, notes=[*frames.notes, *notes])
    if window and isinstance(frames, Points):
        from .errors import ConfigError

        raise ConfigError(f"{window.describe()} cuts runs' curves: give the runs (paths or "
                          "Frames), not points already reduced")
    if window and isinstance(frames, Frames):
        from .windows import apply_window

        frames = apply_window(frames, window)
    return frames


STORE_ENV = "SCALECLI_STORE"


def found_store() -> tuple[Path, str] | None:
    """The store a command given no paths and no ``--store`` reads, and a note saying so:
    the directory named by ``$SCALECLI_STORE``, else ``.scalecli`` in the working directory."""
    import os

    from .errors import StoreError
    from .store import Store

    env = os.environ.get(STORE_ENV)
    if env:
        if not Store(env).exists():
            raise StoreError(f"{env}: no scalecli store here (named by ${STORE_ENV}; "
                             f"scalecli ingest LOGS --store {env} makes one)")
        return Path(env), f"store: {env} (from ${STORE_ENV})"
    here = Path(".scalecli")
    if Store(here).exists():
        return here, f"store: {here.resolve()} (found in the working directory)"
    return None


def window(min_step=None, min_tokens=None, max_tokens=None, *, base=None):
    """The window on curves from the options (numbers or text with units) over a config's."""
    from .windows import as_window

    return as_window(min_step, min_tokens, max_tokens, base=base)


def single_points(points, instead: str) -> None:
    """--law all holds out whole runs: checkpoint points are for one law's fit."""
    from .windows import parse_points

    if parse_points(points).multi:
        from .errors import ConfigError

        raise ConfigError(f"--points {points} with --law all: the ranking holds out runs, each "
                          f"one point ({instead})")


def selection(include_runs, exclude_runs, where=None):
    """The runs to keep from the name patterns and ``where`` filters given (see
    :mod:`scalecli.selection`), one object every command applies and records alike."""
    from .selection import as_selection

    return as_selection(include_runs, exclude_runs, where)


def config_selection(spec):
    """The selection a config's ``select:`` section makes (empty when it has none)."""
    from .selection import Selection

    return getattr(spec, "select", None) or Selection()


def one_law(law, config, options: dict, maps, data, store, reader, strict, select=None,
            bounds=None, points=None, experiment=None, curve=None):
    """One law's fit settings (:func:`~scalecli.pipeline.fit_spec` with ``options``; the
    window ``bounds`` and ``points`` given override the config's), the columns it maps, and
    the runs read with the columns it needs."""
    from .pipeline import fit_spec, roles_needed

    spec = fit_spec(law, config, **options)
    if points is not None:
        from .windows import parse_points

        parse_points(points)  # a bad --points is refused before any log is read
        spec.points = points
    if curve:  # --skip-fraction, --smooth, --anchor over the config's data section
        from .curvepoints import check_skip, parse_anchor, parse_smooth

        check_skip(curve.get("skip_fraction"))
        parse_smooth(curve.get("smooth"))
        parse_anchor(curve.get("anchor"), spec.law)
        for key, value in curve.items():
            if value is not None:
                setattr(spec, key, value)
    maps = {**spec.mapping, **maps}
    select = config_selection(spec) + (select or selection(None, None))
    runs = frames(data, store, reader, maps, strict, experiment=experiment,
                  need=roles_needed(spec.law.variables.values()), select=select,
                  window=window(**(bounds or {}), base=spec.window))
    return spec, maps, runs


def check_bootstrap(bootstrap, ci, flops) -> list[float]:
    """The bootstrap options checked before any fitting; the budgets of ``flops``."""
    from .errors import ConfigError
    from .fitting.bootstrap import check_options

    check_options(1 if bootstrap is None else bootstrap, ci)  # --ci is checked even alone
    if bootstrap is None and flops is not None:
        raise ConfigError("--flops in fit gives the intervals of N_opt, D_opt and loss at "
                          "those budgets: it needs --bootstrap")
    if isinstance(flops, str):
        from .analyses.allocation import parse_budgets

        return parse_budgets(flops, 5)
    return [] if flops is None else [flops] if isinstance(flops, (int, float)) else list(flops)


def one_law_only(config, fixed, breaks, done: str, instead: str) -> None:
    """--config, --fix and --breaks describe one law: refused with --law all."""
    for given, option in ((config, "--config"), (fixed, "--fix"), (breaks, "--breaks")):
        if given:
            from .errors import ConfigError

            raise ConfigError(f"{option} describes one law; with --law all every law is {done} "
                              f"with its own settings (drop it, or {instead})")


def fit_source(source):
    """A saved fit named by path, read once here (its path kept) for everything that uses it;
    a FitResult or None (published defaults) as given."""
    if isinstance(source, (str, Path)):
        from .fitting import FitResult

        return FitResult.load(source)
    return source


def mapping(mapping) -> dict[str, str]:
    """Columns by role, from ``"N=params,D=tokens"`` text or a dict: the command line's text
    and a notebook's dict mean the same map."""
    if isinstance(mapping, str) or mapping is None:
        from .schema import parse_mapping

        return parse_mapping(mapping)
    return dict(mapping)


# options of optimal that hold sizes, tokens or a loss, and the flag each is typed as
OPTIMAL_QUANTITIES = {"max_tokens": "--max-tokens", "unique_tokens": "--unique-tokens",
                      "target_loss": "--target-loss", "inference_tokens": "--inference-tokens",
                      "n_params": "--n", "tokens": "--tokens"}


def quantities(values: dict, flags: dict[str, str]) -> dict[str, float | None]:
    """Those of ``values`` named in ``flags`` as numbers: text read with its unit suffix
    (``"2.5B"``), refused naming the flag when it is not a finite number."""
    from .pairs import finite_number

    out = {}
    for key, flag in flags.items():
        value = values.get(key)
        if value is not None and not isinstance(value, (int, float)):
            value = finite_number(value, flag)
        if key in values:
            out[key] = value
    return out


def fixed(fixed) -> dict[str, float]:
    """Parameters held fixed, from ``"E=1.69"`` text or a dict, refused as ``--fix`` when
    the text does not read."""
    if isinstance(fixed, str) or fixed is None:
        from .pairs import parse_numbers

        return parse_numbers(fixed, "--fix")
    return dict(fixed)


def seed(seed) -> int | None:
    """The seed of the extra starts and resamples, refused before any work unless it is a
    whole number numpy accepts (None: the config's, or the analysis's own default)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        from .errors import ConfigError

        raise ConfigError(f"--seed must be a whole number from 0 to 2**32 - 1, got {seed}")
    return seed
