"""Two-step predictions that know their first step: a step-2 fit (accuracy from task loss) made
with ``fit --step1 step1.json`` records which step-1 fit (loss from N and D) and which target
its variable is, and ``predict --fit A --then B`` refuses to chain B after any fit but the one
B expects.

A fit is identified by its law, variables, target and parameters (a SHA-256 of them): a
step-1 fit saved again, or copied, is the same fit; refitted to other data, it is not.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import ConfigError, InputError, clip


def identity(fit) -> str:
    """The first 16 hex digits of the SHA-256 of the fit's law, variables, target and
    parameters (JSON, sorted keys, floats as Python writes them back exactly)."""
    doc = {"law": fit.law, "variables": dict(fit.variables), "target": fit.target,
           "params": {k: float(v) for k, v in fit.params.items()}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def expect_step1(path: str | Path, result) -> dict:
    """What ``result`` (a fit of one variable) records of the step-1 fit at ``path`` whose
    predictions its variable is; refuses a step 1 fitted to another column than that
    variable's."""
    from .fitting import FitResult

    step1 = FitResult.load(path)
    if len(result.variables) != 1:
        raise ConfigError(f"--step1 {path}: a step-2 law has one variable, the step-1 "
                          f"prediction; {result.law} has {', '.join(result.variables)}")
    ((symbol, column),) = result.variables.items()
    if column != step1.target:
        raise ConfigError(f"--step1 {path}: it was fitted to {clip(step1.target, 80)!r}, but "
                          f"this fit's {symbol} is {clip(column, 80)!r} (give --x "
                          f"{clip(step1.target, 80)!r})")
    data = (getattr(step1, "provenance", None) or {}).get("data", {})
    return {"fit": str(path), "law": step1.law, "target": step1.target, "variable": symbol,
            "identity": identity(step1), "data_hash": data.get("hash")}


def check_chain(source, thens) -> None:
    """Each ``--then`` fit that records a step 1 follows that very fit (see :func:`identity`);
    otherwise one line naming both."""
    prev = source
    for then in thens:
        want = (getattr(then, "data", None) or {}).get("step1")
        if want:
            where = getattr(then, "path", "") or then.law
            keys = ("fit", "law", "target", "identity")
            if not isinstance(want, dict) or not all(isinstance(want.get(k), str) for k in keys):
                raise InputError(f"--then {where}: its data.step1 is not what fit --step1 "
                                 f"records ({', '.join(keys)}, as text): refit step 2 with "
                                 "--step1, or remove data.step1 to chain it unchecked")
            if prev is None:
                raise ConfigError(f"--then {where}: it was fitted on the predictions of "
                                  f"{want['fit']} ({want['law']} on {clip(want['target'], 60)!r}); "
                                  f"give that fit as --fit, not published values")
            got = identity(prev)
            if got != want["identity"]:
                shown = getattr(prev, "path", "") or prev.law
                raise ConfigError(
                    f"--then {where}: it was fitted on the predictions of {want['fit']} "
                    f"({want['law']} on {clip(want['target'], 60)!r}, fit {want['identity']}), "
                    f"not of {shown} ({prev.law} on {clip(prev.target, 60)!r}, fit {got}): "
                    "chain the step-1 fit it names, or refit step 2 with --step1")
        prev = then
