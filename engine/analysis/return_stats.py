"""Tear-sheet statistics of one equity curve beyond engine.analysis.metrics: tail risk, shape,
trailing and calendar returns, time invested, rolling Sortino.

Conventions (each tested against quantstats or empyrical on the same returns):

- returns are simple session returns of the curve; ``ppy`` sessions per year of the exchange calendar.
- VaR / CVaR: *historical*, one session, 95%: the 5th percentile of the returns (linear
  interpolation) and the mean of the returns at or below it (empyrical's ``value_at_risk`` and
  ``conditional_value_at_risk``; quantstats' ``value_at_risk`` is parametric, so it differs).
- skew and kurtosis: pandas' bias-corrected sample skew and *excess* kurtosis (quantstats).
- trailing returns: the last close over the last close strictly before the cut-off date
  (month start for MTD, year start for YTD, 3 / 6 / 12 / 36 / 60 months before the last session),
  quantstats' ``comp`` of the returns on or after the cut-off; 3Y and 5Y annualised as
  growth ** (ppy / sessions) like the CAGR (quantstats' tear sheet cuts 35 and 59 months back).
  None when the curve is shorter than the period.
- months and years: compounded from month-end (year-end) closes, the first from the first close;
  the share of positive months counts months with a non-zero return (quantstats' ``win_rate``).
- time invested: share of sessions whose close held a position (gross weight > 0); quantstats'
  ``exposure`` counts sessions with a non-zero return instead.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta

TRAILING = (("MTD", "mtd", None), ("3M", "months", 3), ("6M", "months", 6), ("YTD", "ytd", None),
            ("1Y", "months", 12), ("3Y (ann.)", "months", 36), ("5Y (ann.)", "months", 60))
CONFIDENCE = 0.95


def session_returns(curve: pd.Series) -> pd.Series:
    curve = curve.dropna().astype(float)
    return (curve / curve.shift(1) - 1.0).iloc[1:]


def tail_and_shape(returns: pd.Series) -> dict[str, float | None]:
    """Historical one-session VaR and CVaR at 95% (negative = loss), skew, excess kurtosis."""
    values = returns.dropna().to_numpy(dtype=float)
    if len(values) < 4:
        return {"var_95": None, "cvar_95": None, "skew": None, "kurtosis": None}
    var = float(np.percentile(values, 100 * (1 - CONFIDENCE)))
    return {"var_95": var, "cvar_95": float(values[values <= var].mean()),
            "skew": _finite(pd.Series(values).skew()), "kurtosis": _finite(pd.Series(values).kurt())}


def trailing_returns(curve: pd.Series, ppy: float) -> dict[str, float | None]:
    """MTD, 3M, 6M, YTD, 1Y, 3Y and 5Y annualised, and since inception annualised (the CAGR)."""
    curve = curve.dropna().astype(float)
    last = curve.index[-1]
    result: dict[str, float | None] = {}
    for label, kind, months in TRAILING:
        if kind == "mtd":
            cut = pd.Timestamp(last.year, last.month, 1)
        elif kind == "ytd":
            cut = pd.Timestamp(last.year, 1, 1)
        else:
            cut = last - relativedelta(months=months)
        before = curve[curve.index < cut]
        if before.empty:
            result[label] = None
            continue
        growth = curve.iloc[-1] / before.iloc[-1]
        if label.endswith("(ann.)"):
            sessions = int((curve.index >= cut).sum())
            growth = growth ** (ppy / sessions)
        result[label] = float(growth - 1.0)
    result["Since inception (ann.)"] = float((curve.iloc[-1] / curve.iloc[0]) ** (ppy / (len(curve) - 1)) - 1.0)
    return result


def period_returns(curve: pd.Series, freq: str) -> pd.Series:
    """Compounded return of each calendar period ('ME' months, 'YE' years), from the first close.

    The first period runs from the first session's close, so the product of
    (1 + period returns) equals the curve's total growth.
    """
    curve = curve.dropna()
    ends = curve.resample(freq).last().dropna()
    starts = ends.shift(1)
    starts.iloc[0] = curve.iloc[0]
    return ends / starts - 1.0


def calendar_stats(curve: pd.Series) -> dict[str, float | None]:
    """Best and worst month and year, share of positive months, average up and down month."""
    months, years = period_returns(curve, "ME"), period_returns(curve, "YE")
    traded = months[months != 0]
    up, down = months[months > 0], months[months < 0]
    return {
        "best_month": _finite(months.max()), "worst_month": _finite(months.min()),
        "best_year": _finite(years.max()), "worst_year": _finite(years.min()),
        "positive_months": float(len(up) / len(traded)) if len(traded) else None,
        "avg_up_month": _finite(up.mean()) if len(up) else None,
        "avg_down_month": _finite(down.mean()) if len(down) else None,
    }


def invested(weights: pd.DataFrame) -> pd.Series:
    """True at each close that held any position."""
    return weights.fillna(0.0).abs().sum(axis=1) > 1e-12


def time_invested(weights: pd.DataFrame) -> dict[str, float | str | None]:
    """Share of sessions invested, the first invested session and how many sessions sat in cash before it."""
    held = invested(weights)
    if not held.any():
        return {"time_invested": 0.0, "first_invested": None, "cash_sessions_at_start": int(len(held))}
    first = int(np.argmax(held.to_numpy()))
    return {"time_invested": float(held.mean()), "first_invested": held.index[first].date().isoformat(),
            "cash_sessions_at_start": first}


def rolling_sortino(returns: pd.Series, window: int, ppy: float) -> pd.Series:
    """mean / √mean(min(r, 0)²) × √ppy over each trailing window (target 0, all observations)."""
    downside = np.sqrt(np.square(np.minimum(returns, 0.0)).rolling(window).mean())
    return (returns.rolling(window).mean() / downside.where(downside > 0)) * math.sqrt(ppy)


def _finite(value) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
