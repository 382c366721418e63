"""Exchange sessions from pandas-market-calendars: the one time axis of every frame.

Sessions are returned as tz-naive midnight dates (``datetime64[ns]``), because a
backtest row is "the session of day d", not an instant; the clock times of the
open and close only matter to say which sessions close early.
"""

from __future__ import annotations

import difflib
import io
import re
from functools import lru_cache
from importlib import metadata

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.user_cache import cache_dir, cached

DEFAULT_CALENDAR = "XNYS"


def _day(value) -> pd.Timestamp:
    """A date-like value as a tz-naive midnight Timestamp."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


@lru_cache(maxsize=None)
def _calendar(name: str):
    """The pandas-market-calendars calendar (imported here: 0.2-0.4 s that a process reading cached
    sessions never spends)."""
    import pandas_market_calendars as mcal

    valid = calendar_names()
    if name not in valid:
        close = difflib.get_close_matches(name, valid, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(
            "config", "data.calendar", f"unknown exchange calendar {name!r}",
            f"{hint}use one of the pandas-market-calendars names: {', '.join(valid)}",
        )
    return mcal.get_calendar(name)


def calendar_names() -> list[str]:
    import pandas_market_calendars as mcal

    return sorted(mcal.get_calendar_names())


def known_calendar(name: str) -> bool:
    """``name`` is a pandas-market-calendars calendar (its cached sessions say so without importing it)."""
    return (CACHEABLE.fullmatch(name) is not None and (cache_dir() / sessions_file(name)).is_file()) or (
        name in calendar_names())


# sessions of this span are computed once per calendar and pandas-market-calendars version and kept in
# the user's cache: computing any range first derives the calendar's whole holiday list (~0.2 s a process)
CACHED_SPAN = (pd.Timestamp("1990-01-01"), pd.Timestamp("2045-12-31"))
CACHEABLE = re.compile(r"[A-Za-z0-9_-]+")  # names safe in a file name (others, "24/7", are computed each time)


def _valid_days(name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    days = _calendar(name).valid_days(start, end)
    return pd.DatetimeIndex(days.tz_localize(None).normalize().as_unit("ns"), freq=None)


def sessions_file(name: str) -> str:
    """The cache file of a calendar's CACHED_SPAN sessions (engine.user_cache), per library version."""
    return f"sessions-{name}-mcal-{calendar_library_version()}.npy"


@lru_cache(maxsize=None)
def calendar_library_version() -> str:
    return metadata.version("pandas-market-calendars")


@lru_cache(maxsize=None)
def _span_sessions(name: str) -> pd.DatetimeIndex:
    """Every session of CACHED_SPAN, from the user's cache (computed and saved the first time; only
    a known calendar's are ever saved)."""
    def computed() -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, _valid_days(name, *CACHED_SPAN).to_numpy(dtype="datetime64[ns]"), allow_pickle=False)
        return buffer.getvalue()

    def loaded(data: bytes) -> pd.DatetimeIndex:  # a damaged file raises ValueError: computed again
        days = np.load(io.BytesIO(data), allow_pickle=False)
        if days.dtype != np.dtype("datetime64[ns]") or days.ndim != 1:
            raise ValueError("not a session list")
        return pd.DatetimeIndex(days, freq=None)

    return cached(sessions_file(name), computed, loaded)


@lru_cache(maxsize=256)
def _sessions(name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    if end < start:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    if not (CACHED_SPAN[0] <= start and end <= CACHED_SPAN[1] and CACHEABLE.fullmatch(name)):
        return _valid_days(name, start, end)
    days = _span_sessions(name)
    return days[days.searchsorted(start):days.searchsorted(end, side="right")]


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
