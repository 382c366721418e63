"""One Sharpe ratio (engine.analysis.ratios): every place that reports one agrees with it and with a
plain reference computed here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.analysis import pbo as pbo_module
from engine.analysis import variant_stats
from engine.analysis.metrics import compute_metrics
from engine.analysis.ratios import per_period_sharpe, rolling_sharpe, sharpe_from_moments, sharpe_ratio

returns_matrix = arrays(float, st.tuples(st.integers(3, 40), st.integers(1, 4)),
                        elements=st.floats(-0.2, 0.2, allow_nan=False))


def reference_sharpe(column: np.ndarray) -> float:
    """statistics-module style: mean over sample standard deviation, by hand."""
    n = len(column)
    mean = sum(column) / n
    variance = sum((x - mean) ** 2 for x in column) / (n - 1)
    return mean / math.sqrt(variance) if variance > 0 and np.ptp(column) > 0 else math.nan


@given(returns_matrix)
def test_per_period_sharpe_is_mean_over_sample_std(values):
    got = per_period_sharpe(values)
    for k in range(values.shape[1]):
        expected = reference_sharpe(values[:, k])
        assert (math.isnan(got[k]) and math.isnan(expected)) or got[k] == pytest.approx(expected, rel=1e-9, abs=1e-12)


moments = st.tuples(st.integers(1, 5), st.integers(1, 4)).flatmap(lambda shape: st.tuples(
    arrays(float, shape, elements=st.floats(-1, 1)), arrays(float, shape[1:], elements=st.sampled_from([0.0, 1e-300, 0.5, 2.0])),
    st.one_of(st.just(np.nan), st.floats(-3, 3), arrays(float, shape, elements=st.floats(-3, 3))),
    st.booleans()))


@given(moments)
def test_sharpe_from_moments_is_the_ratio_where_the_variance_is_positive_else_flat(case):
    """It fills the zero-variance cells in place (a PBO's millions of ratios); as a plain np.where, with
    the variance broadcast along rows (a scalar mean: a single value)."""
    mean, variance, flat, scalar = case
    if scalar:
        mean, variance, flat = mean[0, 0], variance[0], flat if np.ndim(flat) == 0 else flat[0, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(np.asarray(variance) > 0, mean / np.sqrt(variance), flat)
    np.testing.assert_array_equal(sharpe_from_moments(mean, variance, flat), expected)


@given(returns_matrix)
@settings(max_examples=50)
def test_pbo_and_the_bootstrap_compute_the_same_sharpe_from_their_moments(values):
    reference = per_period_sharpe(values)
    n = len(values)
    sums, squares = values.sum(axis=0), (values**2).sum(axis=0)
    from_sums = [pbo_module._metric_nb(total, square, float(n), True) for total, square in zip(sums, squares)]
    identity = variant_stats._resampled_sharpes(np.ones((1, n)), values)[0]
    for k in range(values.shape[1]):
        if np.isfinite(reference[k]) and np.var(values[:, k]) > 1e-12:
            assert from_sums[k] == pytest.approx(reference[k], rel=1e-6)
            assert identity[k] == pytest.approx(reference[k], rel=1e-9)


def test_metrics_sharpe_and_information_ratio_are_this_sharpe():
    rng = np.random.default_rng(3)
    index = pd.bdate_range("2024-01-02", periods=300)
    equity = pd.Series(1e6 * np.cumprod(1 + rng.normal(5e-4, 0.01, 300)), index=index)
    benchmark = pd.Series(1e6 * np.cumprod(1 + rng.normal(3e-4, 0.01, 300)), index=index)
    m = compute_metrics(equity, periods_per_year=252, benchmark_equity=benchmark)
    r, b = equity.pct_change().iloc[1:], benchmark.pct_change().iloc[1:]
    assert m["sharpe"] == sharpe_ratio(r, 252) == pytest.approx(reference_sharpe(r.to_numpy()) * math.sqrt(252))
    assert m["information_ratio"] == pytest.approx(sharpe_ratio(r - b, 252), rel=1e-12)


def test_rolling_sharpe_matches_pandas_rolling():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(0, 0.01, (80, 2)), columns=["a", "b"])
    frame.iloc[10, 1] = np.nan  # a window holding a NaN has no Sharpe, as in pandas
    frame.iloc[30:45, 0] = 0.001  # nor does a window without variation
    got = rolling_sharpe(frame, 20, 252)
    expected = frame.rolling(20).mean() / frame.rolling(20).std(ddof=1) * math.sqrt(252)
    expected[frame.rolling(20).std(ddof=1) < 1e-15] = np.nan
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
