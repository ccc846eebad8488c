"""A law's variables with each one's log computed once per fit.

A search evaluates its law hundreds of times on the same points, and the laws take N and D in
log space: on 100,000 points the two logs cost about as much as the rest of an evaluation of
Chinchilla's law and its Jacobian. :class:`Variables` keeps them; :func:`log_of` reads them
from there, or computes them from any other mapping.
"""

from __future__ import annotations


class Variables(dict):
    """The variables by symbol (a plain dict to every reader), with cached logs. The arrays
    must not change while it is in use (a search never writes to its data)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._logs: dict = {}

    def log(self, name: str):
        import numpy as np

        out = self._logs.get(name)
        if out is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = self._logs[name] = np.log(self[name])
        return out


def log_of(X, name: str):
    """``log(X[name])``, from the cache when ``X`` is :class:`Variables`."""
    import numpy as np

    if isinstance(X, Variables):
        return X.log(name)
    return np.log(X[name])
