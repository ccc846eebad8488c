"""scalecli: fit neural scaling laws to experiment logs.

From Python::

    import scalecli
    runs = scalecli.load("runs/")                      # every log under runs/
    result = scalecli.fit(runs, law="chinchilla")      # a FitResult
    result.params["alpha"]; print(result.report())
    scalecli.optimal(result, flops=1e21)               # compute-optimal N, D

Store: ``scalecli.open_store(".scalecli").ingest(["runs/"])``, then ``.load()``.
Heavy modules (polars, scipy) load on first use, so importing scalecli is cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

# No API name may equal a submodule's: importing scalecli.<name> would replace the function.
__all__ = ["__version__", "fit", "load", "open_store", "optimal", "predict"]
_API = set(__all__) - {"__version__"}


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'scalecli' has no attribute {name!r}")
