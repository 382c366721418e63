"""Read one vendor file (CSV or Parquet) into a long table of canonical columns, or say exactly what is wrong.

Accepted shapes, after renaming columns (vendor aliases such as ``Adj Close``, then the user's mapping):

- long: ``date, symbol, <values>`` (one row per date and symbol);
- per symbol: ``date, <values>`` with the symbol taken from the file name (``NVDA.csv`` → NVDA);
- wide: ``date`` plus one column per symbol holding one field (the caller names it, e.g. ``adj_close``);
- yfinance's two header rows (``Price``/``Ticker``, as ``yf.download(...).to_csv()`` writes them).

Every returned row remembers where it came from (``_file``, ``_where`` = "line 12" or "row 12"),
so later checks can name the file, the row and the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.errors import DataError
from engine.data.schema import check_delimiter, listing

PRICE_VALUES = ("open", "high", "low", "close", "volume", "adj_close", "adj_factor")
ALIASES = {
    "date": "date", "datetime": "date", "day": "date", "timestamp": "date",
    "symbol": "symbol", "ticker": "symbol",
    "open": "open", "high": "high", "low": "low", "close": "close", "volume": "volume",
    "adj close": "adj_close", "adjclose": "adj_close", "adjusted close": "adj_close", "adj factor": "adj_factor",
    "dividend": "dividend", "dividends": "dividend",
    "ratio": "ratio", "split": "ratio", "splits": "ratio", "stock splits": "ratio", "split ratio": "ratio",
}
MISSING = frozenset({"", ".", "null", "nan", "na", "n/a", "none", "-"})  # "." is FRED's blank
SUFFIXES = ("_dividends", "_splits")
KNOWN_TARGETS = ("date", "symbol") + PRICE_VALUES + ("dividend", "ratio")


@dataclass(frozen=True)
class ReadOptions:
    """How to read the files of one import: column mapping, date format, wide field, date range."""

    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    wide_field: str | None = None
    symbol: str | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["Adj Close=adj_close", "Px=close"]`` → {source: target}; targets must be layout columns."""
    mapping = {}
    for item in items:
        source, sep, target = item.partition("=")
        target = target.strip()
        if not sep or not source.strip() or target not in KNOWN_TARGETS:
            raise DataError("--map", item, f"expected SOURCE=TARGET with TARGET one of {', '.join(KNOWN_TARGETS)}",
                            "write e.g. --map 'Adj Close=adj_close'")
        mapping[source.strip()] = target
    return mapping


def symbol_from_name(path: Path) -> str:
    """``NVDA.csv`` → NVDA, ``NVDA_dividends.csv`` → NVDA."""
    stem = Path(path).stem
    for suffix in SUFFIXES:
        stem = stem.removesuffix(suffix)
    return stem


def read_source(path: Path, values: tuple[str, ...], options: ReadOptions) -> pd.DataFrame:
    """One file as ``date, symbol, <values present>, _file, _where`` with parsed dates and numbers."""
    path = Path(path)
    raw, where = read_raw(path)
    return shape_frame(path, raw, where, values, options)


def shape_frame(path: Path, raw: pd.DataFrame, where: pd.Series, values: tuple[str, ...],
                options: ReadOptions) -> pd.DataFrame:
    """Rename, reshape to long, parse; ``raw`` may have (field, symbol) MultiIndex columns."""
    if isinstance(raw.columns, pd.MultiIndex):
        frame = _stack_fields(path, raw, where, options)
    else:
        raw = raw.rename(columns=lambda name: _canonical(name, options.mapping))
        _check_columns(path, raw)
        if any(name in raw.columns for name in values):
            frame = raw.assign(_where=where.to_numpy())
        else:
            frame = _stack_wide(path, raw, where, options)
    if "symbol" not in frame.columns:
        frame["symbol"] = options.symbol or symbol_from_name(path)
    present = [name for name in values if name in frame.columns]
    if not present:
        raise DataError(path, None, f"no value column among {', '.join(values)} (columns: {listing(frame.columns, 20)})",
                        "rename columns with --map 'SOURCE=TARGET'")
    frame = frame[["date", "symbol"] + present + ["_where"]].copy()
    frame["symbol"] = _symbols(path, frame)
    frame["date"] = parse_dates(path, frame, options.date_format)
    for name in present:
        frame[name] = parse_numbers(path, frame, name)
    if options.start is not None:
        frame = frame[frame["date"] >= options.start]
    if options.end is not None:
        frame = frame[frame["date"] <= options.end]
    frame["_file"] = str(path)
    return frame.reset_index(drop=True)


# --- reading -----------------------------------------------------------------------------------

