"""`rulebook data import prices`: vendor files → a dataset's prices.parquet, checked, merged per symbol, atomic.

The steps: read every file (engine.data.price_files), drop exact duplicate rows and refuse
conflicting ones, apply splits, attach adjusted closes (from a column, from separate
adjusted-close files, or computed from cash dividends), look for split trouble
(engine.data.adjust), run the layout's own checks (engine.data.schema) on each input file, merge
with what the folder already holds (append: new dates added, overlapping dates
updated; replace: the symbol's old rows dropped) and write prices.parquet in one
atomic rename. Any error leaves the folder byte-for-byte as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data import adjust, schema
from engine.atomic import write_file_atomically
from engine.data.calendar import DEFAULT_CALENDAR
from engine.errors import DataError
from engine.data.price_files import PRICE_VALUES, ReadOptions, read_source
from engine.data.schema import PRICES, listing
from engine.data.table_merge import merge_groups

OUTPUT_COLUMNS = ["date", "symbol", "open", "high", "low", "close", "volume", "adj_close"]


@dataclass
class SymbolReport:
    """What one import did to one symbol."""

    symbol: str
    rows: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    added: int = 0
    updated: int = 0
    removed: int = 0
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportSources:
    """The inputs of one import: price files, and optional adjusted closes, dividends and splits (files or folders)."""

    prices: tuple[Path, ...]
    adj_close: tuple[Path, ...] = ()
    dividends: tuple[Path, ...] = ()
    splits: tuple[Path, ...] = ()


def import_prices(sources: ImportSources, out: Path, options: ReadOptions = ReadOptions(), *,
                  mode: str = "append", calendar: str = DEFAULT_CALENDAR) -> list[SymbolReport]:
    """Read, check and merge ``sources`` into ``out/prices.parquet``; returns one report per imported symbol."""
    frame, reports = prepare_prices(sources, options, calendar)
    write_prices(frame, reports, Path(out), mode)
    return list(reports.values())


def prepare_prices(sources: ImportSources, options: ReadOptions,
                   calendar: str = DEFAULT_CALENDAR) -> tuple[pd.DataFrame, dict[str, SymbolReport]]:
    """Every input file read, then assembled (see assemble_prices)."""
    if not sources.prices:
        raise DataError("import", None, "no price files given", "name at least one CSV or Parquet file")
    frames = [read_source(path, PRICE_VALUES, options) for path in sources.prices]
    return assemble_prices(pd.concat(frames, ignore_index=True), sources, options, calendar)


def assemble_prices(prices: pd.DataFrame, sources: ImportSources, options: ReadOptions,
                    calendar: str = DEFAULT_CALENDAR) -> tuple[pd.DataFrame, dict[str, SymbolReport]]:
    """Long price rows deduplicated, split-adjusted, given adj_close and checked: the rows to write, and reports."""
    if prices.empty:
        raise DataError(", ".join(map(str, sources.prices)) or "input", "date", "no price rows (within --start/--end)",
                        "check the files and the date range")
    prices, duplicates = deduplicate(prices, PRICE_VALUES)
    reports = {symbol: SymbolReport(symbol, duplicates=duplicates.get(symbol, 0))
               for symbol in dict.fromkeys(prices["symbol"])}
    symbols = list(reports)
    splits = _events(sources.splits, "ratio", symbols, options)
    dividends = _events(sources.dividends, "dividend", symbols, options)
    adjusted = _adjusted_closes(sources.adj_close, symbols, options)
    pieces = []
    for symbol, rows in prices.groupby("symbol", sort=False):
        rows = rows.sort_values("date", ignore_index=True)
        if symbol in splits:
            rows = adjust.apply_splits(rows, splits[symbol].set_index("date")["ratio"])
        rows = _with_adj_close(rows, adjusted.get(symbol), dividends.get(symbol))
        reports[symbol].warnings.extend(split_warnings(rows))
        pieces.append(rows)
    prices = pd.concat(pieces, ignore_index=True)
    for path, rows in prices.groupby("_file", sort=False):
        schema.check_sessions(path, rows["date"], calendar)
        located = rows.assign(symbol=rows["symbol"].astype(str) + " (" + rows["_where"].astype(str) + ")")
        schema.check_prices(path, located, "adj_close" if "adj_close" in rows else None)
    return prices, reports


def deduplicate(frame: pd.DataFrame, values: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows repeating a (symbol, date) with equal values (counted per symbol); refuse differing ones."""
    columns = [name for name in values if name in frame.columns]
    repeated = frame.duplicated(["symbol", "date"], keep=False)
    if not repeated.any():
        return frame, {}
    exact = frame.duplicated(["symbol", "date"] + columns, keep="first")
    kept = frame[~exact]
    clash = kept[kept.duplicated(["symbol", "date"], keep=False)]
    if len(clash):
        first = clash.iloc[0]
        rival = clash[(clash["symbol"] == first["symbol"]) & (clash["date"] == first["date"])].iloc[1]
        differing = next(name for name in columns if not _same(first[name], rival[name]))
        raise DataError(first["_file"], differing,
                        f"{first['symbol']} {first['date']:%Y-%m-%d} appears twice with different values: "
                        f"{first['_where']} has {first[differing]!r}, {rival['_file']} {rival['_where']} has "
                        f"{rival[differing]!r} ({len(clash.drop_duplicates(['symbol', 'date']))} such date(s))",
                        "keep one source per symbol and date, or drop the conflicting rows")
    counts = frame[exact].groupby("symbol").size()
    return kept.reset_index(drop=True), {str(symbol): int(count) for symbol, count in counts.items()}


