"""The loss curve a fitted curve law predicts along a schedule never run
(``scalecli predict --fit FIT --schedule SPEC``), at chosen steps."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ConfigError
from .curves import check_params, is_curve_law


@dataclass
class CurvePrediction:
    """A curve law's loss at chosen steps of a schedule (``scalecli predict --schedule``)."""

    law: str
    formula: str
    params: dict[str, float]
    params_from: str
    schedule: str
    steps: int  # the schedule's length N
    rows: list[dict]  # {"step", "lr", "lr_area", "loss"}
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        from .. import __version__

        return {"kind": "curve-prediction", "law": self.law, "formula": self.formula,
                "params": self.params, "params_from": self.params_from,
                "schedule": self.schedule, "steps": self.steps, "points": self.rows,
                "notes": self.notes, "warnings": self.warnings, "version": __version__}


def predict_curve(law_name: str, params: dict[str, float], schedule: str, *,
                  steps: int | None = None, every: int | None = None, at_steps=None,
                  params_from: str = "") -> CurvePrediction:
    """The loss a curve law predicts along ``schedule`` (a spec; its length from ``steps=N``
    in it or ``steps``): at ``at_steps`` (a list, or text ``1000,2000``), else every ``every``
    steps (default: about 20 rows) and the last step. Step 0 of a warm-up from zero has no LR
    area (S1 = 0, the law is infinite there): such steps are left out with a note."""
    import numpy as np

    from ..laws import get_law
    from ..laws.curves import Curve
    from ..schedules import parse_schedule

    if not is_curve_law(law_name):
        raise ConfigError(f"predict --schedule: {params_from or 'the fit'} is of {law_name}, a "
                          "law of each run's final loss; a schedule's curve needs a curve "
                          "law's fit (scalecli fit runs/ --law multi-power --save fit.json)")
    law = get_law(law_name)
    values = check_params(law, params)
    sched = parse_schedule(schedule)
    if steps is not None and sched.length is not None and int(steps) != sched.length:
        raise ConfigError(f"--steps {steps} but the schedule {sched.text!r} says steps="
                          f"{sched.length}: give one")
    eta = sched.dense(steps)
    n = len(eta)
    if at_steps is not None and every is not None:
        raise ConfigError("give --every K or --at-steps S1,S2,..., not both")
    if at_steps is not None:
        want = _step_list(at_steps)
        past = [s for s in want if s >= n]
        if past:
            raise ConfigError(f"--at-steps {past[0]}: past the schedule's last step ({n - 1}; "
                              f"it has {n} steps)")
    else:
        k = int(every) if every is not None else _nice_every(n)
        if k < 1:
            raise ConfigError(f"--every {every}: must be at least 1")
        want = sorted({*range(k, n, k), n - 1})
    t = np.asarray(want, np.int64)
    cs = np.cumsum(eta)
    notes: list[str] = []
    zero = cs[t] <= 0
    if zero.any():
        notes.append(f"step(s) {', '.join(map(str, t[zero].tolist()[:5]))} left out: no LR area "
                     "yet (S1 = 0, the law is infinite there)")
        t = t[~zero]
    if not len(t):
        raise ConfigError(f"schedule {sched.text!r}: no asked step has a learning-rate area "
                          "(S1 > 0) to predict at")
    with np.errstate(all="ignore"):
        y = law.predict_natural(values, [Curve.make(eta, t)])
    bad = ~np.isfinite(y)
    if bad.any():
        notes.append(f"step(s) {', '.join(map(str, t[bad].tolist()[:5]))} left out: the law is "
                     "not finite there")
        t, y = t[~bad], y[~bad]
    warm = int(sched.values.get("warmup", 0))
    early = int((t < warm).sum())
    if early:
        notes.append(f"{early} step(s) inside the {warm}-step warm-up: curve laws are fitted "
                     "after it; read those as extrapolation")
    rows = [{"step": int(s), "lr": float(eta[s]), "lr_area": float(cs[s]), "loss": float(v)}
            for s, v in zip(t.tolist(), y.tolist(), strict=True)]
    return CurvePrediction(law.name, law.formula, values, params_from, sched.text, n, rows,
                           notes)


def _step_list(text) -> list[int]:
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
    else:
        parts = list(text)
    out = []
    for p in parts:
        try:
            v = float(p)
        except (TypeError, ValueError):
            raise ConfigError(f"--at-steps: {p!r} is not a step number") from None
        if not math.isfinite(v) or v < 0 or v != int(v):
            raise ConfigError(f"--at-steps: {p!r} is not a whole step >= 0")
        out.append(int(v))
    if not out:
        raise ConfigError("--at-steps: give steps, e.g. 1000,2000,5000")
    return sorted(set(out))


def _nice_every(n: int, rows: int = 20) -> int:
    """A round step (1, 2, 5 x 10^k) giving at most about ``rows`` rows over n steps."""
    raw = max(1.0, n / rows)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return int(m * mag)
    return int(10 * mag)
