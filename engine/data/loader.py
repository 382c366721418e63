"""Load a dataset folder into a Dataset: read with pyarrow, validate, align to exchange sessions.

Only projected columns and the requested symbols/date range are read (filters are
pushed down to the Parquet reader). Everything a backtest may read is placed on
the session axis with its knowledge time made explicit: market series as-of,
fundamentals with ``known``, events with ``session_date``. Loading never writes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.data import schema
from engine.data.calendar import DEFAULT_CALENDAR, get_sessions
from engine.data.dataset import PRICE_FIELDS, Dataset
from engine.errors import DataError
from engine.data.schema import EVENTS, FUNDAMENTALS, MARKET, PRICES, SYMBOLS, TableSpec, listing

log = logging.getLogger("rulebook.data")

MANIFEST = "dataset.json"
OPTIONAL_TABLES = (MARKET, FUNDAMENTALS, EVENTS, SYMBOLS)
GAP_COLUMNS = ["symbol", "first_missing", "last_missing", "sessions"]
# Calendar days looked past a date to find the next session (longest NYSE closure: 4 weekdays in 2001).
NEXT_SESSION_HORIZON = pd.Timedelta(days=20)


def dataset_files(data_dir: Path) -> list[Path]:
    """The files a load reads, in a fixed order: prices first, then the optional ones present."""
    data_dir = Path(data_dir)
    prices = data_dir / PRICES.file
    if not prices.is_file():
        raise DataError(prices, None, "file not found (a dataset folder needs prices.parquet)",
                        "point data.dir at a dataset folder; data/README.md documents the layout")
    optional = [data_dir / name for name in [spec.file for spec in OPTIONAL_TABLES] + [MANIFEST]]
    return [prices] + [path for path in optional if path.is_file()]


def fingerprint(files: Sequence[Path]) -> str:
    """sha256 over each file's name and bytes: the same data gives the same id wherever it lives."""
    digest = hashlib.sha256()
    for path in sorted(map(Path, files), key=lambda p: p.name):
        content = path.read_bytes()
        digest.update(f"{path.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def load_dataset(data_dir: Path, *, symbols: Sequence[str] | None = None, start=None, end=None,
                 calendar: str = DEFAULT_CALENDAR, max_fill_sessions: int = 3) -> Dataset:
    """Read, validate and align a dataset folder (see data/README.md for the layout)."""
    files = dataset_files(data_dir)
    data_dir = Path(data_dir)
    symbols = [symbols] if isinstance(symbols, str) else symbols
    start = None if start is None else pd.Timestamp(start).normalize()
    end = None if end is None else pd.Timestamp(end).normalize()
    if start is not None and end is not None and start > end:
        raise DataError(files[0], "date", f"start {start:%Y-%m-%d} is after end {end:%Y-%m-%d}",
                        "swap period.start and period.end in the config")
    prices, adjustment = _read_prices(files[0], symbols, start, end, calendar)
    order = list(dict.fromkeys(symbols)) if symbols is not None else sorted(prices["symbol"].unique())
    sessions = get_sessions(prices["date"].min(), prices["date"].max(), calendar)
    frames = _wide_frames(prices, adjustment, sessions, order)
    frames, gaps = _fill_gaps(files[0], frames, max_fill_sessions)
    optional = {spec.file: data_dir / spec.file for spec in OPTIONAL_TABLES}
    manifest = _read_manifest(data_dir / MANIFEST)
    return Dataset(
        sessions=sessions,
        **frames,
        market=_read_market(optional[MARKET.file], sessions),
        fundamentals=_read_fundamentals(optional[FUNDAMENTALS.file], order, sessions, calendar),
        events=_read_events(optional[EVENTS.file], sessions, calendar),
        symbols_meta=_read_symbols(optional[SYMBOLS.file], order),
        files=tuple(files),
        gaps=gaps,
        synthetic=manifest.get("synthetic", False),
    )


# --- reading -----------------------------------------------------------------------------------

