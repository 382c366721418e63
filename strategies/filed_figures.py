"""The screen's figures as the filings allow them: each measure, the quarters it rests on, and why it is unknown.

Real fundamentals are sparse (a recent listing has two quarters, a vendor misses one
quarter's capex), so every measure takes the quarters that hold *its* items, within
the trailing year of the latest filed quarter (period ends at most
``TRAILING_YEAR_DAYS`` before it):

- ``basis: ttm``: the sum of those quarters (at most four), annualised (x 4/k) when only
  k >= ``min_quarters`` are filed; ratios are unchanged by the scaling;
- ``basis: quarter``: the latest of them alone.

Net cash is always the latest balance sheet in that year with both cash and debt.
Every figure carries its source ("4Q to 2025-11-30, filed 2025-12-11"), so a reason in
rules.parquet can be checked against the sheet by hand; an unknown figure carries why.
Filings are read point in time: a session sees only rows with ``known`` + lag <= it,
and a restated quarter its latest visible version.

A name's figures change only when a filing becomes visible, so they are computed once per
*filing state* (a name's filings as of one session on which some become visible) for all
names at once in numpy, and spread over the sessions until the next state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

QUARTERS_IN_A_YEAR = 4
TRAILING_YEAR_DAYS = 320  # four consecutive quarter ends span ~273-280 days; a fifth is >= 364 back
MEASURES = {  # measure -> (numerator, denominator) items
    "coverage": ("operating_income", "interest_expense"),
    "capex_intensity": ("capex", "revenue"),
    "net_cash": ("cash", "total_debt"),
}
ITEM_NAMES = {"operating_income": "operating income", "interest_expense": "interest expense", "capex": "capex",
              "revenue": "revenue", "cash": "cash", "total_debt": "total debt"}
NO_FILING = "no filing known yet"
DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class FiledFigures:
    """Sessions x symbols frames per measure: its value, its source text, and why it is unknown (NaN value)."""

    values: dict[str, pd.DataFrame]
    sources: dict[str, pd.DataFrame]
    unknown: dict[str, pd.DataFrame]


def filed_figures(fundamentals: pd.DataFrame, sessions: pd.DatetimeIndex, symbols: list[str], *,
                  lag_sessions: int = 0, basis: str = "ttm", min_quarters: int = 2) -> FiledFigures:
    """Every measure of MEASURES as visible at the close of each session (see the module docstring)."""
    n, m = len(sessions), len(symbols)
    values, sources, unknown = {}, {}, {}
    state = np.full((n, m), -1)  # the filing state each cell sees (-1: none yet)
    rows = fundamentals
    if not rows.empty:
        rows = rows[rows["symbol"].isin(symbols)]
        visible = sessions.searchsorted(rows["known"].to_numpy()) + lag_sessions
        rows = rows.assign(visible=visible)[visible < n].sort_values(["symbol", "visible"], kind="stable")
    if len(rows):
        states = FilingStates(rows, symbols)
        state[states.visible, states.column] = np.arange(len(states.visible))
        state = np.maximum.accumulate(state, axis=0)  # within a name, states are numbered in visible order

    def frame(per_state: np.ndarray, fill) -> pd.DataFrame:  # state -1 reads the fill, appended last
        cells = np.append(per_state, fill)[state]  # texts stay object: cell_text words them from numpy
        return pd.DataFrame(cells, index=sessions, columns=symbols, dtype=cells.dtype)

    for name in MEASURES:
        value, source, why = states.measure(name, basis, min_quarters) if len(rows) else \
            (np.zeros(0), np.zeros(0, dtype=object), np.zeros(0, dtype=object))
        values[name], sources[name], unknown[name] = frame(value, np.nan), frame(source, ""), frame(why, NO_FILING)
    return FiledFigures(values, sources, unknown)


class FilingStates:
    """Every name's filing states, and for each the record (row of ``rows``) of the latest visible version of
    up to four quarters of its trailing year (``slots``, oldest first, -1 where fewer)."""

    def __init__(self, rows: pd.DataFrame, symbols: list[str]):
        count = len(rows)
        symbol = pd.factorize(rows["symbol"], sort=True)[0]  # rows are sorted by symbol, then visible
        visible = rows["visible"].to_numpy()
        self.end = rows["period_end"].to_numpy(dtype="datetime64[ns]")
        self.filed = rows["filed"].to_numpy(dtype="datetime64[ns]")
        self.items = {item: _numbers(rows, item) for item in ITEM_NAMES}
        assumed = rows["filed_assumed"].eq(True).to_numpy(dtype=bool, na_value=False) if "filed_assumed" in rows \
            else False
        self.end_text = _dates(self.end)
        self.filed_text = "filed " + _dates(self.filed) + np.where(assumed, " (assumed)", "").astype(object)
        last = np.flatnonzero(np.r_[(symbol[1:] != symbol[:-1]) | (visible[1:] != visible[:-1]), True])
        position = {s: k for k, s in enumerate(symbols)}
        self.visible, self.column = visible[last], np.array([position[s] for s in rows["symbol"].to_numpy()[last]])

        # quarters: one id per (symbol, period_end), numbered in that order; a record's quarter and its first record
        order = np.lexsort((self.end, symbol))
        new = np.r_[True, (np.diff(symbol[order]) != 0) | (np.diff(self.end[order]) != np.timedelta64(0))]
        quarter = np.empty(count, dtype=np.int64)
        quarter[order] = np.cumsum(new) - 1
        quarter_end, quarter_symbol = self.end[order][new], symbol[order][new]
        first_record = np.full(len(quarter_end), count)
        np.minimum.at(first_record, quarter, np.arange(count))

        # a state's latest quarter end (ids grow with symbol, then end) and the first quarter of its trailing year
        latest = np.maximum.accumulate(quarter)[last]
        day = (quarter_end - quarter_end.min()) // DAY
        key = quarter_symbol * (day.max() + TRAILING_YEAR_DAYS + 2) + day  # sorted: symbol, then end
        start = np.searchsorted(key, key[latest] - TRAILING_YEAR_DAYS, "left")
        self.latest_end = quarter_end[latest]

        # candidates back from the latest quarter: in the year and already visible; keep the last four
        back = np.arange(int((latest - start).max()) + 1)
        candidate = latest[:, None] - back
        ok = (candidate >= start[:, None]) & (first_record[np.maximum(candidate, 0)] <= last[:, None])
        rank = np.cumsum(ok, axis=1)  # 1 = the latest
        ok &= rank <= QUARTERS_IN_A_YEAR
        kept = ok.sum(axis=1)  # at most QUARTERS_IN_A_YEAR (the rank cut above)
        s, j = np.nonzero(ok)
        by_quarter = np.sort(quarter * count + np.arange(count))  # latest version at or before a state's last row
        found = by_quarter[np.searchsorted(by_quarter, candidate[s, j] * count + last[s], "right") - 1]
        self.slots = np.full((len(last), QUARTERS_IN_A_YEAR), -1)
        self.slots[s, kept[s] - rank[s, j]] = found % count

    def measure(self, name: str, basis: str, min_quarters: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, source, why unknown) of one measure per state; the rules of the module docstring."""
        top, bottom = MEASURES[name]
        states, record = np.arange(len(self.slots)), np.maximum(self.slots, 0)
        usable = (self.slots >= 0) & ~np.isnan(self.items[top][record]) & ~np.isnan(self.items[bottom][record])
        count = usable.sum(axis=1)
        newest_usable = record[states, QUARTERS_IN_A_YEAR - 1 - usable[:, ::-1].argmax(axis=1)]
        items = f"{ITEM_NAMES[top]} and {ITEM_NAMES[bottom]}"
        value = np.full(len(states), np.nan)
        source = np.full(len(states), "", dtype=object)
        why = np.full(len(states), f"no quarter filed in the last year has {items}", dtype=object)
        known = count > 0
        if name == "net_cash":
            value[known] = (self.items["cash"] - self.items["total_debt"])[newest_usable[known]]
            source[known] = "balance sheet " + self.end_text[newest_usable[known]] + ", " + \
                self.filed_text[newest_usable[known]]
            why[known] = ""
            return value, source, why
        if basis == "quarter":
            used = usable & (record == newest_usable[:, None])
            label = np.where(self.end[newest_usable] == self.latest_end, "latest quarter",
                             "quarter to " + self.end_text[newest_usable])
        else:
            short = known & (count < min_quarters)
            why[short] = [f"{k} of the last {QUARTERS_IN_A_YEAR} quarters filed with {items}, min_quarters is "
                          f"{min_quarters}" for k in count[short]]
            known &= ~short
            used = usable
            label = np.array([f"{k}Q to " for k in range(QUARTERS_IN_A_YEAR + 1)], dtype=object)[count] + \
                self.end_text[newest_usable] + np.where(count == QUARTERS_IN_A_YEAR, "", " annualised").astype(object)
        numerator, denominator = np.zeros(len(states)), np.zeros(len(states))
        for slot in range(QUARTERS_IN_A_YEAR):  # summed oldest first, as a reader adds them up
            numerator += np.where(used[:, slot], self.items[top][record[:, slot]], 0.0)
            denominator += np.where(used[:, slot], self.items[bottom][record[:, slot]], 0.0)
        filed = np.where(used, self.filed[record].astype(np.int64), np.iinfo(np.int64).min)
        newest_filed = record[states, filed.argmax(axis=1)]  # the first of the latest filed, oldest quarter first
        source[known] = (label + ", " + self.filed_text[newest_filed])[known]
        why[known] = ""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = numerator / denominator
        if name == "coverage":  # no interest: nothing to cover
            value[known] = np.where(denominator > 0, ratio, np.inf)[known]
            return value, source, why
        bad = known & (denominator <= 0)
        why[bad] = f"{ITEM_NAMES[bottom]} is not positive (" + label[bad] + ")"
        source[bad] = ""
        value[known & ~bad] = ratio[known & ~bad]
        return value, source, why


def _numbers(rows: pd.DataFrame, item: str) -> np.ndarray:
    """One item's column as floats (NaN where not filed, or when the table has no such column)."""
    if item not in rows:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows[item], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _dates(stamps: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(stamps, unit="D").astype(object)
