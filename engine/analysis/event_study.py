"""Event windows on price or equity paths: returns, drawdown from the pre-event peak, abnormal returns.

Offsets count sessions from day 0, the event's first tradable session (``session_date``).
For a window [pre, post] (default [-10, 20]) on a path P of total-return closes:

- ``day0_return`` = P[0] / P[-1] - 1 (close to close, the announcement session);
- ``pre_return`` = P[-1] / P[pre-1] - 1 (the run-up); ``post_return`` = P[post] / P[-1] - 1;
  ``cum_return`` = P[post] / P[pre-1] - 1 (every session of the window);
- ``drawdown``: the deepest fall inside the window from day 0 on, where the running high
  starts at the **pre-event peak** (highest close of offsets pre..-1), so a drop that the
  news caused counts from where the price stood before it; ``peak_date``, ``trough_date``;
  ``recovery_date`` and ``sessions_to_recover`` (trough to the first close back at the
  peak, searched to the end of the data; NA if never), ``recovered_in_window``;
- market model (``alpha``, ``beta``) fitted by OLS on the returns of the estimation window
  (default offsets -250..-30; at least half of its returns must exist), abnormal return
  AR = r - alpha - beta x r_market, ``car`` = sum of AR over the window, ``car_day0`` = AR at 0.

A window that runs past the last session of the path is cut there (``complete`` False); the
study hands in prices beyond the run's last session where the dataset has them, so only the
data's own end cuts a symbol's window (a book's equity ends with its run). A row needs
prices from offset pre-1 to day 0. Drawdown episodes come from engine.analysis.drawdowns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.analysis.drawdowns import recovery_after, worst_episode
from engine.data.events import event_symbols

EVENT_COLUMNS = ["event_id", "date", "session", "session_date", "kind", "title", "symbols"]
BENCHMARK_GROUP = "benchmark"


@dataclass(frozen=True)
class Windows:
    """Event window and estimation window, in sessions relative to day 0."""

    pre: int = -10
    post: int = 20
    estimation: tuple[int, int] = (-250, -30)

    @property
    def offsets(self) -> np.ndarray:
        return np.arange(self.pre, self.post + 1)

    @property
    def min_estimation(self) -> int:
        first, last = self.estimation
        return max(2, (last - first + 2) // 2)


@dataclass(frozen=True)
class StudyTables:
    """Per-row metrics, the long table of their paths (row, offset), and what was skipped."""

    rows: pd.DataFrame
    paths: pd.DataFrame
    warnings: list[str]


def day_zero_positions(session_dates: pd.Series, sessions: pd.DatetimeIndex) -> np.ndarray:
    """Index of each event's day 0 in ``sessions``; -1 when it is not one of them."""
    positions = sessions.get_indexer(pd.DatetimeIndex(session_dates))
    return positions.astype(np.int64)


def window_metrics(values: np.ndarray, t0: int, windows: Windows, sessions: pd.DatetimeIndex) -> dict:
    """Return and drawdown metrics of one path around day 0 (see the module docstring)."""
    base, last = t0 + windows.pre - 1, len(values) - 1
    end = min(t0 + windows.post, last)
    peak_region = values[t0 + min(windows.pre, -1): t0]
    pre_peak = t0 + min(windows.pre, -1) + int(len(peak_region) - 1 - np.argmax(peak_region[::-1]))
    metrics = {
        "day0_return": values[t0] / values[t0 - 1] - 1.0,
        "pre_return": values[t0 - 1] / values[base] - 1.0,
        "post_return": values[end] / values[t0 - 1] - 1.0,
        "cum_return": values[end] / values[base] - 1.0,
        "complete": t0 + windows.post <= last,
    }
    episode = worst_episode(np.concatenate(([values[pre_peak]], values[t0: end + 1])))
    if episode is None:
        return metrics | {"drawdown": 0.0, "peak_date": pd.NaT, "trough_date": pd.NaT, "recovery_date": pd.NaT,
                          "sessions_to_recover": pd.NA, "recovered_in_window": False}
    peak = pre_peak if episode.peak == 0 else t0 + episode.peak - 1
    trough = t0 + episode.trough - 1
    recovery = recovery_after(values, trough, values[peak])  # searched to the end of the data, past the window
    return metrics | {
        "drawdown": episode.depth,
        "peak_date": sessions[peak],
        "trough_date": sessions[trough],
        "recovery_date": sessions[recovery] if recovery is not None else pd.NaT,
        "sessions_to_recover": recovery - trough if recovery is not None else pd.NA,
        "recovered_in_window": recovery is not None and recovery <= end,
    }


def cumulative_path(values: np.ndarray, t0: int, windows: Windows) -> np.ndarray:
    """Return from the close before the window to each offset's close (NaN past the data)."""
    positions = t0 + windows.offsets
    inside = positions < len(values)
    path = np.full(len(positions), np.nan)
    path[inside] = values[positions[inside]] / values[t0 + windows.pre - 1] - 1.0
    return path


def market_model(stock: np.ndarray, market: np.ndarray, minimum: int) -> tuple[float, float, int]:
    """OLS alpha and beta of stock on market returns over paired finite observations."""
    ok = np.isfinite(stock) & np.isfinite(market)
    n = int(ok.sum())
    if n < minimum:
        return np.nan, np.nan, n
    x, y = market[ok], stock[ok]
    variance = np.mean((x - x.mean()) ** 2)
    if variance == 0:
        return np.nan, np.nan, n
    beta = float(np.mean((x - x.mean()) * (y - y.mean())) / variance)
    return float(y.mean() - beta * x.mean()), beta, n


