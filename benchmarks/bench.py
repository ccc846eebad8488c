"""Performance figures for the README, run by hand: ``python benchmarks/bench.py``.

Prints medians of paired, alternating runs (A then B, repeated), so machine noise hits both:
  1. the Chinchilla fit (4,500-start grid) on Epoch AI's 240 Chinchilla points: fit time in
     the library, and the whole `scalecli fit` command vs `python -c "import polars, scipy.optimize"`;
  2. start-up: `scalecli --help` and `scalecli optimal --flops 1e21` vs a bare Typer app;
  3. ingesting a 1,000,000-row JSONL history vs `polars.read_ndjson` of the same file, and the
     ingest's peak memory;
  4. `scalecli fit sample_runs/ --law all` (every applicable law, held-out ranking);
  5. a custom-formula Chinchilla (YAML) against the built-in law on the Epoch points;
  6. a one-break BNSL fit with the authors' full start grid on 50 points;
  7. 1,000 bootstrap refits against the plain fit command (and a serial L-BFGS-B loop).
Pass section numbers to run only some: ``python benchmarks/bench.py 1 3``.
"""

from __future__ import annotations

import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
EXE = shutil.which("scalecli") or str(Path(PY).parent / "scalecli")
BARE = """import typer
app = typer.Typer(help="bare")
for name in ["ingest", "runs", "fit", "optimal", "predict", "plot"]:
    def f(path: str = typer.Argument("."), law: str = typer.Option("chinchilla")):
        pass
    app.command(name)(f)
app()
"""


def paired(cmd_a, cmd_b, runs=7):
    ta, tb = [], []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        subprocess.run(cmd_a, capture_output=True, check=True)
        a = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(cmd_b, capture_output=True, check=True)
        b = time.perf_counter() - t0
        if i:  # the first pair warms the caches
            ta.append(a)
            tb.append(b)
    ratio = statistics.median(x / y for x, y in zip(ta, tb))
    return statistics.median(ta), statistics.median(tb), ratio


def epoch_csv(tmp: Path) -> Path:
    with open(ROOT / "tests/data/chinchilla_epoch/svg_extracted_data.csv") as f:
        rows = list(csv.DictReader(f))
    cut = sorted(float(r["loss"]) for r in rows)[-5]
    out = tmp / "epoch240.csv"
    with open(out, "w") as f:
        f.write("run,n_params,tokens,flops,loss\n")
        for i, r in enumerate(x for x in rows if float(x["loss"]) < cut):
            n, c = float(r["Model Size"]), float(r["Training FLOP"])
            f.write(f"run{i},{n!r},{c / (6 * n)!r},{c!r},{r['loss']}\n")
    return out


def bench_fit(tmp: Path) -> None:
    import scalecli

    path = epoch_csv(tmp)
    runs = scalecli.load(path)
    times = []
    for _ in range(7):
        res = scalecli.fit(runs, law="chinchilla")
        times.append(res.fit["seconds"])
    print(f"1. fit, 240 Epoch points, {res.fit['starts']} starts ({res.fit['refined']} refined): "
          f"median {statistics.median(times):.3f} s fit time; objective {res.objective:.12e}")
    a, b, r = paired([EXE, "fit", str(path), "--law", "chinchilla", "--format", "json"],
                     [PY, "-c", "import polars, scipy.optimize"])
    print(f"   whole `scalecli fit` {a:.2f} s = {r:.2f}x `import polars, scipy.optimize` ({b:.2f} s)")


def bench_startup(tmp: Path) -> None:
    bare = tmp / "bare.py"
    bare.write_text(BARE)
    a, b, r = paired([EXE, "--help"], [PY, str(bare), "--help"], runs=11)
    print(f"2. `scalecli --help` {a * 1000:.0f} ms = {r:.2f}x bare Typer app ({b * 1000:.0f} ms)")
    a, b, r = paired([EXE, "optimal", "--flops", "1e21"], [PY, str(bare), "optimal"], runs=11)
    print(f"   `scalecli optimal --flops 1e21` {a * 1000:.0f} ms = {r:.2f}x bare ({b * 1000:.0f} ms)")


