"""No silent wrong number from the fitter: degenerate data are refused or warned about, held
values are checked once for every caller, resources are bounded, notes stay apart from
warnings and survive a save. Inputs are drawn from known generating laws."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import TRUE, as_points, chinchilla_loss, synthetic_sweep, write_csv
from typer.testing import CliRunner

from scalecli.errors import ConfigError, FitError
from scalecli.fitting import FitResult, Objective, fit_points
from scalecli.fitting.multistart import Optimum
from scalecli.laws import get_law

CHIN = {"E": 1.8, "A": 482.0, "alpha": 0.35, "B": 2085.0, "beta": 0.37}


def grid_sweep(loss):
    """The check's sweep: 4 model sizes x 3 token counts."""
    N = np.repeat([1e7, 3e7, 1e8, 3e8], 3)
    D = np.tile([1e9, 4e9, 1.6e10], 4)
    return N, D, loss(N, D)


# ---- degenerate data -------------------------------------------------------------------------
def test_identical_losses_are_refused():
    N, D, L = grid_sweep(lambda n, d: np.full(n.shape, 3.0))
    with pytest.raises(FitError, match="all 12 points have the same target"):
        fit_points(as_points(N, D, L), get_law("chinchilla"))


def test_loss_rising_with_size_is_warned():
    N, D, L = grid_sweep(lambda n, d: 2 + 1e-9 * n + 1e-11 * d)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"))
    assert any(w.startswith("the target rises with N") for w in res.warnings)
    assert any("ended at its lower bound 0" in w for w in res.warnings)  # beta pinned at 0


def test_a_good_fit_of_correlated_variables_is_not_second_guessed():
    """Every run at D = 20 N: log N and log D move together, a regression's slopes would say
    anything; the fit itself is good, so no warning."""
    N = np.geomspace(1e7, 1e9, 8)
    res = fit_points(as_points(N, 20 * N, chinchilla_loss(CHIN, N, 20 * N)),
                     get_law("chinchilla"))
    assert not any("rises" in w for w in res.warnings)


def test_one_token_count_is_refused_like_one_model_size():
    N = 1e7 * 1.5 ** np.arange(12)
    D = np.full(12, 1e9)
    with pytest.raises(FitError, match=r"one token count \(D=1e\+09\)"):
        fit_points(as_points(N, D, chinchilla_loss(CHIN, N, D)), get_law("chinchilla"))
    with pytest.raises(FitError, match="one model size"):
        fit_points(as_points(D, N, chinchilla_loss(CHIN, D, N)), get_law("chinchilla"))


def test_a_formula_law_with_one_value_of_a_variable_is_warned_not_refused():
    """data-constrained with one unique-token count U (Muennighoff et al. ran such sweeps):
    still identified through D/U, so a warning, not a refusal."""
    import polars as pl

    law = get_law("data-constrained")
    rng = np.random.default_rng(0)
    N = np.exp(rng.uniform(np.log(1e8), np.log(1e10), 40))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 40))
    U = np.full(40, 25e9)
    L = np.array([law.value(law.defaults, {"N": n, "D": d, "U": u}) for n, d, u in zip(N, D, U)])
    pts = as_points(N, D, L)
    pts.frame = pts.frame.with_columns(pl.Series("unique_tokens", U))
    res = fit_points(pts, law, fixed={"RN_star": law.defaults["RN_star"]})
    assert any("one value of U" in w for w in res.warnings)


def test_a_parameter_at_its_bound_is_named():
    """Data falling as x^-7 for a power law whose alpha is bounded by 5: the fit ends at 5."""
    import polars as pl

    from scalecli.reduce import Points

    x = np.geomspace(1.0, 10.0, 20)
    frame = pl.DataFrame({"run_id": [f"r{i}" for i in range(20)], "flops": x,
                          "y": 0.5 + 100.0 * x ** -7.0})
    res = fit_points(Points(frame=frame, target="loss", reduce="last"), get_law("power"))
    assert res.params["alpha"] == pytest.approx(5.0)
    assert any(w.startswith("alpha ended at its upper bound 5") for w in res.warnings)