def _same(a, b) -> bool:
    return (pd.isna(a) and pd.isna(b)) or a == b


def split_warnings(rows: pd.DataFrame) -> list[str]:
    """Split-like one-day moves in close, in adj_close / close, and a split-basis difference between them."""
    symbol = rows["symbol"].iloc[0]
    close = rows.set_index("date")["close"]
    notes = [f"{symbol}: close moves x{jump.move:.3f} on {jump.date:%Y-%m-%d}, like an unadjusted "
             f"{_ratio_text(jump.ratio)} split" for jump in adjust.split_jumps(close).itertuples()]
    if "adj_close" in rows:
        adjusted = rows.set_index("date")["adj_close"]
        notes += [f"{symbol}: adj_close / close jumps x{jump.move:.3f} on {jump.date:%Y-%m-%d}: a {_ratio_text(jump.ratio)} "
                  "split was applied to only one of them" for jump in adjust.split_jumps(adjusted / close).itertuples()]
        ratio = adjust.basis_ratio(close, adjusted)
        if ratio is not None:
            notes.append(f"{symbol}: adj_close / close is {float((adjusted / close).iloc[-1]):.3f} on the last row, "
                         f"not ~1: the two are on different split bases (a {_ratio_text(ratio)} split applied to one "
                         "only); returns are unaffected but their price levels must not be mixed")
    return notes


def _ratio_text(ratio: float) -> str:
    return f"{ratio:g}:1" if ratio >= 1 else f"1:{1 / ratio:g} reverse"


# --- adjusted closes, dividends, splits ---------------------------------------------------------

def _files_for(paths: tuple[Path, ...], symbols: list[str], suffix: str) -> list[Path]:
    """Files as given; a folder contributes ``<SYMBOL><suffix>.csv|.parquet`` for each imported symbol."""
    found = []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append(path)
            continue
        for symbol in symbols:
            candidates = [path / f"{symbol}{s}{ext}" for s in dict.fromkeys((suffix, "")) for ext in (".csv", ".parquet")]
            match = next((c for c in candidates if c.is_file()), None)
            if match is None:
                raise DataError(path, None, f"no file for {symbol} (looked for {candidates[0].name} and "
                                f"{candidates[-1].name})", f"add it, or leave {symbol} out of this import")
            found.append(match)
    return found


def _events(paths, value: str, symbols: list[str], options: ReadOptions) -> dict[str, pd.DataFrame]:
    """Dividends or splits per symbol (ex-date, amount or ratio), only for the imported symbols."""
    files = _files_for(paths, symbols, f"_{value}s" if value == "dividend" else "_splits")
    reading = ReadOptions(mapping=options.mapping, date_format=options.date_format)
    frames = [read_source(path, (value,), reading) for path in files]
    if not frames:
        return {}
    events, _ = deduplicate(pd.concat(frames, ignore_index=True), (value,))
    bad = events[value].isna() | ~(events[value] > 0)
    if bad.any():
        row = events[bad].iloc[0]
        raise DataError(row["_file"], value, f"{row['_where']}: {row[value]!r} is not a positive number",
                        f"give each {value} as a positive number")
    return {symbol: rows.sort_values("date") for symbol, rows in events.groupby("symbol") if symbol in symbols}


