"""The Dataset: every input a backtest may read, aligned to exchange sessions.

Knowledge time is explicit. Price frames are indexed by session and known at
that session's close. Fundamentals carry ``known`` (the first session on which
a filing can be acted upon); events carry ``session_date`` (their first
tradable session). Rules ask "as of t" questions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

PRICE_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Dataset:
    """Market data on one session index (rows) and symbol columns.

    ``open/high/low/close/volume`` are as traded (split-adjusted only), for
    price thresholds. ``adj_factor`` = adj_close / close turns them into
    total-return prices (dividends reinvested), which the simulator trades on.
    """

    sessions: pd.DatetimeIndex
    open: pd.DataFrame
    high: pd.DataFrame
    low: pd.DataFrame
    close: pd.DataFrame
    volume: pd.DataFrame
    adj_factor: pd.DataFrame
    market: pd.DataFrame = field(default_factory=pd.DataFrame)
    fundamentals: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    symbols_meta: pd.DataFrame = field(default_factory=pd.DataFrame)
    files: tuple[Path, ...] = ()
    gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    synthetic: bool = False

    @property
    def symbols(self) -> list[str]:
        return list(self.close.columns)

    def adjusted(self, name: str) -> pd.DataFrame:
        """Total-return (split + dividend adjusted) version of a price field."""
        return getattr(self, name) * self.adj_factor
