"""Exchange sessions from pandas-market-calendars: the one time axis of every frame.

Sessions are returned as tz-naive midnight dates (``datetime64[ns]``), because a
backtest row is "the session of day d", not an instant; the clock times of the
open and close only matter to say which sessions close early.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

import pandas as pd
import pandas_market_calendars as mcal

from engine.errors import ConfigError

DEFAULT_CALENDAR = "XNYS"


def _day(value) -> pd.Timestamp:
    """A date-like value as a tz-naive midnight Timestamp."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


@lru_cache(maxsize=None)
def _calendar(name: str) -> mcal.MarketCalendar:
    valid = sorted(mcal.get_calendar_names())
    if name not in valid:
        close = difflib.get_close_matches(name, valid, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(
            "config", "data.calendar", f"unknown exchange calendar {name!r}",
            f"{hint}use one of the pandas-market-calendars names: {', '.join(valid)}",
        )
    return mcal.get_calendar(name)


@lru_cache(maxsize=256)
def _sessions(name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    if end < start:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    days = _calendar(name).valid_days(start, end)
    return pd.DatetimeIndex(days.tz_localize(None).normalize().as_unit("ns"), freq=None)


def get_sessions(start, end, calendar: str = DEFAULT_CALENDAR) -> pd.DatetimeIndex:
    """Trading sessions in [start, end], both ends included."""
    return _sessions(calendar, _day(start), _day(end)).copy()


def early_closes(start, end, calendar: str = DEFAULT_CALENDAR) -> pd.DatetimeIndex:
    """Sessions in [start, end] that close before the regular closing time."""
    cal = _calendar(calendar)
    schedule = cal.schedule(_day(start), _day(end))
    days = cal.early_closes(schedule).index
    return pd.DatetimeIndex(days.normalize().as_unit("ns"), freq=None)


def sessions_per_year(calendar: str, start, end) -> float:
    """Mean session count of the full calendar years spanned by [start, end] (≈252 for XNYS).

    Whole years are counted even when the range starts or ends mid-year, so the
    annualisation factor does not depend on where a backtest happens to begin.
    """
    first, last = _day(start).year, _day(end).year
    counts = [len(get_sessions(f"{year}-01-01", f"{year}-12-31", calendar)) for year in range(first, last + 1)]
    if not counts:
        raise ConfigError("config", "period.start", f"start {start} is after end {end}", "swap start and end")
    return sum(counts) / len(counts)


def closure_reason(day, calendar: str = DEFAULT_CALENDAR) -> str:
    """Why ``day`` is not a session: weekday name plus holiday name when the calendar knows one."""
    stamp = _day(day)
    weekday = stamp.day_name()
    if stamp.dayofweek >= 5:
        return weekday
    cal = _calendar(calendar)
    named = cal.regular_holidays.holidays(stamp, stamp, return_name=True) if cal.regular_holidays else None
    if named is not None and len(named):
        return f"{weekday}, {named.iloc[0]}"
    if any(_day(h) == stamp for h in cal.adhoc_holidays):
        return f"{weekday}, special closure"
    return f"{weekday}, not a session"
