"""How an API call finishes its result before returning it.

The reading's messages carried onto the result, the window and checkpoint points and the
options given recorded in its provenance, where a loaded fit came from, the bootstrap's
intervals added, ``--strict`` refusing a result with warnings, the result saved, approach 3
set beside approaches 1 and 2. Every command of :mod:`scalecli.api` finishes through these,
so a result says the same things in the same words whichever command made it.

Heavy modules are imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations


def carry(result, frames) -> None:
    """The reading's messages travel with the result: columns used as notes, skipped lines
    and files as warnings."""
    cols = [f"columns: {c}" for c in getattr(frames, "columns", ())]
    done = [n for n in getattr(frames, "notes", ()) if n not in getattr(result, "notes", [])]
    result.notes = [*cols, *done, *getattr(result, "notes", [])]
    if hasattr(frames, "runs"):
        have = set(result.warnings)
        # a ranking's warnings are its fits' (a property): the reading's get their own list
        into = getattr(result, "reading_warnings", None)
        into = result.warnings if into is None else into
        into[:0] = [w for w in frames.warnings if w not in have]


def dropped_warning(frames) -> list[str]:
    """Runs a window left out, for a result that lists no dropped runs of its own."""
    dropped = getattr(frames, "dropped", [])
    if not dropped:
        return []
    more = f" (and {len(dropped) - 5} more)" if len(dropped) > 5 else ""
    return [f"{len(dropped)} run(s) not used: {'; '.join(dropped[:5])}{more}"]


def record_window(result, window, points) -> None:
    """The window and checkpoint points, when given, in each fit's provenance."""
    for fit_ in getattr(result, "fits", [result]):
        if window:
            fit_.data["window"] = window.to_dict()
        if points is not None:
            fit_.data["points"] = points


def given(function, values: dict) -> dict:
    """The options ``function`` was given that differ from its signature's defaults: what a
    result records as its provenance, so a new option is recorded by merely being one."""
    import inspect

    from .fitting.provenance import given_options

    defaults = {k: p.default for k, p in inspect.signature(function).parameters.items()
                if p.default is not inspect.Parameter.empty}
    return given_options(values, defaults)


def provenance(result, options: dict) -> None:
    """Each fit's provenance: the options given, its data's hash, runs, versions, time."""
    from .fitting.provenance import record

    for fit_ in getattr(result, "fits", [result]):
        if hasattr(fit_, "provenance"):
            record(fit_, options)


def cited(source) -> list[str]:
    """The note saying where a loaded fit's parameters came from; none for a fit in hand."""
    if source is None or not getattr(source, "path", ""):
        return []
    from .fitting.provenance import summary

    return [summary(source, source.path)]


def uncertainty(result, budgets) -> None:
    """The allocation's intervals added to each fit that has bootstrap draws; what each
    alternative optimum implies."""
    from .analyses.uncertainty import add_derived, describe_alternatives

    for fit_ in getattr(result, "fits", [result]):
        add_derived(fit_, budgets)
        describe_alternatives(fit_, budgets)


def refuse_if_strict(result, strict: bool) -> None:
    """``--strict``: a result with any warning is refused, naming the first, instead of
    returned."""
    if strict and result.warnings:
        from .errors import StrictError

        raise StrictError(f"--strict: {result.warnings[0]}")


def save(result, path) -> None:
    """The result written to ``path`` whole or not at all (its own saved form when it has
    one, else its JSON)."""
    from .atomic import write_text

    text = result.saved_text() if hasattr(result, "saved_text") else result.to_json() + "\n"
    write_text(path, text)


def with_approach3(result, frames, budgets, mapping, wanted: bool, strict: bool):
    """Approach 3's exponents beside an approach 1 or 2 result (when ``wanted``), then the
    result finished as every other: the reading's messages carried, ``strict`` applied."""
    from .analyses.approaches import approach3

    result.approach3 = approach3(frames, budgets, mapping=mapping) if wanted else None
    carry(result, frames)
    refuse_if_strict(result, strict)
    return result
