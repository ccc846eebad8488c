"""``scalecli hparams``: Step Law's learning-rate and batch-size laws recovered from sweeps drawn
from known laws, checked against the generating law, against the procedure written out
independently here, and against ordinary least squares' own standard errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()

# Step Law's published laws (Li et al. 2025; the mean of step-law/steplaw's 1000 bootstrap fits)
LR = (1.79, -0.713, 0.307)  # lr_opt = a·N^alpha·D^beta
BS = (0.58, 0.571)  # B_opt (tokens) = b·D^gamma
SIZES = (1e8, 3e8, 1e9)
TOKENS = (1e10, 3e10, 1e11)
SEQ = 2048


def lr_opt(n, d):
    return LR[0] * n ** LR[1] * d ** LR[2]


def bs_opt(d):
    return BS[0] * d ** BS[1]


def base_loss(n, d):
    return 1.8 + 482.0 / n**0.35 + 2085.0 / d**0.37


def write(path, rows, header="run,n_params,tokens,lr,bs,loss"):
    lines = [header] + [",".join(r if isinstance(r, str) else repr(float(r)) for r in row)
                        for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def centred_rows(sizes=SIZES, tokens=TOKENS, k_lr=0.01, k_bs=0.005, jitter=None, seq=1.0):
    """Per setting, a 7 x 7 grid centred on the setting's optimum (lr·2^(k/2), B·2^(j/2)); the
    loss a bowl in log lr and log batch. ``jitter``: per-setting log offsets of the optimum."""
    rows, i = [], 0
    for s, (n, d) in enumerate((n, d) for n in sizes for d in tokens):
        dl, db = (0.0, 0.0) if jitter is None else jitter[s]
        lo, bo = lr_opt(n, d) * math.exp(dl), bs_opt(d) * math.exp(db)
        for k in range(-3, 4):
            for j in range(-3, 4):
                u, v = k * math.log(2) / 2, j * math.log(2) / 2
                loss = base_loss(n, d) * (1 + k_lr * u * u + k_bs * v * v)
                rows.append((f"r{i}", n, d, lo * math.exp(u), bo * math.exp(v) / seq, loss))
                i += 1
    return rows


def invoke(*args):
    # tables are drawn to the terminal's width: a wide one, so no header is wrapped
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def as_json(*args):
    r = invoke(*args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def one_line_error(r, *words):
    assert r.exit_code == 1, (r.exit_code, r.stdout, r.stderr)
    lines = [x for x in r.stderr.strip().splitlines()
             if not x.startswith(("columns:", "warning:", "note:"))]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


# ---- recovery ---------------------------------------------------------------------------
def test_centred_noise_free_grid_recovers_the_laws_exactly(tmp_path):
    """A symmetric bowl sampled symmetrically about the optimum: the near-best runs of each
    setting are symmetric in log lr and log batch, so their log-space mean is the optimum and
    the least-squares laws are the generating ones to rounding."""
    path = write(tmp_path / "s.csv", centred_rows(seq=SEQ))
    d = as_json("hparams", path, "--seq-len", SEQ, "--at", "N=7B,D=1.4T")
    assert d["kind"] == "hparams"
    assert d["lr"]["coef"] == pytest.approx(LR[0], rel=1e-9)
    assert d["lr"]["exponents"] == pytest.approx({"N": LR[1], "D": LR[2]}, rel=1e-9)
    assert d["batch"]["coef"] == pytest.approx(BS[0], rel=1e-9)
    assert d["batch"]["exponents"] == pytest.approx({"D": BS[1]}, rel=1e-9)
    # kept: 0.01·u² + 0.005·v² <= 0.25% with u, v multiples of ln2/2: (k, j) in
    # {(0,0), (±1,0), (0,±1), (±1,±1), (0,±2)} = 11 runs per setting, the best at the centre
    assert [s["kept"] for s in d["settings"]] == [11] * 9
    for s in d["settings"]:
        assert s["best_lr"] == pytest.approx(lr_opt(s["N"], s["D"]), rel=1e-12)
        assert s["best_batch"] == pytest.approx(bs_opt(s["D"]), rel=1e-12)
    (rec,) = d["recommendations"]
    assert rec["lr"] == pytest.approx(lr_opt(7e9, 1.4e12), rel=1e-8)
    assert rec["batch"] == pytest.approx(bs_opt(1.4e12), rel=1e-8)
    assert rec["batch_sequences"] == pytest.approx(bs_opt(1.4e12) / SEQ, rel=1e-8)
    assert "intervals" not in d["lr"] and "bootstrap" not in d


def fixed_grid_rows(k_lr=0.05, k_bs=0.02, step=0.25):
    """One grid for every setting, as a sweep is run: lr = 2^-12..2^-5, B = 2^16..2^22 tokens
    in steps of 2^step; the optimum falls between grid points."""
    lrs = 2.0 ** np.arange(-12, -5 + 1e-9, step)
    bss = 2.0 ** np.arange(16, 22 + 1e-9, step)
    rows = []
    for n in SIZES:
        for d in TOKENS:
            for lr in lrs:
                for b in bss:
                    u, v = math.log(lr / lr_opt(n, d)), math.log(b / bs_opt(d))
                    rows.append((f"r{len(rows)}", n, d, lr, b,
                                 base_loss(n, d) * (1 + k_lr * u * u + k_bs * v * v)))
    return rows


def test_fixed_grid_follows_the_procedure_and_stays_within_its_bound(tmp_path):
    rows = fixed_grid_rows()
    d = as_json("hparams", write(tmp_path / "s.csv", rows), "--near", "0.25%")
    # the procedure written out: per (N, D), runs within 0.25% of the best loss; least
    # squares of log lr on (1, log N, log D) and of log B on (1, log D) over all kept runs
    a = np.array([r[1:] for r in rows], float)
    kept = np.zeros(len(a), bool)
    for n in SIZES:
        for t in TOKENS:
            at = (a[:, 0] == n) & (a[:, 1] == t)
            kept |= at & (a[:, 4] <= a[at, 4].min() * 1.0025)
    k = a[kept]
    X = np.column_stack([np.ones(len(k)), np.log(k[:, 0]), np.log(k[:, 1])])
    lr_theta = np.linalg.lstsq(X, np.log(k[:, 2]), rcond=None)[0]
    bs_theta = np.linalg.lstsq(X[:, [0, 2]], np.log(k[:, 3]), rcond=None)[0]
    assert d["kept_runs"] == kept.sum()
    assert math.log(d["lr"]["coef"]) == pytest.approx(lr_theta[0], abs=1e-9)
    assert [d["lr"]["exponents"][v] for v in "ND"] == pytest.approx(lr_theta[1:], abs=1e-9)
    assert math.log(d["batch"]["coef"]) == pytest.approx(bs_theta[0], abs=1e-9)
    assert d["batch"]["exponents"]["D"] == pytest.approx(bs_theta[1], abs=1e-9)
    # the truth: a kept run has k·u² <= Q = near + (1 + near)·(k_lr + k_bs)·h²/4, h the grid
    # step in log (the best grid point lies within h/2 of the optimum in each direction), so
    # every kept run's log lr is within R = sqrt(Q/k_lr) of the optimum's; least squares moves
    # each coefficient by at most R·Σ|pinv(X)| over the rows
    h = 0.25 * math.log(2)
    q = 0.0025 + 1.0025 * (0.05 + 0.02) * h * h / 4
    for theta, design, kk, truth in ((lr_theta, X, 0.05, [math.log(LR[0]), LR[1], LR[2]]),
                                     (bs_theta, X[:, [0, 2]], 0.02, [math.log(BS[0]), BS[1]])):
        bound = math.sqrt(q / kk) * np.abs(np.linalg.pinv(design)).sum(axis=1)
        assert np.all(np.abs(np.asarray(theta) - truth) <= bound)
    # and well inside it in practice
    assert d["lr"]["exponents"]["N"] == pytest.approx(LR[1], abs=0.03)
    assert d["batch"]["exponents"]["D"] == pytest.approx(BS[1], abs=0.03)


def test_bootstrap_spread_is_the_robust_standard_error_of_least_squares(tmp_path):
    """Settings whose optimum strays from the law by log-normal noise, 20 settings: resampling
    whole settings gives coefficient spreads near the heteroscedasticity-robust (HC0)
    standard errors of least squares on the settings' optima, written out here, and the
    recommendation an interval of about ±1.96 such errors (whether intervals contain the
    truth at their rate is the next test's)."""
    sizes, tokens, sigma = (1e8, 2e8, 4e8, 8e8, 1.6e9), (1e10, 3e10, 1e11, 3e11), 0.15
    jitter = np.random.default_rng(7).normal(0, sigma, size=(20, 2))
    path = write(tmp_path / "s.csv", centred_rows(sizes, tokens, jitter=jitter))
    d = as_json("hparams", path, "--bootstrap", 2000, "--seed", 3, "--at", "N=1e9,D=1e11")
    nd = np.array([(n, t) for n in sizes for t in tokens])
    optima = {"lr": np.log([lr_opt(n, t) for n, t in nd]) + jitter[:, 0],
              "batch": np.log([bs_opt(t) for t in nd[:, 1]]) + jitter[:, 1]}
    (rec,) = d["recommendations"]
    at = np.log([1e9, 1e11])
    for law, design, x0, terms in (
            ("lr", np.column_stack([np.ones(20), np.log(nd)]), [1, *at], "cND"),
            ("batch", np.column_stack([np.ones(20), np.log(nd[:, 1])]), [1, at[1]], "cD")):
        y = optima[law]
        bread = np.linalg.inv(design.T @ design)
        resid = y - design @ (bread @ design.T @ y)
        cov = bread @ (design.T * resid**2) @ design @ bread
        hc0 = np.sqrt(np.diag(cov))
        for k, term in enumerate(terms):
            got = d[law]["se"]["coef" if term == "c" else term]
            assert 0.8 < got / hc0[k] < 1.25, (law, term, got, hc0[k])
        # the recommendation's interval: about ±1.96 robust standard errors of log x0·theta
        lo, hi = np.log(rec[f"{law}_interval"])
        half = 1.959964 * math.sqrt(np.asarray(x0) @ cov @ np.asarray(x0))
        assert lo < math.log(rec[law]) < hi
        assert 0.75 < (hi - lo) / 2 / half < 1.33, (law, (hi - lo) / 2, half)
    assert d["bootstrap"]["resamples"] == 2000 and d["bootstrap"]["failed"] == 0
    assert "settings" in d["bootstrap"]["resample"]


def test_bootstrap_intervals_cover_the_truth_at_their_level():
    """Over 100 sweeps of 20 settings whose optima stray from the law by log-normal noise,
    the 90% percentile intervals from resampled settings contain the generating law's
    coefficient and exponents about 90% of the time (a 20-point pairs bootstrap runs a little
    narrow), and are about as wide as the normal theory's 2·1.645·se."""
    from scalecli.analyses.hparams_fit import bootstrap_laws, fit_log_law, summarize

    rng = np.random.default_rng(11)
    sizes, tokens, sigma = (1e8, 2e8, 4e8, 8e8, 1.6e9), (1e10, 3e10, 1e11, 3e11), 0.15
    nd = np.log(np.array([(n, t) for n in sizes for t in tokens]))
    truth = np.array([math.log(LR[0]), LR[1], LR[2]])
    design = np.column_stack([np.ones(20), nd])
    se = sigma * np.sqrt(np.diag(np.linalg.inv(design.T @ design)))
    hits, widths = np.zeros(3), []
    for _ in range(100):
        y = design @ truth + rng.normal(0, sigma, 20)
        law = fit_log_law("lr", ["N", "D"], nd, y, 20, "--lr-on")
        bootstrap_laws([(law, nd, y)], np.arange(20), 400, int(rng.integers(2**31)))
        summarize(law, 0.90, "percentile", "fit")
        bounds = [np.log(law.intervals["coef"]), law.intervals["N"], law.intervals["D"]]
        hits += [lo < t < hi for (lo, hi), t in zip(bounds, truth, strict=True)]
        widths.append([hi - lo for lo, hi in bounds])
    assert np.all(hits >= 80) and np.all(hits <= 97), hits
    ratio = np.median(widths, axis=0) / (2 * 1.645 * se)
    assert np.all((ratio > 0.75) & (ratio < 1.15)), ratio


def test_the_bootstrap_mean_or_the_fit_is_reported_as_asked(tmp_path):
    jitter = np.random.default_rng(1).normal(0, 0.1, size=(9, 2))
    path = write(tmp_path / "s.csv", centred_rows(jitter=jitter))
    plain = as_json("hparams", path)
    fit = as_json("hparams", path, "--bootstrap", 300, "--estimate", "fit")
    mean = as_json("hparams", path, "--bootstrap", 300, "--estimate", "mean")
    assert fit["lr"]["exponents"] == plain["lr"]["exponents"]
    assert fit["lr"]["coef"] == plain["lr"]["coef"]
    assert mean["lr"]["exponents"] != plain["lr"]["exponents"]
    assert mean["lr"]["exponents"]["N"] == pytest.approx(plain["lr"]["exponents"]["N"], abs=0.05)
    assert mean["estimate"] == "mean of the bootstrap coefficients"
    assert fit["estimate"] == plain["estimate"] == "least squares on all near-best runs"
    # normal intervals: mean ± 1.96·sd of the draws, symmetric about the draws' mean
    normal = as_json("hparams", path, "--bootstrap", 300, "--interval", "normal")
    lo, hi = normal["lr"]["intervals"]["N"]
    assert (lo + hi) / 2 == pytest.approx(normal["lr"]["exponents"]["N"], abs=1e-12)
    assert (hi - lo) / 2 == pytest.approx(1.959964 * normal["lr"]["se"]["N"], rel=1e-5)
    runs = as_json("hparams", path, "--bootstrap", 300, "--resample", "runs")
    assert "runs" in runs["bootstrap"]["resample"]


def test_deterministic_without_bootstrap_and_with_a_seed(tmp_path):
    path = write(tmp_path / "s.csv", fixed_grid_rows(step=0.5))
    assert invoke("hparams", path, "--format", "json").stdout == \
        invoke("hparams", path, "--format", "json").stdout
    one = invoke("hparams", path, "--bootstrap", 50, "--seed", 5, "--format", "json").stdout
    assert one == invoke("hparams", path, "--bootstrap", 50, "--seed", 5, "--format",
                         "json").stdout
    assert one != invoke("hparams", path, "--bootstrap", 50, "--seed", 6, "--format",
                         "json").stdout


def test_chosen_regressors(tmp_path):
    path = write(tmp_path / "s.csv", centred_rows())
    d = as_json("hparams", path, "--lr-on", "n,d", "--batch-on", "N,D")
    assert d["batch"]["exponents"]["N"] == pytest.approx(0.0, abs=1e-9)  # B_opt has no N
    assert d["batch"]["exponents"]["D"] == pytest.approx(BS[1], rel=1e-9)
    d = as_json("hparams", path, "--lr-on", "C")
    assert list(d["lr"]["exponents"]) == ["C"]
    r = invoke("hparams", path, "--lr-on", "N", "--at", "N=1e9")
    one_line_error(r, "--at", "D")  # the batch law still needs D


def test_columns_by_role_alias_and_map(tmp_path):
    rows = centred_rows()
    alias = write(tmp_path / "a.csv", rows, "name,params,tokens_seen,learning_rate,batch_size,"
                  "val_loss")
    d = as_json("hparams", alias)
    assert d["columns"] == {"lr": "lr", "batch": "batch_size"}  # learning_rate read as lr
    assert d["lr"]["exponents"]["N"] == pytest.approx(LR[1], rel=1e-9)
    mapped = write(tmp_path / "m.csv", [r + (3.0,) for r in rows],
                   "run,n_params,tokens,peak,gbs,loss,other_loss")
    d = as_json("hparams", mapped, "--map", "lr=peak,batch_size=gbs")
    assert d["lr"]["exponents"]["D"] == pytest.approx(LR[2], rel=1e-9)
    # --y picks the loss: a constant loss keeps every run, so the fit changes
    d = as_json("hparams", mapped, "--map", "lr=peak,batch_size=gbs", "--y", "other_loss")
    assert d["loss"] == "other_loss" and d["kept_runs"] == len(rows)


def test_outputs_for_people_and_pipes(tmp_path):
    path = write(tmp_path / "s.csv", centred_rows(seq=SEQ))
    r = invoke("hparams", path, "--seq-len", SEQ, "--at", "N=1e9,D=1e11", "--bootstrap", 100)
    assert r.exit_code == 0, r.stderr
    assert "exponent of N" in r.stdout and "95% low" in r.stdout
    assert "recommended at the targets" in r.stdout and "(sequences)" in r.stdout
    csv = invoke("hparams", path, "--seq-len", SEQ, "--at", "N=1e9,D=1e11", "--format", "csv")
    lines = csv.stdout.splitlines()
    assert lines[0].startswith("kind,term,value")
    kinds = [x.split(",")[0] for x in lines[1:]]
    assert kinds == ["lr"] * 3 + ["batch"] * 2 + ["setting"] * 9 + ["recommendation"]
    md = invoke("hparams", path, "--format", "markdown")
    assert md.exit_code == 0 and "| law | term | value |" in md.stdout
    assert "least squares in log space on 99 near-best runs" in md.stdout


def test_api(tmp_path):
    from scalecli import api

    path = write(tmp_path / "s.csv", centred_rows())
    res = api.hparams(path, at=["N=1e9,D=1e11", {"N": 2e9, "D": 4e11}], near=0.0025)
    assert res.lr.exponents["N"] == pytest.approx(LR[1], rel=1e-9)
    assert [r["lr"] for r in res.recommendations] == pytest.approx(
        [lr_opt(1e9, 1e11), lr_opt(2e9, 4e11)], rel=1e-8)


# ---- warnings and bad input -----------------------------------------------------------------
def test_diverged_runs_are_left_out_with_a_warning(tmp_path):
    rows = centred_rows()
    rows = [r[:5] + ("nan",) if r[3] > 2.5 * lr_opt(r[1], r[2]) else r for r in rows]
    r = invoke("hparams", write(tmp_path / "s.csv", rows), "--format", "json")
    assert r.exit_code == 0 and "warning:" in r.stderr and "not used" in r.stderr
    assert json.loads(r.stdout)["lr"]["exponents"]["N"] == pytest.approx(LR[1], rel=1e-9)


def test_an_optimum_at_the_edge_of_the_grid_is_warned(tmp_path):
    rows = [r for r in centred_rows() if r[3] <= lr_opt(r[1], r[2]) * 1.0001]
    r = invoke("hparams", write(tmp_path / "s.csv", rows))
    assert r.exit_code == 0 and "best learning rate is the lowest or highest" in r.stderr


def test_a_margin_that_reads_like_percent_is_warned(tmp_path):
    r = invoke("hparams", write(tmp_path / "s.csv", centred_rows()), "--near", "0.25")
    assert r.exit_code == 0 and "within 25%" in r.stderr and "0.25%" in r.stderr


def test_one_setting_is_refused(tmp_path):
    rows = centred_rows(sizes=(1e8,), tokens=(1e10,))
    one_line_error(invoke("hparams", write(tmp_path / "s.csv", rows)), "one", "N=1e8")


def test_settings_that_cannot_separate_the_variables_are_refused(tmp_path):
    rows = centred_rows(sizes=(1e8, 3e8), tokens=(1e10,))
    one_line_error(invoke("hparams", write(tmp_path / "s.csv", rows)), "--lr-on N,D",
                   "independently")


def test_missing_lr_or_batch_column_is_refused(tmp_path):
    rows = centred_rows()
    no_lr = write(tmp_path / "a.csv", rows, "run,n_params,tokens,step_size,bs,loss")
    one_line_error(invoke("hparams", no_lr), "a.csv", "learning-rate", "--map lr=")
    no_bs = write(tmp_path / "b.csv", rows, "run,n_params,tokens,lr,micro,loss")
    one_line_error(invoke("hparams", no_bs), "b.csv", "batch-size", "--map batch_size=")


def test_a_batch_size_that_is_not_a_number_is_refused(tmp_path):
    """As the lr column is: one line naming the run and the cell (an internal error before)."""
    path = tmp_path / "hp.csv"
    path.write_text("run,n_params,tokens,lr,bs,loss\na,1e8,1e10,1e-3,256,3.0\n"
                    "b,1e8,1e10,2e-3,big,2.9\nc,2e8,1e10,1e-3,256,2.8\n")
    one_line_error(invoke("hparams", path), "column 'bs' is not a number", "run 'b'", "'big'")


def test_a_run_name_given_to_two_rows_is_warned(tmp_path):
    """Without a step column, two rows under one name are read as one run's log (the last row
    wins): said, not silent, since one row of the sweep is then not a run of its own."""
    path = tmp_path / "hp.csv"
    path.write_text("run,n_params,tokens,lr,bs,loss\na,1e8,1e10,1e-3,256,3.0\n"
                    "a,1e8,1e10,2e-3,512,2.9\nc,2e8,1e10,1e-3,256,2.8\nd,2e8,1e10,2e-3,512,2.7\n"
                    "e,1e8,4e10,1e-3,256,2.6\nf,1e8,4e10,2e-3,512,2.5\n")
    r = invoke("hparams", path, "--seq-len", "2048")
    assert r.exit_code == 0, r.output
    assert "1 run name(s) repeat (e.g. 'a', 2 rows) and there is no step column" in r.stderr


def test_r2_is_null_where_the_optimum_does_not_vary(tmp_path):
    """Every setting's best run at the same lr and batch: the laws are flat (exponents 0) and
    R² is undefined (no variance to explain), not a large negative number."""
    path = tmp_path / "hp.csv"
    path.write_text("run,n_params,tokens,lr,bs,loss\n" + "".join(
        f"{n}{d}{i},{n},{d},{lr},{bs},{loss - 0.1 * i}\n"
        for n, d, loss in (("1e8", "1e10", 3.0), ("2e8", "1e10", 2.8), ("1e8", "4e10", 2.6))
        for i, (lr, bs) in enumerate((("1e-3", 256), ("2e-3", 512)))))
    r = invoke("hparams", path, "--seq-len", "2048", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["lr"]["r2"] is None and out["batch"]["r2"] is None
    assert all(abs(v) < 1e-9 for v in out["lr"]["exponents"].values())


@pytest.mark.parametrize("near", ["abc", "-1%", "-0.001", "100%", "nan", "2"])
def test_a_bad_margin_is_refused(tmp_path, near):
    path = write(tmp_path / "s.csv", centred_rows())
    one_line_error(invoke("hparams", path, "--near", near), "--near")


def test_a_setting_with_no_finite_loss_is_refused(tmp_path):
    rows = [r[:5] + ("nan",) if r[1] == 3e8 and r[2] == 3e10 else r for r in centred_rows()]
    one_line_error(invoke("hparams", write(tmp_path / "s.csv", rows)), "N=3e8", "D=3e10",
                   "finite")


@pytest.mark.parametrize("args, words", [
    (["--lr-on", "N,X"], ["--lr-on", "'X'", "unknown"]),
    (["--batch-on", ""], ["--batch-on"]),
    (["--lr-on", "N,N"], ["twice"]),
    (["--at", "N=1e9"], ["--at", "D"]),
    (["--at", "N=1e9,D=-5"], ["--at", "positive"]),
    (["--at", "Q=1"], ["--at", "unknown"]),
    (["--at", "N=1e9,D=1e11,C=1e30"], ["C = 1e+30 but 6·N·D = 6e+20"]),
    (["--seq-len", "0"], ["--seq-len"]),
    (["--interval", "wide"], ["--interval"]),
    (["--estimate", "median"], ["--estimate"]),
    (["--resample", "points"], ["--resample"]),
    (["--bootstrap", "0"], ["--bootstrap"]),
    (["--ci", "1.5"], ["--ci"]),
])
def test_bad_options_are_refused(tmp_path, args, words):
    path = write(tmp_path / "s.csv", centred_rows())
    one_line_error(invoke("hparams", path, *args), *words)


def test_per_step_logs_read_the_peak_lr_and_the_final_loss(tmp_path):
    """Runs logged one row per step with a warm-up and decay schedule: the run's lr is its
    peak, its loss the last logged; the laws are the generating ones."""
    lines = ["run,n_params,tokens,step,lr,batch_size,loss"]
    for name, n, d, lr, bs, loss in centred_rows():
        for step, (share, scale, extra) in enumerate(((0.1, 0.1, 0.5), (0.5, 1.0, 0.1),
                                                      (1.0, 0.1, 0.0)), start=1):
            lines.append(f"{name},{n!r},{d * share!r},{step},{lr * scale!r},{bs!r},"
                         f"{loss + extra!r}")
    path = tmp_path / "steps.csv"
    path.write_text("\n".join(lines) + "\n")
    d = as_json("hparams", path)
    assert d["lr"]["exponents"] == pytest.approx({"N": LR[1], "D": LR[2]}, rel=1e-9)
    assert d["lr"]["coef"] == pytest.approx(LR[0], rel=1e-9)
    assert d["batch"]["exponents"]["D"] == pytest.approx(BS[1], rel=1e-9)


def test_a_store_gives_what_the_file_gives(tmp_path):
    path = write(tmp_path / "s.csv", centred_rows(jitter=np.random.default_rng(2).normal(
        0, 0.1, size=(9, 2))))
    r = invoke("ingest", path, "--store", tmp_path / "st")
    assert r.exit_code == 0, r.stderr
    direct, stored = as_json("hparams", path), as_json("hparams", "--store", tmp_path / "st")
    for key in ("lr", "batch", "settings"):
        assert stored[key] == direct[key]


@settings(max_examples=25, deadline=None)
@given(st.floats(0.1, 50), st.floats(-1.2, -0.2), st.floats(-0.2, 0.6), st.floats(0.05, 5),
       st.floats(0.2, 0.8), st.floats(0.002, 0.05), st.integers(2, 4), st.integers(2, 4))
def test_any_law_is_recovered_from_a_centred_grid(a, alpha, beta, b, gamma, k_lr, n_sizes,
                                                   n_tokens):
    """Whatever the generating laws and bowl, on at least three settings that vary N and D
    independently, a grid centred on each optimum gives back the laws to rounding."""
    import tempfile
    from pathlib import Path

    from scalecli import api

    sizes = tuple(1e8 * 3.0**i for i in range(n_sizes))
    tokens = tuple(1e10 * 2.5**i for i in range(n_tokens))
    rows, i = [], 0
    for n in sizes:
        for t in tokens:
            lo, bo = a * n**alpha * t**beta, b * t**gamma
            for k in range(-2, 3):
                for j in range(-2, 3):
                    u, v = k * 0.3, j * 0.3
                    loss = base_loss(n, t) * (1 + k_lr * u * u + k_lr / 2 * v * v)
                    rows.append((f"r{i}", n, t, lo * math.exp(u), bo * math.exp(v), loss))
                    i += 1
    with tempfile.TemporaryDirectory() as tmp:
        res = api.hparams(write(Path(tmp) / "s.csv", rows))
    assert res.lr.coef == pytest.approx(a, rel=1e-8)
    assert res.lr.exponents == pytest.approx({"N": alpha, "D": beta}, rel=1e-8, abs=1e-10)
    assert res.batch.coef == pytest.approx(b, rel=1e-8)
    assert res.batch.exponents["D"] == pytest.approx(gamma, rel=1e-8)


def test_resamples_that_cannot_identify_the_laws_are_counted_and_warned(tmp_path):
    """Three settings for a law in N and D: a resample of settings identifies it only when it
    draws all three, with probability 3!/3^3 = 2/9."""
    rows = [r for r in centred_rows(sizes=(1e8, 3e8), tokens=(1e10, 3e10))
            if not (r[1] == 3e8 and r[2] == 3e10)]
    r = invoke("hparams", write(tmp_path / "s.csv", rows), "--bootstrap", 900, "--format", "json")
    assert r.exit_code == 0 and "too few distinct settings" in r.stderr
    failed = json.loads(r.stdout)["bootstrap"]["failed"]
    assert abs(failed / 900 - 7 / 9) < 4 * math.sqrt(7 / 81 / 900), failed


def test_a_sweep_that_never_varies_a_variable_is_refused(tmp_path):
    # one run per setting (a plain size ladder): no setting tried two learning rates or batches
    rows = [(f"r{i}", n, d, 3e-4, 256.0, base_loss(n, d))
            for i, (n, d) in enumerate((n, d) for n in SIZES for d in TOKENS)]
    one_line_error(invoke("hparams", write(tmp_path / "s.csv", rows)),
                   "more than one learning rate", "sweep it")
    sample = str(Path(__file__).parents[1] / "sample_runs")
    one_line_error(invoke("hparams", sample), "more than one learning rate")


def test_a_setting_that_tried_one_learning_rate_is_warned(tmp_path):
    rows = centred_rows()
    n, d = SIZES[0], TOKENS[0]
    first = [r for r in rows if r[1] == n and r[2] == d]
    keep = {first[0][3]}
    rows = [r for r in rows if not (r[1] == n and r[2] == d) or r[3] in keep]
    r = invoke("hparams", write(tmp_path / "s.csv", rows))
    assert r.exit_code == 0, r.output
    assert "1 setting(s) tried one learning rate" in r.stderr
