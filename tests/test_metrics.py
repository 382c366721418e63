"""Metrics checked against empyrical, hand-computed paths, and benchmark invariance."""

from __future__ import annotations

import json
import math

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis.drawdowns import drawdown_episodes, worst_episode
from engine.analysis.metrics import compute_metrics, drawdown_table

OWN_KEYS = (
    "start", "end", "sessions", "final_equity", "total_return", "cagr", "volatility", "sharpe", "sortino",
    "max_drawdown", "max_drawdown_peak", "max_drawdown_trough", "max_drawdown_recovery",
    "max_drawdown_sessions", "calmar", "hit_rate", "best_day", "worst_day",
)  # fmt: skip

# returns within 1e-6 of zero (but not zero) make every ratio ill-conditioned: two correct
# formulas then differ at 1e-8 relative, which says nothing about either
daily_returns = st.lists(st.floats(-0.2, 0.2, allow_nan=False).filter(lambda r: r == 0 or abs(r) > 1e-6),
                         min_size=2, max_size=250)
periods_per_year = st.sampled_from([252, 52, 12, 365.25])
annual_risk_free = st.sampled_from([0.0, 0.03])


def curve(returns: list[float], start: str = "2020-01-01") -> pd.Series:
    """Equity starting at 100 and compounding ``returns`` on business days."""
    values = 100.0 * np.cumprod(np.concatenate(([1.0], 1.0 + np.asarray(returns))))
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)))


def assert_matches(ours, expected) -> None:
    """Equal to 1e-10 relative; an undefined reference (NaN/inf) must be None on our side."""
    if not math.isfinite(expected):
        assert ours is None
    else:
        assert ours is not None and math.isclose(ours, expected, rel_tol=1e-10, abs_tol=1e-14), (ours, expected)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # empyrical's alpha on explosive toys
@settings(max_examples=150, deadline=None)
@given(daily_returns, daily_returns, periods_per_year, annual_risk_free)
def test_ratios_match_empyrical(strategy, benchmark, ppy, risk_free):
    n = min(len(strategy), len(benchmark))
    equity, bench = curve(strategy[:n]), curve(benchmark[:n])
    m = compute_metrics(equity, periods_per_year=ppy, benchmark_equity=bench, risk_free=risk_free)
    r, b = empyrical.simple_returns(equity), empyrical.simple_returns(bench)
    rf = (1 + risk_free) ** (1 / ppy) - 1
    assert_matches(m["cagr"], empyrical.annual_return(r, annualization=ppy))
    assert_matches(m["volatility"], empyrical.annual_volatility(r, annualization=ppy))
    assert_matches(m["sharpe"], empyrical.sharpe_ratio(r, risk_free=rf, annualization=ppy))
    assert_matches(m["sortino"], empyrical.sortino_ratio(r, annualization=ppy))
    assert_matches(m["max_drawdown"], empyrical.max_drawdown(r))
    assert_matches(m["calmar"], empyrical.calmar_ratio(r, annualization=ppy))
    assert_matches(m["beta"], empyrical.beta(r, b))
    assert_matches(m["alpha"], empyrical.alpha(r, b, risk_free=rf, annualization=ppy))
    assert_matches(m["benchmark_cagr"], empyrical.annual_return(b, annualization=ppy))
    assert_matches(m["benchmark_sharpe"], empyrical.sharpe_ratio(b, risk_free=rf, annualization=ppy))
    assert_matches(m["benchmark_max_drawdown"], empyrical.max_drawdown(b))


def test_drawdown_table_on_hand_built_path():
    sessions = pd.bdate_range("2024-01-01", periods=9)  # Mon 1 Jan … Thu 11 Jan
    equity = pd.Series([100, 110, 99, 88, 95, 110, 120, 60, 70], index=sessions, dtype=float)
    table = drawdown_table(equity)
    # Deepest: 120 on s6 → 60 on s7, never back to 120; runs s6 → last session s8.
    # Next: 110 on s1 → 88 on s3 (88/110 − 1 = −0.2), back to 110 on s5.
    assert list(table["peak"]) == [sessions[6], sessions[1]]
    assert list(table["trough"]) == [sessions[7], sessions[3]]
    assert pd.isna(table["recovery"].iloc[0]) and table["recovery"].iloc[1] == sessions[5]
    assert list(table["depth"]) == [-0.5, pytest.approx(-0.2, rel=1e-15)]
    assert list(table["length_sessions"]) == [2, 4]
    assert pd.isna(table["recovery_sessions"].iloc[0]) and table["recovery_sessions"].iloc[1] == 2
    assert len(drawdown_table(equity, top=1)) == 1

    m = compute_metrics(equity, periods_per_year=252)
    assert (m["max_drawdown"], m["max_drawdown_peak"], m["max_drawdown_trough"]) == (-0.5, "2024-01-09", "2024-01-10")
    assert m["max_drawdown_recovery"] is None and m["max_drawdown_sessions"] == 2
    assert m["hit_rate"] == 5 / 8  # up on s1, s4, s5, s6, s8
    assert m["best_day"] == pytest.approx(70 / 60 - 1) and m["worst_day"] == -0.5