def test_an_empty_or_failed_optimizer_message_is_a_warning(monkeypatch):
    from scalecli.fitting import search

    N, D, L = synthetic_sweep(0)
    real = search.fit_multistart

    def silent(*a, **k):
        opt = real(*a, **k)
        opt.message = ""
        return opt

    monkeypatch.setattr(search, "fit_multistart", silent)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"))
    assert any("no status message" in w for w in res.warnings)

    def failed(*a, **k):
        opt = real(*a, **k)
        opt.converged, opt.message = False, "ABNORMAL_TERMINATION_IN_LNSRCH"
        return opt

    monkeypatch.setattr(search, "fit_multistart", failed)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"))
    assert not res.converged
    assert any("did not report convergence: ABNORMAL" in w for w in res.warnings)


def test_a_usual_fit_has_no_warnings():
    N, D, L = synthetic_sweep(2, noise=0.003)
    res = fit_points(as_points(N, D, L), get_law("chinchilla"))
    assert res.warnings == [] and res.notes == []


def test_a_non_positive_target_in_log_space_counts_the_points(recwarn):
    N, D, L = synthetic_sweep(0)
    L[[3, 7]] = [0.0, -1.0]
    with pytest.raises(FitError, match=r"2 of 30 point\(s\) have a target <= 0"):
        fit_points(as_points(N, D, L), get_law("chinchilla"))
    with pytest.raises(FitError, match=r"1 of 30 point\(s\) have a target <= -1"):
        fit_points(as_points(N, D, L), get_law("chinchilla"), objective=Objective(space="log1p"))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_variables_outside_the_laws_domain_are_refused():
    N, D, L = synthetic_sweep(0)
    N[0] = 0.0
    with pytest.raises(FitError, match=r"N must be positive and finite .* 1 of 30"):
        fit_points(as_points(N, D, L), get_law("chinchilla"))


# ---- held values: one check for --fix, fixed: and the library ---------------------------------
@pytest.mark.parametrize("fixed, words", [
    ({"E": math.nan}, "E = nan: a held value must be a finite number"),
    ({"E": math.inf}, "finite"),
    ({"E": -1.0}, "E = -1 lies beyond its lower bound 0"),
    ({"alpha": 11.0}, "alpha = 11 lies beyond its upper bound 10"),
    ({"Q": 1.0}, "Q' is not a parameter of chinchilla (its parameters: E, A, alpha, B, beta)"),
    ({"E": "abc"}, "is not a number"),
    ({"E": True}, "is not a number"),
    ({"E": 10**400}, "too large for a float"),
])
def test_fit_points_checks_held_values(fixed, words):
    N, D, L = synthetic_sweep(0)
    with pytest.raises(ConfigError) as exc:
        fit_points(as_points(N, D, L), get_law("chinchilla"), fixed=fixed)
    assert words in str(exc.value)
    assert len(str(exc.value)) < 200


def test_check_fixed_returns_floats_and_allows_a_term_held_at_zero():
    law = get_law("power")
    assert law.check_fixed({"E": 0, "alpha": "0.5"}) == {"E": 0.0, "alpha": 0.5}


def test_every_parameter_held_is_refused():
    N, D, L = synthetic_sweep(0)
    with pytest.raises(ConfigError, match="nothing to fit"):
        fit_points(as_points(N, D, L), get_law("chinchilla"), fixed=TRUE)


# ---- bounds on what an input can ask for -------------------------------------------------------
@pytest.mark.parametrize("seed", [-1, 2**32, 10**30, True, 1.5])
def test_a_seed_outside_numpys_range_is_refused(seed):
    N, D, L = synthetic_sweep(0)
    with pytest.raises(ConfigError, match="from 0 to 2\\*\\*32 - 1"):
        fit_points(as_points(N, D, L), get_law("chinchilla"), seed=seed)


