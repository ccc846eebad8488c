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

from .errors import ScaleCLIError

if TYPE_CHECKING:
    from .fitting import FitResult
    from .ingest import Frames


@dataclass
class Ranking:
    """Laws ranked by held-out error (best first), with the ones skipped and why."""

    fits: list[FitResult]
    holdout: int
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_list(self) -> list[dict]:
        return [f.to_dict() | {"holdout_error": f.data.get("holdout_error"),
                               "n_params_free": f.data.get("n_params_free")} for f in self.fits]


def compare_laws(frames: Frames, *, holdout: int = 3, laws: list[str] | None = None,
                 x: str | None = None, target: str | None = None,
                 mapping: dict[str, str] | None = None, reduce: str = "last",
                 seed: int = 0) -> Ranking:
    """Fit each law (every registered one by default) without the ``holdout`` runs of largest
    compute, and rank them by RMSE of log target on those runs."""
    import numpy as np

    from . import schema as S
    from .api import fit_spec
    from .fitting import fit_points
    from .laws import all_laws, get_law
    from .reduce import Points, reduce_runs, target_metric

    names = laws or [law.name for law in all_laws()]
    metric = target_metric(frames, mapping, target)
    fits, skipped, warnings = [], {}, []
    for name in names:
        law = get_law(name)
        if x is None and list(law.variables) == ["x"]:
            skipped[name] = "a law of one free variable x: give --x COLUMN to include it"
            continue
        try:  # --x names the generic x; laws of N, D (or one of them) keep their columns
            spec = fit_spec(name, x=x if list(law.variables) == ["x"] else None, target=target)
        except ScaleCLIError as exc:
            skipped[name] = str(exc)
            continue
        law = spec.law
        missing = [c for c in law.variables.values() if c not in frames.runs.columns]
        if missing:
            skipped[name] = f"the runs have no {', '.join(missing)} column"
            continue
        if law.target != "loss" and target is None:
            skipped[name] = f"fits {law.target}, not the loss (give --y)"
            continue
        try:
            pts = reduce_runs(frames, metric, reduce, tuple(law.variables.values()))
        except ScaleCLIError as exc:
            skipped[name] = str(exc)
            continue
        frame = pts.frame
        n_free = len(law.parameters) - len(spec.fixed)
        if frame.height - holdout <= n_free:
            skipped[name] = (f"{frame.height} usable runs, {holdout} held out: too few for "
                             f"{n_free} parameters")
            continue
        order = frame.get_column(S.C).fill_null(0.0) if S.C in frame.columns else None
        ranked = frame.with_columns((order if order is not None else frame["y"]).alias("_rank"))
        ranked = ranked.sort("_rank")
        train, test = ranked.head(frame.height - holdout), ranked.tail(holdout)
        try:
            res = fit_points(Points(train.drop("_rank"), pts.target, reduce), law,
                             objective=spec.objective, fixed=spec.fixed, seed=seed)
        except ScaleCLIError as exc:
            skipped[name] = str(exc)
            continue
        err = float("nan")
        if holdout:
            theta = np.array([law.to_internal(res.params)])
            Xt = {sym: test[col].cast(float).to_numpy() for sym, col in law.variables.items()}
            with np.errstate(all="ignore"):
                pred = law.predict(theta, Xt)[0]
                err = float(np.sqrt(np.mean((np.log(pred) - np.log(test["y"].to_numpy())) ** 2)))
        res.data["holdout_error"] = err if np.isfinite(err) else None
        res.data["holdout_runs"] = test[S.NAME].to_list()
        res.data["n_params_free"] = n_free
        fits.append(res)
    fits.sort(key=lambda f: (f.data["holdout_error"] is None,
                             f.data["holdout_error"] if f.data["holdout_error"] is not None
                             else f.rmse_log))
    if not fits:
        raise ScaleCLIError("no law could be fitted: " + "; ".join(
            f"{k}: {v}" for k, v in skipped.items()))
    warnings.extend(f"{k} skipped: {v}" for k, v in skipped.items())
    return Ranking(fits=fits, holdout=holdout, skipped=skipped, warnings=warnings)
