"""Split and dividend adjustment, and the tell-tale signs of a split nobody adjusted for.

Vendors hand over prices in three states: raw (as printed that day), split-adjusted
(the layout's ``close``) and split+dividend adjusted (``adj_close``). These helpers
move between them from the corporate actions (split ratios, cash dividends) or
from a raw and an adjusted close side by side, and spot the cases where two
series disagree by a split ratio: a jump of ~1/r in one day, or a ratio between
the two files stuck at 1/r (one was adjusted for a later split, the other not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Split ratios seen in practice (forward r-for-1; a reverse split is 1/r).
SPLIT_RATIOS = (2, 3, 4, 5, 6, 7, 8, 10, 15, 20, 25, 30, 40, 50)
# A day's move within this relative distance of 1/r (or r) looks like an unadjusted split.
SPLIT_TOLERANCE = 0.06
# adj_close / close on the last row is ~1 (adjustment runs backwards from today); dividends since
# the adjusted file was made can pull it a little below 1, a split basis difference pulls it to 1/r.
LAST_FACTOR_SLACK = 0.10


def split_ratio(move: float) -> float | None:
    """The split ratio a one-day price ratio looks like: r for a drop to ~1/r, 1/r for a jump to ~r."""
    if not np.isfinite(move) or move <= 0:
        return None
    for ratio in SPLIT_RATIOS:
        if abs(move * ratio - 1) <= SPLIT_TOLERANCE:
            return float(ratio)
        if abs(move / ratio - 1) <= SPLIT_TOLERANCE:
            return 1 / ratio
    return None


def split_jumps(prices: pd.Series) -> pd.DataFrame:
    """Days where a date-indexed price series moves by a split-like ratio (``date, move, ratio``)."""
    moves = (prices / prices.shift(1)).dropna()
    ratios = moves.map(split_ratio)
    flagged = ratios.notna()
    return pd.DataFrame({"date": moves.index[flagged], "move": moves[flagged].to_numpy(),
                         "ratio": ratios[flagged].to_numpy(dtype=float)})


def basis_ratio(close: pd.Series, adj_close: pd.Series) -> float | None:
    """The split ratio r when adj_close / close ends near 1/r instead of 1: the files are on different split bases."""
    factor = (adj_close / close).dropna()
    if factor.empty or abs(factor.iloc[-1] - 1) <= LAST_FACTOR_SLACK:
        return None
    return split_ratio(float(factor.iloc[-1]))


def apply_splits(frame: pd.DataFrame, splits: pd.Series) -> pd.DataFrame:
    """Split-adjust one symbol's raw OHLCV: rows before a split (ratio r, on its ex-date) get prices / r, volume × r."""
    factor = _backward_product(frame["date"], splits.index, 1 / splits.to_numpy(dtype=float))
    adjusted = frame.copy()
    for name in ("open", "high", "low", "close", "adj_close"):
        if name in adjusted:
            adjusted[name] = adjusted[name] * factor
    adjusted["volume"] = adjusted["volume"] / factor
    return adjusted


def dividend_adj_close(dates: pd.Series, close: pd.Series, dividends: pd.Series) -> pd.Series:
    """Total-return close from cash dividends (ex-date indexed), the CRSP/Yahoo way.

    Every row before an ex-date is multiplied by 1 - D / close of the session before the
    ex-date, so the adjusted series has no drop on the ex-date and equals close after the last one.
    """
    dates, close = dates.reset_index(drop=True), close.reset_index(drop=True)
    ex_rows = dates.searchsorted(pd.DatetimeIndex(dividends.index).to_numpy(), side="left")
    inside = (ex_rows > 0) & (ex_rows < len(dates))
    previous_close = close.to_numpy()[ex_rows[inside] - 1]
    multipliers = 1 - dividends.to_numpy(dtype=float)[inside] / previous_close
    factor = _backward_product(dates, dates.to_numpy()[ex_rows[inside]], multipliers)
    return pd.Series(close.to_numpy() * factor, index=close.index)


def _backward_product(dates: pd.Series, events, multipliers: np.ndarray) -> np.ndarray:
    """Per row, the product of the multipliers of every event dated after that row."""
    factor = np.ones(len(dates))
    days = pd.DatetimeIndex(dates).to_numpy()
    for day, multiplier in zip(pd.DatetimeIndex(events).to_numpy(), multipliers):
        factor[days < day] *= multiplier
    return factor
