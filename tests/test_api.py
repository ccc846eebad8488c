"""The Python API's names stay functions however the package is imported."""

from __future__ import annotations

import importlib
import pkgutil

import scalecli


def test_api_names_survive_importing_every_submodule():
    for mod in pkgutil.walk_packages(scalecli.__path__, "scalecli."):
        importlib.import_module(mod.name)
    for name in scalecli.__all__:
        if name != "__version__":
            assert callable(getattr(scalecli, name)), name


def test_load_fit_optimal_predict_on_the_sample(tmp_path):
    from conftest import ROOT

    runs = scalecli.load(ROOT / "sample_runs")
    assert runs.runs.height == 24
    result = scalecli.fit(runs, law="chinchilla")
    result.save(tmp_path / "fit.json")
    p = result.params
    row = scalecli.optimal(result, flops=1e21)[0]
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    assert abs(row.n_params / (G * (1e21 / 6) ** (p["beta"] / (p["alpha"] + p["beta"]))) - 1) < 1e-12
    want = p["E"] + p["A"] / 7e9 ** p["alpha"] + p["B"] / 1.4e12 ** p["beta"]
    assert abs(scalecli.predict(tmp_path / "fit.json", N=7e9, D=1.4e12) / want - 1) < 1e-14
    store = scalecli.open_store(tmp_path / "store")
    store.ingest([ROOT / "sample_runs"])
    again = scalecli.fit(store.load(), law="chinchilla")
    assert again.params == result.params
