"""`data check` for a dataset's optional tables: market series, fundamentals, events.

Errors are what the loader refuses (unreadable files, wrong columns, duplicate keys,
unknown event kinds or sessions, figures dated public before their period ended).
Warnings are what quietly weakens a backtest: a series or a sheet that stops long
before the prices, a stale series, figures missing from some quarters (the screen
judges fewer), dates that were assumed, events naming tickers the prices lack, events
after the last price session (never acted on). Every finding names its symbol or series.
"""

from __future__ import annotations

import pandas as pd

from engine.data.events import event_symbols, read_events_file
from engine.data.quality import QualityReport, read_table, stale_runs
from engine.data.schema import EVENTS, FUNDAMENTAL_VALUES, FUNDAMENTALS, MARKET, listing
from engine.errors import DataError

STALE_DAYS = 366  # a series or sheet whose last value is this far behind the prices has stopped


def check_tables(report: QualityReport, prices: pd.DataFrame, calendar: str, stale: int) -> None:
    """Check each optional table the folder holds (market, fundamentals, events) against its prices."""
    last = prices["date"].max()
    priced = set(prices["symbol"].astype(str))
    for spec, check in ((MARKET, lambda f: _market(report, f, last, stale)),
                        (FUNDAMENTALS, lambda f: _fundamentals(report, f, priced, last))):
        path = report.folder / spec.file
        if path.is_file():
            try:
                check(read_table(path, spec))
            except DataError as error:
                report.add("error", spec.file.split(".")[0], "", str(error))
    if (report.folder / EVENTS.file).is_file():
        try:
            _events(report, read_events_file(report.folder / EVENTS.file, calendar), priced, last)
        except DataError as error:
            report.add("error", "events", "", str(error))


def _market(report: QualityReport, frame: pd.DataFrame, last: pd.Timestamp, stale: int) -> None:
    frame = frame.dropna(subset=["date", "series"])
    doubled = frame[frame.duplicated(["series", "date"], keep=False)]
    for series, rows in doubled.groupby("series"):
        report.add("error", "market", series, f"{rows['date'].nunique()} date(s) with several values: "
                   + listing(sorted(f"{d:%Y-%m-%d}" for d in rows["date"].unique())))
    for series, rows in frame.dropna(subset=["value"]).sort_values("date").groupby("series"):
        behind = (last - rows["date"].max()).days
        if behind > STALE_DAYS // 12:
            report.add("warning", "market", series, f"ends {rows['date'].max():%Y-%m-%d}, {behind} days before the "
                       f"prices' last date {last:%Y-%m-%d}: later sessions carry its last value")
        stale_runs(report, series, rows.reset_index(drop=True), stale * 2, column="value", check="market",
                   unit="values")


def _fundamentals(report: QualityReport, frame: pd.DataFrame, priced: set[str], last: pd.Timestamp) -> None:
    for symbol, rows in frame[frame["filed"] < frame["period_end"]].groupby("symbol"):
        report.add("error", "fundamentals", symbol, "filed before the period ended: " + listing(
            f"period_end {p:%Y-%m-%d} filed {f:%Y-%m-%d}" for p, f in rows[["period_end", "filed"]].itertuples(index=False)))
    for symbol, rows in frame[frame["filed"].isna()].groupby("symbol"):
        report.add("error", "fundamentals", symbol, f"{len(rows)} row(s) without a filed date: the backtest cannot "
                   "know when they became public")
    for symbol, rows in frame[frame.duplicated(["symbol", "period_end", "filed"], keep="first")].groupby("symbol"):
        report.add("warning", "fundamentals", symbol, f"{len(rows)} repeated (period_end, filed) row(s)")
    for symbol, rows in frame.groupby("symbol"):
        gaps = [f"{name} {int(rows[name].isna().sum())}/{len(rows)}" for name in FUNDAMENTAL_VALUES
                if rows[name].isna().any()]
        if gaps:
            report.add("warning", "fundamentals", symbol, "quarters without " + ", ".join(gaps)
                       + ": the screen judges those measures on fewer quarters (or not at all)")
        if "filed_assumed" in rows and rows["filed_assumed"].fillna(False).astype(bool).any():
            assumed = rows[rows["filed_assumed"].fillna(False).astype(bool)]
            report.add("warning", "fundamentals", symbol, f"{len(assumed)} of {len(rows)} quarter(s) rest on assumed "
                       "filing dates (period end + --assumed-lag): " + listing(f"{p:%Y-%m-%d}" for p in assumed["period_end"]))
        if (last - rows["filed"].max()).days > STALE_DAYS // 2:
            report.add("warning", "fundamentals", symbol, f"last filing {rows['filed'].max():%Y-%m-%d}, more than half a "
                       f"year before the prices' last date {last:%Y-%m-%d}")
    for symbol in sorted(set(frame["symbol"]) - priced):
        report.add("warning", "fundamentals", symbol, "has fundamentals but no prices")


def _events(report: QualityReport, events: pd.DataFrame, priced: set[str], last: pd.Timestamp) -> None:
    named: dict[str, list[str]] = {}
    for row in events.itertuples(index=False):
        for symbol in event_symbols(row.symbols):
            named.setdefault(symbol, []).append(f"{row.date:%Y-%m-%d}")
    for symbol, days in sorted(named.items()):
        if symbol not in priced:
            report.add("warning", "events", symbol, f"named by {len(days)} event(s) ({listing(days, 3)}) but not in "
                       "the prices: event rules and the event study skip it there")
    late = events[events["session_date"] > last]
    if len(late):
        report.add("warning", "events", "", f"{len(late)} event(s) after the prices' last date {last:%Y-%m-%d} are never "
                   "acted on: " + listing(f"{d:%Y-%m-%d}" for d in late["date"]))
