"""Period returns, rolling statistics and exposure by group, from the run folder's curves.

The single place these are computed for reports. Conventions match
engine.analysis.metrics: simple session returns, volatility with ddof=1 × √ppy, Sharpe on
returns over the per-session risk-free rate, beta with population moments.
"""

from __future__ import annotations

import math

import pandas as pd

from engine.data.calendar import sessions_per_year
from engine.analysis.ratios import rolling_sharpe
from engine.analysis.return_stats import period_returns, rolling_sortino

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
OTHER_GROUP = "other"


def periods_per_year(calendar: str, sessions: pd.DatetimeIndex) -> float:
    """Annualisation factor the metrics used (mean sessions per calendar year of the run's calendar)."""
    return sessions_per_year(calendar, sessions[0], sessions[-1])


def monthly_table(curve: pd.Series) -> pd.DataFrame:
    """Years × months of monthly returns (NaN where the run has no session)."""
    monthly = period_returns(curve, "ME")
    table = pd.DataFrame({"year": monthly.index.year, "month": monthly.index.month, "value": monthly.to_numpy()})
    grid = table.pivot(index="year", columns="month", values="value").reindex(columns=range(1, 13))
    grid.columns = list(MONTHS)
    grid.index = [str(year) for year in grid.index]
    return grid


def rolling_window(ppy: float) -> int:
    """Six months of sessions."""
    return int(round(ppy / 2))


def rolling_statistics(equity: pd.Series, benchmark: pd.Series | None, ppy: float, risk_free: float) -> dict:
    """Rolling 6-month Sharpe, Sortino and volatility (strategy, benchmark) and beta, each a DataFrame by date."""
    window = rolling_window(ppy)
    rf = (1.0 + risk_free) ** (1.0 / ppy) - 1.0
    curves = {"strategy": equity} | ({"benchmark": benchmark} if benchmark is not None else {})
    returns = pd.DataFrame({name: curve.pct_change() for name, curve in curves.items()}).iloc[1:]
    excess = returns - rf
    sharpe = rolling_sharpe(excess, window, ppy)
    sortino = returns.apply(lambda column: rolling_sortino(column, window, ppy))
    volatility = returns.rolling(window).std(ddof=1) * math.sqrt(ppy)
    result = {"sharpe": sharpe.dropna(how="all"), "sortino": sortino.dropna(how="all"),
              "volatility": volatility.dropna(how="all")}
    if benchmark is not None:
        covariance = returns["strategy"].rolling(window).cov(returns["benchmark"], ddof=0)
        variance = returns["benchmark"].rolling(window).var(ddof=0)
        result["beta"] = (covariance / variance.where(variance > 1e-30)).dropna().to_frame("beta")
    return result


def symbol_groups(symbols: list[str], groups: dict[str, list[str]]) -> dict[str, str]:
    """Each symbol's group: the first config group that lists it, else 'other'."""
    owner = {}
    for group, members in groups.items():
        for symbol in members:
            owner.setdefault(symbol, group)
    return {symbol: owner.get(symbol, OTHER_GROUP) for symbol in symbols}


def exposure_by_group(weights: pd.DataFrame, groups: dict[str, list[str]]) -> pd.DataFrame:
    """Date × group sums of weights (fraction of equity), groups in config order, 'other' last."""
    owner = symbol_groups(list(weights.columns), groups)
    summed = weights.fillna(0.0).T.groupby(pd.Series(owner)).sum().T
    order = [group for group in [*groups, OTHER_GROUP] if group in summed.columns]
    return summed[order]


def gross_exposure(weights: pd.DataFrame) -> pd.Series:
    return weights.fillna(0.0).abs().sum(axis=1)
