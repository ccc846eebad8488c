"""Whole-curve laws, schedules, and the fit/evaluate/schedule commands.

Truth here is independent of the code under test: each law is re-written from its paper's
formula as plain loops over steps, each schedule from its definition step by step, and the
curves the CLI fits are drawn from those loops."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.laws import get_law
from scalecli.laws.curves import Curve
from scalecli.schedules import parse_schedule

runner = CliRunner()
TRUE = {"L0": 2.8, "A": 0.55, "alpha": 0.5, "B": 400.0, "C": 1.5, "beta": 0.55, "gamma": 0.6}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ---- independent implementations (loops, from the papers) ------------------------------------
def mpl_loop(eta, t, p):
    """Luo et al. 2025, Eq. 5: L0 + A·S1^-alpha - B·sum_{k=1..t} (eta_{k-1} - eta_k)·
    [1 - (1 + C·eta_k^-gamma·S_k(t))^-beta], S1 = sum_{i=0..t} eta_i, S_k(t) = sum_{i=k..t}."""
    s1 = sum(eta[: t + 1])
    ld, skt = 0.0, 0.0
    for k in range(t, 0, -1):  # from t down, so S_k(t) grows by eta_k each step
        skt += eta[k]
        ld += (eta[k - 1] - eta[k]) * (1 - (1 + p["C"] * eta[k] ** -p["gamma"] * skt)
                                       ** -p["beta"])
    return p["L0"] + p["A"] * s1 ** -p["alpha"] - p["B"] * ld


def anneal_loop(eta, t, p):
    """Tissue et al. 2024: L0 + A·S1^-alpha - C·S2, S2 = sum_{i=1..t} m_i,
    m_i = lam·m_{i-1} + (eta_{i-1} - eta_i), m_0 = 0."""
    m, s2 = 0.0, 0.0
    for i in range(1, t + 1):
        m = p["lam"] * m + (eta[i - 1] - eta[i])
        s2 += m
    return p["L0"] + p["A"] * sum(eta[: t + 1]) ** -p["alpha"] - p["C"] * s2


def wsd_eta(n, w, peak, final, d0):
    out = []
    for s in range(n):
        if s < w:
            out.append(peak * s / (w - 1))
        elif s < d0:
            out.append(peak)
        else:
            f = (s - d0) / (n - d0)
            out.append(peak + (final - peak) * f)
    return out


ETA = wsd_eta(400, 20, 3e-4, 3e-5, 300)
STEPS = [25, 60, 150, 299, 300, 301, 350, 399]


def test_multi_power_matches_the_papers_formula():
    law = get_law("multi-power")
    got = law.predict_natural(TRUE, [Curve.make(ETA, STEPS)])
    want = [mpl_loop(ETA, t, TRUE) for t in STEPS]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_lr_anneal_and_power_area_match_their_formulas():
    p = {"L0": 2.5, "A": 0.6, "alpha": 0.4, "C": 300.0, "lam": 0.995}
    got = get_law("lr-anneal").predict_natural(p, [Curve.make(ETA, STEPS)])
    np.testing.assert_allclose(got, [anneal_loop(ETA, t, p) for t in STEPS], rtol=1e-12)
    q = {"L0": 2.5, "A": 0.6, "alpha": 0.4}
    got = get_law("power-area").predict_natural(q, [Curve.make(ETA, STEPS)])
    want = [q["L0"] + q["A"] * sum(ETA[: t + 1]) ** -q["alpha"] for t in STEPS]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("name,params", [
    ("multi-power", TRUE), ("lr-anneal", {"L0": 2.5, "A": 0.6, "alpha": 0.4, "C": 300.0, "lam": 0.995})])
def test_jacobians_match_finite_differences(name, params):
    law = get_law(name)
    c = [Curve.make(ETA, STEPS)]
    theta = np.array(law.to_internal(params))
    _, J = law.evaluate(theta, c, jac=True)
    for j in range(len(theta)):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        fd = (law.evaluate(up, c) - law.evaluate(dn, c)) / (2 * h)
        np.testing.assert_allclose(J[:, j], fd, rtol=1e-5, atol=1e-9)


def test_coarse_change_points_are_close():
    eta = parse_schedule("cosine:peak=3e-4,warmup=50,final=3e-5").dense(3000)
    c = Curve.make(eta, np.arange(100, 3000, 100))
    law = get_law("multi-power")
    exact, approx = law.predict_natural(TRUE, [c]), law.predict_natural(TRUE, [c.coarse(100)])
    assert np.abs(approx / exact - 1).max() < 1e-3


# ---- schedules against their definitions ------------------------------------------------------
def _loop(kind, n, w, peak, final, **kw):
    out = []
    for s in range(n):
        if s < w:
            out.append(peak * s / (w - 1))
            continue
        if kind == "constant":
            out.append(peak)
        elif kind == "cosine":
            out.append(final + 0.5 * (peak - final) * (1 + math.cos(math.pi * (s - w) / (n - w))))
        elif kind == "linear":
            out.append(peak + (final - peak) * (s - w) / (n - w))
        else:
            d0 = int((1 - kw["decay"]) * n)
            if s < d0:
                out.append(peak)
                continue
            f = (s - d0) / (n - d0)
            out.append({"linear": peak + (final - peak) * f,
                        "cosine": final + (peak - final) * (1 + math.cos(math.pi * f)) / 2,
                        "exp": peak * (final / peak) ** f,
                        "sqrt": final + (peak - final) * (1 - math.sqrt(f))}[kw["shape"]])
    return out


@pytest.mark.parametrize("spec,kind,kw", [
    ("constant:peak=1e-3,warmup=10", "constant", {}),
    ("cosine:peak=1e-3,warmup=10,final=1e-4", "cosine", {}),
    ("linear:peak=1e-3,warmup=10,final=1e-4", "linear", {}),
    *[(f"wsd:peak=1e-3,warmup=10,final=1e-4,decay=0.25,shape={sh}", "wsd",
       {"decay": 0.25, "shape": sh}) for sh in ("linear", "cosine", "exp", "sqrt")],
])
def test_schedules_match_their_definitions(spec, kind, kw):
    got = parse_schedule(spec).dense(200)
    want = _loop(kind, 200, 10, 1e-3, 1e-4 if kind != "constant" else 0.0, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-18)


def test_piecewise_schedule_and_the_schedule_command():
    got = parse_schedule("piecewise:steps=0/5/8,values=3/2/1").dense(10)
    assert got.tolist() == [3, 3, 3, 3, 3, 2, 2, 2, 1, 1]
    r = invoke("schedule", "wsd:peak=3e-4,warmup=3,decay=0.4,final=3e-5", "--steps", "10")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.stdout.splitlines()))
    want = wsd_eta(10, 3, 3e-4, 3e-5, 6)
    assert [int(x["step"]) for x in rows] == list(range(10))
    np.testing.assert_allclose([float(x["lr"]) for x in rows], want, rtol=1e-12)


@pytest.mark.parametrize("spec,steps,words", [
    ("cosine:peak=3e-4,steps=100,peak=1", "100", ["peak is given twice"]),
    ("constant:peak=3e-4,steps=50", "100", ["has 50 steps, not 100"]),
    ("constant:peak=3e-4,steps=2.5", None, ["steps='2.5'", "whole number"]),
    ("cosine:peak=3e-4,warmup=2.5,steps=100", None, ["warmup='2.5'", "whole number"]),
    ("wsd:peak=3e-4,decay=2.5,steps=100", None, ["decay='2.5'", "a fraction below 1"]),
    ("piecewise:steps=0/2.5,values=1/2,length=10", None, ["breaks are whole steps"]),
    ("constant:peak=3e-4,steps=2000000000", None, ["from 1 to 1,000,000,000"]),
])
def test_a_schedule_that_cannot_be_meant_is_refused(spec, steps, words):
    """A spec is read literally: a key twice, a fractional step count or two lengths that
    disagree are refused, not resolved by a silent choice."""
    r = invoke("schedule", spec, *(["--steps", steps] if steps else []))
    _refused(r, *words)


# ---- the commands: curves drawn from the law, a held-out schedule -----------------------------
T, W = 1500, 60


def _schedules():
    s = np.arange(T)
    warm = np.linspace(0, 3e-4, W)
    cos = 3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + np.cos(np.pi * (s - W) / (T - W)))
    const = np.full(T, 3e-4)
    wsd = np.array(wsd_eta(T, W, 3e-4, 3e-5, int(0.8 * T)))
    out = {}
    for name, eta in (("cosine", cos), ("constant", const), ("wsd", wsd)):
        eta = eta.copy()
        eta[:W] = warm
        out[name] = eta
    return out


@pytest.fixture(scope="module")
def curves_csv(tmp_path_factory):
    """Dense lr at every step, loss every 30 steps after warm-up (from the loop formula)."""
    path = tmp_path_factory.mktemp("curves") / "curves.csv"
    logged = set(range(W + 30, T, 30))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run", "split", "step", "lr", "loss"])
        for name, eta in _schedules().items():
            eta = eta.tolist()
            for s in range(T):
                loss = repr(mpl_loop(eta, s, TRUE)) if s in logged else ""
                w.writerow([name, "test" if name == "wsd" else "train", s, repr(eta[s]), loss])
    return path


def _params(p):
    return ",".join(f"{k}={v!r}" for k, v in p.items())


def test_evaluate_at_the_true_parameters_gives_no_error(curves_csv):
    r = invoke("evaluate", curves_csv, "--law", "multi-power", "--params", _params(TRUE),
               "--split", "split", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {c["run"] for c in out["curves"]} == {"cosine", "constant", "wsd"}
    for c in out["curves"]:
        assert c["pred_e"] < 1e-12 and c["worst_e"] < 1e-12 and c["n_points"] == 47
    assert set(out["splits"]) == {"train", "test"} and out["splits"]["train"]["curves"] == 2


def test_fit_on_two_schedules_predicts_the_held_out_one(curves_csv, tmp_path):
    save = tmp_path / "fit.json"
    r = invoke("fit", curves_csv, "--law", "multi-power", "--split", "split", "--format",
               "json", "--save", save)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    test = {c["run"]: c for c in out["curves"]}["wsd"]
    assert test["split"] == "test" and test["pred_e"] < 2e-3
    assert out["splits"]["test"]["pred_e"] == test["pred_e"]
    # the saved fit scores the same curves without refitting
    r = invoke("evaluate", curves_csv, "--fit", save, "--format", "json")
    assert r.exit_code == 0, r.output
    again = {c["run"]: c for c in json.loads(r.stdout)["curves"]}["wsd"]
    assert again["pred_e"] == pytest.approx(test["pred_e"], rel=1e-9)


def test_train_runs_glob_and_a_table_for_people(curves_csv):
    r = invoke("fit", curves_csv, "--law", "power-area", "--train-runs", "constant")
    assert r.exit_code == 0, r.output
    assert "power-area (fitted)" in r.stdout and "mean" in r.stdout  # (a narrow table wraps)
    r = invoke("fit", curves_csv, "--law", "power-area", "--train-runs", "constant", "-f",
               "markdown")
    assert "| mean (test) | test | 94 |" in r.stdout, r.stdout


def test_a_schedule_spec_stands_for_an_unlogged_lr(tmp_path):
    spec = f"wsd:peak=3e-4,warmup=60,decay=0.2,final=3e-5,steps={T}"
    eta = parse_schedule(spec).dense().tolist()
    path = tmp_path / "loss_only.csv"
    with open(path, "w") as f:
        f.write("run,step,loss\n")
        f.writelines(f"a,{s},{mpl_loop(eta, s, TRUE)!r}\n" for s in range(W + 30, T, 30))
    r = invoke("evaluate", path, "--law", "multi-power", "--params", _params(TRUE),
               "--schedule", spec, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["curves"][0]["pred_e"] < 1e-12
    # too short a schedule for the logged steps
    r = invoke("evaluate", path, "--law", "multi-power", "--params", _params(TRUE),
               "--schedule", spec.replace(f"steps={T}", "steps=1000"))
    _refused(r, "1000 steps", "logged up to step")
    # a schedule whose shape depends on the run's length must say the length
    r = invoke("evaluate", path, "--law", "multi-power", "--params", _params(TRUE),
               "--schedule", spec.replace(f",steps={T}", ""))
    _refused(r, "steps=N")
    # no lr and no schedule
    r = invoke("fit", path, "--law", "multi-power")
    _refused(r, "learning rate at every step", "--schedule")


def test_bad_inputs_are_one_line(curves_csv, tmp_path):
    r = invoke("fit", curves_csv, "--law", "multi-power", "--train-runs", "*")
    _refused(r, "no test runs")
    r = invoke("evaluate", curves_csv, "--law", "multi-power", "--params", "L0=1")
    _refused(r, "missing", "gamma")
    r = invoke("schedule", "cosine:warmup=10", "--steps", "100")
    _refused(r, "peak")
    sparse = tmp_path / "sparse.csv"
    sparse.write_text("run,step,lr,loss\na,0,1e-4,3.0\na,10,1e-4,2.9\na,20,5e-5,2.8\n")
    r = invoke("fit", sparse, "--law", "multi-power")
    _refused(r, "not at every step")


def test_a_loss_logged_before_the_first_lr_is_left_out_with_a_note(curves_csv, tmp_path):
    """lr logged from step 1 and a loss at step 0: that point has no LR area to stand on and is
    left out; the curves are scored exactly as the same log without it is."""
    rows = curves_csv.read_text().splitlines()
    with_loss, without = [rows[0]], [rows[0]]
    for r in rows[1:]:
        run, split, step, *_ = r.split(",")
        if step == "0":
            with_loss.append(f"{run},{split},{step},,10.0")
            continue
        with_loss.append(r)
        without.append(r)
    got = []
    for name, lines in (("late_lr.csv", with_loss), ("no_step0.csv", without)):
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        r = invoke("evaluate", path, "--law", "multi-power", "--params", _params(TRUE),
                   "--format", "json")
        assert r.exit_code == 0, r.output
        got.append(json.loads(r.stdout))
    def scores(out):  # the run ids name the file
        return [{k: v for k, v in c.items() if k != "run_id"} for c in out["curves"]]

    assert scores(got[0]) == scores(got[1])
    assert all(c["n_points"] == 47 for c in got[0]["curves"])
    assert any("3 logged point(s) before their run's first logged lr" in n
               for n in got[0]["notes"])


def test_a_negative_lr_is_refused_naming_the_step(tmp_path):
    path = tmp_path / "neg.csv"
    path.write_text("run,step,lr,loss\n" + "".join(
        f"a,{s},{-1e-6 if s == 7 else 1e-4},{3.0 - s / 100 if s % 5 == 4 else ''}\n"
        for s in range(20)))
    r = invoke("fit", path, "--law", "multi-power")
    _refused(r, "run 'a'", "-1e-06 at step 7", "a number from 0 to")


def test_a_step_logged_twice_counts_once_with_its_last_value(curves_csv, tmp_path):
    """A resumed run logs the steps after its checkpoint again: the last value counts, as if
    the first had not been logged (here the first copies are 50% off the law)."""
    lines = curves_csv.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    wsd = [r for r in rows if r.startswith("wsd,")]
    wrong = []
    for r in wsd[len(wsd) // 2:]:
        cells = r.split(",")
        if cells[-1]:
            cells[-1] = repr(float(cells[-1]) * 1.5)
        wrong.append(",".join(cells))
    path = tmp_path / "resumed.csv"
    path.write_text("\n".join([header, *[r for r in rows if not r.startswith("wsd,")],
                               *wsd[: len(wsd) // 2], *wrong, *wsd[len(wsd) // 2:]]) + "\n")
    r = invoke("evaluate", path, "--law", "multi-power", "--params", _params(TRUE),
               "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    wsd_row = {c["run"]: c for c in out["curves"]}["wsd"]
    assert wsd_row["n_points"] == 47 and wsd_row["worst_e"] < 1e-12
    assert any("step(s) logged more than once" in n for n in out["notes"])


@pytest.mark.parametrize("params,words", [
    ({**TRUE, "C": -1.5}, ["C = -1.5 lies beyond its lower bound"]),
    ({**TRUE, "L0": "x"}, ["L0: 'x' is not a number"]),
    ({"L0": 2.8}, ["missing A, alpha"]),
])
def test_given_parameters_outside_the_law_are_refused(curves_csv, tmp_path, params, words):
    """Parameters no fit could have produced (outside the law's bounds, not numbers, missing)
    are refused from --params and from a saved fit alike, never evaluated into numbers."""
    saved = tmp_path / "fit.json"
    saved.write_text(json.dumps({"law": "multi-power", "params": params}))
    r = invoke("predict", "--fit", saved, "--schedule", "constant:peak=3e-4,steps=100")
    _refused(r, f"--fit {saved}", *words)
    r = invoke("evaluate", curves_csv, "--fit", saved)
    _refused(r, *words)
    if all(isinstance(v, float) for v in params.values()) and len(params) == len(TRUE):
        r = invoke("evaluate", curves_csv, "--law", "multi-power", "--params", _params(params))
        _refused(r, "--params", *words)


def _small_curves(path, cell=lambda run, s, lr, loss, split: (lr, loss, split)):
    """Three runs of 40 steps (dense lr, a loss every 5 steps from 10), each row through
    ``cell`` to spoil it."""
    lines = ["run,step,lr,loss,split"]
    for run, split in (("a", "train"), ("b", "test"), ("c", "test")):
        for s in range(40):
            lr = 3e-4 * min(1, (s + 1) / 10)
            loss = 3 + 2 / (1 + s) if s >= 10 and s % 5 == 0 else ""
            lr, loss, split_ = cell(run, s, lr, loss, split)
            lines.append(f"{run},{s},{lr},{loss},{split_}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("spoil,args,words", [
    (lambda run, s, lr, loss, sp: (lr, loss, "" if run == "c" else sp), ["--split", "split"],
     ["--split split", "has 'no value'", "train or test"]),
    (lambda run, s, lr, loss, sp: (lr, -1 if (run, s) == ("b", 20) else loss, sp), [],
     ["run 'b'", "loss is -1 at step 20", "positive, finite loss"]),
    (lambda run, s, lr, loss, sp: (lr, 0 if (run, s) == ("b", 20) else loss, sp), [],
     ["loss is 0 at step 20"]),
    (lambda run, s, lr, loss, sp: (1e300 if (run, s) == ("b", 20) else lr, loss, sp), [],
     ["the lr column is 1e+300 at step 20"]),
])
@pytest.mark.parametrize("law", ["multi-power", "power-area"])
def test_curves_no_law_can_stand_on_are_refused(tmp_path, spoil, args, words, law):
    """An empty split cell, a loss <= 0 (the fit is in log space) or an absurd lr: one line
    naming the run and step, for fit and evaluate (these were internal errors, or metrics of
    nan and negative pred_e)."""
    path = _small_curves(tmp_path / "c.csv", spoil)
    _refused(invoke("fit", path, "--law", law, *args), *words)
    params = "L0=2.8,A=0.5,alpha=0.5" if law == "power-area" else _params(TRUE)
    _refused(invoke("evaluate", path, "--law", law, "--params", params, *args), *words)


def test_a_run_with_no_loss_logged_is_named_in_a_note(tmp_path):
    path = _small_curves(tmp_path / "c.csv",
                         lambda run, s, lr, loss, sp: (lr, "" if run == "c" else loss, sp))
    r = invoke("evaluate", path, "--law", "power-area", "--params", "L0=2.8,A=0.5,alpha=0.5",
               "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [c["run"] for c in out["curves"]] == ["a", "b"]
    assert "1 run(s) with no loss logged left out: c" in out["notes"]


def test_a_split_that_changes_within_runs_is_named_so(tmp_path):
    path = _small_curves(tmp_path / "c.csv",
                         lambda run, s, lr, loss, sp: (lr, loss, "train" if s < 20 else "test"))
    _refused(invoke("fit", path, "--law", "power-area", "--split", "split"),
             "no column 'split' with one value (train or test) per run",
             "changes within a run")


def _refused(r, *words):
    text = r.stdout + r.stderr
    assert r.exit_code == 1, text
    assert "Traceback" not in text
    lines = [x for x in text.strip().splitlines() if x.startswith("Error")]
    assert len(lines) == 1, text
    for w in words:
        assert w in lines[0], text


def test_rows_with_an_lr_and_no_loss_are_kept(curves_csv):
    from scalecli.pipeline import load

    frames = load(curves_csv, need=())
    h = frames.history
    assert h.filter(h["metric"] == "loss").height == 3 * 47
    assert h.filter(h["lr"].is_not_null()).height == 3 * T


def test_evaluate_scores_a_final_loss_law_one_point_per_run(tmp_path):
    from conftest import TRUE as CHIN
    from conftest import chinchilla_loss, synthetic_sweep, write_csv

    N, D, _ = synthetic_sweep(0, noise=0.0)
    path = write_csv(tmp_path / "sweep.csv", N, D, chinchilla_loss(CHIN, N, D))
    r = invoke("evaluate", path, "--law", "chinchilla", "--params", _params(CHIN), "--format",
               "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["curves"]) == len(N) and all(c["n_points"] == 1 for c in out["curves"])
    assert max(c["pred_e"] for c in out["curves"]) < 1e-12
    off = {**CHIN, "E": CHIN["E"] * 1.01}  # E 1% high: each error is 0.01·E / L
    r = invoke("evaluate", path, "--law", "chinchilla", "--params", _params(off), "--format",
               "json")
    got = {c["run"]: c["pred_e"] for c in json.loads(r.stdout)["curves"]}
    L = chinchilla_loss(CHIN, N, D)
    np.testing.assert_allclose(sorted(got.values()), sorted(0.01 * CHIN["E"] / L), rtol=1e-9)


def test_a_run_level_schedule_column_and_lr_anneal_recovery(tmp_path):
    """Each run names its schedule in a `schedule` column; lr-anneal curves drawn from the
    paper's recurrence are fitted on two schedules and predict the third."""
    p = {"L0": 2.5, "A": 0.6, "alpha": 0.45, "C": 400.0, "lam": 0.995}
    specs = {"cos": f"cosine:peak=3e-4,warmup=60,final=3e-5,steps={T}",
             "const": f"constant:peak=3e-4,warmup=60,steps={T}",
             "wsd": f"wsd:peak=3e-4,warmup=60,decay=0.3,shape=sqrt,final=0,steps={T}"}
    path = tmp_path / "runs.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run", "schedule", "split", "step", "loss"])
        for name, spec in specs.items():
            eta = parse_schedule(spec).dense().tolist()
            for s in range(W + 30, T, 30):
                w.writerow([name, spec, "test" if name == "wsd" else "train", s,
                            repr(anneal_loop(eta, s, p))])
    r = invoke("evaluate", path, "--law", "lr-anneal", "--params", _params(p), "-f", "json")
    assert r.exit_code == 0, r.output
    assert max(c["pred_e"] for c in json.loads(r.stdout)["curves"]) < 1e-12
    r = invoke("fit", path, "--law", "lr-anneal", "--split", "split", "-f", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["splits"]["test"]["pred_e"] < 1e-3
    assert out["data"]["lr"]["wsd"] == specs["wsd"]


def test_options_of_the_other_kind_of_fit_are_refused(curves_csv):
    _refused(invoke("fit", curves_csv, "--law", "multi-power", "--bootstrap", "10"),
             "--bootstrap")
    _refused(invoke("fit", curves_csv, "--law", "chinchilla", "--split", "split"), "--split")