def history_file(path: Path, rows: int = 1_000_000) -> Path:
    import numpy as np

    if path.exists():
        return path
    rng = np.random.default_rng(0)
    per = rows // 10
    sizes = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9, 3e9, 7e9, 1.3e10, 3e10, 7e10], per)
    step = np.tile(np.arange(1, per + 1), 10)
    tokens = step * 524288
    loss = 1.7 + 400 / sizes**0.34 + 410 / tokens**0.28 + rng.normal(0, 0.01, sizes.size)
    with open(path, "w") as f:
        f.writelines(
            f'{{"run": "m{i // per}", "n_params": {sizes[i]:.0f}, "step": {step[i]}, '
            f'"tokens": {tokens[i]}, "loss": {loss[i]:.6f}}}\n'
            for i in range(sizes.size)
        )
    return path


def bench_ingest(tmp: Path) -> None:
    path = history_file(Path(tempfile.gettempdir()) / "scalecli-bench-history-1m.jsonl")
    store = tmp / "store"
    ingest = ["bash", "-c", f"rm -rf {store} && exec {EXE} ingest {path} --store {store}"]
    base = [PY, "-c", f"import polars; polars.read_ndjson({str(path)!r})"]
    a, b, r = paired(ingest, base, runs=3)
    shutil.rmtree(store, ignore_errors=True)
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([PY, "-c", probe, EXE, "ingest", str(path), "--store", str(store)],
                         capture_output=True, text=True, check=True)
    peak = int(out.stdout) * 1024
    size = path.stat().st_size
    print(f"3. ingest 1M-row JSONL ({size / 2**20:.0f} MiB): {a:.2f} s = {r:.2f}x read_ndjson "
          f"({b:.2f} s); peak RSS {peak / 2**20:.0f} MiB = {peak / size:.1f}x the file")


def bench_law_all(tmp: Path) -> None:
    cmd = [EXE, "fit", str(ROOT / "sample_runs"), "--law", "all", "--format", "json"]
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    cmd_x = cmd + ["--x", "flops"]
    times_x = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cmd_x, capture_output=True, check=True)
        times_x.append(time.perf_counter() - t0)
    print(f"4. `scalecli fit sample_runs/ --law all`: {statistics.median(times):.2f} s whole command "
          f"(with --x flops, adding power and bnsl: {statistics.median(times_x):.2f} s)")


def bench_custom(tmp: Path) -> None:
    import math

    import scalecli
    from scalecli.config import spec_from_dict

    g = [math.exp(v) for v in (0, 5, 10, 15, 20, 25)]
    doc = {"law": {"name": "custom-chinchilla", "formula": "E + A / N**alpha + B / D**beta",
                   "variables": {"N": "n_params", "D": "tokens"},
                   "parameters": {
                       "E": {"bounds": [1e-3, 10], "init": [math.exp(v) for v in
                                                             (-1, -0.5, 0, 0.5, 1)]},
                       "A": {"bounds": [1, 1e12], "init": g}, "B": {"bounds": [1, 1e12], "init": g},
                       "alpha": {"bounds": [0, 3], "init": [0, 0.5, 1, 1.5, 2]},
                       "beta": {"bounds": [0, 3], "init": [0, 0.5, 1, 1.5, 2]}}}}
    runs = scalecli.load(epoch_csv(tmp))
    custom = spec_from_dict(doc, "bench")
    tb, tc = [], []
    for _ in range(7):
        tb.append(scalecli.fit(runs, "chinchilla").fit["seconds"])
        res = scalecli.fit(runs, config=custom)
        tc.append(res.fit["seconds"])
    b, c = statistics.median(tb), statistics.median(tc)
    print(f"5. custom-formula Chinchilla {c:.3f} s vs built-in {b:.3f} s per fit = {c / b:.2f}x "
          f"(objective {res.objective:.12e})")


