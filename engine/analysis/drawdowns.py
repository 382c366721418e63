"""Drawdown episodes of an equity curve: peak, trough, recovery, depth and duration.

An episode starts at a peak (the last session at the running high before equity
falls below it), reaches its trough (the lowest close of the episode, first one
on ties) and ends at its recovery: the first session whose close is back at or
above the peak. An episode still under water at the last session has no
recovery (NaT); its length then runs to the last session. Lengths count
sessions (index positions), not calendar days, so they read the same on any
exchange calendar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DRAWDOWN_COLUMNS = ("peak", "trough", "recovery", "depth", "length_sessions", "recovery_sessions")


@dataclass(frozen=True)
class Episode:
    """One drawdown by index positions; ``recovery`` is None while still under water."""

    peak: int
    trough: int
    recovery: int | None
    depth: float


def equity_values(equity: pd.Series) -> np.ndarray:
    """The equity as floats, after checking it can carry returns and drawdowns.

    Raises ValueError naming the problem and the fix: metrics of a series that
    is unsorted, has gaps (NaN) or touches zero would be silently wrong.
    """
    if not isinstance(equity, pd.Series):
        raise ValueError(f"equity must be a pandas Series indexed by session, got {type(equity).__name__}")
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise ValueError("equity must have a DatetimeIndex of sessions; fix: index it by session date")
    if not (equity.index.is_monotonic_increasing and equity.index.is_unique):
        raise ValueError("equity index must be sorted and unique; fix: sort_index() and drop duplicate sessions")
    if len(equity) < 2:
        raise ValueError(
            f"equity has {len(equity)} session(s); metrics need at least 2 (one return). "
            "Fix: run the backtest over a longer period"
        )
    values = equity.to_numpy(dtype=float, na_value=np.nan)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        first = equity.index[int(np.argmax(bad))]
        raise ValueError(
            f"equity must be finite and positive at every session; session {first.date()} has {values[bad][0]}. "
            "Fix: drop or repair that session before computing metrics"
        )
    return values


def drawdown_fractions(values: np.ndarray) -> np.ndarray:
    """Drawdown at each session as a non-positive fraction of the running high."""
    running_high = np.maximum.accumulate(values)
    return (values - running_high) / running_high


def drawdown_series(curve: pd.Series) -> pd.Series:
    """The drawdown of a curve at each session it has a value (the report's underwater chart)."""
    values = curve.dropna()
    return pd.Series(drawdown_fractions(values.to_numpy(dtype=float)), index=values.index, name=curve.name)


def max_drawdown(values: np.ndarray) -> float:
    """The deepest drawdown as a non-positive fraction (0.0 if equity never falls)."""
    worst = worst_episode(np.asarray(values, dtype=float))
    return worst.depth if worst is not None else 0.0


def drawdown_episodes(values: np.ndarray) -> list[Episode]:
    """Every drawdown episode of positive equity values, in time order."""
    underwater = drawdown_fractions(values) < 0
    edges = np.diff(np.concatenate(([False], underwater, [False])).astype(np.int8))
    return [_episode(values, int(start), int(stop))
            for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


def worst_episode(values: np.ndarray) -> Episode | None:
    """The deepest drawdown (earliest on ties), or None if equity never falls: the deepest of
    ``drawdown_episodes``, found without listing them (a sweep asks once per variant)."""
    fractions = drawdown_fractions(values)
    deepest = int(np.argmin(fractions))
    if not fractions[deepest] < 0:
        return None
    at_high = fractions == 0
    after = np.flatnonzero(at_high[deepest:])
    start = int(np.flatnonzero(at_high[:deepest])[-1]) + 1
    return _episode(values, start, deepest + int(after[0]) if len(after) else len(values))


def recovery_after(values: np.ndarray, after: int, level: float) -> int | None:
    """The first position after ``after`` whose value is back at or above ``level`` (None if never)."""
    later = np.flatnonzero(values[after + 1:] >= level)
    return after + 1 + int(later[0]) if len(later) else None


def _episode(values: np.ndarray, start: int, stop: int) -> Episode:
    """The episode under water from ``start`` up to ``stop`` (its recovery, or the end of the values):
    the peak is the session before, the trough the episode's lowest value (first on ties)."""
    peak, trough = start - 1, start + int(np.argmin(values[start:stop]))
    return Episode(peak, trough, stop if stop < len(values) else None, float((values[trough] - values[peak]) / values[peak]))


def drawdown_table(equity: pd.Series, top: int = 5) -> pd.DataFrame:
    """The ``top`` deepest drawdowns, deepest first.

    Columns: ``peak``, ``trough``, ``recovery`` (session Timestamps; recovery
    NaT if not recovered), ``depth`` (negative fraction, trough/peak − 1),
    ``length_sessions`` (peak to recovery, or to the last session if not
    recovered) and ``recovery_sessions`` (trough to recovery; <NA> if not
    recovered).
    """
    values = equity_values(equity)
    episodes = sorted(drawdown_episodes(values), key=lambda e: e.depth)[: max(top, 0)]
    index, last = equity.index, len(values) - 1
    return pd.DataFrame(
        {
            "peak": pd.DatetimeIndex([index[e.peak] for e in episodes], dtype=index.dtype),
            "trough": pd.DatetimeIndex([index[e.trough] for e in episodes], dtype=index.dtype),
            "recovery": pd.DatetimeIndex(
                [index[e.recovery] if e.recovery is not None else pd.NaT for e in episodes], dtype=index.dtype
            ),
            "depth": pd.Series([e.depth for e in episodes], dtype="float64"),
            "length_sessions": pd.Series(
                [(e.recovery if e.recovery is not None else last) - e.peak for e in episodes], dtype="int64"
            ),
            "recovery_sessions": pd.Series(
                [e.recovery - e.trough if e.recovery is not None else pd.NA for e in episodes], dtype="Int64"
            ),
        },
        columns=list(DRAWDOWN_COLUMNS),
    )
