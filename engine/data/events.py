"""Events files for the event study: read a CSV or Parquet calendar, validate it, place it on sessions.

A user can point a config at their own calendar, so every problem is reported with the file,
the column and the row: an unknown kind lists the vocabulary, a bad date names its line.
Symbols the dataset does not hold are not errors (a calendar names more companies than a
universe trades); they come back as warnings the study prints in its summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data.loader import first_session_after
from engine.errors import DataError
from engine.data.schema import EVENT_SESSIONS, check_delimiter, listing

EventKind = Literal["deal", "license", "capex", "earnings", "regulatory", "policy", "macro", "shock"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
REQUIRED_COLUMNS = ("date", "session", "kind", "symbols")
SAME_SESSION = ("pre", "intraday")


def read_events_file(path: Path, calendar: str) -> pd.DataFrame:
    """A validated events calendar with ``session_date``; extra columns are kept."""
    path = Path(path)
    frame = _read_table(path)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise DataError(path, missing[0], f"required column(s) missing: {listing(missing)} (the file has "
                        f"{listing(frame.columns, 20)})", "add them; data/events/README.md documents the columns")
    frame = frame.assign(
        date=_dates(path, frame["date"]),
        symbols=frame["symbols"].fillna("").astype(str),
        session=frame["session"].astype(str).str.strip(),
        kind=frame["kind"].astype(str).str.strip(),
        title=frame["title"].fillna("").astype(str) if "title" in frame.columns else "",
    )
    bad = ~frame["session"].isin(EVENT_SESSIONS)
    if bad.any():
        raise DataError(path, "session", f"unknown session value(s) {listing(sorted(set(frame.loc[bad, 'session'])))} "
                        f"at {_rows(frame, bad)}", f"use one of {'|'.join(EVENT_SESSIONS)}")
    check_kinds(path, frame)
    frame["session_date"] = session_dates(frame, calendar)
    return frame.sort_values(["session_date", "date"], kind="stable", ignore_index=True)


def check_kinds(path: Path, frame: pd.DataFrame) -> None:
    """Every kind must be one of the vocabulary, so aggregates by kind mean the same thing everywhere."""
    bad = ~frame["kind"].isin(EVENT_KINDS)
    if bad.any():
        values = sorted(set(frame.loc[bad, "kind"].astype(str)))
        raise DataError(path, "kind", f"unknown kind(s) {listing(values)} at {_rows(frame, bad)}",
                        f"use one of {'|'.join(EVENT_KINDS)}")


def session_dates(frame: pd.DataFrame, calendar: str) -> pd.Series:
    """First tradable session: pre/intraday news on a session trades that session, anything else the next."""
    on_or_after = first_session_after(frame["date"], calendar, strictly=False)
    after = first_session_after(frame["date"], calendar, strictly=True)
    same = frame["session"].isin(SAME_SESSION) & (on_or_after == frame["date"])
    return on_or_after.where(same, after)


def event_symbols(symbols: str) -> list[str]:
    """The tickers of a ``symbols`` cell ('NVDA;AMD'), in order, without blanks or repeats."""
    return list(dict.fromkeys(part.strip() for part in str(symbols).split(";") if part.strip()))


def absent_symbol_warnings(events: pd.DataFrame, available: set[str]) -> list[str]:
    """One line per ticker the events name but the data lacks: what is dropped is that ticker's row of each of
    those events (dated), not the events."""
    dates: dict[str, list[str]] = {}
    for row in events.itertuples(index=False):
        for symbol in event_symbols(row.symbols):
            if symbol not in available:
                dates.setdefault(symbol, []).append(f"{row.date:%Y-%m-%d}")
    return [f"{symbol}: not in the price data, so its row of {len(days)} event(s) is left out ({listing(days, 3)}); "
            "the events themselves are still measured on their other names and the books"
            for symbol, days in sorted(dates.items())]


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, None, "events file not found", "fix event_study.file in the config or --events")
    if path.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:
            raise DataError(path, None, "the file is empty", f"write a header row ({','.join(REQUIRED_COLUMNS)},title) "
                            "and one row per event; data/events/README.md documents the columns") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise DataError(path, None, f"not a readable CSV ({error})", "save it as UTF-8 CSV with a header row") from error
        check_delimiter(path, frame)
        return frame
    if path.suffix.lower() == ".parquet":
        try:
            return pq.read_table(path).to_pandas(date_as_object=False)
        except (pa.ArrowException, OSError) as error:
            raise DataError(path, None, f"not a readable Parquet file ({error})", "re-export it") from error
    raise DataError(path, None, f"unsupported file type '{path.suffix}'", "give a .csv or .parquet events file")


def _dates(path: Path, values: pd.Series) -> pd.Series:
    """Calendar days; a blank, malformed or timed date is an error naming its row."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values.dt.tz_localize(None) if values.dt.tz is not None else values
        bad = stamps.isna() | (stamps != stamps.dt.normalize())
    else:
        text = values.astype("string").str.strip()
        stamps = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        bad = stamps.isna()
    if bad.any():
        shown = [f"row {i + 1} ({values.iloc[i]!r})" for i in map(int, bad.to_numpy().nonzero()[0])]
        raise DataError(path, "date", f"not a YYYY-MM-DD date: {listing(shown)}",
                        "write each event's public day as YYYY-MM-DD (row 1 = first data row)")
    return stamps.astype("datetime64[ns]")


def _rows(frame: pd.DataFrame, mask: pd.Series) -> str:
    return listing(f"row {i + 1}" for i in map(int, mask.to_numpy().nonzero()[0]))
