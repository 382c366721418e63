"""`rulebook data import events`: an events calendar CSV (or Parquet) → a dataset's events.parquet.

The calendar is validated the way the event study and the event rules read it
(engine.data.events: dates, session values, kinds), plus what a hand-kept sheet gets
wrong: tickers that are not tickers (lower case, spaces, a ',' instead of ';'),
amounts that are not numbers, confidence outside low/medium/high. Extra columns
(counterparties, confidence, notes) are kept as text. ``append`` adds the rows not
already there (same date, session, kind, symbols and title); ``replace`` writes the
calendar as given. Written atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.atomic import write_file_atomically
from engine.data.calendar import DEFAULT_CALENDAR
from engine.data.events import event_symbols, read_events_file
from engine.data.schema import EVENTS, listing
from engine.data.table_merge import check_mode
from engine.errors import DataError

TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,9}$")
CONFIDENCE = ("low", "medium", "high")
IDENTITY = ["date", "session", "kind", "symbols", "title"]


@dataclass
class EventsReport:
    file: str
    rows: int = 0  # events in the written file
    added: int = 0
    already_there: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    symbols: int = 0  # distinct tickers named


def import_events(path: Path, out: Path, *, mode: str = "append", calendar: str = DEFAULT_CALENDAR) -> EventsReport:
    """Validate ``path`` and write (append to or replace) ``out/events.parquet``."""
    check_mode(mode)
    path = Path(path)
    frame = read_events_file(path, calendar).drop(columns=["session_date"])
    frame = frame.sort_values(["date"], kind="stable", ignore_index=True)
    _check_symbols(path, frame)
    frame["amount_usd_bn"] = _amounts(path, frame)
    if "confidence" in frame.columns:
        confidence = frame["confidence"].fillna("").astype(str).str.strip().str.lower()
        bad = ~confidence.isin(CONFIDENCE + ("",))
        if bad.any():
            raise DataError(path, "confidence", f"unknown value(s) {listing(sorted(set(frame.loc[bad, 'confidence'])))} "
                            f"at {_rows(bad)}", f"use one of {', '.join(CONFIDENCE)} (or leave it empty)")
        frame["confidence"] = confidence
    for name in ("title", "source"):
        frame[name] = frame[name].fillna("").astype(str) if name in frame.columns else ""
    target = Path(out) / EVENTS.file
    report = EventsReport(str(path))
    if mode == "append" and target.is_file():
        existing = read_events_file(target, calendar).drop(columns=["session_date"])
        key = lambda f: pd.MultiIndex.from_frame(f[IDENTITY].astype({"date": "datetime64[ns]"}).astype(str))  # noqa: E731
        there = key(frame).isin(key(existing))
        report.already_there = int(there.sum())
        frame = pd.concat([existing, frame[~there]], ignore_index=True).sort_values("date", kind="stable",
                                                                                    ignore_index=True)
        report.added = int((~there).sum())
    else:
        report.added = len(frame)
    report.rows, report.first, report.last = len(frame), frame["date"].min(), frame["date"].max()
    report.symbols = len({s for cell in frame["symbols"] for s in event_symbols(cell)})
    table = _table(frame)
    write_file_atomically(target, lambda tmp: pq.write_table(table, tmp))
    return report


def _check_symbols(path: Path, frame: pd.DataFrame) -> None:
    bad = [(i, cell) for i, cell in enumerate(frame["symbols"])
           if any(not TICKER.match(part.strip()) for part in str(cell).split(";") if part.strip())]
    if bad:
        shown = [f"row {i + 1} ({cell!r})" for i, cell in bad]
        raise DataError(path, "symbols", f"not ';'-separated upper-case tickers: {listing(shown)}",
                        "write tickers as on the exchange, separated by ';' (e.g. NVDA;AMD), or leave the cell empty")


def _amounts(path: Path, frame: pd.DataFrame) -> pd.Series:
    if "amount_usd_bn" not in frame.columns:
        return pd.Series(float("nan"), index=frame.index)
    text = frame["amount_usd_bn"].astype("string").str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna() & (text != "")
    if bad.any():
        raise DataError(path, "amount_usd_bn", f"not a number at {_rows(bad)}",
                        "write the headline amount in USD billions (e.g. 10 or 2.5), or leave it empty")
    return values.astype("float64")


def _rows(mask: pd.Series) -> str:
    return listing(f"row {i + 1}" for i in map(int, mask.to_numpy().nonzero()[0]))


def _table(frame: pd.DataFrame) -> pa.Table:
    columns = {}
    for name in list(EVENTS.columns) + [c for c in frame.columns if c not in EVENTS.columns]:
        column = frame[name]
        if name == "date":
            columns[name] = pa.array(column.dt.date, pa.date32())
        elif name == "amount_usd_bn":
            columns[name] = pa.array(column.to_numpy(dtype="float64"), pa.float64())
        else:
            columns[name] = pa.array(column.fillna("").astype(str).to_numpy(dtype=object), pa.string())
    return pa.table(columns)
