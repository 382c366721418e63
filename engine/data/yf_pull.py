"""`rulebook data pull yfinance`: daily bars from Yahoo Finance via the optional yfinance package.

yfinance is imported only when a pull runs (``pip install rulebook[yfinance]``). The frame
``yf.download`` returns — (Price, Ticker) columns, unadjusted OHLC plus ``Adj Close`` — goes
through the same reshaping, checks and atomic merge as `rulebook data import prices`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from engine.data.calendar import DEFAULT_CALENDAR
from engine.errors import DataError
from engine.data.importers import ImportSources, SymbolReport, assemble_prices, write_prices
from engine.data.price_files import PRICE_VALUES, ReadOptions, shape_frame

SOURCE = Path("yfinance")


def _yfinance():
    try:
        return importlib.import_module("yfinance")
    except ImportError as error:
        raise DataError(SOURCE, None, "the yfinance package is not installed",
                        "install the optional extra 'yfinance': pip install 'rulebook[yfinance]'") from error


def download(symbols: Sequence[str], start, end) -> pd.DataFrame:
    """yf.download for [start, end] (both included; yfinance's own end is exclusive), unadjusted plus Adj Close."""
    frame = _yfinance().download(list(symbols), start=pd.Timestamp(start).strftime("%Y-%m-%d"),
                                 end=(pd.Timestamp(end) + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),
                                 auto_adjust=False, actions=False, progress=False, group_by="column",
                                 multi_level_index=True, threads=False)
    if frame is None or frame.empty:
        raise DataError(SOURCE, None, f"no data returned for {', '.join(symbols)} between {start} and {end}",
                        "check the tickers and dates, and your network connection")
    return frame


def to_long(frame: pd.DataFrame, symbols: Sequence[str]) -> pd.DataFrame:
    """The downloaded frame as long rows; a ticker yfinance returned nothing for is an error."""
    if not isinstance(frame.columns, pd.MultiIndex):
        frame = pd.concat({symbols[0]: frame}, axis=1).swaplevel(0, 1, axis=1)
    where = pd.Series([f"row {n + 1} ({day:%Y-%m-%d})" for n, day in enumerate(pd.DatetimeIndex(frame.index))])
    long = shape_frame(SOURCE, frame, where, PRICE_VALUES, ReadOptions())
    empty = [symbol for symbol in symbols if symbol not in set(long["symbol"])]
    if empty:
        raise DataError(SOURCE, "symbol", f"no rows for {', '.join(empty)} (delisted, misspelt, or not on Yahoo)",
                        "correct or drop those tickers")
    return long


def pull_yfinance(symbols: Sequence[str], start, end, out: Path, *, mode: str = "append",
                  calendar: str = DEFAULT_CALENDAR) -> list[SymbolReport]:
    """Download ``symbols`` and merge them into ``out/prices.parquet`` like an import."""
    long = to_long(download(symbols, start, end), list(symbols))
    frame, reports = assemble_prices(long, ImportSources(prices=()), ReadOptions(), calendar)
    write_prices(frame, reports, Path(out), mode)
    return list(reports.values())