def _adjusted_closes(paths, symbols: list[str], options: ReadOptions) -> dict[str, pd.DataFrame]:
    """Separate adjusted-close files: their adj_close column, else their close column, per symbol."""
    files = _files_for(paths, symbols, "")
    frames = []
    for path in files:
        frame = read_source(path, ("adj_close", "close"), ReadOptions(
            mapping=options.mapping, date_format=options.date_format, wide_field="adj_close",
            symbol=None if len(files) > 1 or options.symbol is None else options.symbol))
        if "adj_close" not in frame:
            frame = frame.rename(columns={"close": "adj_close"})
        frames.append(frame.drop(columns=["close"], errors="ignore"))
    if not frames:
        return {}
    adjusted, _ = deduplicate(pd.concat(frames, ignore_index=True), ("adj_close",))
    return {symbol: rows for symbol, rows in adjusted.groupby("symbol")}


def _with_adj_close(rows: pd.DataFrame, adjusted: pd.DataFrame | None, dividends: pd.DataFrame | None) -> pd.DataFrame:
    """adj_close from the price file itself, else the adjusted-close file, else dividends, else adj_factor."""
    has_own = "adj_close" in rows and rows["adj_close"].notna().all()
    if not has_own and adjusted is not None:
        joined = rows.drop(columns=["adj_close"], errors="ignore").merge(
            adjusted[["date", "adj_close", "_file"]].rename(columns={"_file": "_adj_file"}), on="date", how="left")
        missing = joined["adj_close"].isna()
        if missing.any():
            days = listing(f"{day:%Y-%m-%d}" for day in joined.loc[missing, "date"])
            raise DataError(adjusted["_file"].iloc[0], "adj_close", f"no adjusted close for {rows['symbol'].iloc[0]} on "
                            f"{days} ({int(missing.sum())} price row(s))",
                            "give adjusted closes for every price date, or narrow the import with --start/--end")
        return joined.drop(columns=["_adj_file"])
    if not has_own and dividends is not None:
        return rows.assign(adj_close=adjust.dividend_adj_close(rows["date"], rows["close"],
                                                               dividends.set_index("date")["dividend"]).to_numpy())
    if not has_own and "adj_factor" in rows:
        return rows.assign(adj_close=rows["close"] * rows["adj_factor"])
    return rows


# --- merging and writing -----------------------------------------------------------------------

def write_prices(frame: pd.DataFrame, reports: dict[str, SymbolReport], out: Path, mode: str) -> Path:
    """Merge with ``out/prices.parquet`` per symbol (append or replace), check, and rename into place."""
    target = out / PRICES.file
    existing = _existing(target)
    columns = [name for name in OUTPUT_COLUMNS if name in frame.columns or name in existing.columns]
    new = frame[[name for name in columns if name in frame.columns]]
    merged, counts = merge_groups(existing if len(existing) else None, new, "symbol", ["date"], mode)
    for symbol, report in reports.items():
        rows, count = new[new["symbol"] == symbol], counts[symbol]
        report.rows, report.first, report.last = count.rows, rows["date"].min(), rows["date"].max()
        report.added, report.updated, report.removed = count.added, count.updated, count.removed
    merged = merged[columns]
    merged = merged.sort_values(["symbol", "date"], ignore_index=True)
    table = _to_table(merged)
    schema.check_schema(target, PRICES, table.schema)
    checked = schema.conform(target, PRICES, table)
    schema.check_unique(target, checked, ["date", "symbol"])
    schema.check_prices(target, checked, "adj_close" if "adj_close" in checked else None)
    return write_file_atomically(target, lambda tmp: pq.write_table(table, tmp))


def _existing(target: Path) -> pd.DataFrame:
    """The folder's current prices (adj_factor turned into adj_close), or an empty frame."""
    frame = schema.read_existing(target, PRICES)
    if frame is None:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "symbol": pd.Series(dtype="string")})
    if "adj_close" not in frame and "adj_factor" in frame:
        frame["adj_close"] = frame["close"] * frame["adj_factor"]
    return frame[[name for name in OUTPUT_COLUMNS if name in frame.columns]]


def _to_table(frame: pd.DataFrame) -> pa.Table:
    columns = {name: (pa.array(frame[name].dt.date, pa.date32()) if name == "date" else
                      pa.array(frame[name].astype(str).to_numpy(dtype=object), pa.string()) if name == "symbol" else
                      pa.array(frame[name].to_numpy(dtype="float64"), pa.float64()))
               for name in frame.columns}
    return pa.table(columns)