def simple_returns(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    out[1:] = values[1:] / values[:-1] - 1.0
    return out


def abnormal_path(stock: np.ndarray, market: np.ndarray, t0: int, windows: Windows) -> tuple[np.ndarray, dict]:
    """Abnormal returns over the window (NaN past the data) and the fitted model."""
    first, last = windows.estimation
    lo, hi = max(t0 + first, 1), t0 + last
    alpha, beta, n = market_model(stock[lo: hi + 1], market[lo: hi + 1], windows.min_estimation)
    positions = t0 + windows.offsets
    inside = positions < len(stock)
    abnormal = np.full(len(positions), np.nan)
    abnormal[inside] = stock[positions[inside]] - alpha - beta * market[positions[inside]]
    return abnormal, {"alpha": alpha, "beta": beta, "estimation_n": n}


def study_symbols(prices: pd.DataFrame, market: pd.Series | None, events: pd.DataFrame,
                  groups: dict[str, str], windows: Windows) -> StudyTables:
    """One row per event x involved symbol (plus the market's own row per event when given).

    ``prices``: total-return closes, sessions x symbols; ``market``: the benchmark's, same index.
    """
    sessions = prices.index
    day0 = day_zero_positions(events["session_date"], sessions)
    market_values = market.to_numpy(float) if market is not None else None
    market_returns = simple_returns(market_values) if market is not None else None
    rows, paths, warnings = [], [], []
    for event, t0 in zip(events.itertuples(index=False), day0):
        members = [(s, "involved", groups.get(s, "other")) for s in event_symbols(event.symbols) if s in prices]
        if market is not None:
            members.append((market.name, "benchmark", BENCHMARK_GROUP))
        for symbol, role, group in members:
            values = market_values if role == "benchmark" else prices[symbol].to_numpy(float)
            problem = _unusable(values, t0, windows)
            if problem:
                warnings.append(f"{event.date:%Y-%m-%d} {event.kind} {symbol}: {problem}")
                continue
            returns = simple_returns(values)
            if role == "involved" and market is not None:
                abnormal, model = abnormal_path(returns, market_returns, t0, windows)
            else:
                abnormal, model = np.full(len(windows.offsets), np.nan), {"alpha": np.nan, "beta": np.nan,
                                                                          "estimation_n": 0}
            car = np.nancumsum(abnormal) + np.where(np.isnan(abnormal), np.nan, 0.0)
            day0_at = -windows.pre
            row_id = len(rows)
            rows.append({**_event_fields(event), "symbol": symbol, "role": role, "group": group,
                         **window_metrics(values, t0, windows, sessions), **model,
                         "car": _last_finite(car), "car_day0": abnormal[day0_at]})
            paths.append({"row_id": row_id, "offset": windows.offsets,
                          "cum_return": cumulative_path(values, t0, windows), "car": car})
    return StudyTables(_frame(rows), _paths(paths), warnings)


def study_books(equity: pd.DataFrame, events: pd.DataFrame, windows: Windows) -> StudyTables:
    """One row per event x book (columns of ``equity``: strategy, holding, benchmark) on the same windows."""
    sessions = equity.index
    day0 = day_zero_positions(events["session_date"], sessions)
    rows, paths, warnings = [], [], []
    for event, t0 in zip(events.itertuples(index=False), day0):
        for book in equity.columns:
            values = equity[book].to_numpy(float)
            problem = _unusable(values, t0, windows)
            if problem:
                warnings.append(f"{event.date:%Y-%m-%d} {event.kind} {book}: {problem}")
                continue
            row_id = len(rows)
            rows.append({**_event_fields(event), "book": book, **window_metrics(values, t0, windows, sessions)})
            paths.append({"row_id": row_id, "offset": windows.offsets, "cum_return": cumulative_path(values, t0, windows)})
    return StudyTables(_frame(rows), _paths(paths), warnings)


def _unusable(values: np.ndarray, t0: int, windows: Windows) -> str | None:
    if t0 < 0:
        return "day 0 is outside the data's sessions"
    base = t0 + windows.pre - 1
    if base < 0:
        return f"the window starts {-base} session(s) before the first session of the data"
    end = min(t0 + windows.post, len(values) - 1)
    if not np.isfinite(values[base: end + 1]).all():
        return "no price on some sessions of the window (not listed yet?)"
    return None


def _event_fields(event) -> dict:
    return {name: getattr(event, name) for name in EVENT_COLUMNS}


def _last_finite(path: np.ndarray) -> float:
    finite = path[np.isfinite(path)]
    return float(finite[-1]) if len(finite) else np.nan


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if "sessions_to_recover" in frame:
        frame["sessions_to_recover"] = frame["sessions_to_recover"].astype("Int64")
        frame["recovered_in_window"] = frame["recovered_in_window"].astype(bool)
    return frame


def _paths(paths: list[dict]) -> pd.DataFrame:
    """One frame of every row's path by offset (``paths``: row_id and the path's columns, one per row)."""
    if not paths:
        return pd.DataFrame(columns=["row_id", "offset", "cum_return"])
    length = len(paths[0]["offset"])
    return pd.DataFrame({name: np.repeat([path["row_id"] for path in paths], length) if name == "row_id"
                         else np.concatenate([path[name] for path in paths]) for name in paths[0]})
