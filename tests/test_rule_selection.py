"""Selection: eligibility by price, history and dollar volume, its reasons, groups from data, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.run_config import SAMPLE_DATA_DIR
from engine.data.loader import load_dataset
from engine.errors import DataError
from strategies.selection import SelectionConfig, groups_from_data
from rule_data import context, make_dataset, perturbed_after, random_dataset

SESSIONS = pd.bdate_range("2024-03-04", periods=6)


@pytest.fixture
def listing() -> tuple:
    """A trades every session at $10; B lists on row 2 at $20 with 100k shares a day."""
    close = pd.DataFrame({"A": [10.0] * 6, "B": [np.nan, np.nan, 20, 20, 20, 20]}, index=SESSIONS)
    volume = pd.DataFrame({"A": [1e5, 1e5, 5e4, 5e4, 3e5, 3e5], "B": [np.nan, np.nan, 1e5, 1e5, 1e5, 1e5]},
                          index=SESSIONS)
    return make_dataset(close, volume)


def test_eligibility_needs_a_close_enough_history_and_dollar_volume(listing):
    # A's $ volume 1.0M, 1.0M, 0.5M, 0.5M, 3.0M, 3.0M -> 2-session means 1.0M, 1.0M, 0.75M, 0.5M, 1.75M, 3.0M.
    # A's closes so far: 1..6; B's: 0, 0, 1, 2, 3, 4 with a steady $2.0M.
    rule = SelectionConfig(min_history=3, min_dollar_volume=8e5, dollar_volume_window=2).build()
    out = rule.apply(context(listing))
    expected = pd.DataFrame({"A": [False, False, False, False, True, True],
                             "B": [False, False, False, False, True, True]}, index=SESSIONS)
    pd.testing.assert_frame_equal(out.values, expected)
    assert out.reasons["A"].tolist() == [
        "history 1 < 3 sessions", "history 2 < 3 sessions", "avg $ volume 750.0K < 800.0K",
        "avg $ volume 500.0K < 800.0K", "", ""]
    assert out.reasons["B"].tolist() == [
        "no close today", "no close today", "history 1 < 3 sessions", "history 2 < 3 sessions", "", ""]


def test_a_name_failing_two_tests_gets_both_reasons(listing):
    out = SelectionConfig(min_history=2, min_dollar_volume=5e6).build().apply(context(listing))
    assert out.reasons.loc[SESSIONS[0], "A"] == "history 1 < 2 sessions; avg $ volume 1.0M < 5.0M"


def test_default_selection_is_every_priced_name(listing):
    out = SelectionConfig().build().apply(context(listing))
    pd.testing.assert_frame_equal(out.values, listing.close.notna())


def test_groups_from_the_symbols_table_keep_universe_order_and_skip_unlabelled_names():
    close = pd.DataFrame(1.0, index=SESSIONS, columns=["NVDA", "MSFT", "AMD", "SPY"])
    meta = pd.DataFrame({"theme": ["semis", "hyperscaler", "semis", None], "sector": ["IT", "IT", "IT", "ETF"]},
                        index=pd.Index(["NVDA", "MSFT", "AMD", "SPY"], name="symbol"))
    data = make_dataset(close, symbols_meta=meta)
    assert groups_from_data(data, "theme") == {"semis": ["NVDA", "AMD"], "hyperscaler": ["MSFT"]}
    assert groups_from_data(data, "sector", ["AMD", "SPY", "NVDA"]) == {"IT": ["AMD", "NVDA"], "ETF": ["SPY"]}


def test_groups_without_a_symbols_table_name_the_file_and_the_fix():
    data = make_dataset(pd.DataFrame(1.0, index=SESSIONS, columns=["A"]))
    with pytest.raises(DataError, match=r"symbols.parquet, column 'theme'.*universe.groups"):
        groups_from_data(data, "theme")


def test_groups_from_the_sample_follow_its_themes():
    data = load_dataset(SAMPLE_DATA_DIR, symbols=["NVDA", "ORCL", "MSFT", "VST"])
    assert groups_from_data(data, "theme") == {"semis": ["NVDA"], "hyperscaler": ["ORCL", "MSFT"], "power": ["VST"]}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 60), cutoff_fraction=st.floats(0, 0.95),
       offsets=st.lists(st.integers(0, 15), min_size=3, max_size=3),
       min_history=st.integers(0, 10), floor=st.floats(0, 3e6), window=st.integers(1, 10))
def test_data_after_a_session_never_changes_earlier_eligibility(seed, n, cutoff_fraction, offsets, min_history,
                                                                floor, window):
    data = random_dataset(seed, n, offsets)
    cutoff = int(cutoff_fraction * (n - 1))
    rule = SelectionConfig(min_history=min_history, min_dollar_volume=floor, dollar_volume_window=window).build()
    before, after = rule.apply(context(data)), rule.apply(context(perturbed_after(data, cutoff, seed)))
    assert before.values.iloc[: cutoff + 1].equals(after.values.iloc[: cutoff + 1])
    assert before.reasons.iloc[: cutoff + 1].equals(after.reasons.iloc[: cutoff + 1])
