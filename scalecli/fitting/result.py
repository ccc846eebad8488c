"""A fit as an object: parameters, goodness, provenance; it renders, saves and reloads itself.

The JSON written by :meth:`FitResult.save` (and printed by ``scalecli fit --format json``) is a
stable contract: ``law``, ``params`` (name -> value, named as in the formula), ``objective``,
``rmse_log``, ``r2``, ``n_points``, ``n_runs``, ``converged``, then details (``seeds`` where
runs repeat an (N, D), ``residuals`` when asked for). Loading it needs only the standard
library, so ``optimal`` and ``predict`` start fast.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

FORMAT_VERSION = 3  # 2: bootstrap intervals, se and draws; 3: provenance


@dataclass
class FitResult:
    law: str
    params: dict[str, float]
    objective: float = float("nan")
    rmse_log: float = float("nan")
    r2: float = float("nan")
    n_points: int = 0
    n_runs: int = 0
    converged: bool = False
    formula: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    target: str = "loss"
    fixed: dict[str, float] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)  # objective spec, starts, optimizer status
    data: dict[str, Any] = field(default_factory=dict)  # reduction, hash, dropped runs
    warnings: list[str] = field(default_factory=list)  # what may be wrong: --strict refuses
    notes: list[str] = field(default_factory=list)  # what was done (a scaling, a sample)
    version: str = ""
    intervals: dict[str, list[float]] = field(default_factory=dict)  # name -> [low, high]
    se: dict[str, float] = field(default_factory=dict)  # name -> bootstrap standard error
    bootstrap: dict[str, Any] = field(default_factory=dict)  # resamples, ci, seed, failed, moved
    draws: Any = None  # bootstrap draws (fitting.bootstrap.Draws), saved compactly
    covariance: dict[str, Any] = field(default_factory=dict)  # lack-of-fit (fitting.covariance)
    alternatives: list[dict[str, Any]] = field(default_factory=list)  # other near-best optima
    points: Any = None  # the fitted points (polars DataFrame), not saved
    seeds: dict[str, Any] | None = None  # runs repeating an (N, D): their spread (fitting.seeds)
    residuals: list[dict[str, Any]] | None = None  # one row per run, when asked for
    provenance: dict[str, Any] = field(default_factory=dict)  # fitting.provenance; {} before v3
    path: str = ""  # the file it was loaded from, not saved

    # ---- use ------------------------------------------------------------------------------
    def law_object(self):
        """The law this fit is of: the registered law (with the columns the fit used), or, for
        a custom formula, the law rebuilt from the saved formula."""
        import dataclasses

        from ..errors import UnknownLawError
        from ..laws import get_law

        try:
            law = get_law(self.law)
        except UnknownLawError:
            if not self.formula:
                raise
            law = None
        if law is None or (self.formula and "".join(self.formula.split())
                           != "".join(law.formula.split())):
            from ..laws.custom import law_from_fit

            return law_from_fit(self.law, self.formula, self.variables, self.params)
        if self.variables and set(self.variables) == set(law.variables) and (
                self.variables != law.variables):
            law = dataclasses.replace(law, variables=dict(self.variables))
        return law

    def predict(self, **values: float) -> float:
        """The fitted law at one point: ``result.predict(N=7e9, D=1.4e12)``."""
        return self.law_object().value(self.params, values)

    # ---- data -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "law": self.law,
            "params": dict(self.params),
            "objective": self.objective,
            "rmse_log": self.rmse_log,
            "r2": self.r2,
            "n_points": self.n_points,
            "n_runs": self.n_runs,
            "converged": self.converged,
            "formula": self.formula,
            "variables": dict(self.variables),
            "target": self.target,
            "fixed": dict(self.fixed),
            "fit": dict(self.fit),
            "data": dict(self.data),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "version": self.version,
            "format_version": FORMAT_VERSION,
            **({"intervals": self.intervals, "se": self.se, "bootstrap": dict(self.bootstrap)}
               if self.bootstrap else {}),
            **({"covariance": self.covariance} if self.covariance else {}),
            **({"alternatives": self.alternatives} if self.alternatives else {}),
            **({"seeds": dict(self.seeds)} if self.seeds is not None else {}),
            **({"residuals": list(self.residuals)} if self.residuals is not None else {}),
            "provenance": dict(self.provenance),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=True)

    def saved_text(self) -> str:
        """The JSON a saved fit holds: :meth:`to_dict` and, when there are some, the bootstrap
        draws (so ``optimal --fit`` and ``predict --fit`` give intervals without refitting)."""
        d = self.to_dict()
        if self.draws is not None:
            d["draws"] = pack_draws(self.draws.names, self.draws.values)
        return json.dumps(d, indent=2, allow_nan=True) + "\n"

    def save(self, path: str | Path) -> None:
        """Write :meth:`saved_text` atomically (a crash never leaves half a file)."""
        from ..atomic import write_text

        write_text(Path(path), self.saved_text())

    def draw_params(self) -> list[dict[str, float]]:
        """The bootstrap draws as parameter dicts (failed resamples left out); [] without."""
        if self.draws is None:
            return []
        names, rows = self.draws.names, self.draws.values
        out = []
        for row in rows:
            values = [float(v) for v in row]
            if all(math.isfinite(v) for v in values):
                out.append({**dict(zip(names, values)), **self.fixed})
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "") -> FitResult:
        try:
            params = {str(k): float(v) for k, v in d["params"].items()}
            law = str(d["law"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError("not a scalecli fit (needs 'law' and numeric 'params')", source) from None
        if not isinstance(d, dict):
            raise InputError("not a scalecli fit (a JSON object is needed)", source)
        version = d.get("format_version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InputError(f"not a scalecli fit: format_version {version!r} is not a "
                             "version number", source)
        if version > FORMAT_VERSION:
            from .. import __version__

            raise InputError(f"fit format version {version} is newer than this scalecli "
                             f"({__version__}) reads (up to {FORMAT_VERSION}): upgrade "
                             "scalecli, or refit", source)
        known = {f for f in cls.__dataclass_fields__
                 if f not in ("points", "params", "law", "path")}
        rest = {k: v for k, v in d.items() if k in known}
        for key in ("warnings", "notes"):  # kept as saved, so optimal --fit can repeat them
            value = rest.get(key, [])
            if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
                raise InputError(f"not a scalecli fit: {key!r} must be a list of texts", source)
        for key in ("fit", "data", "variables", "fixed", "intervals", "se", "bootstrap",
                    "covariance", "provenance"):
            if not isinstance(rest.get(key, {}), dict):
                raise InputError(f"not a scalecli fit: {key!r} must be a mapping", source)
        if not isinstance(rest.get("seeds") or {}, dict):
            raise InputError("not a scalecli fit: 'seeds' must be a mapping", source)
        rows = rest.get("residuals") or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InputError("not a scalecli fit: 'residuals' must be a list of rows", source)
        if "draws" in rest:
            rest["draws"] = unpack_draws(rest["draws"], source)
        return cls(law=law, params=params, **rest)

    @classmethod
    def load(cls, path: str | Path) -> FitResult:
        """Read a fit written by :meth:`save` or ``scalecli fit --save``."""
        p = Path(path)
        try:
            d = json.loads(p.read_text())
        except FileNotFoundError:
            raise InputError("no such fit file", p) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read as a fit JSON: {exc}", p) from None
        result = cls.from_dict(d, str(p))
        result.path = str(p)
        return result

    # ---- text -----------------------------------------------------------------------------
    def report(self) -> str:
        """A plain-text report: law, parameters, goodness of fit, optimizer status."""
        from ..laws import equation
        from ..numbers import fmt

        lines = [f"[[Fit]] law {self.law}: {equation(self.law, self.formula)}"]
        lines.append(f"    objective: {self.fit.get('objective', '')}")
        lines.append(f"    points: {self.n_points} from {self.n_runs} runs; target {self.target}")
        lines.append("[[Parameters]]")
        width = max((len(k) for k in self.params), default=1)
        for k, v in self.params.items():
            note = " (fixed)" if k in self.fixed else ""
            lines.append(f"    {k:<{width}} = {fmt(v)}{note}")
        lines.append("[[Goodness]]")
        lines.append(f"    objective = {fmt(self.objective)}")
        lines.append(f"    rmse_log  = {fmt(self.rmse_log)}")
        lines.append(f"    r2        = {fmt(self.r2)}")
        status = "converged" if self.converged else "NOT converged"
        lines.append(f"    optimizer: {status} ({self.fit.get('message', '')}); "
                     f"{self.fit.get('refined', 0)} of {self.fit.get('starts', 0)} starts refined")
        lines.extend(f"note: {w}" for w in self.notes)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


class SavedDraws:
    """Bootstrap draws read back from a saved fit: ``names`` and ``values`` (rows of floats)."""

    def __init__(self, names: list[str], values: list[list[float]]):
        self.names, self.values = names, values


def pack_draws(names, values) -> dict:
    """Draws as float32 little-endian bytes in base64: 4,000 draws of 5 parameters in 107 KB
    of JSON, to 7 significant digits (far below the draws' own spread)."""
    import base64
    import sys
    from array import array

    flat = array("f", (float(v) for row in values for v in row))
    if flat.itemsize != 4:
        raise RuntimeError("float32 arrays are not 4 bytes on this platform")
    if sys.byteorder != "little":
        flat.byteswap()
    return {"names": list(names), "rows": len(values), "float32_le_base64":
            base64.b64encode(flat.tobytes()).decode("ascii")}


def unpack_draws(d: Any, source: str) -> SavedDraws | None:
    """The inverse of :func:`pack_draws` (standard library only, so loading stays fast)."""
    import base64
    import binascii
    import sys
    from array import array

    if d is None:
        return None
    try:
        names = [str(n) for n in d["names"]]
        rows = int(d["rows"])
        flat = array("f")
        flat.frombytes(base64.b64decode(d["float32_le_base64"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise InputError("not a scalecli fit: 'draws' is damaged", source) from None
    if sys.byteorder != "little":
        flat.byteswap()
    if not names or len(flat) != rows * len(names):
        raise InputError("not a scalecli fit: 'draws' has the wrong size", source)
    k = len(names)
    return SavedDraws(names, [list(flat[i * k:(i + 1) * k]) for i in range(rows)])
