"""`rulebook data import fundamentals`: a quarterly sheet → a dataset's fundamentals.parquet, point in time.

Columns are recognised by the names vendors use where the name is unambiguous
(``fiscal_period_end``, ``filing_date``, ``revenue_usd_m``, ``cash_and_equivalents``…);
``--map SRC=DST`` names the rest. Values are converted to USD millions from ``--units``.

The knowledge date ``filed`` is the *earlier* of the filing date and the earnings-release
date when the sheet has both: a press release makes the figures public before the 10-Q.
A row with neither is an error listing the rows, unless ``--assumed-lag DAYS`` is given:
its ``filed`` is then period end + DAYS and ``filed_assumed`` is true, so reports and
``data check`` can say how many figures rest on assumed dates. The source dates are kept
as ``filing_date`` and ``release_date``. Merged per symbol by (period_end, filed), atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.atomic import write_file_atomically
from engine.data import schema
from engine.data.price_files import first_bad, is_missing, parse_dates, parse_numbers, read_raw
from engine.data.schema import FUNDAMENTAL_VALUES, FUNDAMENTALS, listing
from engine.data.table_merge import merge_groups
from engine.errors import DataError

UNITS = {"millions": 1.0, "thousands": 1e-3, "units": 1e-6}
SOURCE_DATES = ("filing_date", "release_date")
TARGETS = ("symbol", "period_end") + SOURCE_DATES + FUNDAMENTAL_VALUES
ALIASES = {  # lower-case vendor name (unit suffix such as _usd_m removed) -> target
    "symbol": "symbol", "ticker": "symbol",
    "period_end": "period_end", "fiscal_period_end": "period_end", "period_end_date": "period_end",
    "period_ending": "period_end", "quarter_end": "period_end", "report_period": "period_end",
    "filed": "filing_date", "filing_date": "filing_date", "filed_date": "filing_date", "date_filed": "filing_date",
    "released": "release_date", "release_date": "release_date", "earnings_date": "release_date",
    "earnings_release_date": "release_date", "announcement_date": "release_date",
    "revenue": "revenue", "revenues": "revenue", "total_revenue": "revenue", "sales": "revenue",
    "operating_income": "operating_income", "operating_income_loss": "operating_income",
    "interest_expense": "interest_expense",
    "cash": "cash", "cash_and_equivalents": "cash", "cash_and_cash_equivalents": "cash",
    "total_debt": "total_debt", "debt": "total_debt",
    "capex": "capex", "capital_expenditure": "capex", "capital_expenditures": "capex",
}
UNIT_SUFFIX = re.compile(r"_usd(_m|_mn|_millions|_k|_thousands)?$")
SUFFIX_UNITS = {"_m": "millions", "_mn": "millions", "_millions": "millions", "_k": "thousands", "_thousands": "thousands"}
POSITIVE = ("interest_expense", "capex")  # stored positive whatever the vendor's sign


@dataclass(frozen=True)
class FundamentalsOptions:
    mapping: dict[str, str] = field(default_factory=dict)
    units: str = "millions"
    assumed_lag: int | None = None
    date_format: str | None = None


@dataclass
class FundamentalsReport:
    """What one import did to one symbol."""

    symbol: str
    rows: int = 0
    quarters: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    added: int = 0
    updated: int = 0
    removed: int = 0
    from_release: int = 0  # rows whose knowledge date is the earnings release (before the filing)
    assumed: int = 0  # rows whose date is period end + --assumed-lag
    warnings: list[str] = field(default_factory=list)


def import_fundamentals(path: Path, out: Path, options: FundamentalsOptions = FundamentalsOptions(), *,
                        mode: str = "append") -> list[FundamentalsReport]:
    """Read, date and check ``path``, then merge it into ``out/fundamentals.parquet`` in one atomic write."""
    new, reports = read_fundamentals_sheet(Path(path), options)
    target = Path(out) / FUNDAMENTALS.file
    existing = schema.read_existing(target, FUNDAMENTALS)
    if existing is not None and "filed_assumed" not in existing:
        existing["filed_assumed"] = False
    merged, counts = merge_groups(existing, new, "symbol", ["period_end", "filed"], mode)
    merged = merged.sort_values(["symbol", "period_end", "filed"], ignore_index=True)
    for symbol, report in reports.items():
        count = counts[symbol]
        report.rows, report.added, report.updated, report.removed = count.rows, count.added, count.updated, count.removed
    columns = list(FUNDAMENTALS.columns) + list(SOURCE_DATES)
    table = pa.table({name: _arrow(merged, name) for name in columns})
    write_file_atomically(target, lambda tmp: pq.write_table(table, tmp))
    return list(reports.values())


def read_fundamentals_sheet(path: Path, options: FundamentalsOptions) -> tuple[pd.DataFrame, dict[str, FundamentalsReport]]:
    """The sheet as fundamentals rows (USD millions, ``filed`` = knowledge date), and a report per symbol."""
    if options.units not in UNITS:
        raise DataError("--units", None, f"unknown unit {options.units!r}", f"use one of {', '.join(UNITS)}")
    raw, where = read_raw(path)
    frame = _renamed(path, raw, options.mapping).assign(_where=where.to_numpy())
    _check_unit_suffixes(path, raw.columns, options.units)
    missing = [name for name in ("symbol", "period_end") + FUNDAMENTAL_VALUES if name not in frame.columns]
    if missing:
        raise DataError(path, missing[0], f"no column for {listing(missing, 10)} (columns: {listing(raw.columns, 20)})",
                        f"map it, e.g. --map YOUR_COLUMN={missing[0]}; data/README.md documents fundamentals.parquet")
    if not any(name in frame.columns for name in SOURCE_DATES) and options.assumed_lag is None:
        raise DataError(path, "filed", "no filing-date or release-date column",
                        "map one (e.g. --map 'Filing Date=filing_date'), or date every row with --assumed-lag DAYS")
    first_bad(path, frame, "symbol", is_missing(frame["symbol"]), "no symbol", "fill the symbol or drop the row")
    frame["symbol"] = frame["symbol"].astype("string").str.strip()
    for name in ("period_end",) + SOURCE_DATES:
        if name in frame.columns:
            frame[name] = _optional_dates(path, frame, name, options.date_format)
        else:
            frame[name] = pd.NaT
    first_bad(path, frame, "period_end", frame["period_end"].isna(), "no period end", "fill period_end or drop the row")
    scale = UNITS[options.units]
    reports = {symbol: FundamentalsReport(symbol) for symbol in dict.fromkeys(frame["symbol"])}
    for name in FUNDAMENTAL_VALUES:
        frame[name] = parse_numbers(path, frame, name) * scale
        negative = frame[name] < 0
        if name in POSITIVE and negative.any():
            for symbol, rows in frame[negative].groupby("symbol"):
                reports[symbol].warnings.append(f"{symbol}: {len(rows)} negative {name} value(s) stored as positive "
                                                f"({listing(rows['_where'])})")
            frame[name] = frame[name].abs()
    frame = _knowledge_dates(path, frame, options.assumed_lag)
    early = frame["filed"] < frame["period_end"]
    first_bad(path, frame.assign(filed_text=frame["filed"].dt.strftime("%Y-%m-%d")), "filed_text", early,
              "the figures are dated public before their period ended",
              "fix the filing/release date (it must be on or after period_end)")
    schema.check_unique(path, frame, ["symbol", "period_end", "filed"])
    for symbol, rows in frame.groupby("symbol", sort=False):
        report = reports[symbol]
        report.quarters, report.first, report.last = rows["period_end"].nunique(), rows["period_end"].min(), rows["period_end"].max()
        report.from_release = int((rows["release_date"] < rows["filing_date"]).sum()
                                  + (rows["release_date"].notna() & rows["filing_date"].isna()).sum())
        report.assumed = int(rows["filed_assumed"].sum())
    columns = list(FUNDAMENTALS.columns) + list(SOURCE_DATES)
    return frame[columns].reset_index(drop=True), reports


def _renamed(path: Path, raw: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    bad = {source: target for source, target in mapping.items() if target not in TARGETS + ("filed",)}
    if bad:
        source, target = next(iter(bad.items()))
        raise DataError("--map", f"{source}={target}", f"unknown target column {target!r}",
                        f"map to one of {', '.join(TARGETS)}")
    names = {}
    for name in raw.columns:
        text = str(name)
        if text in mapping:
            names[name] = "filing_date" if mapping[text] == "filed" else mapping[text]
        else:
            key = UNIT_SUFFIX.sub("", re.sub(r"[\s\-]+", "_", text.strip().lower()))
            names[name] = ALIASES.get(key, text)
    renamed = raw.rename(columns=names)
    doubled = sorted({n for n in renamed.columns if list(renamed.columns).count(n) > 1})
    if doubled:
        sources = [str(k) for k, v in names.items() if v == doubled[0]]
        raise DataError(path, doubled[0], f"several columns read as {doubled[0]}: {listing(sources)}",
                        f"map the one you mean: --map '{sources[0]}={doubled[0]}' and rename the other")
    return renamed


def _check_unit_suffixes(path: Path, columns, units: str) -> None:
    """A column named revenue_usd_k is in thousands: a sheet saying otherwise than --units is refused."""
    for name in map(str, columns):
        match = UNIT_SUFFIX.search(name.strip().lower())
        said = SUFFIX_UNITS.get(match.group(1)) if match and match.group(1) else None
        if said is not None and said != units:
            raise DataError(path, name, f"the column's name says {said}, but --units is {units}",
                            f"pass --units {said} (or --units matching the sheet)")


def _optional_dates(path: Path, frame: pd.DataFrame, name: str, date_format: str | None) -> pd.Series:
    empty = is_missing(frame[name])
    parsed = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    if (~empty).any():
        parsed[~empty] = parse_dates(path, frame.loc[~empty].rename(columns={name: "date"}), date_format).to_numpy()
    return parsed


def _knowledge_dates(path: Path, frame: pd.DataFrame, assumed_lag: int | None) -> pd.DataFrame:
    """``filed`` = earlier of filing and release date; undated rows are an error or get period end + lag."""
    known = frame[list(SOURCE_DATES)].min(axis=1)
    undated = known.isna()
    if undated.any() and assumed_lag is None:
        rows = [f"{w} ({s} {p:%Y-%m-%d})" for w, s, p in frame.loc[undated, ["_where", "symbol", "period_end"]]
                .itertuples(index=False)]
        raise DataError(path, "filed", f"{int(undated.sum())} row(s) have neither a filing nor a release date: "
                        f"{listing(rows)}", "add the dates, or give --assumed-lag DAYS (e.g. 45 for a 10-Q, "
                        "75 for a 10-K) to date them period end + DAYS, flagged filed_assumed")
    if assumed_lag is not None and assumed_lag < 0:
        raise DataError("--assumed-lag", None, f"{assumed_lag} is negative", "give the days after period end, e.g. 45")
    assumed = frame["period_end"] + pd.Timedelta(days=assumed_lag or 0)
    return frame.assign(filed=known.where(~undated, assumed).astype("datetime64[ns]"),
                        filed_assumed=undated.to_numpy())


def _arrow(frame: pd.DataFrame, name: str) -> pa.Array:
    column = frame[name]
    if name == "symbol":
        return pa.array(column.astype(str).to_numpy(dtype=object), pa.string())
    if name == "filed_assumed":
        return pa.array(column.fillna(False).astype(bool).to_numpy(), pa.bool_())
    if name in ("period_end", "filed") + SOURCE_DATES:
        values = pd.to_datetime(column)
        return pa.array([None if pd.isna(v) else v.date() for v in values], pa.date32())
    return pa.array(column.to_numpy(dtype="float64"), pa.float64())
