"""A fit on 100,000 points, timed as the acceptance check times it: ``python benchmarks/bigfit.py``.

Writes the check's CSV (run, n_params, tokens, loss: N 1e7..1e10 and D 1e9..1e12 log-uniform,
the law E=1.8, A=482, alpha=0.35, B=2085, beta=0.37 times 1% lognormal noise, seed 7) and prints:
  1. the import floor, ``python -c "import polars, scipy.optimize"`` (best of 3);
  2. the whole ``scalecli fit big.csv --law chinchilla --format json`` (best of 3), as a multiple
     of the floor (the check allows 5x);
  3. the library call ``scalecli.fit(runs, law="chinchilla")`` on runs already loaded, and the
     search alone (the fit's ``seconds``), with the subsample it used;
  4. the fitted law against the generating one.
Wall and CPU seconds (user + sys) are both shown: on a shared machine the CPU time is the
steadier figure. Run it with another checkout's interpreter to time that checkout
(``/path/to/venv/bin/python benchmarks/bigfit.py``). ``--points N`` changes the size,
``--runs K`` the runs of each command (3).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
EXE = shutil.which("scalecli", path=str(Path(PY).parent)) or "scalecli"
TRUE = {"E": 1.8, "A": 482.0, "alpha": 0.35, "B": 2085.0, "beta": 0.37}


def write_csv(path: Path, n: int) -> Path:
    """The acceptance check's data, drawn the way it draws them."""
    import numpy as np

    rng = np.random.default_rng(7)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 12, n)
    L = (TRUE["E"] + TRUE["A"] / N ** TRUE["alpha"] + TRUE["B"] / D ** TRUE["beta"]) \
        * np.exp(rng.normal(0, 0.01, n))
    with open(path, "w") as f:
        f.write("run,n_params,tokens,loss\n")
        f.writelines(f"r{i},{N[i]:.6g},{D[i]:.6g},{L[i]:.6f}\n" for i in range(n))
    return path


def timed(cmd) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(cmd, runs: int) -> tuple[float, float]:
    times = [timed(cmd) for _ in range(runs)]
    return min(t[0] for t in times), min(t[1] for t in times)


def main(argv: list[str]) -> None:
    n = int(argv[argv.index("--points") + 1]) if "--points" in argv else 100_000
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # time what a user's second run sees
    print(f"fit on {n:,} points, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        big = write_csv(Path(tmp) / "big.csv", n)
        floor_w, floor_c = best([PY, "-c", "import polars, scipy.optimize"], runs)
        print(f"1. import floor: {floor_w:.2f} s wall, {floor_c:.2f} s CPU")
        fit_w, fit_c = best([EXE, "fit", str(big), "--law", "chinchilla", "--format", "json"], runs)
        print(f"2. whole `scalecli fit`: {fit_w:.2f} s wall = {fit_w / floor_w:.1f}x the floor "
              f"(limit 5x); {fit_c:.2f} s CPU = {fit_c / floor_c:.1f}x")
        import scalecli

        runs = scalecli.load(big)
        for _ in range(2):  # the first call imports what a fit needs
            c0, t0 = time.process_time(), time.perf_counter()
            res = scalecli.fit(runs, law="chinchilla")
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        sample = res.fit.get("subsample")
        used = (f"subsample of {sample['points']:,} of {sample['of']:,} points" if sample
                else "no subsample")
        print(f"3. library `scalecli.fit`: {wall:.2f} s wall, {cpu:.2f} s CPU; search "
              f"{res.fit['seconds']:.2f} s ({used}; {res.fit['refined']} refined, "
              f"{res.fit['evaluations']} evaluations)")
        shown = ", ".join(f"{k}={res.params[k]:.5g} ({res.params[k] / v - 1:+.2%})"
                          for k, v in TRUE.items())
        print(f"4. fitted: {shown} vs the generating law; objective {res.objective:.12e}")


if __name__ == "__main__":
    main(sys.argv[1:])
