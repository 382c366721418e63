"""`rulebook data import market`: FRED, OHLC index (VIX) and long files → a dataset's market.parquet.

Shapes, read after the user's ``--map``:

- long: ``date, series, value``;
- one column per series after the date (FRED's ``date,DGS10``; a FRED download with several series): each
  column is a series named after its header, or ``--series`` for a single one;
- an OHLC index file (``DATE,OPEN,HIGH,LOW,CLOSE``): ``--value-column CLOSE --series VIX`` picks the column.

FRED's ``.`` and empty cells are missing values (skipped and counted), not errors; any other
text is an error naming the file, line and column. ``--lag-days N`` re-dates each value N
calendar days later, to when it became known (the loader shows a value from the first
session on or after its date). Written atomically, merged per series (append/replace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.atomic import write_file_atomically
from engine.data import schema
from engine.data.price_files import first_bad, is_missing, parse_dates, parse_numbers, read_raw
from engine.data.schema import MARKET, listing
from engine.data.table_merge import merge_groups
from engine.errors import DataError

DATE_NAMES = ("date", "observation_date", "day", "datetime", "timestamp")
OHLC = {"open", "high", "low", "close", "adj close", "volume"}


@dataclass(frozen=True)
class MarketOptions:
    series: str | None = None
    value_column: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    lag_days: int = 0
    date_format: str | None = None


@dataclass
class SeriesReport:
    """What one import did to one series."""

    series: str
    file: str
    rows: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    added: int = 0
    updated: int = 0
    removed: int = 0
    missing: int = 0  # '.' or empty cells skipped
    lag_days: int = 0


def import_market(files: list[Path], out: Path, options: MarketOptions = MarketOptions(), *,
                  mode: str = "append") -> list[SeriesReport]:
    """Read every file, then merge them into ``out/market.parquet`` in one atomic write."""
    if not files:
        raise DataError("import", None, "no market files given", "name at least one CSV or Parquet file")
    if options.lag_days < 0:
        raise DataError("--lag-days", None, f"{options.lag_days} is negative", "give 0 or more calendar days")
    frames, reports = [], {}
    for path in map(Path, files):
        for series, rows, missing in read_market_file(path, options, single=len(files) == 1):
            if series in reports:
                raise DataError(path, "series", f"series {series} also comes from {reports[series].file}",
                                "import one file per series, or name them apart with --series")
            reports[series] = SeriesReport(series, str(path), missing=missing, lag_days=options.lag_days)
            frames.append(rows)
    new = pd.concat(frames, ignore_index=True)
    target = Path(out) / MARKET.file
    merged, counts = merge_groups(schema.read_existing(target, MARKET), new, "series", ["date"], mode)
    merged = merged.sort_values(["series", "date"], ignore_index=True)[MARKET.columns]
    for series, report in reports.items():
        own = new[new["series"] == series]
        count = counts[series]
        report.rows, report.added, report.updated, report.removed = count.rows, count.added, count.updated, count.removed
        report.first, report.last = own["date"].min(), own["date"].max()
    schema.check_unique(target, merged, ["date", "series"])
    table = pa.table({"date": pa.array(merged["date"].dt.date, pa.date32()),
                      "series": pa.array(merged["series"].astype(str).to_numpy(dtype=object), pa.string()),
                      "value": pa.array(merged["value"].to_numpy(dtype="float64"), pa.float64())})
    write_file_atomically(target, lambda tmp: pq.write_table(table, tmp))
    return list(reports.values())


def read_market_file(path: Path, options: MarketOptions, *, single: bool = True):
    """(series, rows of date/series/value, missing cells) for each series the file holds."""
    raw, where = read_raw(path)
    raw = raw.rename(columns=lambda name: options.mapping.get(str(name), str(name)))
    lower = {str(name).strip().lower(): name for name in raw.columns}
    date_column = next((lower[name] for name in DATE_NAMES if name in lower), None)
    if date_column is None:
        raise DataError(path, "date", f"no date column (columns: {listing(raw.columns, 20)})",
                        "name it date, or map it: --map 'YOUR_COLUMN=date'")
    frame = raw.rename(columns={date_column: "date"}).assign(_where=where.to_numpy())
    frame["date"] = parse_dates(path, frame, options.date_format)
    frame["date"] = frame["date"] + pd.Timedelta(days=options.lag_days)
    if {"series", "value"} <= set(lower):
        frame = frame.rename(columns={lower["series"]: "series", lower["value"]: "value"})
        first_bad(path, frame, "series", is_missing(frame["series"]), "no series name", "fill the series or drop the row")
        return [_series(path, rows.reset_index(drop=True), str(name), "value")
                for name, rows in frame.groupby(frame["series"].astype(str).str.strip(), sort=False)]
    columns = [name for name in frame.columns if name not in ("date", "_where")]
    if options.value_column is not None:
        if options.value_column not in columns:
            raise DataError(path, options.value_column, f"no such column (columns: {listing(columns, 20)})",
                            "give --value-column one of the file's column names")
        columns = [options.value_column]
    elif len(columns) > 1 and OHLC & {str(name).strip().lower() for name in columns}:
        raise DataError(path, None, f"holds several price columns ({listing(columns, 20)}), not series",
                        "pick one with --value-column, e.g. --value-column CLOSE --series VIX")
    if options.series is not None and len(columns) > 1:
        raise DataError("--series", None, f"{path} holds {len(columns)} series ({listing(columns)})",
                        "drop --series (each column is named after its header) or give --value-column")
    if options.series is not None and not single:
        raise DataError("--series", None, "one --series name for several files",
                        "import the files one at a time, or let each be named after its column")
    return [_series(path, frame, options.series or str(column).strip(), column) for column in columns]


def _series(path: Path, frame: pd.DataFrame, name: str, column: str):
    missing = is_missing(frame[column])
    values = parse_numbers(path, frame, column)
    rows = pd.DataFrame({"date": frame["date"], "series": name, "value": values})[~missing.to_numpy()]
    doubled = rows[rows.duplicated("date", keep=False)]
    if len(doubled):
        raise DataError(path, "date", f"{name} has several values on {listing(sorted({f'{d:%Y-%m-%d}' for d in doubled['date']}))}",
                        "keep one row per date and series")
    if rows.empty:
        raise DataError(path, str(column), f"series {name} has no values", "check the file and --value-column")
    return name, rows.reset_index(drop=True), int(missing.sum())