def test_drawdown_peak_is_last_session_at_the_high():
    sessions = pd.bdate_range("2024-01-01", periods=5)
    equity = pd.Series([100, 105, 105, 90, 105], index=sessions, dtype=float)
    row = drawdown_table(equity).iloc[0]
    assert (row["peak"], row["trough"], row["recovery"]) == (sessions[2], sessions[3], sessions[4])
    assert (row["length_sessions"], row["recovery_sessions"]) == (2, 1)


def test_hit_rate_ignores_flat_sessions():
    equity = pd.Series([100.0, 100.0, 105.0, 100.0], index=pd.bdate_range("2024-01-01", periods=4))
    assert compute_metrics(equity, periods_per_year=252)["hit_rate"] == 0.5


@st.composite
def strategy_and_gappy_benchmark(draw):
    returns = draw(st.lists(st.floats(-0.1, 0.1, allow_nan=False), min_size=3, max_size=120))
    equity = curve(returns)
    bench = curve(draw(st.lists(st.floats(-0.1, 0.1), min_size=len(returns), max_size=len(returns))))
    # Each benchmark session is kept, blanked to NaN, or absent; the first and last are kept.
    fate = draw(st.lists(st.sampled_from(["keep", "nan", "absent"]), min_size=len(bench), max_size=len(bench)))
    fate[0] = fate[-1] = "keep"
    fate = np.array(fate)
    gappy = bench.where(fate == "keep")[fate != "absent"]
    extra = pd.Series([50.0, 51.0], index=pd.DatetimeIndex(["2019-12-31", "2020-01-04"]))  # not strategy sessions
    return equity, pd.concat([gappy, extra]).sort_index()


@settings(max_examples=100, deadline=None)
@given(strategy_and_gappy_benchmark(), periods_per_year, annual_risk_free)
def test_strategy_metrics_ignore_the_benchmark(case, ppy, risk_free):
    equity, gappy = case
    alone = compute_metrics(equity, periods_per_year=ppy, risk_free=risk_free)
    full = compute_metrics(equity, periods_per_year=ppy, risk_free=risk_free, benchmark_equity=curve([0.01] * 300))
    with_gaps = compute_metrics(equity, periods_per_year=ppy, risk_free=risk_free, benchmark_equity=gappy)
    assert set(alone) == set(OWN_KEYS)
    for key in OWN_KEYS:
        assert alone[key] == full[key] == with_gaps[key], key


