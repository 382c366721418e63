"""SEC EDGAR XBRL "companyfacts" JSON → point-in-time quarterly fundamentals keyed by the *filed* date.

A companyfacts file lists, per us-gaap concept, every value the company ever filed:
``start``/``end`` (the period; instants have only ``end``), ``val``, ``form`` and ``filed``
(and ``fy``/``fp``/``frame``, which describe the *filing*, not the value: a 10-Q repeats
last year's quarter with this year's ``fy``). So periods are read from ``start``/``end``.

Quarterly values come straight from a ~3-month fact, or from year-to-date facts sharing
a fiscal-year start: Q2 = 6M - Q1, Q3 = 9M - 6M, Q4 = FY - 9M (cash-flow lines such as
capex are only filed year-to-date). For every quarter, each filing date at which the
derived row changes (first report, later restatement) gives one output row with
``filed`` = that date, so a backtest sees a restatement only from when it was filed.
Comparatives repeated with the same value add no row.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data import schema
from engine.atomic import write_file_atomically
from engine.errors import DataError
from engine.data.schema import FUNDAMENTAL_VALUES, FUNDAMENTALS

# Concepts tried in order for each field; the first that yields the quarter's value wins.
DURATION_CONCEPTS = {
    "revenue": ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax",
                "RevenueFromContractWithCustomerIncludingAssessedTax", "SalesRevenueNet"),
    "operating_income": ("OperatingIncomeLoss",),
    "interest_expense": ("InterestExpense", "InterestExpenseNonoperating", "InterestExpenseDebt",
                         "InterestAndDebtExpense"),
    "capex": ("PaymentsToAcquirePropertyPlantAndEquipment", "PaymentsToAcquireProductiveAssets"),
}
INSTANT_CONCEPTS = {
    "cash": ("CashAndCashEquivalentsAtCarryingValue", "Cash"),
    "debt_noncurrent": ("LongTermDebtNoncurrent", "LongTermDebtAndCapitalLeaseObligations"),
    "debt_current": ("LongTermDebtCurrent", "DebtCurrent", "LongTermDebtAndCapitalLeaseObligationsCurrent"),
}
POSITIVE = ("interest_expense", "capex")  # stored as positive amounts whatever the filer's sign
FORMS = ("10-Q", "10-K", "10-Q/A", "10-K/A", "20-F", "20-F/A", "40-F", "40-F/A")
QUARTER_DAYS = (80, 100)  # a 13- or 14-week fiscal quarter, or a calendar quarter
MILLION = 1e6

Key = tuple[str, pd.Timestamp | None, pd.Timestamp]  # concept, start (None for instants), end


class Facts:
    """Every filed version of each (concept, start, end) value, readable as of a filing date."""

    def __init__(self, versions: dict[Key, list[tuple[pd.Timestamp, float]]]):
        self.versions = {key: sorted(values, key=lambda item: item[0]) for key, values in versions.items()}
        self.by_end: dict[tuple[str, pd.Timestamp], list[Key]] = defaultdict(list)
        self.by_start: dict[tuple[str, pd.Timestamp], list[Key]] = defaultdict(list)
        for key in self.versions:
            self.by_end[(key[0], key[2])].append(key)
            if key[1] is not None:
                self.by_start[(key[0], key[1])].append(key)

    def as_of(self, key: Key, filed: pd.Timestamp) -> float | None:
        """The latest value of ``key`` filed on or before ``filed`` (None if not yet filed)."""
        values = self.versions.get(key, [])
        position = bisect_right([day for day, _ in values], filed)
        return values[position - 1][1] if position else None

    def ending(self, concept: str, end: pd.Timestamp) -> list[Key]:
        return self.by_end.get((concept, end), [])


def read_companyfacts(path: Path) -> tuple[Facts, str]:
    """Parse one companyfacts file (USD facts of 10-Q/10-K-type forms); returns the facts and the entity name."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, None, f"not valid JSON ({error})",
                        "download the file again from https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json") from error
    facts = document.get("facts") if isinstance(document, dict) else None
    gaap = facts.get("us-gaap") if isinstance(facts, dict) else None
    if not isinstance(gaap, dict):
        raise DataError(path, "facts.us-gaap", "missing: this is not a companyfacts file",
                        "give the JSON of https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json")
    wanted = {concept for concepts in (*DURATION_CONCEPTS.values(), *INSTANT_CONCEPTS.values()) for concept in concepts}
    versions: dict[Key, list] = defaultdict(list)
    for concept in sorted(wanted & set(gaap)):
        where = f"facts.us-gaap.{concept}"
        units = gaap[concept].get("units") if isinstance(gaap[concept], dict) else None
        usd = units.get("USD", []) if isinstance(units, dict) else None
        if not isinstance(usd, list):
            raise DataError(path, f"{where}.units.USD", "not a list of facts: the file is not in EDGAR's companyfacts "
                            "shape", "download the file again from https://data.sec.gov/api/xbrl/companyfacts/")
        for index, fact in enumerate(usd):
            if not isinstance(fact, dict):
                raise DataError(path, f"{where}.units.USD[{index}]", f"not a fact object: {str(fact)[:40]!r}",
                                "download the file again from https://data.sec.gov/api/xbrl/companyfacts/")
            if fact.get("form") not in FORMS:
                continue
            start, end, filed, value = _fact(path, f"{where}.units.USD[{index}]", fact)
            known = versions[(concept, start, end)]
            if (filed, value) not in known:
                known.append((filed, value))
    return Facts(versions), str(document.get("entityName", ""))


