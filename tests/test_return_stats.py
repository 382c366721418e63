"""Tear-sheet statistics against empyrical (and scipy / a hand calculation where empyrical has none),
on the same returns; the benchmark metrics in metrics.json against empyrical too.

Conventions that differ from quantstats' tear sheet are stated in engine.analysis.return_stats
(historical, not parametric, VaR; 36/60-month trailing windows, not 35/59).
"""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from scipy import stats as scipy_stats

from engine.analysis import return_stats as rs
from engine.analysis.metrics import compute_metrics
from engine.data.calendar import get_sessions, sessions_per_year

SESSIONS = get_sessions("2017-01-03", "2025-12-31")
PPY = sessions_per_year("XNYS", SESSIONS[0], SESSIONS[-1])


@pytest.fixture(scope="module")
def curve() -> pd.Series:
    rng = np.random.default_rng(3)
    returns = rng.standard_t(4, len(SESSIONS)) * 0.01 + 4e-4
    returns[0] = 0.0
    return pd.Series(1e6 * np.cumprod(1 + returns), index=SESSIONS)


@pytest.fixture(scope="module")
def returns(curve) -> pd.Series:
    return rs.session_returns(curve)


def test_var_cvar_are_empyricals_historical_ones(returns) -> None:
    tail = rs.tail_and_shape(returns)
    assert tail["var_95"] == pytest.approx(ep.value_at_risk(returns, cutoff=0.05), rel=1e-12)
    assert tail["cvar_95"] == pytest.approx(ep.conditional_value_at_risk(returns, cutoff=0.05), rel=1e-12)
    assert tail["cvar_95"] < tail["var_95"] < 0


def test_skew_and_excess_kurtosis_are_the_bias_corrected_sample_moments(returns) -> None:
    tail = rs.tail_and_shape(returns)
    assert tail["skew"] == pytest.approx(scipy_stats.skew(returns, bias=False), rel=1e-9)
    assert tail["kurtosis"] == pytest.approx(scipy_stats.kurtosis(returns, fisher=True, bias=False), rel=1e-9)
    assert tail["kurtosis"] > 1  # t(4) returns are fat-tailed


def test_months_and_years_are_empyricals_aggregated_returns(curve, returns) -> None:
    monthly = ep.aggregate_returns(returns, "monthly")
    yearly = ep.aggregate_returns(returns, "yearly")
    calendar = rs.calendar_stats(curve)
    assert calendar["best_month"] == pytest.approx(monthly.max(), rel=1e-9)
    assert calendar["worst_month"] == pytest.approx(monthly.min(), rel=1e-9)
    assert calendar["best_year"] == pytest.approx(yearly.max(), rel=1e-9)
    assert calendar["worst_year"] == pytest.approx(yearly.min(), rel=1e-9)
    assert calendar["positive_months"] == pytest.approx((monthly > 0).sum() / (monthly != 0).sum())
    assert calendar["avg_up_month"] == pytest.approx(monthly[monthly > 0].mean(), rel=1e-9)
    assert calendar["avg_down_month"] == pytest.approx(monthly[monthly < 0].mean(), rel=1e-9)


def test_trailing_returns_compound_the_returns_after_each_cut_off(curve, returns) -> None:
    trailing = rs.trailing_returns(curve, PPY)
    last = curve.index[-1]
    cuts = {"MTD": pd.Timestamp(last.year, last.month, 1), "YTD": pd.Timestamp(last.year, 1, 1),
            "3M": last - relativedelta(months=3), "6M": last - relativedelta(months=6),
            "1Y": last - relativedelta(months=12)}
    for label, cut in cuts.items():
        assert trailing[label] == pytest.approx(ep.cum_returns_final(returns[returns.index >= cut]), rel=1e-9), label
    for label, months in (("3Y (ann.)", 36), ("5Y (ann.)", 60)):
        window = returns[returns.index >= last - relativedelta(months=months)]
        assert trailing[label] == pytest.approx(ep.annual_return(window, annualization=PPY), rel=1e-9), label
    assert trailing["Since inception (ann.)"] == pytest.approx(ep.annual_return(returns, annualization=PPY))


def test_a_period_longer_than_the_run_has_no_trailing_return(curve) -> None:
    short = curve.iloc[-300:]
    trailing = rs.trailing_returns(short, PPY)
    assert trailing["1Y"] is not None and trailing["3Y (ann.)"] is None and trailing["5Y (ann.)"] is None


def test_rolling_sortino_is_empyricals(returns) -> None:
    ours = rs.rolling_sortino(returns, 126, PPY)
    theirs = ep.roll_sortino_ratio(returns, window=126, annualization=PPY)
    pd.testing.assert_series_equal(ours.dropna(), theirs.dropna().reindex(ours.dropna().index), check_names=False,
                                   rtol=1e-9)


def test_time_invested_counts_closes_holding_a_position() -> None:
    weights = pd.DataFrame({"A": [0, 0, 0, 0.5, 0.5, 0, 0.2, 0.2], "B": [0, 0, np.nan, 0, 0.1, 0, 0, 0]},
                           index=SESSIONS[:8], dtype=float)
    held = rs.time_invested(weights)
    assert held == {"time_invested": 4 / 8, "first_invested": SESSIONS[3].date().isoformat(),
                    "cash_sessions_at_start": 3}
    assert rs.time_invested(weights * 0)["first_invested"] is None


def test_benchmark_metrics_are_empyricals_on_the_benchmark(curve) -> None:
    rng = np.random.default_rng(5)
    benchmark = pd.Series(1e6 * np.cumprod(1 + rng.normal(3e-4, 0.01, len(SESSIONS))), index=SESSIONS)
    metrics = compute_metrics(curve, periods_per_year=PPY, benchmark_equity=benchmark)
    bench_returns = benchmark.pct_change().iloc[1:]
    assert metrics["benchmark_sortino"] == pytest.approx(ep.sortino_ratio(bench_returns, annualization=PPY), rel=1e-9)
    assert metrics["benchmark_calmar"] == pytest.approx(ep.calmar_ratio(bench_returns, annualization=PPY), rel=1e-9)
    assert metrics["benchmark_best_day"] == pytest.approx(bench_returns.max())
    assert metrics["benchmark_worst_day"] == pytest.approx(bench_returns.min())
    assert metrics["benchmark_hit_rate"] == pytest.approx((bench_returns > 0).sum() / (bench_returns != 0).sum())
    alone = compute_metrics(benchmark, periods_per_year=PPY)  # the benchmark as a strategy of its own
    assert metrics["benchmark_max_drawdown_sessions"] == alone["max_drawdown_sessions"]
    assert metrics["benchmark_max_drawdown"] == pytest.approx(ep.max_drawdown(bench_returns), rel=1e-9)
