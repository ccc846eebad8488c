"""Start grids stay within bounded memory and time: the whole product when it is small, a
sample drawn with the seed (same seed, same starts) when it is not, and fits of laws whose
grids would need gigabytes (BNSL with six breaks, a config's long init lists) complete."""

from __future__ import annotations

import itertools
import math
import resource
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from scalecli.fitting import Objective, fit_points
from scalecli.fitting.grid import MAX_STARTS, Starts, start_cap
from scalecli.laws import get_law
from scalecli.laws.custom import law_from_config
from scalecli.reduce import Points


def rows(starts: Starts):
    return np.concatenate([starts.values(ix) for _, _, ix in starts.blocks()])


def test_a_small_grid_is_the_whole_product_in_order():
    axes = [(1.0, 2.0), (3.0, 4.0, 5.0), (6.0,), (7.0, 8.0)]
    s = Starts(axes, n_points=10)
    assert not s.sampled and s.count == 12 and s.note() == ""
    assert rows(s).tolist() == [list(r) for r in itertools.product(*axes)]


def test_a_large_grid_is_a_seeded_sample_of_distinct_starts():
    axes = [np.arange(100.0)] * 4  # 1e8 starts
    a, b, c = (Starts(axes, 10, seed=k, cap=5000) for k in (7, 7, 8))
    ra, rb, rc = rows(a), rows(b), rows(c)
    assert a.sampled and len(ra) == 5000
    assert (ra == rb).all() and not (ra == rc).all()  # the seed decides, and only the seed
    assert len(np.unique(ra, axis=0)) == 5000
    assert "100,000,000 starts" in a.note() and "5,000" in a.note() and "seed 7" in a.note()


def test_a_product_beyond_64_bits_is_drawn_by_blocks_and_can_be_drawn_again():
    axes = [np.arange(1000.0)] * 8  # 1e24 starts
    s = Starts(axes, n_points=1000, seed=3, cap=10_000)
    all_rows = rows(s)
    assert all_rows.shape == (10_000, 8)
    pick = np.array([0, 1999, 2000, 9999, 4321])
    assert (s.values(s.at(pick)) == all_rows[pick]).all()
    assert s.total == 10**24 and "1e+24 starts" in s.note()


def test_the_cap_shrinks_with_many_points():
    assert start_cap(10) == MAX_STARTS
    assert start_cap(100_000) == 20_000
    assert start_cap(10**12) == 1


def bnsl_points(n=40):
    one = get_law("bnsl")
    x = np.logspace(0, 4, n)
    y = one.predict(np.array([[0.3, 20.0, 0.2, 0.5, 300.0, 0.4]]), {"x": x})[0]
    return Points(frame=pl.DataFrame({"run_id": [f"r{i}" for i in range(n)], "flops": x, "y": y}),
                  target="loss", reduce="last"), x, y


def test_bnsl_with_six_breaks_fits_in_bounded_memory():
    """Its authors' grid would have 2.7e9 starts (about 20 GiB of scores); a sample of a
    million is scored, and the curve drawn from one break is fitted all the same."""
    pts, _, _ = bnsl_points()
    law = get_law("bnsl", breaks=6)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = fit_points(pts, law, objective=Objective("mse", space="log1p"), seed=5)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert res.fit["starts"] == MAX_STARTS and grown_mib < 1024
    assert any("2,684,354,560 starts" in n and "seed 5" in n for n in res.notes)
    assert res.rmse_log < 1e-6


def test_a_config_init_grid_of_a_trillion_starts_is_sampled():
    spec = {"name": "wide", "formula": "E + A / N**alpha + B / D**beta",
            "variables": {"N": "n_params", "D": "tokens"},
            "parameters": {k: {"bounds": b, "init": list(np.linspace(*b, 1000)[1:-1])}
                           for k, b in (("E", [0.1, 5]), ("A", [1, 5000]), ("alpha", [0.05, 1]),
                                        ("B", [1, 5000]), ("beta", [0.05, 1]))}}
    law = law_from_config(spec, "test")
    assert math.prod(len(p.init) for p in law.parameters) > 9e14
    N = np.repeat([2e7, 5e7, 1.2e8, 3e8, 7e8, 1.5e9], 5)
    D = N * np.tile([2.0, 5.0, 10.0, 20.0, 40.0], 6)
    L = 1.8 + 482 / N**0.35 + 2085 / D**0.37
    pts = Points(frame=pl.DataFrame({"run_id": [f"r{i}" for i in range(30)], "n_params": N,
                                     "tokens": D, "y": L}), target="loss", reduce="last")
    res = fit_points(pts, law)
    assert res.fit["starts"] == MAX_STARTS + 8 and any("were scored" in n for n in res.notes)
    assert res.params["alpha"] == pytest.approx(0.35, rel=1e-4)


def test_the_cli_with_six_breaks_answers_within_limits(tmp_path):
    """`scalecli fit --law bnsl --breaks 6` asked for ~20 GiB: now within 2 GiB of memory."""
    _, x, y = bnsl_points()
    csv = tmp_path / "curve.csv"
    csv.write_text("run,flops,loss\n" + "".join(f"r{i},{float(a)!r},{float(b)!r}\n"
                                                 for i, (a, b) in enumerate(zip(x, y))))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
            "from scalecli.cli import main; sys.argv = ['scalecli'] + sys.argv[1:]; main()")
    r = subprocess.run([sys.executable, "-c", code, "fit", str(csv), "--law", "bnsl",
                        "--breaks", "6", "--x", "flops"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in r.stderr and "MemoryError" not in r.stderr
    assert r.returncode == 0, r.stderr[-500:]
    assert "were scored" in r.stderr + r.stdout or "warning" in r.stderr