def _fact(path: Path, where: str, fact: dict) -> tuple[pd.Timestamp | None, pd.Timestamp, pd.Timestamp, float]:
    """One fact's dates and value, or a DataError naming the fact (its JSON path) and the field."""
    parsed = {}
    for name in ("start", "end", "filed"):
        if name == "start" and name not in fact:
            parsed[name] = None
            continue
        try:
            parsed[name] = pd.Timestamp(fact[name])
        except (KeyError, ValueError, TypeError) as error:
            raise DataError(path, f"{where}.{name}", f"missing or unreadable date {fact.get(name)!r}",
                            "dates must be YYYY-MM-DD, as EDGAR writes them") from error
    value = fact.get("val")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(path, f"{where}.val", f"not a number: {value!r}", "each fact needs a numeric 'val'")
    return parsed["start"], parsed["end"], parsed["filed"], float(value)


def quarter_value(facts: Facts, concepts: tuple[str, ...], end: pd.Timestamp, filed: pd.Timestamp) -> float | None:
    """The quarter ending ``end`` as known on ``filed``: a quarterly fact, else year-to-date differences."""
    for concept in concepts:
        durations = sorted(((key, (end - key[1]).days) for key in facts.ending(concept, end) if key[1] is not None),
                           key=lambda item: item[1])
        for key, days in durations:
            value = facts.as_of(key, filed)
            if value is None:
                continue
            if QUARTER_DAYS[0] <= days <= QUARTER_DAYS[1]:
                return value
            earlier = _same_start_earlier(facts, concept, key, days, filed)
            if earlier is not None:
                return value - earlier
    return None


def _same_start_earlier(facts: Facts, concept: str, key: Key, days: int, filed: pd.Timestamp) -> float | None:
    """The year-to-date value of the same fiscal year one quarter shorter than ``key`` (e.g. 9M for FY)."""
    start = key[1]
    for other in facts.by_start.get((concept, start), []):
        if QUARTER_DAYS[0] <= days - (other[2] - start).days <= QUARTER_DAYS[1]:
            value = facts.as_of(other, filed)
            if value is not None:
                return value
    return None


def instant_value(facts: Facts, concepts: tuple[str, ...], end: pd.Timestamp, filed: pd.Timestamp) -> float | None:
    for concept in concepts:
        value = facts.as_of((concept, None, end), filed)
        if value is not None:
            return value
    return None


def quarter_row(facts: Facts, end: pd.Timestamp, filed: pd.Timestamp) -> dict[str, float | None]:
    """One quarter's fields (USD millions) as known on ``filed``; total debt = long-term + current portion."""
    row = {name: quarter_value(facts, concepts, end, filed) for name, concepts in DURATION_CONCEPTS.items()}
    parts = {name: instant_value(facts, concepts, end, filed) for name, concepts in INSTANT_CONCEPTS.items()}
    row["cash"] = parts["cash"]
    noncurrent, current = parts["debt_noncurrent"], parts["debt_current"]
    row["total_debt"] = None if noncurrent is None and current is None else (noncurrent or 0.0) + (current or 0.0)
    for name in POSITIVE:
        if row[name] is not None:
            row[name] = abs(row[name])
    return {name: None if value is None else value / MILLION for name, value in row.items()}


