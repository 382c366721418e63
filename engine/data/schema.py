"""Table schemas of a dataset folder and the checks that turn bad data into DataErrors.

Each schema is declared once with pyarrow; the canonical types are what the
loader hands on (float64 numbers, string text, date32 dates). Files may use any
compatible physical type: integers for numbers, timestamps for dates,
large/dictionary strings for text. Every check names the file, the column, the
offending rows and the fix, so a user never has to debug the loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.data.calendar import closure_reason, get_sessions
from engine.errors import DataError

# Relative slack for high >= low and low <= close <= high: vendors store float32 prices.
OHLC_TOLERANCE = 1e-6
EVENT_SESSIONS = ("pre", "intraday", "post", "closed", "unknown")
LISTED = 5


@dataclass(frozen=True)
class TableSpec:
    """One file of a dataset: canonical schema and which of its columns must be present."""

    file: str
    schema: pa.Schema
    required: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _spec(file: str, required: tuple[str, ...], optional: tuple[str, ...], types: dict[str, pa.DataType]) -> TableSpec:
    return TableSpec(file, pa.schema([(name, types[name]) for name in required + optional]), required)


_F, _S, _D = pa.float64(), pa.string(), pa.date32()

PRICES = _spec(
    "prices.parquet",
    ("date", "symbol", "open", "high", "low", "close", "volume"),
    ("adj_close", "adj_factor"),
    {"date": _D, "symbol": _S, "open": _F, "high": _F, "low": _F, "close": _F, "volume": _F,
     "adj_close": _F, "adj_factor": _F},
)
FUNDAMENTAL_VALUES = ("revenue", "operating_income", "interest_expense", "cash", "total_debt", "capex")
MARKET = _spec("market.parquet", ("date", "series", "value"), (), {"date": _D, "series": _S, "value": _F})
FUNDAMENTALS = _spec(
    "fundamentals.parquet", ("symbol", "period_end", "filed") + FUNDAMENTAL_VALUES, ("filed_assumed",),
    {"symbol": _S, "period_end": _D, "filed": _D, **{name: _F for name in FUNDAMENTAL_VALUES},
     "filed_assumed": pa.bool_()},
)
EVENTS = _spec(
    "events.parquet", ("date", "session", "kind", "symbols", "title", "amount_usd_bn", "source"), (),
    {"date": _D, "session": _S, "kind": _S, "symbols": _S, "title": _S, "amount_usd_bn": _F, "source": _S},
)
SYMBOLS = _spec("symbols.parquet", ("symbol", "name", "sector", "theme"), (),
                {"symbol": _S, "name": _S, "sector": _S, "theme": _S})


def check_delimiter(path, frame: pd.DataFrame) -> None:
    """A CSV read with commas into one column whose name holds ';' or tabs was written with another delimiter
    (European Excel exports use ';' and a decimal comma)."""
    header = str(frame.columns[0]) if frame.shape[1] == 1 else ""
    for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
        if separator in header:
            raise DataError(path, None, f"fields are separated by {name}, not commas (header {header[:60]!r})",
                            "save it as comma-separated CSV with '.' as the decimal point "
                            "(Excel: 'CSV UTF-8 (Comma delimited)')")


def listing(items, limit: int = LISTED) -> str:
    """'a, b, c and 4 more': names offending values without flooding the message."""
    items = [str(item) for item in items]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _kind(dtype: pa.DataType) -> str:
    if pa.types.is_dictionary(dtype):
        return _kind(dtype.value_type)
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        return "number"
    if pa.types.is_date(dtype) or pa.types.is_timestamp(dtype):
        return "date"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return "string"
    return str(dtype)


def check_schema(path, spec: TableSpec, found: pa.Schema) -> list[str]:
    """Missing required columns and mistyped columns; returns the spec columns the file has."""
    missing = [name for name in spec.required if name not in found.names]
    if missing:
        raise DataError(path, missing[0], f"required column missing (also missing: {listing(missing[1:]) or 'none'}; "
                        f"the file has {listing(found.names, 20)})",
                        f"add the column(s) {listing(missing, 20)}; data/README.md documents {spec.file}")
    present = [name for name in spec.columns if name in found.names]
    for name in present:
        want, got = _kind(spec.schema.field(name).type), _kind(found.field(name).type)
        if want != got and not pa.types.is_null(found.field(name).type):  # an all-empty column fits any type
            raise DataError(path, name, f"has type {found.field(name).type}, expected a {want} column",
                            f"write '{name}' as {spec.schema.field(name).type} (see data/README.md)")
    return present


def conform(path, spec: TableSpec, table: pa.Table) -> pd.DataFrame:
    """Cast spec columns to their canonical types and convert to pandas (dates as datetime64[ns])."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if name in spec.columns:
            column = _cast(path, name, column, spec.schema.field(name).type)
        elif pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns[name] = column
    frame = pa.table(columns).to_pandas(date_as_object=False)
    for name in frame.columns:
        if name in spec.columns and spec.schema.field(name).type == _D:
            frame[name] = frame[name].astype("datetime64[ns]")
    return frame


def _cast(path, name: str, column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp(column.type.unit))  # tz-aware: dates of the UTC wall clock
        timed = pc.invert(pc.equal(column, pc.floor_temporal(column, unit="day")))
        if pc.any(timed).as_py():
            first = pc.filter(column, timed)[0]
            raise DataError(path, name, f"timestamps carry a time of day (e.g. {first}), so their session is ambiguous",
                            f"store '{name}' as date32, or as midnight timestamps")
    return pc.cast(column, target)