def _file_schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(path, error) from error


def _unreadable(path: Path, error: Exception) -> DataError:
    return DataError(path, None, f"not a readable Parquet file ({type(error).__name__}: {error})",
                     "re-export the table with pyarrow/pandas to_parquet; a truncated copy must be copied again")


def _read(path: Path, spec: TableSpec, found: pa.Schema, *, project: bool = True,
          date_column: str | None = None, start=None, end=None,
          key: str | None = None, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Read the spec's columns (or all when ``project`` is False) with pushed-down filters."""
    present = schema.check_schema(path, spec, found)
    conditions = []
    if date_column is not None:
        date_type = found.field(date_column).type
        if start is not None:
            conditions.append(pc.field(date_column) >= _date_scalar(start, date_type))
        if end is not None:
            conditions.append(pc.field(date_column) <= _date_scalar(end, date_type))
    if key is not None and keys is not None:
        conditions.append(pc.field(key).isin(pa.array(list(keys), pa.string())))
    where = None
    for condition in conditions:
        where = condition if where is None else where & condition
    try:
        table = pq.read_table(path, columns=present if project else None, filters=where)
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(path, error) from error
    return schema.conform(path, spec, table)


def _date_scalar(day: pd.Timestamp, dtype: pa.DataType) -> pa.Scalar:
    return pa.scalar(day.date(), pa.date32()).cast(dtype)


def _read_prices(path: Path, symbols, start, end, calendar: str) -> tuple[pd.DataFrame, str | None]:
    found = _file_schema(path)
    schema.check_schema(path, PRICES, found)
    if symbols is not None:
        _check_symbols_exist(path, list(symbols))
    frame = _read(path, PRICES, found, date_column="date", start=start, end=end, key="symbol", keys=symbols)
    schema.check_present(path, frame, ("date", "symbol"))
    if frame.empty:
        dates = pc.min_max(pq.read_table(path, columns=["date"]).column("date"))
        raise DataError(path, "date", f"no rows for {listing(symbols) if symbols else 'any symbol'} {_span(start, end)}",
                        f"the file covers {dates['min']} to {dates['max']}: widen period.start/period.end "
                        "or choose other symbols")
    if symbols is not None:
        loaded = set(frame["symbol"].unique())  # once: a set per symbol made the load grow with names² × sessions
        absent = [symbol for symbol in dict.fromkeys(symbols) if symbol not in loaded]
        if absent:
            raise DataError(path, "symbol", f"no rows {_span(start, end)} for {listing(absent)}",
                            "drop them from data.symbols or widen the date range")
    schema.check_unique(path, frame, ["date", "symbol"])
    schema.check_sessions(path, frame["date"], calendar)
    adjustment = next((name for name in ("adj_factor", "adj_close") if name in frame.columns), None)
    schema.check_prices(path, frame, adjustment)
    if adjustment is None:
        log.warning("%s: no adj_close or adj_factor column; adj_factor = 1 (prices are not dividend-adjusted)", path)
    return frame, adjustment


def _span(start, end) -> str:
    return f"between {'the first row' if start is None else f'{start:%Y-%m-%d}'} and " \
           f"{'the last row' if end is None else f'{end:%Y-%m-%d}'}"


def _check_symbols_exist(path: Path, symbols: list[str]) -> None:
    if not symbols:
        raise DataError(path, "symbol", "the symbol selection is empty", "list at least one symbol in universe.symbols in the config")
    try:
        known = set(pq.read_table(path, columns=["symbol"]).column("symbol").unique().cast(pa.string()).to_pylist())
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(path, error) from error
    unknown = [symbol for symbol in dict.fromkeys(symbols) if symbol not in known]
    if unknown:
        hints = [f"{symbol} (did you mean {', '.join(close)}?)" if (close := difflib.get_close_matches(
            symbol, sorted(filter(None, known)), n=3)) else symbol for symbol in unknown]
        raise DataError(path, "symbol", f"symbols not in the file: {listing(hints)}",
                        "correct universe.symbols (or benchmark) in the config, or add those symbols' rows to prices.parquet")


def _wide_frames(frame: pd.DataFrame, adjustment: str | None, sessions: pd.DatetimeIndex,
                 order: list[str]) -> dict[str, pd.DataFrame]:
    """Each price field (and adj_factor) as sessions × symbols; NaN where a symbol has no row (before its
    first, after its last, gaps). (date, symbol) is unique, so every row is scattered into its cell once,
    with one pair of positions shared by all fields (six pivots cost seconds at 500 names × 20 years)."""
    days, distinct_days = pd.factorize(frame["date"])  # look up each distinct date and symbol once
    symbols, distinct_symbols = pd.factorize(frame["symbol"])
    rows = sessions.get_indexer(distinct_days)[days]
    columns = pd.Index(order).get_indexer(distinct_symbols)[symbols]
    keep = (rows >= 0) & (columns >= 0)
    rows, columns = rows[keep], columns[keep]
    values = {name: frame[name].to_numpy("float64")[keep] for name in PRICE_FIELDS}
    if adjustment == "adj_close":
        values["adj_factor"] = frame["adj_close"].to_numpy("float64")[keep] / values["close"]
    elif adjustment == "adj_factor":
        values["adj_factor"] = frame["adj_factor"].to_numpy("float64")[keep]
    else:
        values["adj_factor"] = np.ones(len(rows))
    wide = {}
    for name, column in values.items():
        grid = np.full((len(sessions), len(order)), np.nan)
        grid[rows, columns] = column
        wide[name] = pd.DataFrame(grid, index=sessions.rename(None), columns=pd.Index(order, dtype=frame["symbol"].dtype))
    return wide


def _fill_gaps(path: Path, frames: dict[str, pd.DataFrame], limit: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Carry the close over short holes inside a symbol's life; refuse long ones. Reports every fill."""
    present = frames["close"].notna()
    alive = present.cummax() & present[::-1].cummax()[::-1]
    holes = alive & ~present
    runs = [(symbol, block[0], block[-1], len(block))
            for symbol in holes.columns
            for block in _runs(holes.index[holes[symbol].to_numpy()], holes.index)]
    gaps = pd.DataFrame(runs, columns=GAP_COLUMNS).astype({"sessions": "int64"})
    long = gaps[gaps["sessions"] > limit]
    if len(long):
        named = [f"{r.symbol} {r.first_missing:%Y-%m-%d}..{r.last_missing:%Y-%m-%d} ({r.sessions} sessions)"
                 for r in long.itertuples()]
        raise DataError(path, "date", f"missing sessions inside a symbol's history, longer than "
                        f"max_fill_sessions={limit}: {listing(named)}",
                        "repair the data, or raise data.max_fill_sessions in the config to carry the close over them")
    close = frames["close"].ffill().where(alive)
    filled = {name: frames[name].mask(holes, close) for name in ("open", "high", "low")}
    filled["close"] = close
    filled["volume"] = frames["volume"].mask(holes, 0.0)
    filled["adj_factor"] = frames["adj_factor"].ffill().where(alive)
    if len(gaps):
        log.warning("%s: filled %d short gap(s) by carrying the close: %s", path, len(gaps),
                    listing(f"{r.symbol} {r.first_missing:%Y-%m-%d} ({r.sessions})" for r in gaps.itertuples()))
    return filled, gaps


def _runs(missing: pd.DatetimeIndex, sessions: pd.DatetimeIndex) -> list[pd.DatetimeIndex]:
    """Split missing sessions into runs of consecutive sessions."""
    if missing.empty:
        return []
    positions = sessions.get_indexer(missing)
    breaks = np.flatnonzero(np.diff(positions) != 1) + 1
    return [missing[block] for block in np.split(np.arange(len(missing)), breaks)]


# --- optional tables ---------------------------------------------------------------------------

def first_session_after(days: pd.Series, calendar: str, *, strictly: bool) -> pd.Series:
    """For each day, the first session after it (``strictly``) or on/after it."""
    if days.empty:
        return days.astype("datetime64[ns]")
    sessions = get_sessions(days.min(), days.max() + NEXT_SESSION_HORIZON, calendar)
    positions = sessions.searchsorted(days.to_numpy(), side="right" if strictly else "left")
    return pd.Series(sessions[positions], index=days.index)


def _read_market(path: Path, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Series × sessions, as-of: a value dated d is visible from the first session >= d, then carried."""
    if not path.is_file():
        return pd.DataFrame(index=sessions)
    frame = _read(path, MARKET, _file_schema(path), date_column="date", end=sessions[-1])
    schema.check_present(path, frame, ("date", "series"))
    frame = frame.dropna(subset=["value"])
    schema.check_unique(path, frame, ["date", "series"])
    wide = frame.pivot(index="date", columns="series", values="value").sort_index().ffill()
    aligned = wide.reindex(sessions, method="ffill") if len(wide) else pd.DataFrame(index=sessions)
    aligned.columns.name = None
    return aligned.astype("float64")


def _read_fundamentals(path: Path, symbols: list[str], sessions: pd.DatetimeIndex, calendar: str) -> pd.DataFrame:
    """Filings with ``known`` = first session strictly after ``filed``; only those known by the last session."""
    if not path.is_file():
        return pd.DataFrame(columns=list(FUNDAMENTALS.columns) + ["known"])
    frame = _read(path, FUNDAMENTALS, _file_schema(path), key="symbol", keys=symbols)
    schema.check_present(path, frame, ("symbol", "period_end"))
    schema.check_fundamentals(path, frame)
    frame["known"] = first_session_after(frame["filed"], calendar, strictly=True)
    frame = frame[frame["known"] <= sessions[-1]]
    return frame.sort_values(["known", "symbol", "period_end"], ignore_index=True)


def _read_events(path: Path, sessions: pd.DatetimeIndex, calendar: str) -> pd.DataFrame:
    """Events with ``session_date``, their first tradable session; extra columns are kept."""
    if not path.is_file():
        return pd.DataFrame(columns=list(EVENTS.columns) + ["session_date"])
    frame = _read(path, EVENTS, _file_schema(path), project=False, date_column="date", end=sessions[-1])
    schema.check_present(path, frame, ("date",))
    schema.check_events(path, frame)
    frame["symbols"] = frame["symbols"].fillna("")
    on_or_after = first_session_after(frame["date"], calendar, strictly=False)
    after = first_session_after(frame["date"], calendar, strictly=True)
    same_session = frame["session"].isin(["pre", "intraday"]) & (on_or_after == frame["date"])
    frame["session_date"] = on_or_after.where(same_session, after)
    frame = frame[frame["session_date"] <= sessions[-1]]
    return frame.sort_values(["session_date", "date"], kind="stable", ignore_index=True)


def _read_symbols(path: Path, symbols: list[str]) -> pd.DataFrame:
    """Names, sectors and themes of the loaded symbols, indexed by symbol."""
    if not path.is_file():
        return pd.DataFrame(columns=["name", "sector", "theme"], index=pd.Index([], name="symbol"))
    frame = _read(path, SYMBOLS, _file_schema(path), key="symbol", keys=symbols)
    schema.check_present(path, frame, ("symbol",))
    schema.check_unique(path, frame, ["symbol"])
    return frame.set_index("symbol")


def _read_manifest(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, None, f"not valid JSON ({error})", "fix the JSON or delete dataset.json") from error
    if not isinstance(manifest, dict):
        raise DataError(path, None, "must hold a JSON object", 'write {"name": ..., "synthetic": ..., "description": ...}')
    if not isinstance(manifest.get("synthetic", False), bool):
        raise DataError(path, "synthetic", f"must be true or false, not {manifest['synthetic']!r}",
                        'write "synthetic": true for made-up data, false for market data')
    return manifest
