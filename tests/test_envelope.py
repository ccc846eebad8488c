"""Lower envelopes: the Pareto frontier and Cherti et al. 2023's binned minimum."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from scalecli.analyses.envelope import BIN_PAD, BINS, apply_envelope, binned_minimum, pareto
from scalecli.errors import ColumnError, ConfigError, FitError

# --- pareto ---------------------------------------------------------------------------------


def test_pareto_hand_example():
    #      idx:  0    1    2    3    4    5    6
    x = [4.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    y = [2.5, 5.0, 3.0, 4.0, 1.0, 1.0, 0.5]
    # by x: (1,5) kept; (2,3) < 5 kept; (3,4) no; (4,2.5) < 3 kept; (5,1) kept;
    # (6,1) only equals the best so far: dropped; (7,0.5) kept.
    assert pareto(x, y).tolist() == [1, 2, 0, 4, 6]


def test_pareto_ties_in_x_keep_the_lowest_first_point_of_the_x():
    #      idx:  0    1    2    3    4    5    6
    x = [1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0]
    y = [5.0, 4.0, 3.0, 3.0, 6.0, 4.0, 9.0]
    # x=1: lowest is idx 1 (4.0), kept; x=2: idx 2 and 3 tie at 3.0, the first (2) is kept;
    # x=3: its lowest, 4.0, is not below 3.0: nothing kept.
    assert pareto(x, y).tolist() == [1, 2]


def test_pareto_identical_points_keep_one():
    assert pareto([2.0, 2.0, 2.0], [1.0, 1.0, 1.0]).tolist() == [0]


def test_pareto_decreasing_keeps_all_increasing_keeps_first():
    x = np.array([10.0, 1.0, 100.0, 1000.0])
    assert pareto(x, 1 / x).tolist() == [1, 0, 2, 3]
    assert pareto(x, x).tolist() == [1]


def test_pareto_empty_and_bad_input():
    assert pareto([], []).tolist() == []
    with pytest.raises(FitError, match="not finite"):
        pareto([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(FitError, match="differ in length"):
        pareto([1.0, 2.0], [1.0])


def test_pareto_random_against_definition():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 15, 200).astype(float)  # many ties in x
    y = rng.integers(0, 30, 200).astype(float)  # and in y
    want = []
    for i in range(x.size):
        smaller = y[x < x[i]]
        same = np.flatnonzero(x == x[i])
        lowest_first = same[np.argmin(y[same])]  # argmin returns the first minimum
        if i == lowest_first and (smaller.size == 0 or y[i] < smaller.min()):
            want.append(i)
    want.sort(key=lambda i: x[i])
    assert pareto(x, y).tolist() == want


# --- binned minimum, from the stated definition ----------------------------------------------


def test_bins_from_the_definition():
    logx = np.array([2.0, 2.05, 2.9, 3.3, 3.31, 4.6, 5.0])
    y = np.array([9.0, 7.0, 6.0, 5.5, 5.0, 3.0, 4.0])
    K, P = 4, 0.2
    edges = np.linspace(2.0, 5.0 + P, K + 1)  # K equal bins over [min, max + P] of log10 x
    assert np.allclose(edges, [2.0, 2.8, 3.6, 4.4, 5.2])
    # bins: [2.0, 2.8) -> 2.0, 2.05; [2.8, 3.6) -> 2.9, 3.3, 3.31; [3.6, 4.4) empty;
    # [4.4, 5.2) -> 4.6, 5.0
    centres = (edges[:-1] + edges[1:]) / 2
    xc, ym, n = binned_minimum(10.0**logx, y, bins=K, pad=P)
    np.testing.assert_allclose(xc, 10.0 ** centres[[0, 1, 3]], rtol=1e-12)
    np.testing.assert_allclose(np.log10(xc), [2.4, 3.2, 4.8], rtol=1e-12)
    assert ym.tolist() == [7.0, 5.0, 3.0]
    assert n.tolist() == [2, 3, 2]
    # the same in log10 units
    xl, yl, nl = binned_minimum(logx, y, bins=K, pad=P, x_is_log10=True)
    np.testing.assert_allclose(xl, [2.4, 3.2, 4.8], rtol=1e-14)
    assert yl.tolist() == ym.tolist() and nl.tolist() == n.tolist()


def test_bins_are_closed_on_the_left():
    # edges 0, 1, 2, 3, 4 exactly: a point on an inner edge belongs to the bin above it
    xl, ym, n = binned_minimum([0.0, 1.0, 2.0, 3.5], [4.0, 3.0, 2.0, 1.0], bins=4, pad=0.5,
                               x_is_log10=True)
    assert xl.tolist() == [0.5, 1.5, 2.5, 3.5]
    assert n.tolist() == [1, 1, 1, 1]
    assert ym.tolist() == [4.0, 3.0, 2.0, 1.0]


def test_bins_random_against_definition():
    rng = np.random.default_rng(1)
    logx = rng.uniform(6, 12, 300)
    y = rng.uniform(0, 1, 300)
    K, P = 7, 0.1
    edges = np.linspace(logx.min(), logx.max() + P, K + 1)
    want_x, want_y, want_n = [], [], []
    for i in range(K):
        inside = (logx >= edges[i]) & (logx < edges[i + 1])
        if inside.any():
            want_x.append((edges[i] + edges[i + 1]) / 2)
            want_y.append(y[inside].min())
            want_n.append(int(inside.sum()))
    xl, ym, n = binned_minimum(logx, y, bins=K, pad=P, x_is_log10=True)
    np.testing.assert_allclose(xl, want_x, rtol=1e-14)
    assert ym.tolist() == want_y and n.tolist() == want_n


# --- binned minimum, as Cherti et al.'s notebook computes it ---------------------------------


def test_bins_reproduce_the_reference_procedure():
    """Worked by hand through binned_line_fit (LAION-AI/scaling-laws-openclip, figures.ipynb,
    commit 652b1e74): np.histogram(X, range=(X.min(), X.max() + eps), bins=nbins) edges,
    np.digitize, centre = (bins[i] + bins[i+1]) / 2, empty bins masked out; nbins=5, eps=0.1.

    X = 0, 0.3, 0.5, 1.2, 1.9, 2.0 -> range [0, 2.1], edges 0, .42, .84, 1.26, 1.68, 2.1;
    digitize -> 1, 1, 2, 3, 5, 5; bin 4 is empty and dropped.
    Without the pad (edges 0, .4, ..., 2.0) 1.2 would fall in bin 4 and 2.0 in none; with K
    edges instead of K + 1 the bins would be 0.525 wide; left edges instead of centres, or
    keeping the empty bin, change the output too.
    """
    X = np.array([0.0, 0.3, 0.5, 1.2, 1.9, 2.0])
    Y = np.array([0.70, 0.62, 0.55, 0.41, 0.33, 0.35])
    xl, ym, n = binned_minimum(X, Y, bins=BINS, pad=BIN_PAD, x_is_log10=True)
    np.testing.assert_allclose(xl, [0.21, 0.63, 1.05, 1.89], rtol=0, atol=1e-12)
    assert ym.tolist() == [0.62, 0.55, 0.41, 0.33]
    assert n.tolist() == [2, 1, 1, 2]
    # the same points in x units: centres at 10**centre
    xc, ym2, _ = binned_minimum(10.0**X, Y)
    np.testing.assert_allclose(np.log10(xc), [0.21, 0.63, 1.05, 1.89], rtol=0, atol=1e-12)
    assert ym2.tolist() == ym.tolist()


def test_reference_defaults():
    assert (BINS, BIN_PAD) == (5, 0.1)


def test_bins_empty_last_bin_is_refused_like_the_reference():
    # range 0.2 decades, pad 0.1, 5 bins of 0.06: the last bin [0.24, 0.3) holds nothing; the
    # reference's `assert X_bins.max() == nbins` stops here, and so do we.
    with pytest.raises(ConfigError, match="last bin is empty"):
        binned_minimum([0.0, 0.1, 0.2], [3.0, 2.0, 1.0], bins=5, pad=0.1, x_is_log10=True)
    # (K - 1)·P == range exactly is still fine: the last bin's left edge is the max
    _, _, n = binned_minimum([0.0, 0.2, 0.4], [3.0, 2.0, 1.0], bins=5, pad=0.1,
                             x_is_log10=True)
    assert n.sum() == 3


def test_bins_one_point_and_one_bin():
    xl, ym, n = binned_minimum([3.0], [0.5], bins=1, pad=0.1, x_is_log10=True)
    np.testing.assert_allclose(xl, [3.05])
    assert ym.tolist() == [0.5] and n.tolist() == [1]


@pytest.mark.parametrize("bins", [0, -1, 2.5, True, "5"])
def test_bad_bins(bins):
    with pytest.raises(ConfigError, match="--bins"):
        binned_minimum([1.0, 10.0], [1.0, 2.0], bins=bins)


@pytest.mark.parametrize("pad", [0, -0.1, float("nan"), float("inf"), "0.1"])
def test_bad_pad(pad):
    with pytest.raises(ConfigError, match="--bin-pad"):
        binned_minimum([1.0, 10.0], [1.0, 2.0], pad=pad)


def test_bins_need_positive_x():
    with pytest.raises(FitError, match="zero or negative"):
        binned_minimum([0.0, 10.0], [1.0, 2.0])
    with pytest.raises(FitError, match="no points"):
        binned_minimum([], [])


# --- frames ---------------------------------------------------------------------------------


def _frame():
    return pl.DataFrame({
        "run": ["a", "b", "c", "d", "e", "f"],
        "flops": [1, 2, 3, 100, 120, 1000],  # integers: the bin centre makes it Float64
        "y": [5.0, 4.0, 4.5, 2.0, 2.0, 1.0],
    })


def test_apply_pareto_frame():
    out = apply_envelope(_frame(), "flops", kind="pareto")
    assert out.columns == ["run", "flops", "y"]
    assert out["run"].to_list() == ["a", "b", "d", "f"]
    assert out["flops"].dtype == pl.Int64


def test_apply_bins_frame():
    # log10 flops: 0, .301, .477, 2, 2.079, 3; range [0, 3.1], width 0.62:
    # bin 1 <- a, b, c (min b); bin 4 [1.86, 2.48) <- d, e tie at 2.0 (first: d); bin 5 <- f
    out = apply_envelope(_frame(), "flops", "y", kind="bins", bins=5, pad=0.1)
    assert out.columns == ["run", "flops", "y"]
    assert out["run"].to_list() == ["b", "d", "f"]
    assert out["y"].to_list() == [4.0, 2.0, 1.0]
    assert out["flops"].dtype == pl.Float64
    np.testing.assert_allclose(np.log10(out["flops"].to_numpy()), [0.31, 2.17, 2.79],
                               rtol=0, atol=1e-12)
    xc, _, _ = binned_minimum(_frame()["flops"].to_numpy(), _frame()["y"].to_numpy())
    np.testing.assert_allclose(out["flops"].to_numpy(), xc, rtol=1e-15)


def test_apply_none_and_errors():
    f = _frame()
    assert apply_envelope(f, "flops", kind=None) is f
    assert apply_envelope(f, "flops", kind="none") is f
    with pytest.raises(ConfigError, match="unknown --envelope 'hull'.*pareto, bins"):
        apply_envelope(f, "flops", kind="hull")
    with pytest.raises(ColumnError, match="'tokens'.*columns found: run, flops, y"):
        apply_envelope(f, "tokens", kind="pareto")
    with pytest.raises(ConfigError, match="--bins"):
        apply_envelope(f, "flops", kind="bins", bins=0)
    with pytest.raises(FitError, match="not finite"):
        apply_envelope(f.with_columns(pl.lit(None, pl.Float64).alias("y")), "flops",
                       kind="pareto")
