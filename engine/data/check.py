"""`rulebook data check DIR`: a data-quality report on a dataset folder, before any backtest trusts it.

Errors are what the loader would refuse or what silently corrupts a backtest (duplicates,
non-session dates, bad prices, holes longer than ``max_fill_sessions``). Warnings deserve a
look but may be real (short holes the loader fills, stale runs, split-like jumps, a
split-basis difference between close and adj_close, a symbol that stops before the
others). The optional tables are checked by engine.data.check_tables. Every finding
names its symbol or series.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.data import schema
from engine.data.calendar import DEFAULT_CALENDAR, get_sessions
from engine.errors import DataError
from engine.data.importers import split_warnings
from engine.data.check_tables import check_tables
from engine.data.quality import COVERAGE_COLUMNS, QualityReport, read_table, runs, stale_runs
from engine.data.schema import PRICES, listing

STALE_SESSIONS = 5  # this many sessions in a row with the same close is a stale feed, not a quiet market


def check_dataset(folder: Path, *, calendar: str = DEFAULT_CALENDAR, max_fill_sessions: int = 3,
                  stale_sessions: int = STALE_SESSIONS) -> QualityReport:
    """Every check on ``folder``'s prices.parquet and its optional tables (market, fundamentals, events);
    never raises on bad data."""
    if not Path(folder).is_dir():
        raise DataError(folder, None, "no such dataset folder", "give the folder written by `rulebook data import ... --out`")
    report = QualityReport(Path(folder))
    try:
        prices = _read_prices(report.folder / PRICES.file)
    except DataError as error:
        report.add("error", "prices", "", str(error))
        return report
    _check_prices(report, prices, calendar, max_fill_sessions, stale_sessions)
    check_tables(report, prices, calendar, stale_sessions)
    return report


def _read_prices(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, None, "file not found", "import prices first: rulebook data import prices FILE... --out DIR")
    frame = read_table(path, PRICES)
    schema.check_present(path, frame, ("symbol", "date"))
    return frame


def _check_prices(report: QualityReport, prices: pd.DataFrame, calendar: str, limit: int, stale: int) -> None:
    path = report.folder / PRICES.file
    doubled = prices[prices.duplicated(["date", "symbol"], keep="first")]
    for symbol, rows in doubled.groupby("symbol"):
        report.add("error", "duplicates", symbol, f"{len(rows)} duplicate (date, symbol) row(s): "
                   + listing(f"{day:%Y-%m-%d}" for day in rows["date"]))
    prices = prices.drop_duplicates(["date", "symbol"]).sort_values(["symbol", "date"], ignore_index=True)
    adjustment = next((name for name in ("adj_factor", "adj_close") if name in prices.columns), None)
    try:
        schema.check_prices(path, prices, adjustment)
    except DataError as error:
        report.add("error", "prices", "", str(error))
    if adjustment == "adj_factor":
        prices["adj_close"] = prices["close"] * prices["adj_factor"]
    sessions = get_sessions(prices["date"].min(), prices["date"].max(), calendar)
    rows = []
    for symbol, own in prices.groupby("symbol", sort=True):
        rows.append(_coverage(report, symbol, own, sessions, calendar, limit))
        stale_runs(report, symbol, own, stale)
        for message in split_warnings(own.dropna(subset=["close"])):
            report.add("warning", "split", symbol, message)
    report.coverage = pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def _coverage(report: QualityReport, symbol: str, own: pd.DataFrame, sessions: pd.DatetimeIndex,
              calendar: str, limit: int) -> list:
    first, last = own["date"].min(), own["date"].max()
    expected = sessions[(sessions >= first) & (sessions <= last)]
    strays = own.loc[~own["date"].isin(sessions), "date"]
    if len(strays):
        report.add("error", "calendar", symbol, f"{len(strays)} date(s) are not {calendar} sessions: "
                   + listing(f"{day:%Y-%m-%d}" for day in strays))
    missing = ~expected.isin(own["date"])
    for begin, end in runs(missing):
        length = end - begin + 1
        span = f"{expected[begin]:%Y-%m-%d}..{expected[end]:%Y-%m-%d} ({length} session(s))"
        if length > limit:
            report.add("error", "gaps", symbol, f"missing {span}, longer than max_fill_sessions={limit}: the load refuses it")
        else:
            report.add("warning", "gaps", symbol, f"missing {span}: the load fills it by carrying the close")
    behind = int((sessions > last).sum())
    if behind:
        report.add("warning", "coverage", symbol, f"ends {last:%Y-%m-%d}, {behind} session(s) before the dataset's "
                   f"last session {sessions[-1]:%Y-%m-%d} (delisted, or a stale file?)")
    present = len(expected) - int(missing.sum())
    return [symbol, first, last, len(own), len(expected), int(missing.sum()), present / len(expected)]