def test_gappy_benchmark_pairs_returns_over_common_sessions():
    rng = np.random.default_rng(7)
    equity = curve(rng.normal(0.0005, 0.01, 300))
    common = equity.drop(equity.index[[5, 6, 100, 250]])  # first and last sessions kept
    # A benchmark that is the strategy itself, with sessions missing: every relative metric must say "identical".
    m = compute_metrics(equity, periods_per_year=252, benchmark_equity=3 * common)
    assert m["beta"] == pytest.approx(1.0, rel=1e-12) and m["correlation"] == pytest.approx(1.0, rel=1e-12)
    assert m["tracking_error"] == pytest.approx(0.0, abs=1e-12) and m["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert m["benchmark_cagr"] == pytest.approx(m["cagr"], rel=1e-12)
    assert m["benchmark_max_drawdown"] <= 0 and m["active_return"] == pytest.approx(0.0, abs=1e-12)
    # Against a different benchmark, beta/alpha equal empyrical's on the returns between common sessions.
    other = curve(rng.normal(0.0003, 0.012, 300)).drop(equity.index[[5, 6, 100, 250]])
    m = compute_metrics(equity, periods_per_year=252, benchmark_equity=other)
    r, b = empyrical.simple_returns(equity.loc[other.index]), empyrical.simple_returns(other)
    assert_matches(m["beta"], empyrical.beta(r, b))
    assert_matches(m["alpha"], empyrical.alpha(r, b, annualization=252))
    assert_matches(m["correlation"], float(np.corrcoef(r, b)[0, 1]))


def test_turnover_and_exposure_on_hand_built_example():
    sessions = pd.bdate_range("2024-01-01", periods=4)
    equity = pd.Series([100.0, 110.0, 121.0, 110.0], index=sessions)
    orders = pd.DataFrame({"session": sessions[[1, 1, 2]], "symbol": ["A", "B", "A"], "notional": [50.0, -30.0, 20.0]})
    weights = pd.DataFrame(
        {"A": [0.5, 0.6, 0.0, 1.0], "B": [0.5, -0.2, 0.0, np.nan], "C": [np.nan, 0.0, 0.0, np.nan]}, index=sessions
    )
    m = compute_metrics(equity, periods_per_year=252, traded_notional=orders["notional"], weights=weights)
    # (50 + 30 + 20) / 2 traded one way, over mean equity 110.25, 3 returns → × 252 / 3 per year.
    assert m["turnover"] == pytest.approx(50 / 110.25 * 84, rel=1e-14)
    assert m["exposure"] == pytest.approx((1.0 + 0.8 + 0.0 + 1.0) / 4, rel=1e-14)
    assert m["avg_names"] == (2 + 2 + 0 + 1) / 4


def test_constant_equity_has_no_sharpe_and_no_drawdown():
    m = compute_metrics(pd.Series(1e6, index=pd.bdate_range("2024-01-01", periods=30)), periods_per_year=252)
    assert m["volatility"] == 0.0 and m["total_return"] == 0.0 and m["max_drawdown"] == 0.0
    assert m["sharpe"] is None and m["sortino"] is None and m["calmar"] is None and m["hit_rate"] is None


def test_values_are_plain_json_scalars():
    rng = np.random.default_rng(1)
    equity, bench = curve(rng.normal(0, 0.01, 50)), curve(rng.normal(0, 0.01, 50))
    weights = pd.DataFrame({"A": 1.0}, index=equity.index)
    orders = pd.DataFrame({"session": equity.index[:1], "notional": [np.float32(100.0)]})
    m = compute_metrics(equity, periods_per_year=252, benchmark_equity=bench, traded_notional=orders["notional"],
                        weights=weights)
    assert all(type(v) in (float, int, str, type(None)) for v in m.values()), {k: type(v) for k, v in m.items()}
    assert json.loads(json.dumps(m, allow_nan=False)) == m


def test_one_session_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2"):
        compute_metrics(pd.Series([100.0], index=pd.DatetimeIndex(["2024-01-02"])), periods_per_year=252)


def test_non_positive_equity_names_the_session():
    equity = pd.Series([100.0, 0.0, 50.0], index=pd.bdate_range("2024-01-01", periods=3))
    with pytest.raises(ValueError, match="2024-01-02"):
        compute_metrics(equity, periods_per_year=252)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([-0.05, -0.01, 0.0, 0.01, 0.05]), min_size=1, max_size=60))
def test_worst_episode_is_the_deepest_listed_episode_earliest_on_ties(steps):
    """worst_episode finds the deepest episode directly; it must be the one drawdown_episodes lists
    (coarse steps make ties and flat stretches common)."""
    values = 100.0 * np.cumprod(1.0 + np.array([0.0, *steps]))
    episodes = drawdown_episodes(values)
    expected = min(episodes, key=lambda e: e.depth) if episodes else None
    assert worst_episode(values) == expected


def test_a_benchmark_prepared_once_gives_the_same_metrics_and_refuses_other_sessions() -> None:
    """A sweep prepares the benchmark's side of the metrics once (benchmark_curve) for all its variants."""
    from engine.analysis.metrics import benchmark_curve

    rng = np.random.default_rng(7)
    bench = curve(list(rng.normal(0.0004, 0.01, 300))).iloc[5:]  # starts after the strategy: skipped sessions
    prepared = benchmark_curve(bench, curve([0.0] * 300).index, periods_per_year=252, risk_free=0.03)
    for seed in range(3):
        strategy = curve(list(np.random.default_rng(seed).normal(0.0005, 0.012, 300)))
        assert compute_metrics(strategy, periods_per_year=252, benchmark_equity=prepared, risk_free=0.03) == \
            compute_metrics(strategy, periods_per_year=252, benchmark_equity=bench, risk_free=0.03)
    with pytest.raises(ValueError, match="prepared for other"):
        compute_metrics(strategy, periods_per_year=252, benchmark_equity=prepared, risk_free=0.0)
    with pytest.raises(ValueError, match="prepared for other"):
        compute_metrics(strategy.iloc[1:], periods_per_year=252, benchmark_equity=prepared, risk_free=0.03)