@pytest.mark.parametrize("delta", [0, -1e-3, math.nan, math.inf, 1e13, 10**400, "x"])
def test_an_absurd_huber_delta_is_refused(delta):
    with pytest.raises(ConfigError, match="huber delta") as exc:
        Objective("huber", delta)
    assert "9" * 40 not in str(exc.value) and len(str(exc.value)) < 200


def test_a_huber_delta_is_stored_as_a_float():
    assert Objective("huber", 1).delta == 1.0 and isinstance(Objective("huber", 1).delta, float)


# ---- notes and warnings, saved and loaded -------------------------------------------------------
def test_notes_and_warnings_survive_a_save(tmp_path):
    N = np.geomspace(2e13, 1.5e15, 6).repeat(5)
    D = N * np.tile([2.0, 5.0, 10.0, 20.0, 40.0], 6)
    L = chinchilla_loss({"E": 1e-8, "A": 1e-8 * 482 * 1e6**0.35, "alpha": 0.35,
                         "B": 1e-8 * 2085 * 1e6**0.37, "beta": 0.37}, N, D)
    pick = np.arange(0, 30, 4)  # 8 points: fewer than twice the parameters
    res = fit_points(as_points(N[pick], D[pick], L[pick]), get_law("chinchilla"))
    assert res.notes and "divided by powers of ten" in res.notes[0]
    assert res.warnings and "fewer than twice" in res.warnings[0]
    assert not set(res.notes) & set(res.warnings)
    res.save(tmp_path / "fit.json")
    saved = json.loads((tmp_path / "fit.json").read_text())
    assert saved["notes"] == res.notes and saved["warnings"] == res.warnings
    back = FitResult.load(tmp_path / "fit.json")
    assert back.notes == res.notes and back.warnings == res.warnings
    text = back.report()
    assert f"note: {res.notes[0]}" in text and f"warning: {res.warnings[0]}" in text


@pytest.mark.parametrize("key, value", [("warnings", 5), ("notes", [1, 2]), ("fit", [])])
def test_a_fit_json_with_malformed_lists_is_refused(tmp_path, key, value):
    from scalecli.errors import InputError

    p = tmp_path / "fit.json"
    p.write_text(json.dumps({"law": "chinchilla", "params": TRUE, key: value}))
    with pytest.raises(InputError, match=key):
        FitResult.load(p)


def test_an_old_fit_without_notes_loads():
    old = FitResult.from_dict({"law": "chinchilla", "params": TRUE, "warnings": ["w"]})
    assert old.notes == [] and old.warnings == ["w"]


def test_the_optimum_type_carries_notes():
    opt = Optimum(theta=[0.0], objective=0.0, converged=True, message="m", n_starts=1,
                  n_refined=1, n_evaluations=1, grid_best=0.0)
    assert opt.notes == []


# ---- the command line -------------------------------------------------------------------------
@pytest.fixture
def sweep_csv(tmp_path):
    N, D, L = synthetic_sweep(1, noise=0.003)
    return write_csv(tmp_path / "sweep.csv", N, D, L)


@pytest.mark.parametrize("args, words", [
    (["--fix", "E=nan"], ["E"]),
    (["--fix", "E=-1"], ["E", "bound"]),
    (["--seed", "-1"], ["seed"]),
])
def test_cli_refuses(sweep_csv, args, words):
    from scalecli.cli import app

    r = CliRunner().invoke(app, ["fit", str(sweep_csv), *args])
    text = r.stdout + r.stderr
    assert r.exit_code in (1, 2), text
    assert "Traceback" not in text and "Error" in text
    for w in words:
        assert w in text


def test_cli_warns_on_rising_losses_and_strict_refuses(tmp_path):
    from scalecli.cli import app

    N, D, L = grid_sweep(lambda n, d: 2 + 1e-9 * n + 1e-11 * d)
    csv = write_csv(tmp_path / "rising.csv", N, D, L)
    r = CliRunner().invoke(app, ["fit", str(csv)])
    assert r.exit_code == 0 and "warning: the target rises with N" in r.stderr
    r = CliRunner().invoke(app, ["fit", str(csv), "--strict"])
    assert r.exit_code == 1 and "Traceback" not in r.stdout + r.stderr
