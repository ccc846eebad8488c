"""Choosing a law: fit every applicable law and rank them by how well they extrapolate.

Each law is fitted without the K runs of largest compute and scored by the RMSE of log loss
on those K held-out runs, the question a scaling law exists to answer. A law is applicable
when the runs have its columns and more points than it has free parameters; a law of one
generic variable x (power, bnsl) joins only when ``--x`` says which column x is, since loss
against compute alone is not a law of a sweep's N and D. The others are listed with the reason
they were skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ScaleCLIError

if TYPE_CHECKING:
    from ..config import FitSpec
    from ..fitting import FitResult
    from ..ingest import Frames


@dataclass
class Ranking:
    """Laws ranked by held-out error (best first), with the ones skipped and why."""

    fits: list[FitResult]
    holdout: int
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reading_warnings: list[str] = field(default_factory=list)  # the runs' (skipped lines, ...)

    @property
    def warnings(self) -> list[str]:
        """What may be wrong with the runs read, then with any of the fits (by law)."""
        return [*self.reading_warnings, *(f"{f.law}: {w}" for f in self.fits for w in f.warnings)]

    def to_list(self) -> list[dict]:
        return [f.to_dict() | {"holdout_error": f.data.get("holdout_error"),
                               "n_params_free": f.data.get("n_params_free")} for f in self.fits]

    def to_dict(self) -> list[dict]:
        return self.to_list()

    def to_json(self, indent: int | None = 2) -> str:
        """The ranking, each law's whole fit included: what ``--save`` writes."""
        import json

        return json.dumps(self.to_list(), indent=indent)


def rank_laws(frames: Frames, *, holdout: int = 3, laws: list[str] | None = None,
              x: str | None = None, target: str | None = None,
              mapping: dict[str, str] | None = None, reduce: str | None = None,
              loss: str | None = None, delta: float | None = None, space: str | None = None,
              envelope: str | None = None, bins: int = 5, bin_pad: float = 0.1,
              seed: int | None = None, bootstrap: int = 0, ci: float = 0.95,
              weights: str | None = None,
              overestimate_penalty: float | str | None = None) -> Ranking:
    """Fit each law (every registered one by default) without the ``holdout`` runs of largest
    compute, and rank them by RMSE of log target on those runs. Each law goes through the same
    steps as a single fit (:mod:`scalecli.pipeline`), with these options applied to each
    (``weights`` too: each law's training runs weighted alike)."""
    from ..errors import ConfigError
    from ..laws import all_laws
    from ..pipeline import prepare

    if isinstance(holdout, bool) or not isinstance(holdout, int) or holdout < 1:
        raise ConfigError(f"--holdout must be a whole number of runs, at least 1, got {holdout}"
                          " (the ranking scores each law on runs it was not fitted to)")
    names = laws or [law.name for law in all_laws()]
    fits, skipped = [], {}
    for name in names:
        try:
            spec, reason = applicable(name, frames, x=x, target=target, loss=loss, delta=delta,
                                      space=space, overestimate_penalty=overestimate_penalty)
            if spec is None:
                skipped[name] = reason
                continue
            pts = prepare(frames, spec, mapping=mapping, reduce=reduce, envelope=envelope,
                          bins=bins, bin_pad=bin_pad)
            fits.append(_held_out_fit(pts, spec, holdout, seed, bootstrap, ci, weights))
        except ScaleCLIError as exc:
            if (isinstance(exc, ConfigError) and not str(exc).startswith("law ")) or str(
                    exc).startswith("--weights"):
                raise  # an option that no law can take is the user's to fix
            skipped[name] = str(exc)
    fits.sort(key=lambda f: (f.data["holdout_error"] is None,
                             f.data["holdout_error"] if f.data["holdout_error"] is not None
                             else f.rmse_log))
    if not fits:
        raise ScaleCLIError("no law could be fitted: " + "; ".join(
            f"{k}: {v}" for k, v in skipped.items()))
    notes = [f"{k} skipped: {v}" for k, v in skipped.items()]
    return Ranking(fits=fits, holdout=holdout, skipped=skipped, notes=notes)


def applicable(name: str, frames: Frames, *, x: str | None = None, target: str | None = None,
               loss: str | None = None, delta: float | None = None,
               space: str | None = None,
               overestimate_penalty: float | str | None = None,
               ) -> tuple[FitSpec | None, str | None]:
    """``(spec, None)`` when law ``name`` can be fitted to these runs' loss, else
    ``(None, reason)``: a law of a generic x without ``--x``, a law of another target without
    ``--y``, or runs without the law's columns. Shared by every analysis that tries all laws."""
    from ..laws import get_law
    from ..pipeline import fit_spec, normalized_columns

    law = get_law(name)
    if getattr(law, "curve", False):
        return None, "a law of the whole loss curve (fit it alone: --law NAME)"
    if x is None and list(law.variables) == ["x"]:
        return None, "a law of one free variable x: give --x COLUMN to include it"
    # --x names the generic x; laws of N, D (or one of them) keep their columns
    spec = fit_spec(name, x=x if list(law.variables) == ["x"] else None, target=target,
                    loss=loss, delta=delta, space=space,
                    overestimate_penalty=overestimate_penalty)
    if spec.law.target != "loss" and target is None:
        return None, f"fits {spec.law.target}, not the loss (give --y)"
    spec.law = normalized_columns(spec.law, frames)
    have = set(frames.runs.columns)
    missing = [c for c in spec.law.variables.values()
               if c not in have and c not in spec.law.derivable]
    if missing:
        return None, f"the runs have no {', '.join(missing)} column"
    return spec, None


def _held_out_fit(pts, spec, holdout: int, seed: int | None, bootstrap: int = 0,
                  ci: float = 0.95, weights=None) -> FitResult:
    """The law fitted without the ``holdout`` points of largest compute, scored on them."""
    import dataclasses

    import numpy as np

    from .. import schema as S
    from ..errors import FitError
    from ..fitting import fit_points

    law, frame = spec.law, pts.frame
    n_free = len(law.parameters) - len(spec.fixed)
    if frame.height - holdout <= n_free:
        raise FitError(f"{frame.height} usable runs, {holdout} held out: too few for "
                       f"{n_free} parameters")
    order = frame.get_column(S.C).fill_null(0.0) if S.C in frame.columns else frame["y"]
    ranked = frame.with_columns(order.alias("_rank")).sort("_rank").drop("_rank")
    train, test = ranked.head(frame.height - holdout), ranked.tail(holdout)
    res = fit_points(dataclasses.replace(pts, frame=train), law, objective=spec.objective,
                     fixed=spec.fixed, seed=spec.seed if seed is None else seed,
                     resamples=bootstrap, ci=ci, weights=weights)
    theta = np.array([law.to_internal(res.params)])
    Xt = {sym: test[col].cast(float).to_numpy() for sym, col in law.variables.items()}
    with np.errstate(all="ignore"):
        pred = law.predict(theta, Xt)[0]
        err = float(np.sqrt(np.mean((np.log(pred) - np.log(test["y"].to_numpy())) ** 2)))
    res.data["holdout_error"] = err if np.isfinite(err) else None
    res.data["holdout_runs"] = test[S.NAME].to_list()
    res.data["n_params_free"] = n_free
    return res
