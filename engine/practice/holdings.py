"""A broker's holdings export read as a book: shares per symbol, average cost, date opened, cash.

Columns are matched on their normalised names (lower case, punctuation as spaces), so the common
export headers work as they are: ``Symbol``/``Ticker``, ``Quantity``/``Qty``/``Position``/``Shares``,
``Average Cost``/``Avg Price``/``Cost Price``/``Price Paid``, a total ``Cost Basis`` (divided by the
shares), ``Open Date``/``Date Acquired``. ``--map SRC=DST`` names any other column. Cash is a row
whose symbol is ``CASH`` (or ``USD``, ``Cash & Cash Investments``), its amount in the shares column
(or a market-value column). Several lots of one symbol are summed (cost-weighted average cost,
earliest open date). Every problem names the file, the row (the file's line) and the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.schema import check_delimiter
from engine.errors import DataError

FIELDS = ("symbol", "shares", "avg_cost", "cost_basis", "opened", "value")
SYNONYMS = {
    "symbol": ("symbol", "ticker", "instrument", "security symbol", "code"),
    "shares": ("shares", "quantity", "qty", "qty quantity", "position", "units", "share count"),
    "avg_cost": ("avg cost", "average cost", "avg price", "average price", "cost price", "price paid",
                 "unit cost", "cost per share", "average cost basis", "avg cost basis"),
    "cost_basis": ("cost basis", "cost basis total", "total cost", "cost basis cost"),
    "opened": ("opened", "open date", "date acquired", "acquired", "purchase date", "date opened"),
    "value": ("market value", "current value", "value", "amount", "mkt val market value"),
}
CASH_SYMBOLS = ("cash", "usd", "cash cash investments", "cash and cash investments")


@dataclass(frozen=True)
class Holdings:
    """The book as the broker reports it: ``positions`` indexed by symbol with ``shares``,
    ``avg_cost`` (NaN = not given) and ``opened`` (NaT = not given); ``cash`` in currency."""

    positions: pd.DataFrame
    cash: float
    path: Path
    cash_row: bool = True  # False: the file has no CASH row (cash taken as 0)


def parse_map(pairs: list[str] | None) -> dict[str, str]:
    """``["Qty (Units)=shares", ...]`` → {source column: field}; a bad pair is one line naming it."""
    mapping = {}
    for pair in pairs or []:
        source, _, target = pair.partition("=")
        if not source.strip() or target.strip() not in FIELDS:
            raise DataError("--map", None, f"'{pair}' is not SRC=FIELD with FIELD one of {', '.join(FIELDS)}",
                            "write e.g. --map 'Qty (Units)=shares'")
        mapping[source.strip()] = target.strip()
    return mapping


def read_holdings(path: Path, mapping: dict[str, str] | None = None) -> Holdings:
    """The holdings CSV at ``path`` (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "not found", "give the holdings CSV your broker exports (--holdings FILE)")
    try:
        raw = pd.read_csv(path, dtype=str, skip_blank_lines=True, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataError(path, None, f"not a readable CSV ({str(error).splitlines()[0]})",
                        "export the holdings as CSV with a header row") from None
    check_delimiter(path, raw)
    columns = _columns(path, raw, mapping or {})
    frame = pd.DataFrame({field: raw[column].str.strip() for field, column in columns.items()})
    frame["line"] = np.arange(len(frame)) + 2  # the header is line 1
    frame = frame[frame["symbol"] != ""]
    is_cash = frame["symbol"].map(_normal).isin(CASH_SYMBOLS)
    cash = sum(_cash_amount(path, row, columns) for _, row in frame[is_cash].iterrows())
    positions = frame[~is_cash]
    if positions.empty and not is_cash.any():
        raise DataError(path, columns["symbol"], "no holdings and no CASH row", "export the positions with a "
                        "header row, and add a row 'CASH,<amount>' for the cash")
    table = pd.DataFrame({
        "symbol": positions["symbol"].str.upper(),
        "shares": [_number(path, r, columns, "shares", required=True) for _, r in positions.iterrows()],
        "avg_cost": [_avg_cost(path, r, columns) for _, r in positions.iterrows()],
        "opened": [_date(path, r, columns) for _, r in positions.iterrows()],
    })
    for (_, row), shares in zip(positions.iterrows(), table["shares"]):
        if shares < 0:
            raise DataError(path, columns["shares"], f"row {row.line} ({row.symbol}) holds {shares:g} shares",
                            "rulebook's rules are long only: close the short or leave it out of the file")
    return Holdings(_merge_lots(table), float(cash), path, bool(is_cash.any()))


def _normal(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", str(name).lower()).split())


def _columns(path: Path, raw: pd.DataFrame, mapping: dict[str, str]) -> dict[str, str]:
    """{field: the file's column} from --map first, then the synonyms."""
    found: dict[str, str] = {}
    for source, target in mapping.items():
        if source not in raw.columns:
            raise DataError(path, source, f"--map names a column the file does not have (it has "
                            f"{', '.join(raw.columns)})", "copy the header exactly as the file writes it")
        found[target] = source
    by_name = {_normal(column): column for column in raw.columns}
    for field, names in SYNONYMS.items():
        if field not in found:
            match = next((by_name[name] for name in names if name in by_name), None)
            if match is not None and match not in found.values():
                found[field] = match
    for field in ("symbol", "shares"):
        if field not in found:
            raise DataError(path, field, f"no {field} column among {', '.join(raw.columns)}",
                            f"rename it, or pass --map 'YOUR COLUMN={field}'")
    return found


def _number(path: Path, row, columns: dict[str, str], field: str, required: bool = False) -> float:
    text = row.get(field, "") if field in columns else ""
    if text in ("", "--", "n/a", "N/A"):
        if required:
            raise DataError(path, columns[field], f"row {row.line} ({row.symbol}) is empty", f"give the {field}")
        return np.nan
    cleaned = text.replace(",", "").replace("$", "").strip()
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    try:
        value = float(cleaned.strip("()"))
    except ValueError:
        raise DataError(path, columns[field], f"row {row.line} ({row.symbol}): '{text}' is not a number",
                        "write plain numbers such as 1234.5") from None
    if not np.isfinite(value):
        raise DataError(path, columns[field], f"row {row.line} ({row.symbol}): '{text}' is not finite",
                        "write a finite number")
    return -value if negative else value


def _avg_cost(path: Path, row, columns: dict[str, str]) -> float:
    cost = _number(path, row, columns, "avg_cost")
    if np.isnan(cost) and "cost_basis" in columns:
        total, shares = _number(path, row, columns, "cost_basis"), _number(path, row, columns, "shares", True)
        cost = total / shares if shares > 0 else np.nan
    if cost <= 0:
        raise DataError(path, columns.get("avg_cost", columns.get("cost_basis")),
                        f"row {row.line} ({row.symbol}): average cost {cost:g} is not positive",
                        "give the price paid per share (or leave the cell empty)")
    return cost


def _date(path: Path, row, columns: dict[str, str]) -> pd.Timestamp:
    text = row.get("opened", "") if "opened" in columns else ""
    if text in ("", "--"):
        return pd.NaT
    try:
        return pd.Timestamp(pd.to_datetime(text, format="mixed")).normalize()
    except (ValueError, TypeError):
        raise DataError(path, columns["opened"], f"row {row.line} ({row.symbol}): '{text}' is not a date",
                        "write dates as YYYY-MM-DD") from None


def _cash_amount(path: Path, row, columns: dict[str, str]) -> float:
    amount = _number(path, row, columns, "shares")
    if np.isnan(amount):
        amount = _number(path, row, columns, "value")
    if np.isnan(amount):
        raise DataError(path, columns["shares"], f"row {row.line} (cash) has no amount",
                        "put the cash amount in the shares (quantity) column")
    return amount


def _merge_lots(table: pd.DataFrame) -> pd.DataFrame:
    """One row per symbol: shares summed, average cost weighted by shares, the earliest open date."""
    table = table.assign(cost=table["shares"] * table["avg_cost"])
    merged = table.groupby("symbol", sort=False).agg(shares=("shares", "sum"), cost=("cost", "sum"),
                                                     unknown=("avg_cost", lambda c: c.isna().any()),
                                                     opened=("opened", "min"))
    merged["avg_cost"] = (merged["cost"] / merged["shares"]).where(~merged["unknown"] & (merged["shares"] > 0))
    return merged[["shares", "avg_cost", "opened"]]
