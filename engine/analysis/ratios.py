"""The Sharpe ratio, defined once: mean / std (ddof=1) per session, annualised by √(sessions per year).

Every Sharpe rulebook shows goes through here: metrics.json's ``sharpe`` (and ``information_ratio``,
the same ratio of active returns), the report's rolling Sharpe, each variant's Sharpe, its bootstrap,
the deflated Sharpe and the PBO's in- and out-of-sample ranks. Returns that do not vary have no
risk to divide by: their Sharpe is NaN (reported as None).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def sharpe_from_moments(mean, variance, flat=np.nan):
    """mean / √variance where the variance is positive, else ``flat`` (per period, elementwise)."""
    mean, variance = np.asarray(mean, dtype=float), np.asarray(variance, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.divide(mean, np.sqrt(variance), out=np.empty(np.broadcast_shapes(mean.shape, variance.shape)))
    constant = np.broadcast_to(~(variance > 0), ratio.shape)  # set in place: a PBO asks for millions at once
    if constant.any():
        ratio[constant] = np.broadcast_to(flat, ratio.shape)[constant]
    return ratio


def per_period_sharpe(returns, axis: int = 0) -> np.ndarray:
    """mean / std (ddof=1) along ``axis``; NaN where the returns do not vary or are fewer than two."""
    values = np.asarray(returns, dtype=float)
    if values.shape[axis] < 2:
        return np.full(np.delete(values.shape, axis), np.nan)
    variance = np.var(values, axis=axis, ddof=1)
    ratio = sharpe_from_moments(np.mean(values, axis=axis), variance)
    return np.where(np.ptp(values, axis=axis) == 0, np.nan, ratio)


def sharpe_ratio(returns, periods_per_year: float) -> float:
    """Annualised Sharpe ratio of the finite returns (a ``pct_change``'s leading NaN is left out)."""
    values = np.asarray(returns, dtype=float)
    return float(per_period_sharpe(values[np.isfinite(values)])) * math.sqrt(periods_per_year)


def rolling_sharpe(returns: pd.DataFrame, window: int, periods_per_year: float) -> pd.DataFrame:
    """Annualised Sharpe ratio of each column over the trailing ``window`` sessions (NaN until the
    window is full, or when it holds a NaN)."""
    values = returns.to_numpy(dtype=float)
    out = np.full(values.shape, np.nan)
    if len(values) >= window:
        windows = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)  # (n - w + 1, columns, w)
        out[window - 1:] = per_period_sharpe(windows, axis=-1) * math.sqrt(periods_per_year)
    return pd.DataFrame(out, index=returns.index, columns=returns.columns)
