"""Shared test data: the Chinchilla points digitised by Epoch AI, synthetic sweeps drawn
from a known Chinchilla law, and where to find data sets that are not bundled."""

from __future__ import annotations

import os

# Small arrays: BLAS threads only contend (the CLI sets the same in main()).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Tests write only inside temporary folders: hypothesis keeps no example database and its caches
# (constants it collects from the source) go to a folder removed when the session ends.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="scalecli-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("scalecli", database=None)
settings.load_profile("scalecli")


def pytest_unconfigure(config):
    shutil.rmtree(_HYPOTHESIS_HOME, ignore_errors=True)

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def external_data(name: str, env: str, probe: str) -> Path | None:
    """The folder holding another project's data set ``name``, or None when it is not here.

    Data files taken from other repositories (papers' released runs and curves) are not bundled
    with scalecli: only a README.md saying where they come from stays in ``tests/data/<name>/``.
    The tests that reproduce those papers' numbers look, in order, in ``$<env>``, in
    ``tests/data/<name>/`` and in ``shared/datasets/<name>/`` beside the checkout, take the first
    folder that holds the file ``probe``, and skip when none does.
    """
    for folder in (os.environ.get(env), DATA / name, ROOT.parent / "shared" / "datasets" / name):
        if folder and (Path(folder) / probe).is_file():
            return Path(folder)
    return None

# A known generating law (close to Besiroglu et al. 2024's refit of Chinchilla).
TRUE = {"E": 1.8, "A": 482.0, "alpha": 0.35, "B": 2085.0, "beta": 0.37}


def chinchilla_loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def synthetic_sweep(seed: int, noise: float = 0.005, params=TRUE):
    """6 model sizes x 5 token budgets; loss with multiplicative Gaussian noise."""
    rng = np.random.default_rng(seed)
    sizes = np.array([2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9])
    ratios = np.array([2.0, 5.0, 10.0, 20.0, 40.0])
    N = np.repeat(sizes, ratios.size)
    D = N * np.tile(ratios, sizes.size)
    L = chinchilla_loss(params, N, D) * (1 + noise * rng.standard_normal(N.size))
    return N, D, L


def as_points(N, D, L):
    """Fit points (as scalecli.reduce makes them) for arrays of N, D and loss."""
    import polars as pl

    from scalecli.reduce import Points

    frame = pl.DataFrame({
        "run_id": [f"r{i}" for i in range(len(N))], "name": [f"r{i}" for i in range(len(N))],
        "source": ["test"] * len(N), "n_params": N, "tokens": D, "flops": 6 * N * D,
        "flops_derived": [True] * len(N), "y": L,
    })
    return Points(frame=frame, target="loss", reduce="last")


def write_csv(path: Path, N, D, L, flops=None) -> Path:
    lines = ["run,n_params,tokens,loss" + (",flops" if flops is not None else "")]
    for i, (n, d, l) in enumerate(zip(N, D, L)):
        extra = f",{float(flops[i])!r}" if flops is not None else ""
        lines.append(f"run{i},{float(n)!r},{float(d)!r},{float(l)!r}{extra}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def epoch_points():
    """Epoch AI's 245 points minus the 5 highest losses, as their replication fits them:
    N, D = C / (6 N), loss."""
    import csv

    with open(DATA / "chinchilla_epoch" / "svg_extracted_data.csv") as f:
        rows = list(csv.DictReader(f))
    N = np.array([float(r["Model Size"]) for r in rows])
    C = np.array([float(r["Training FLOP"]) for r in rows])
    L = np.array([float(r["loss"]) for r in rows])
    keep = L < np.sort(L)[-5]
    return N[keep], C[keep] / (6 * N[keep]), L[keep], C[keep]


@pytest.fixture(scope="session")
def epoch_csv(tmp_path_factory, epoch_points):
    N, D, L, C = epoch_points
    return write_csv(tmp_path_factory.mktemp("epoch") / "epoch240.csv", N, D, L, flops=C)
