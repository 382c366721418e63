"""Exchange calendar: closures, early closes and session counts checked against known NYSE facts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pandas_market_calendars as mcal

from engine.data import calendar
from engine.data.calendar import closure_reason, early_closes, get_sessions, sessions_per_year
from engine.errors import ConfigError

# NYSE full-day holidays falling on weekdays, from the exchange's published holiday lists.
NYSE_HOLIDAYS = {
    2023: ["2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29", "2023-06-19", "2023-07-04",
           "2023-09-04", "2023-11-23", "2023-12-25"],
    2024: ["2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04",
           "2024-09-02", "2024-11-28", "2024-12-25"],
}


def independent_count(year: int) -> int:
    """Weekdays of the year minus its weekday holidays, counted without the calendar library."""
    weekdays = int(np.busday_count(f"{year}-01-01", f"{year + 1}-01-01"))
    return weekdays - len(NYSE_HOLIDAYS[year])


def test_2025_closures_are_not_sessions():
    sessions = get_sessions("2025-01-01", "2025-12-31")
    for closed in ["2025-01-09", "2025-04-18", "2025-06-19", "2025-12-25", "2025-01-01", "2025-01-11"]:
        assert pd.Timestamp(closed) not in sessions, closed
    for open_day in ["2025-01-08", "2025-01-10", "2025-04-17", "2025-04-21", "2025-12-24", "2025-12-26"]:
        assert pd.Timestamp(open_day) in sessions, open_day


def test_2025_early_closes_are_sessions_and_reported():
    expected = pd.DatetimeIndex(["2025-07-03", "2025-11-28", "2025-12-24"])
    assert early_closes("2025-01-01", "2025-12-31").equals(expected)
    assert expected.isin(get_sessions("2025-01-01", "2025-12-31")).all()


def test_session_counts_match_independent_count():
    assert len(get_sessions("2024-01-01", "2024-12-31")) == independent_count(2024) == 252
    assert len(get_sessions("2023-01-01", "2023-12-31")) == independent_count(2023) == 250


def test_sessions_per_year_averages_full_years():
    assert sessions_per_year("XNYS", "2024-03-01", "2024-04-01") == 252
    # a range touching two years averages both whole years, wherever it starts
    assert sessions_per_year("XNYS", "2023-12-15", "2024-01-15") == (250 + 252) / 2


def test_sessions_are_naive_midnight_dates():
    sessions = get_sessions("2024-01-01", "2024-12-31")
    assert sessions.tz is None
    assert sessions.dtype == "datetime64[ns]"
    assert (sessions == sessions.normalize()).all()
    assert sessions.is_monotonic_increasing and sessions.is_unique


def test_unknown_calendar_names_the_valid_choices():
    with pytest.raises(ConfigError) as error:
        get_sessions("2024-01-01", "2024-12-31", calendar="XNYZ")
    assert error.value.path == "data.calendar"
    assert "XNYS" in str(error.value) and "XNYZ" in str(error.value)
    with pytest.raises(ConfigError):
        sessions_per_year("NOPE", "2024-01-01", "2024-12-31")


def test_closure_reasons_name_weekends_and_holidays():
    assert closure_reason("2025-01-11") == "Saturday"
    assert closure_reason("2025-04-18") == "Friday, Good Friday"
    assert closure_reason("2025-01-09") == "Thursday, special closure"


@settings(max_examples=30, deadline=None)
@given(st.dates(dt.date(2000, 1, 1), dt.date(2026, 12, 31)), st.integers(0, 400), st.integers(0, 400))
def test_sessions_split_and_join(start, first_len, second_len):
    """sessions(a, c) is exactly sessions(a, b) followed by sessions(b+1, c): no day lost or doubled."""
    middle = start + dt.timedelta(days=first_len)
    end = middle + dt.timedelta(days=second_len)
    whole = get_sessions(start, end)
    joined = get_sessions(start, middle).append(get_sessions(middle + dt.timedelta(days=1), end))
    assert whole.equals(joined)
    assert (whole.dayofweek < 5).all()
    assert whole.empty or (whole[0] >= pd.Timestamp(start) and whole[-1] <= pd.Timestamp(end))


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty user cache, and no sessions remembered by this process."""
    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(tmp_path))
    calendar._span_sessions.cache_clear()
    calendar._sessions.cache_clear()
    yield tmp_path
    calendar._span_sessions.cache_clear()
    calendar._sessions.cache_clear()


def _computed(name: str, start: str, end: str) -> pd.DatetimeIndex:
    days = mcal.get_calendar(name).valid_days(start, end)
    return pd.DatetimeIndex(days.tz_localize(None).normalize().as_unit("ns"))


@pytest.mark.parametrize("name, start, end", [("XNYS", "2016-01-01", "2025-12-31"), ("XNYS", "1990-01-01", "1990-01-31"),
                                              ("XNYS", "2045-12-01", "2045-12-31"), ("XLON", "2008-12-20", "2009-01-10"),
                                              ("XNYS", "1985-01-01", "1991-06-30")])  # the last one starts before the span
def test_sessions_from_the_cache_file_equal_the_calendars_own(fresh_cache, name, start, end):
    computed = get_sessions(start, end, name)  # computes (and saves the span)
    calendar._sessions.cache_clear()
    calendar._span_sessions.cache_clear()
    cached = get_sessions(start, end, name)  # read from the file
    assert (fresh_cache / calendar.sessions_file(name)).exists() == (start >= "1990")  # outside the span: computed every time
    assert computed.equals(_computed(name, start, end)) and cached.equals(computed)


def test_a_damaged_cache_file_is_computed_again(fresh_cache):
    get_sessions("2020-01-01", "2020-12-31")
    (fresh_cache / calendar.sessions_file("XNYS")).write_bytes(b"not a numpy file")
    calendar._sessions.cache_clear()
    calendar._span_sessions.cache_clear()
    assert get_sessions("2020-01-01", "2020-12-31").equals(_computed("XNYS", "2020-01-01", "2020-12-31"))
    assert len(np.load(fresh_cache / calendar.sessions_file("XNYS"))) > 10_000  # and written again whole


def test_the_cache_file_is_per_calendar_version(fresh_cache, monkeypatch):
    before = calendar.sessions_file("XNYS")
    monkeypatch.setattr(calendar, "calendar_library_version", lambda: "0.0.1")
    assert calendar.sessions_file("XNYS") != before  # an upgrade with new holidays never reads the old list


def test_without_a_writable_cache_the_sessions_are_computed(fresh_cache, monkeypatch):
    (fresh_cache / "a-file").write_text("")
    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(fresh_cache / "a-file" / "cache"))  # cannot be created
    assert get_sessions("2020-01-01", "2020-12-31").equals(_computed("XNYS", "2020-01-01", "2020-12-31"))