def read_raw(path: Path) -> tuple[pd.DataFrame, pd.Series]:
    if not path.is_file():
        raise DataError(path, None, "file not found", "check the path")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            raw = pq.read_table(path).to_pandas()
        except (pa.ArrowException, OSError) as error:
            raise DataError(path, None, f"not a readable Parquet file ({error})", "re-export the file") from error
        if isinstance(raw.index, pd.DatetimeIndex):
            raw = raw.rename_axis("date").reset_index()
        return raw, pd.Series([f"row {n + 1}" for n in range(len(raw))])
    if suffix not in (".csv", ".txt"):
        raise DataError(path, None, f"unsupported file type '{path.suffix}'", "give .csv or .parquet files")
    try:
        if _is_yfinance_csv(path):
            raw = pd.read_csv(path, header=[0, 1], index_col=0, dtype=str, keep_default_na=False)
            raw = raw[raw.index.astype(str) != "Date"]
            return raw, pd.Series([f"line {n + 4}" for n in range(len(raw))])
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        check_delimiter(path, raw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise DataError(path, None, f"not a readable CSV ({error})",
                        "every line needs the same number of comma-separated fields as the header") from error
    return raw, pd.Series([f"line {n + 2}" for n in range(len(raw))])


def _is_yfinance_csv(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as handle:
        first, second = handle.readline(), handle.readline()
    return first.startswith("Price,") and second.startswith("Ticker,")


def _canonical(name, mapping: dict[str, str]) -> str:
    name = str(name)
    if name in mapping:
        return mapping[name]
    return ALIASES.get(re.sub(r"[\s_]+", " ", name.strip().lower()), name)


def _check_columns(path: Path, raw: pd.DataFrame) -> None:
    doubled = sorted({name for name in raw.columns if list(raw.columns).count(name) > 1})
    if doubled:
        raise DataError(path, doubled[0], "two columns map to the same name", "map only one of them with --map")
    if "date" not in raw.columns:
        raise DataError(path, "date", f"no date column (columns: {listing(raw.columns, 20)})",
                        "name it Date, or map it: --map 'YOUR_COLUMN=date'")


def _stack_wide(path: Path, raw: pd.DataFrame, where: pd.Series, options: ReadOptions) -> pd.DataFrame:
    """date + one column per symbol → long rows of ``options.wide_field``."""
    symbols = [name for name in raw.columns if name not in ("date", "symbol")]
    if options.wide_field is None:
        raise DataError(path, None, f"looks wide (columns {listing(symbols)} hold one field per symbol)",
                        "say which field the values are, e.g. --wide-field adj_close, or map a column with --map")
    fields = raw.set_index("date")[symbols]
    fields.columns = pd.MultiIndex.from_product([[options.wide_field], symbols])
    return _stack_fields(path, fields, where, ReadOptions(mapping={}))


def _stack_fields(path: Path, raw: pd.DataFrame, where: pd.Series, options: ReadOptions) -> pd.DataFrame:
    """(field, symbol) columns, dates in the index → long rows; all-empty (padding) rows are dropped."""
    names = [_canonical(name, options.mapping) for name in raw.columns.get_level_values(0)]
    raw = raw.set_axis(pd.MultiIndex.from_arrays([names, raw.columns.get_level_values(1)]), axis=1)
    pieces = []
    for symbol in dict.fromkeys(raw.columns.get_level_values(1)):
        piece = raw.xs(symbol, axis=1, level=1)
        filled = piece.apply(lambda column: ~is_missing(column)).any(axis=1).to_numpy()
        pieces.append(pd.DataFrame({"date": raw.index[filled], "symbol": symbol,
                                    **{name: piece[name].to_numpy()[filled] for name in piece.columns},
                                    "_where": where.to_numpy()[filled]}))
    if not pieces:
        raise DataError(path, None, "no symbol columns", "check the file's header rows")
    return pd.concat(pieces, ignore_index=True)


# --- parsing -----------------------------------------------------------------------------------

def is_missing(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype("string").str.strip().str.lower().isin(MISSING).fillna(True)


def first_bad(path: Path, frame: pd.DataFrame, column: str, bad: pd.Series, problem: str, fix: str) -> None:
    if bad.any():
        rows = [f"{where} ({value!r})" for where, value in frame.loc[bad, ["_where", column]].itertuples(index=False)]
        raise DataError(path, column, f"{problem} at {listing(rows)}", fix)


def _symbols(path: Path, frame: pd.DataFrame) -> pd.Series:
    first_bad(path, frame, "symbol", is_missing(frame["symbol"]), "no symbol", "fill the symbol or drop the row")
    return frame["symbol"].astype("string").str.strip()


def parse_dates(path: Path, frame: pd.DataFrame, date_format: str | None) -> pd.Series:
    """Dates at midnight; tz-aware stamps keep their local (exchange) date; a time of day is refused."""
    raw = frame["date"]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
    else:
        text = raw.astype("string").str.strip()
        parsed = pd.to_datetime(text, format=date_format or "ISO8601", errors="coerce", utc=False)
        if not pd.api.types.is_datetime64_any_dtype(parsed):  # mixed offsets: keep each stamp's wall clock
            parsed = pd.to_datetime(text.str.replace(r"[+-]\d\d:\d\d$", "", regex=True), format=date_format or "ISO8601",
                                    errors="coerce")
        first_bad(path, frame, "date", parsed.isna(), "unreadable date",
                   "write dates as YYYY-MM-DD, or pass --date-format (e.g. '%m/%d/%Y')")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    timed = parsed != parsed.dt.normalize()
    first_bad(path, frame, "date", timed, "a time of day (intraday data?)", "import daily bars dated at midnight")
    return parsed.astype("datetime64[ns]")


def parse_numbers(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype("float64")
    missing = is_missing(raw)
    text = raw.astype("string").str.strip().str.replace(",", "", regex=False).mask(missing)
    parsed = pd.to_numeric(text, errors="coerce").astype("float64")
    first_bad(path, frame, column, (parsed.isna() | parsed.abs().eq(float("inf"))) & ~missing, "not a finite number",
              "write plain numbers such as 123.45")
    return parsed