def point_in_time(facts: Facts, symbol: str) -> pd.DataFrame:
    """One row per quarter and per filing date at which that quarter's derived row changed."""
    filing_dates = sorted({day for values in facts.versions.values() for day, _ in values})
    ends = sorted({end for _, start, end in facts.versions if start is not None})
    quarter_ends = [end for end in ends if filing_dates and any(
        quarter_value(facts, concepts, end, filing_dates[-1]) is not None for concepts in DURATION_CONCEPTS.values())]
    rows = []
    for end in quarter_ends:
        previous = None
        for filed in (day for day in filing_dates if day >= end):
            row = quarter_row(facts, end, filed)
            if row != previous and any(value is not None for value in row.values()):
                rows.append({"symbol": symbol, "period_end": end, "filed": filed, **row})
                previous = row
    frame = pd.DataFrame(rows, columns=list(FUNDAMENTALS.columns))
    return frame.astype({name: "float64" for name in FUNDAMENTAL_VALUES})


def companyfacts_files(source: Path) -> list[Path]:
    """A file, or every ``*.json`` in a folder (sorted)."""
    source = Path(source)
    files = sorted(source.glob("*.json")) if source.is_dir() else [source]
    if not files or not files[0].exists():
        raise DataError(source, None, "no companyfacts JSON found", "give a CIK##########.json file or a folder of them")
    return files


def symbol_for(path: Path, symbols: dict[str, str]) -> str:
    """The ticker of a companyfacts file: from ``symbols`` (file name or CIK → ticker), else the file name."""
    stem = Path(path).stem
    if stem in symbols:
        return symbols[stem]
    cik = stem.upper().removeprefix("CIK").lstrip("0")
    if cik in symbols:
        return symbols[cik]
    if stem.upper().startswith("CIK"):
        raise DataError(path, None, "the file name is a CIK, not a ticker",
                        f"name the ticker: --symbol {stem}=TICKER (or rename the file to TICKER.json)")
    return stem


def import_companyfacts(source: Path, out: Path, symbols: dict[str, str] | None = None) -> pd.DataFrame:
    """Write ``out/fundamentals.parquet`` from companyfacts files; rows of other symbols already there are kept."""
    frames = []
    for path in companyfacts_files(source):
        facts, _ = read_companyfacts(path)
        symbol = symbol_for(path, symbols or {})
        rows = point_in_time(facts, symbol)
        if rows.empty:
            raise DataError(path, "facts.us-gaap", "no quarterly revenue, operating income, interest or capex facts",
                            "check that this is a 10-Q/10-K filer's companyfacts file")
        frames.append(rows)
    new = pd.concat(frames, ignore_index=True)
    target = Path(out) / FUNDAMENTALS.file
    existing = _existing(target)
    merged = pd.concat([existing[~existing["symbol"].isin(set(new["symbol"]))], new], ignore_index=True)
    merged = merged.sort_values(["symbol", "period_end", "filed"], ignore_index=True)
    table = pa.table({name: pa.array(pd.to_datetime(merged[name]).dt.date if name in ("period_end", "filed") else merged[name],
                                     FUNDAMENTALS.schema.field(name).type, from_pandas=True)
                      for name in FUNDAMENTALS.columns})
    checked = schema.conform(target, FUNDAMENTALS, table)
    schema.check_fundamentals(target, checked)
    schema.check_unique(target, checked, ["symbol", "period_end", "filed"])
    write_file_atomically(target, lambda tmp: pq.write_table(table, tmp))
    return new


def _existing(target: Path) -> pd.DataFrame:
    existing = schema.read_existing(target, FUNDAMENTALS)
    return pd.DataFrame(columns=list(FUNDAMENTALS.columns)) if existing is None else existing[FUNDAMENTALS.columns]
