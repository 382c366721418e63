"""strategies.filed_figures as it was before it was vectorised: one Python pass per name and filing state.

Kept as the reference the vectorised figures are held to (tests/test_filed_figures.py): every
measure, its source text and why it is unknown, cell by cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies.filed_figures import (ITEM_NAMES, MEASURES, NO_FILING, QUARTERS_IN_A_YEAR, TRAILING_YEAR_DAYS,
                                      FiledFigures)


def reference_filed_figures(fundamentals: pd.DataFrame, sessions: pd.DatetimeIndex, symbols: list[str], *,
                            lag_sessions: int = 0, basis: str = "ttm", min_quarters: int = 2) -> FiledFigures:
    """Every measure of MEASURES as visible at the close of each session (strategies.filed_figures)."""
    n, m = len(sessions), len(symbols)
    values = {name: np.full((n, m), np.nan) for name in MEASURES}
    sources = {name: np.full((n, m), "", dtype=object) for name in MEASURES}
    unknown = {name: np.full((n, m), NO_FILING, dtype=object) for name in MEASURES}
    rows = fundamentals
    if not rows.empty:
        rows = rows[rows["symbol"].isin(symbols)]
        visible = sessions.searchsorted(rows["known"].to_numpy()) + lag_sessions
        rows = rows.assign(visible=visible)[visible < n].sort_values(["symbol", "visible"], kind="stable")
        for symbol, filings in rows.groupby("symbol", sort=False):
            positions, states = _states(filings, basis, min_quarters)
            latest = _latest_index(positions, n)
            seen, column = latest >= 0, symbols.index(symbol)
            for name in MEASURES:
                figures = [state[name] for state in states]
                values[name][seen, column] = np.array([f[0] for f in figures])[latest[seen]]
                sources[name][seen, column] = np.array([f[1] for f in figures], dtype=object)[latest[seen]]
                unknown[name][seen, column] = np.array([f[2] for f in figures], dtype=object)[latest[seen]]

    def frames(arrays):
        return {name: pd.DataFrame(a, index=sessions, columns=symbols) for name, a in arrays.items()}

    return FiledFigures(frames(values), frames(sources), frames(unknown))


def _latest_index(positions: np.ndarray, n: int) -> np.ndarray:
    """For each session, the index of the last filing state visible by then (-1 before the first)."""
    index = np.full(n, -1)
    index[positions] = np.arange(len(positions))
    return np.maximum.accumulate(index)


def _states(filings: pd.DataFrame, basis: str, min_quarters: int) -> tuple[np.ndarray, list[dict]]:
    """The figures right after each distinct visible session of one name's filings (in visible order)."""
    visible = filings["visible"].to_numpy()
    records = filings.to_dict("records")
    quarters: dict[pd.Timestamp, dict] = {}  # period_end -> its latest visible version
    positions, states = [], []
    for i, record in enumerate(records):
        quarters[pd.Timestamp(record["period_end"])] = record
        if i + 1 < len(visible) and visible[i + 1] == visible[i]:
            continue  # several filings visible on one session: take the state after all of them
        positions.append(visible[i])
        states.append({name: _figure(name, quarters, basis, min_quarters) for name in MEASURES})
    return np.asarray(positions), states


def _figure(name: str, quarters: dict[pd.Timestamp, dict], basis: str, min_quarters: int) -> tuple[float, str, str]:
    """(value, source, '') for a known figure, (NaN, '', why) for an unknown one."""
    top, bottom = MEASURES[name]
    ends = sorted(quarters)
    year = [end for end in ends if (ends[-1] - end).days <= TRAILING_YEAR_DAYS][-QUARTERS_IN_A_YEAR:]
    usable = [end for end in year if _has(quarters[end], top) and _has(quarters[end], bottom)]
    items = f"{ITEM_NAMES[top]} and {ITEM_NAMES[bottom]}"
    if not usable:
        return np.nan, "", f"no quarter filed in the last year has {items}"
    if name == "net_cash":
        row = quarters[usable[-1]]
        return row["cash"] - row["total_debt"], f"balance sheet {usable[-1]:%Y-%m-%d}, {_filed(row)}", ""
    if basis == "quarter":
        used = usable[-1:]
        label = "latest quarter" if used[0] == ends[-1] else f"quarter to {used[0]:%Y-%m-%d}"
    else:
        if len(usable) < min_quarters:
            return (np.nan, "", f"{len(usable)} of the last {QUARTERS_IN_A_YEAR} quarters filed with {items}, "
                    f"min_quarters is {min_quarters}")
        used = usable
        label = f"{len(used)}Q to {used[-1]:%Y-%m-%d}" + ("" if len(used) == QUARTERS_IN_A_YEAR else " annualised")
    numerator = sum(float(quarters[end][top]) for end in used)
    denominator = sum(float(quarters[end][bottom]) for end in used)
    newest = max((quarters[end] for end in used), key=lambda row: row["filed"])
    source = f"{label}, {_filed(newest)}"
    if name == "coverage":
        return (numerator / denominator if denominator > 0 else np.inf), source, ""  # no interest: nothing to cover
    if denominator <= 0:
        return np.nan, "", f"{ITEM_NAMES[bottom]} is not positive ({label})"
    return numerator / denominator, source, ""


def _has(row: dict, item: str) -> bool:
    value = row.get(item)
    return value is not None and not pd.isna(value)


def _filed(row: dict) -> str:
    assumed = bool(row.get("filed_assumed", False)) and not pd.isna(row.get("filed_assumed", False))
    return f"filed {pd.Timestamp(row['filed']):%Y-%m-%d}" + (" (assumed)" if assumed else "")
