"""The far-field evaluation of the multi-power k-sum against the paper's formula summed term by
term, within the error bound it states; and the bound's own arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gammaln

from scalecli.laws import multipower_far as far
from scalecli.laws.curves import MULTI_POWER, Curve
from scalecli.schedules import parse_schedule

TRUE = {"L0": 2.8, "A": 0.55, "alpha": 0.5, "B": 400.0, "C": 1.5, "beta": 0.55, "gamma": 0.6}


def paper_formula(eta, steps, p):
    """Luo et al. 2025, Eq. 5, one logged step at a time, every k from 1 to t (no change-point
    bookkeeping, no expansion); ``C·eta_k^-gamma·S`` taken as 0 where S = 0 (an LR of 0 held)."""
    out = []
    for t in steps:
        s1 = eta[: t + 1].sum()
        k = np.arange(1, t + 1)
        s_k = np.cumsum(eta[1 : t + 1][::-1])[::-1]  # S_k(t) = sum_{i=k..t} eta_i
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(s_k > 0, p["C"] * eta[k] ** -p["gamma"] * s_k, 0.0)
        drop = eta[k - 1] - eta[k]
        out.append(p["L0"] + p["A"] * s1 ** -p["alpha"]
                   - p["B"] * np.sum(drop * -np.expm1(-p["beta"] * np.log1p(x))))
    return np.array(out)


def bound(p, curve):
    return far.TOL * p["B"] * np.abs(curve.gap).sum() + 1e-13


def random_schedule(rng, steps):
    """Piecewise-linear through random knots: warm-up from 0, rises after falls (gaps of both
    signs), plateaus, and sometimes an LR of exactly 0 at the end."""
    knots = np.sort(rng.choice(np.arange(1, steps - 1), size=rng.integers(3, 9), replace=False))
    values = rng.uniform(1e-5, 1e-3, size=len(knots))
    values[rng.random(len(knots)) < 0.3] = values[0]  # some plateaus
    end = 0.0 if rng.random() < 0.4 else rng.uniform(0, 1e-4)
    return np.interp(np.arange(steps), np.r_[0, knots, steps - 1], np.r_[0.0, values, end])


@pytest.mark.parametrize("spec", [
    "cosine:peak=3e-4,warmup=500,final=3e-5",
    "wsd:peak=3e-4,warmup=500,decay=0.2,final=3e-5",
    "wsd:peak=3e-4,warmup=500,decay=0.3,shape=exp,final=3e-6",
    "linear:peak=1e-3,warmup=1000,final=0",
])
def test_schedules_match_the_formula_within_the_bound(spec):
    eta = parse_schedule(spec).dense(12_000)
    steps = np.arange(300, 12_000, 97)
    c = Curve.make(eta, steps)
    assert far.worthwhile(len(c.t), len(c.k))  # the series is what is tested here
    got = MULTI_POWER.predict_natural(TRUE, [c])
    assert np.abs(got - paper_formula(eta, steps, TRUE)).max() <= bound(TRUE, c)


@pytest.mark.parametrize("seed", range(12))
def test_random_schedules_and_parameters(seed):
    rng = np.random.default_rng(seed)
    eta = random_schedule(rng, 6_000)
    steps = np.unique(np.r_[rng.integers(1, 6_000, 60), 5_999])
    p = dict(TRUE, C=10 ** rng.uniform(-2, 3), beta=10 ** rng.uniform(-1.5, 0.9),
             gamma=rng.uniform(0, 2), B=10 ** rng.uniform(1, 4))
    c = Curve.make(eta, steps)
    want = paper_formula(eta, steps, p)
    got = MULTI_POWER.predict_natural(p, [c])
    assert np.isfinite(got).all()
    assert np.abs(got - want).max() <= bound(p, c), (seed, p)
    _, jac = MULTI_POWER.evaluate(MULTI_POWER.to_internal(p), [c], jac=True)
    assert np.isfinite(jac).all()


@pytest.mark.parametrize("seed", range(6))
def test_the_jacobian_by_the_series_matches_the_exact_one(seed, monkeypatch):
    """The Jacobian from the far-field series equals the exact sum's (column by column, to
    1e-9 of the column's largest entry), and both equal central differences of the paper's
    formula summed term by term."""
    rng = np.random.default_rng(100 + seed)
    eta = random_schedule(rng, 5_000)
    steps = np.unique(np.r_[rng.integers(200, 5_000, 50), 4_999])
    p = dict(TRUE, C=10 ** rng.uniform(-1, 2), beta=10 ** rng.uniform(-1, 0.5),
             gamma=rng.uniform(0.1, 1.5), B=10 ** rng.uniform(1, 3))
    c = Curve.make(eta, steps)
    assert far.worthwhile(len(c.t), len(c.k)) and far.jacobian_terms(p["beta"]) is not None
    theta = np.array(MULTI_POWER.to_internal(p))
    y, jac = MULTI_POWER.evaluate(theta, [c], jac=True)
    monkeypatch.setattr(far, "worthwhile", lambda *_: False)
    y0, jac0 = MULTI_POWER.evaluate(theta, [c], jac=True)
    scale = np.abs(jac0).max(axis=0)
    assert np.all(np.abs(jac - jac0) <= 1e-9 * scale + 1e-300), seed
    assert np.abs(y - y0).max() <= bound(p, c)
    names = [q.name for q in MULTI_POWER.parameters]
    for j in range(len(theta)):  # central differences in the internal parameters
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        fd = (paper_formula(eta, steps, MULTI_POWER.to_natural(up))
              - paper_formula(eta, steps, MULTI_POWER.to_natural(down))) / (2 * h)
        # central differences of a loss ~3 carry ~1e-16 / 1e-6 of rounding: 1e-9 absolute
        assert np.allclose(jac[:, j], fd, rtol=1e-5, atol=1e-6 * scale[j] + 1e-9), names[j]


@pytest.mark.parametrize("beta", [0.01, 0.55, 1.0, 2.5, 6.0])
def test_series_terms_are_binomial_and_their_tail_is_below_tol(beta):
    coef = far.series_terms(beta)
    assert coef is not None
    n = np.arange(len(coef))
    assert np.allclose(coef, np.exp(gammaln(beta + n) - gammaln(beta) - gammaln(n + 1)),
                       rtol=1e-10)  # (beta)_n / n!
    # the tail sum_{n>=p} a_n·rho^n, summed out far enough to converge
    tail, a = 0.0, coef[-1] * (beta + len(coef) - 1) / len(coef)
    for m in range(len(coef), 4000):
        tail += a * far.RHO ** m
        a *= (beta + m) / (m + 1)
    assert (1 + far.RHO) ** beta * tail <= far.TOL
    # and with one term fewer the same sum would not be
    assert (1 + far.RHO) ** beta * (tail + coef[-1] * far.RHO ** (len(coef) - 1)) > far.TOL / 10


def test_a_beta_needing_too_many_terms_falls_back_to_the_exact_sum():
    assert far.series_terms(10.0, rho=0.9) is None
    eta = parse_schedule("cosine:peak=3e-4,warmup=200,final=3e-5").dense(4_000)
    steps = np.arange(250, 4_000, 50)
    p = dict(TRUE, beta=9.9)
    c = Curve.make(eta, steps)
    got = MULTI_POWER.predict_natural(p, [c])
    assert np.abs(got - paper_formula(eta, steps, p)).max() <= 1e-12


def test_blocks_are_cut_at_stable_phases():
    eta = parse_schedule("piecewise:steps=0/3000/9000,values=3e-4/1e-4/3e-5,warmup=700"
                         ).dense(12_000)
    c = Curve.make(eta, np.arange(800, 12_000, 100))
    starts, ends, layout, filler = c.blocks
    assert starts[0] == 0 and ends[-1] == len(c.k) and (starts[1:] == ends[:-1]).all()
    assert ((ends - starts) <= far.BLOCK).all() and ((ends - starts) > 0).all()
    for s, e in zip(starts, ends, strict=True):  # no block spans a plateau
        assert np.diff(c.k[s:e]).max(initial=0) <= far.BLOCK
    assert (c.k[layout[~filler]] == np.concatenate([c.k[s:e] for s, e in zip(
        starts, ends, strict=True)])).all()
