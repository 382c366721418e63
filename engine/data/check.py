"""`rulebook data check DIR`: a data-quality report on a dataset folder, before any backtest trusts it.

Errors are what the loader would refuse or what silently corrupts a backtest (duplicates,
non-session dates, bad prices, holes longer than ``max_fill_sessions``, fundamentals filed
before their period ended). Warnings deserve a look but may be real (short holes the
loader fills, stale runs, split-like jumps, a split-basis difference between close and
adj_close, a symbol that stops before the others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data import schema
from engine.data.calendar import DEFAULT_CALENDAR, get_sessions
from engine.errors import DataError
from engine.data.importers import split_warnings
from engine.data.schema import FUNDAMENTALS, PRICES, listing

STALE_SESSIONS = 5  # this many sessions in a row with the same close is a stale feed, not a quiet market
COVERAGE_COLUMNS = ["symbol", "first", "last", "rows", "expected", "missing", "coverage"]


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    check: str
    symbol: str
    message: str


@dataclass
class QualityReport:
    folder: Path
    coverage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COVERAGE_COLUMNS))
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def add(self, severity: str, check: str, symbol: str, message: str) -> None:
        self.findings.append(Finding(severity, check, symbol, message))


def check_dataset(folder: Path, *, calendar: str = DEFAULT_CALENDAR, max_fill_sessions: int = 3,
                  stale_sessions: int = STALE_SESSIONS) -> QualityReport:
    """Every check on ``folder``'s prices.parquet and fundamentals.parquet; never raises on bad data."""
    report = QualityReport(Path(folder))
    try:
        prices = _read(report.folder / PRICES.file, PRICES)
    except DataError as error:
        report.add("error", "prices", "", str(error))
        return report
    _check_prices(report, prices, calendar, max_fill_sessions, stale_sessions)
    if (report.folder / FUNDAMENTALS.file).is_file():
        try:
            _check_fundamentals(report, _read(report.folder / FUNDAMENTALS.file, FUNDAMENTALS), set(prices["symbol"]))
        except DataError as error:
            report.add("error", "fundamentals", "", str(error))
    return report


def _read(path: Path, spec: schema.TableSpec) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, None, "file not found", "import prices first: rulebook data import prices FILE... --out DIR")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise DataError(path, None, f"not a readable Parquet file ({error})", "re-import or re-export it") from error
    schema.check_schema(path, spec, table.schema)
    frame = schema.conform(path, spec, table)
    schema.check_present(path, frame, ("symbol",) + (("date",) if spec is PRICES else ("period_end",)))
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
        _stale(report, symbol, own, stale)
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
    for begin, end in _runs(missing):
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


def _stale(report: QualityReport, symbol: str, own: pd.DataFrame, stale: int) -> None:
    close = own["close"].to_numpy()
    same = np.concatenate([[False], close[1:] == close[:-1]])
    for begin, end in _runs(same):
        if end - begin + 2 >= stale:
            report.add("warning", "stale", symbol, f"close stays {close[end]:g} for {end - begin + 2} sessions "
                       f"{own['date'].iloc[begin - 1]:%Y-%m-%d}..{own['date'].iloc[end]:%Y-%m-%d}")


def _runs(mask) -> list[tuple[int, int]]:
    """(first, last) positions of each run of True values."""
    flags = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(flags.astype(np.int8)))
    return [(int(begin), int(end) - 1) for begin, end in zip(edges[::2], edges[1::2])]


def _check_fundamentals(report: QualityReport, frame: pd.DataFrame, priced: set[str]) -> None:
    early = frame[frame["filed"] < frame["period_end"]]
    for symbol, rows in early.groupby("symbol"):
        report.add("error", "fundamentals", symbol, "filed before the period ended: " + listing(
            f"period_end {p:%Y-%m-%d} filed {f:%Y-%m-%d}" for p, f in rows[["period_end", "filed"]].itertuples(index=False)))
    undated = frame[frame["filed"].isna()]
    for symbol, rows in undated.groupby("symbol"):
        report.add("error", "fundamentals", symbol, f"{len(rows)} row(s) without a filed date: the backtest cannot "
                   "know when they became public")
    doubled = frame[frame.duplicated(["symbol", "period_end", "filed"], keep="first")]
    for symbol, rows in doubled.groupby("symbol"):
        report.add("warning", "fundamentals", symbol, f"{len(rows)} repeated (period_end, filed) row(s)")
    for symbol in sorted(set(frame["symbol"]) - priced):
        report.add("warning", "fundamentals", symbol, "has fundamentals but no prices")