def bench_bnsl(tmp: Path) -> None:
    import numpy as np
    import polars as pl

    from scalecli.fitting import fit_points
    from scalecli.laws import get_law
    from scalecli.reduce import Points

    law = get_law("bnsl")
    x = np.geomspace(1e2, 1e6, 50)
    truth = {"a": 0.1, "b": 5.0, "c0": 0.3, "c1": 0.4, "d1": 3e3, "f1": 0.5}
    y = np.array([law.value(truth, {"x": v}) for v in x])
    frame = pl.DataFrame({"run_id": [str(i) for i in range(50)], "name": "r", "source": "b",
                          "flops": x, "y": y})
    times = []
    for _ in range(7):
        res = fit_points(Points(frame, "loss", "last"), law, objective=_bnsl_objective(law))
        times.append(res.fit["seconds"])
    print(f"6. BNSL, one break, 50 points, {res.fit['starts']:,} grid starts: "
          f"{statistics.median(times):.3f} s per fit (first fit in the process {times[0]:.3f} s)")


def bench_bootstrap(tmp: Path) -> None:
    """1,000 bootstrap refits on the Epoch points against the plain fit command, a serial loop
    of warm-started L-BFGS-B refits for scale, and the bootstrap's peak memory."""
    import numpy as np

    import scalecli
    from scalecli.fitting.bootstrap import draw_weights
    from scalecli.fitting.multistart import Problem
    from scalecli.laws import get_law

    path = epoch_csv(tmp)
    plain = [EXE, "fit", str(path), "--law", "chinchilla", "--format", "json"]
    boot = [*plain, "--bootstrap", "1000", "--seed", "0"]
    a, b, r = paired(boot, plain, runs=3)
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    peak = int(subprocess.run([PY, "-c", probe, *boot], capture_output=True, text=True,
                              check=True).stdout) * 1024
    res = scalecli.fit(scalecli.load(path), law="chinchilla")
    law, pts = get_law("chinchilla"), res.points
    X = {"N": pts["n_params"].to_numpy(), "D": pts["tokens"].to_numpy()}
    y = pts["y"].to_numpy()
    theta = np.array(law.to_internal(res.params))
    weights = draw_weights(np.arange(y.size), 50, 0)
    t0 = time.perf_counter()
    for w in weights:  # the loop the batched refits replace: L-BFGS-B per resample
        idx = np.repeat(np.arange(y.size), w.astype(int))
        Problem(law, {k: v[idx] for k, v in X.items()}, y[idx], res_objective(),
                {}).refine(theta)
    loop = (time.perf_counter() - t0) / 50 * 1000
    print(f"7. bootstrap, 1,000 resamples of the 240 Epoch points: {a:.2f} s whole command = "
          f"{r:.2f}x the plain fit ({b:.2f} s); peak RSS {peak / 2**20:.0f} MiB; a serial "
          f"L-BFGS-B loop would take {loop:.1f} s for the refits alone")


def res_objective():
    from scalecli.fitting import Objective

    return Objective()


def _bnsl_objective(law):
    from scalecli.fitting import Objective

    return Objective(**law.fit_defaults)


def main(argv: list[str]) -> None:
    wanted = set(argv) or {"1", "2", "3", "4", "5", "6", "7"}
    print(f"scalecli benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if "1" in wanted:
            bench_fit(tmp)
        if "2" in wanted:
            bench_startup(tmp)
        if "3" in wanted:
            bench_ingest(tmp)
        if "4" in wanted:
            bench_law_all(tmp)
        if "5" in wanted:
            bench_custom(tmp)
        if "6" in wanted:
            bench_bnsl(tmp)
        if "7" in wanted:
            bench_bootstrap(tmp)


if __name__ == "__main__":
    main(sys.argv[1:])