def check_present(path, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Key columns may not hold nulls: a row without its date or symbol cannot be placed."""
    for name in columns:
        empty = int(frame[name].isna().sum())
        if empty:
            raise DataError(path, name, f"{empty} row(s) have no value", f"fill '{name}' or drop those rows")


def check_unique(path, frame: pd.DataFrame, keys: list[str]) -> None:
    row_key, size = np.zeros(len(frame), dtype=np.int64), 1
    for name in keys:  # one integer per distinct key tuple (nulls equal), so sorting finds repeats fast
        codes, distinct = pd.factorize(frame[name])
        if size * (len(distinct) + 1) >= 2**62:
            size, row_key = len(frame), np.unique(row_key, return_inverse=True)[1].ravel()
        row_key, size = row_key * (len(distinct) + 1) + codes + 1, size * (len(distinct) + 1)
    ordered = np.sort(row_key)
    if not (ordered[1:] == ordered[:-1]).any():  # equal rows always share a code: no repeat is missed
        return
    duplicated = frame[frame.duplicated(keys, keep=False)]
    if len(duplicated):
        first = duplicated.drop_duplicates(keys)
        rows = [" ".join(_text(value) for value in row) for row in first[keys].itertuples(index=False)]
        raise DataError(path, keys[0], f"duplicate ({', '.join(keys)}) rows: {listing(rows)}",
                        "keep one row per " + " and ".join(keys))


def _text(value) -> str:
    return value.strftime("%Y-%m-%d") if isinstance(value, pd.Timestamp) else str(value)


def _rows(frame: pd.DataFrame, mask: pd.Series) -> str:
    bad = frame.loc[mask, ["symbol", "date"]]
    return listing(f"{symbol} {date:%Y-%m-%d}" for symbol, date in bad.itertuples(index=False))


def check_sessions(path, dates: pd.Series, calendar: str) -> None:
    """Every date must be a session of the exchange calendar."""
    unique = pd.DatetimeIndex(dates.unique()).sort_values()
    sessions = get_sessions(unique[0], unique[-1], calendar)
    strays = unique[~unique.isin(sessions)]
    if len(strays):
        named = [f"{day:%Y-%m-%d} ({closure_reason(day, calendar)})" for day in strays]
        raise DataError(path, "date", f"{len(strays)} date(s) are not {calendar} sessions: {listing(named)}",
                        "drop those rows, or set data.calendar to the exchange the data comes from")


def check_prices(path, frame: pd.DataFrame, adjustment: str | None) -> None:
    """Positive finite prices, non-negative volume, and low <= close <= high (with float32 slack)."""
    for name in ("open", "high", "low", "close") + ((adjustment,) if adjustment else ()):
        bad = frame[name].isna() | ~(frame[name] > 0) | (frame[name] == np.inf)
        if bad.any():
            raise DataError(path, name, f"missing, non-positive or infinite prices at {_rows(frame, bad)}",
                            "repair or drop those rows (prices must be finite and > 0)")
    bad = frame["volume"].isna() | (frame["volume"] < 0) | (frame["volume"] == np.inf)
    if bad.any():
        raise DataError(path, "volume", f"missing, negative or infinite volume at {_rows(frame, bad)}",
                        "store volume >= 0 (0 when unknown)")
    slack = OHLC_TOLERANCE * frame["high"]
    bad = frame["high"] < frame["low"] - slack
    if bad.any():
        raise DataError(path, "high", f"high below low at {_rows(frame, bad)}", "repair those rows' high/low")
    bad = (frame["close"] > frame["high"] + slack) | (frame["close"] < frame["low"] - slack)
    if bad.any():
        raise DataError(path, "close", f"close outside [low, high] at {_rows(frame, bad)}",
                        "repair those rows' close/high/low")


def check_fundamentals(path, frame: pd.DataFrame) -> None:
    """A filing must have a public date, on or after the end of the period it reports."""
    for mask, problem in ((frame["filed"].isna(), "no filing date"),
                          (frame["filed"] < frame["period_end"], "filed before period_end")):
        if mask.any():
            rows = [f"{s} {p:%Y-%m-%d}" for s, p in frame.loc[mask, ["symbol", "period_end"]].itertuples(index=False)]
            raise DataError(path, "filed", f"{problem} for {listing(rows)}",
                            "set 'filed' to the date the filing became public (>= period_end), or drop the row")


def check_events(path, frame: pd.DataFrame) -> None:
    bad = ~frame["session"].isin(EVENT_SESSIONS)
    if bad.any():
        values = sorted(set(frame.loc[bad, "session"].astype(str)))
        raise DataError(path, "session", f"unknown session value(s) {listing(values)}",
                        f"use one of {', '.join(EVENT_SESSIONS)}")


RERUN_FIX = "re-run the backtest (`rulebook run CONFIG`) for a new run folder"


def read_existing(target: Path, spec: TableSpec) -> pd.DataFrame | None:
    """An importer's target file, checked against ``spec`` and conformed (None when absent), so a
    new import can be merged into it; an unreadable file is an error, never silently replaced."""
    if not Path(target).is_file():
        return None
    try:
        table = pq.read_table(target)
    except (pa.ArrowException, OSError) as error:
        raise DataError(target, None, f"the existing file is not readable Parquet ({error})",
                        "remove it or write into a new folder") from error
    check_schema(target, spec, table.schema)
    return conform(target, spec, table.select([name for name in table.column_names if name in spec.schema.names]))
