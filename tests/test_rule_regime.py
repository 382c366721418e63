"""Regime overlay: volatility level and percentile, year end, flows, the smallest cap, missing series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.data.calendar import get_sessions
from engine.errors import ConfigError
from rule_data import context, make_dataset, perturbed_after, random_dataset
from strategies.regime import RegimeConfig, sessions_left_in_december


def with_market(sessions: pd.DatetimeIndex, **series) -> object:
    close = pd.DataFrame(100.0, index=sessions, columns=["A"])
    return make_dataset(close, market=pd.DataFrame(series, index=sessions, dtype=float))


def regime(data, **config):
    return RegimeConfig(**config).build().apply(context(data))


SESSIONS = pd.bdate_range("2024-03-04", periods=6)


def test_volatility_above_its_level_caps_gross_exposure():
    out = regime(with_market(SESSIONS, VIX=[20, 31, 30, 35, np.nan, 12]), vol_level=30, high_vol_gross=0.6)
    assert out.values.tolist() == [1.0, 0.6, 1.0, 0.6, 1.0, 1.0]
    assert out.reasons.tolist() == ["", "VIX 31.0 > 30.0 → gross ≤ 0.60", "", "VIX 35.0 > 30.0 → gross ≤ 0.60",
                                    "", ""]


def test_reasons_show_enough_decimals_to_tell_the_value_from_the_threshold():
    out = regime(with_market(SESSIONS[:2], VIX=[30.04, 30.5]), vol_level=30)
    assert out.reasons.tolist() == ["VIX 30.04 > 30.00 → gross ≤ 0.60", "VIX 30.5 > 30.0 → gross ≤ 0.60"]


def test_volatility_percentile_ranks_today_within_its_trailing_window():
    # Window 3: row 2 ranks 3 in [1, 2, 3] -> 100th; row 3: 2 in [2, 3, 2] -> 67th; row 4: 1 in [3, 2, 1] -> 33rd;
    # row 5: 5 in [2, 1, 5] -> 100th. No percentile before the window is full.
    data = with_market(SESSIONS, STRESS=[1, 2, 3, 2, 1, 5])
    out = regime(data, vol_series="STRESS", vol_percentile=90, vol_window=3, high_vol_gross=0.5)
    assert out.values.tolist() == [1.0, 1.0, 0.5, 1.0, 1.0, 0.5]
    assert regime(data, vol_series="STRESS", vol_percentile=60, vol_window=3).values.tolist() == [
        1.0, 1.0, 0.6, 0.6, 1.0, 0.6]
    assert out.reasons.iloc[2] == "STRESS at 100th pct of 3 sessions ≥ 90th → gross ≤ 0.50"


def test_year_end_caps_the_last_december_sessions_of_the_exchange_calendar():
    sessions = get_sessions("2024-12-02", "2025-01-10")
    out = regime(with_market(sessions, VIX=15.0), year_end_sessions=3, year_end_gross=0.8)
    capped = list(out.values[out.values < 1].index.strftime("%m-%d"))
    assert capped == ["12-27", "12-30", "12-31"]
    assert out.reasons.loc["2024-12-31"] == "last 3 December sessions → gross ≤ 0.80"


def test_a_dataset_ending_mid_december_counts_the_weekdays_still_to_come():
    sessions = get_sessions("2024-12-02", "2024-12-20")
    # After Fri 12-20: 23, 24, 26, 27, 30, 31 (Christmas is skipped) = 6 December sessions to come.
    assert sessions_left_in_december(sessions)[-2:].tolist() == [7, 6]
    full = get_sessions("2024-12-02", "2024-12-31")
    assert sessions_left_in_december(full)[len(sessions) - 2: len(sessions)].tolist() == [7, 6]


def test_the_smallest_active_cap_wins_and_every_active_trigger_is_explained():
    data = with_market(SESSIONS, VIX=[35, 35, 10, 10, 35, 10], PCR=[0.9, 1.3, 1.3, 0.9, 1.3, 1.0])
    out = regime(data, vol_level=30, high_vol_gross=0.6, flow_series="PCR", flow_above=1.2, flow_gross=0.7)
    assert out.values.tolist() == [0.6, 0.6, 0.7, 1.0, 0.6, 1.0]
    assert out.reasons.iloc[1] == "VIX 35.0 > 30.0 → gross ≤ 0.60; PCR 1.30 > 1.20 → gross ≤ 0.70"


def test_a_missing_series_is_a_config_error_listing_the_available_ones():
    data = with_market(SESSIONS, VIX=20.0, HY_OAS=3.0)
    with pytest.raises(ConfigError, match=r"rules.regime.flow_series.*'PCR'.*available: VIX, HY_OAS"):
        regime(data, flow_series="PCR", flow_above=1.0)
    with pytest.raises(ConfigError, match=r"rules.regime.vol_series.*'VXN'"):
        regime(data, vol_series="VXN", vol_level=30)
    assert (regime(data, vol_series="VXN", year_end_sessions=2).values == 1.0).all()  # VXN unused: no error


def test_incomplete_triggers_are_rejected():
    with pytest.raises(ValidationError, match="flow_series and flow_above go together"):
        RegimeConfig(flow_series="PCR")
    with pytest.raises(ValidationError, match="set at least one trigger"):
        RegimeConfig()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 60), cutoff_fraction=st.floats(0, 0.95),
       level=st.floats(10, 40), percentile=st.floats(1, 100), window=st.integers(2, 20),
       flow_above=st.floats(0.5, 1.5), year_end=st.integers(1, 10))
def test_market_data_after_a_session_never_changes_earlier_caps(seed, n, cutoff_fraction, level, percentile, window,
                                                                flow_above, year_end):
    data = random_dataset(seed, n)
    cutoff = int(cutoff_fraction * (n - 1))
    config = dict(vol_level=level, vol_percentile=percentile, vol_window=window, flow_series="FLOW",
                  flow_above=flow_above, year_end_sessions=year_end)
    before, after = regime(data, **config), regime(perturbed_after(data, cutoff, seed), **config)
    assert before.values.iloc[: cutoff + 1].equals(after.values.iloc[: cutoff + 1])
    assert before.reasons.iloc[: cutoff + 1].equals(after.reasons.iloc[: cutoff + 1])
