"""Learning-rate schedules as dense arrays (one value per step), from a one-line spec.

The curve laws (:mod:`scalecli.laws.curves`) need the learning rate at every step; a log that
records it only now and then names its schedule instead::

    cosine:peak=3e-4,warmup=300,final=3e-5
    wsd:peak=3e-4,warmup=300,decay=0.2,shape=sqrt,final=0
    piecewise:steps=0/4000/5000,values=3e-4/1e-4/3e-5

``NAME:KEY=VALUE,...``; ``steps`` (the run's length N) may be in the spec or given apart
(``scalecli schedule SPEC --steps N``). Step s runs from 0 to N-1. Conventions, stated once:

- warm-up (``warmup=W``, default 0): ``eta[:W] = linspace(0, peak, W)``, so ``eta[0] = 0`` and
  ``eta[W-1] = peak``; the schedule proper starts at step W with its peak.
- ``constant``: peak after the warm-up.
- ``cosine``: ``final + (peak - final)/2 * (1 + cos(pi * (s - W) / (N - W)))`` (``final``
  default 0; it is reached at s = N, one step past the end).
- ``linear``: ``peak + (final - peak) * (s - W) / (N - W)``.
- ``wsd``: the peak until the decay, then a decay over its last ``decay`` steps (a fraction
  of N when < 1, default 0.2; it starts at ``d0 = int(N - decay)``, or ``int((1 - decay) * N)``
  for a fraction) to ``final`` with f = (s - d0) / (N - d0) and ``shape``:
  ``linear`` peak + (final - peak) f; ``cosine`` final + (peak - final)(1 + cos(pi f))/2;
  ``exp`` peak (final/peak)^f (final > 0); ``sqrt`` (1 - sqrt) final + (peak - final)(1 - sqrt f).
- ``piecewise``: ``values[i]`` from ``steps[i]`` up to the next step (``/``-separated lists;
  steps[0] must be 0); a warm-up, if given, replaces its first W steps with the ramp to values[0].
  Its ``steps`` are the breaks, so its length N, when stated, is ``length=N``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError

MOST_STEPS = 10**9  # 8 GB of float64: no run is this long, a typo is
KINDS = ("constant", "cosine", "linear", "wsd", "piecewise")
SHAPES = ("linear", "cosine", "exp", "sqrt")
KEYS = {"constant": {"peak", "warmup", "steps"},
        "cosine": {"peak", "warmup", "final", "steps"},
        "linear": {"peak", "warmup", "final", "steps"},
        "wsd": {"peak", "warmup", "final", "decay", "shape", "steps"},
        "piecewise": {"steps", "values", "warmup", "length"}}


@dataclass
class Schedule:
    """A parsed spec: its kind and its settings (numbers, or a shape name, or lists)."""

    kind: str
    values: dict = field(default_factory=dict)
    text: str = ""

    @property
    def length(self) -> int | None:
        """N when the spec states it (``steps=N``; a piecewise schedule's steps are its breaks)."""
        n = self.values.get("steps") if self.kind != "piecewise" else self.values.get("length")
        return None if n is None else int(n)

    def dense(self, steps: int | None = None):
        """The learning rate at steps 0..N-1 (a float array), N from ``steps`` or the spec."""
        import numpy as np

        if steps is not None and self.length is not None and int(steps) != self.length:
            raise ConfigError(f"schedule {self.text!r} has {self.length} steps, not {steps}: "
                              "give the length once")
        n = steps if steps is not None else self.length
        if n is None:
            raise ConfigError(f"schedule {self.text!r}: how many steps? give steps=N in the "
                              "spec (or --steps N)")
        n = int(n)
        if not 1 <= n <= MOST_STEPS:
            raise ConfigError(f"schedule {self.text!r}: steps must be from 1 to {MOST_STEPS:,}, "
                              f"got {n:,}")
        v = self.values
        w = int(v.get("warmup", 0))
        if w >= n:
            raise ConfigError(f"schedule {self.text!r}: warm-up {w} is not shorter than the "
                              f"{n} steps")
        if self.kind == "piecewise":
            eta = _piecewise(v["steps"], v["values"], n)
            peak = v["values"][0]
        else:
            peak = v["peak"]
            final = v.get("final", 0.0)
            s = np.arange(w, n, dtype=float)
            eta = np.empty(n)
            eta[w:] = _after_warmup(self, s, w, n, peak, final)
        if w:
            eta[:w] = np.linspace(0.0, peak, w)
        return eta


def _after_warmup(sched: Schedule, s, w: int, n: int, peak: float, final: float):
    import numpy as np

    if sched.kind == "constant":
        return np.full_like(s, peak)
    if sched.kind == "cosine":
        return final + 0.5 * (peak - final) * (1 + np.cos(np.pi * (s - w) / (n - w)))
    if sched.kind == "linear":
        return peak + (final - peak) * (s - w) / (n - w)
    decay = sched.values.get("decay", 0.2)
    d0 = int((1 - decay) * n) if decay < 1 else int(n - decay)
    if d0 < w:
        raise ConfigError(f"schedule {sched.text!r}: the decay starts at step {d0}, inside "
                          f"the {w}-step warm-up")
    out = np.full_like(s, peak)
    tail = s >= d0
    f = (s[tail] - d0) / (n - d0)
    shape = sched.values.get("shape", "linear")
    if shape == "linear":
        out[tail] = peak + (final - peak) * f
    elif shape == "cosine":
        out[tail] = final + 0.5 * (peak - final) * (1 + np.cos(np.pi * f))
    elif shape == "exp":
        out[tail] = peak * (final / peak) ** f
    else:
        out[tail] = final + (peak - final) * (1 - np.sqrt(f))
    return out


def _piecewise(steps: list[float], values: list[float], n: int):
    import numpy as np

    at = np.searchsorted(np.asarray(steps, float), np.arange(n), side="right") - 1
    return np.asarray(values, float)[at]


def parse_schedule(text: str) -> Schedule:
    """``"cosine:peak=3e-4,warmup=300,final=3e-5"`` -> a :class:`Schedule`; ConfigError (one
    line naming the spec and what is wrong) for an unknown kind, key or value."""
    import math

    raw = str(text).strip()
    kind, _, rest = raw.partition(":")
    kind = kind.strip().lower()
    if kind == "two-stage":
        kind = "piecewise"
    if kind not in KINDS:
        raise ConfigError(f"schedule {raw!r}: unknown kind {kind!r}; kinds: {', '.join(KINDS)}"
                          " (e.g. cosine:peak=3e-4,warmup=300,final=3e-5)")
    values: dict = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, val = part.partition("=")
        key = key.strip().lower()
        if not eq or key not in KEYS[kind]:
            raise ConfigError(f"schedule {raw!r}: {part!r} is not KEY=VALUE with a key of "
                              f"{kind} ({', '.join(sorted(KEYS[kind]))})")
        if key in values:
            raise ConfigError(f"schedule {raw!r}: {key} is given twice")
        if key == "shape":
            shape = val.strip().lower().replace("1-sqrt", "sqrt")
            if shape not in SHAPES:
                raise ConfigError(f"schedule {raw!r}: shape {val!r}; shapes: {', '.join(SHAPES)}")
            values[key] = shape
            continue
        try:
            nums = [float(x) for x in val.split("/")]
        except ValueError:
            raise ConfigError(f"schedule {raw!r}: {key}={val!r} is not a number") from None
        if not all(math.isfinite(x) and x >= 0 for x in nums):
            raise ConfigError(f"schedule {raw!r}: {key}={val!r} must be finite and >= 0")
        counted = key in ("length", "warmup") or (key == "steps" and kind != "piecewise")
        if counted and (len(nums) != 1 or nums[0] != int(nums[0])
                        or (key != "warmup" and nums[0] < 1)):
            raise ConfigError(f"schedule {raw!r}: {key}={val!r} must be a whole number of "
                              "steps" + (" >= 1" if key != "warmup" else ""))
        if kind == "piecewise" and key == "steps" and any(x != int(x) for x in nums):
            raise ConfigError(f"schedule {raw!r}: steps={val!r}: breaks are whole steps")
        if key == "decay" and nums[0] >= 1 and nums[0] != int(nums[0]):
            raise ConfigError(f"schedule {raw!r}: decay={val!r}: a fraction below 1, or a whole "
                              "number of steps")
        if kind == "piecewise" and key in ("steps", "values"):
            values[key] = nums
        elif len(nums) != 1:
            raise ConfigError(f"schedule {raw!r}: {key} takes one number")
        else:
            values[key] = nums[0]
    _check(kind, values, raw)
    return Schedule(kind, values, raw)


def _check(kind: str, v: dict, raw: str) -> None:
    import itertools

    if kind == "piecewise":
        st, vals = v.get("steps"), v.get("values")
        if not st or not vals or len(st) != len(vals):
            raise ConfigError(f"schedule {raw!r}: piecewise needs steps=0/S1/... and values="
                              "V0/V1/... of the same length")
        if st[0] != 0 or any(b <= a for a, b in itertools.pairwise(st)):
            raise ConfigError(f"schedule {raw!r}: piecewise steps must start at 0 and rise")
        if v.get("length") is not None and v["length"] <= st[-1]:
            raise ConfigError(f"schedule {raw!r}: length={v['length']:g} ends before the last "
                              f"break (step {st[-1]:g})")
        return
    if "peak" not in v or v["peak"] <= 0:
        raise ConfigError(f"schedule {raw!r}: give peak=LR (> 0)")
    if kind == "wsd" and v.get("shape") == "exp" and v.get("final", 0.0) <= 0:
        raise ConfigError(f"schedule {raw!r}: an exponential decay needs final > 0")
    if kind == "wsd" and not 0 < v.get("decay", 0.2):
        raise ConfigError(f"schedule {raw!r}: decay must be > 0 (a fraction, or steps)")
