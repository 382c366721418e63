"""In-memory Datasets for rule tests: hand-made small frames, random full ones, and their futures rewritten.

``perturbed_after`` changes everything a rule could peek at after a cutoff row
(prices, volumes, market series, fundamentals known later, events acting later,
including restatements of old quarters filed later), so a rule whose rows <= the
cutoff change has looked ahead.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from engine.data.dataset import Dataset
from strategies.event_rules import EVENT_KINDS
from strategies.rule_types import RuleContext
from strategies.schedule import rebalance_sessions

SYMBOLS = ["A", "B", "C"]
METRICS = ["revenue", "operating_income", "interest_expense", "cash", "total_debt", "capex"]


def make_dataset(close: pd.DataFrame, volume: pd.DataFrame | None = None, adj_factor: pd.DataFrame | None = None,
                 **extra) -> Dataset:
    """A Dataset whose every price field is ``close``; ``extra`` sets market, fundamentals, events, symbols_meta."""
    ones = pd.DataFrame(1.0, index=close.index, columns=close.columns)
    return Dataset(sessions=close.index, open=close, high=close, low=close, close=close,
                   volume=ones if volume is None else volume, adj_factor=ones if adj_factor is None else adj_factor,
                   **extra)


def context(data: Dataset, groups: dict[str, list[str]] | None = None, rebalance: str = "daily") -> RuleContext:
    return RuleContext(data, data.symbols, groups or {}, rebalance_sessions(data.sessions, rebalance))


def filing(symbol: str, period_end: str, known: str, **values: float) -> dict:
    """One fundamentals row; unspecified metrics are healthy defaults."""
    row = {"symbol": symbol, "period_end": pd.Timestamp(period_end), "known": pd.Timestamp(known),
           "filed": pd.Timestamp(known) - pd.Timedelta(days=1), "revenue": 1000.0, "operating_income": 200.0,
           "interest_expense": 10.0, "cash": 500.0, "total_debt": 100.0, "capex": 100.0}
    return row | values


def fundamentals(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).sort_values("known", kind="stable", ignore_index=True)


def event(date: str, session_date: str, kind: str, symbols: str, title: str = "news",
          session: str = "pre", confidence: str = "high") -> dict:
    return {"date": pd.Timestamp(date), "session": session, "kind": kind, "symbols": symbols, "title": title,
            "confidence": confidence, "session_date": pd.Timestamp(session_date)}


def random_dataset(seed: int, n_sessions: int, listing_offsets=(0, 0, 0)) -> Dataset:
    """Three names with prices (staggered listings), volume, market series, quarterly filings with
    restatements, events of every kind, and themes."""
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2024-01-02", periods=n_sessions)
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_sessions, 3)), axis=0)),
                         index=sessions, columns=SYMBOLS)
    for j, offset in enumerate(listing_offsets):
        close.iloc[:offset, j] = np.nan
    volume = pd.DataFrame(rng.uniform(1e3, 1e5, close.shape), index=sessions, columns=SYMBOLS).where(close.notna())
    adj = pd.DataFrame(rng.uniform(0.9, 1.0, close.shape), index=sessions, columns=SYMBOLS)
    market = pd.DataFrame({"VIX": rng.uniform(10, 40, n_sessions), "FLOW": rng.uniform(0.5, 1.5, n_sessions),
                           "CDS_A": rng.uniform(50, 300, n_sessions)}, index=sessions)
    meta = pd.DataFrame({"theme": ["x", "x", "y"], "sector": ["s", "t", "t"]}, index=pd.Index(SYMBOLS, name="symbol"))
    return make_dataset(close, volume, adj, market=market, fundamentals=_random_filings(rng, sessions),
                        events=_random_events(rng, sessions, 8), symbols_meta=meta)


def perturbed_after(data: Dataset, cutoff: int, seed: int) -> Dataset:
    """``data`` with every input that becomes known after row ``cutoff`` changed."""
    rng = np.random.default_rng(seed)
    t = data.sessions[cutoff]

    def later_rows(frame: pd.DataFrame, blank: float = 0.0) -> pd.DataFrame:
        changed = frame.copy()
        later = changed.iloc[cutoff + 1:] * rng.uniform(0.5, 2.0, changed.iloc[cutoff + 1:].shape)
        changed.iloc[cutoff + 1:] = later.mask(rng.random(later.shape) < blank)
        return changed

    filings = data.fundamentals.copy()
    late = filings["known"] > t
    filings.loc[late, METRICS] = filings.loc[late, METRICS] * rng.uniform(0.2, 3.0, (late.sum(), len(METRICS)))
    restated = filings.sample(frac=0.5, random_state=seed).assign(  # restatements of any quarter, known later
        known=data.sessions[min(cutoff + 1, len(data.sessions) - 1)] + pd.Timedelta(days=int(rng.integers(0, 30))),
        operating_income=lambda f: -f["operating_income"], cash=0.0)
    events = data.events.copy()
    late = events["session_date"] > t
    events.loc[late, "kind"] = rng.choice(EVENT_KINDS, late.sum())
    future = _random_events(rng, data.sessions[cutoff + 1:], 5) if cutoff + 1 < len(data.sessions) else events[:0]
    return dataclasses.replace(
        data, close=later_rows(data.close, blank=0.3), volume=later_rows(data.volume),
        adj_factor=later_rows(data.adj_factor), market=later_rows(data.market),
        fundamentals=pd.concat([filings, restated[restated["known"] > t]], ignore_index=True)
        .sort_values("known", kind="stable", ignore_index=True),
        events=pd.concat([events, future], ignore_index=True))


def _random_filings(rng: np.random.Generator, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    rows = []
    for symbol in SYMBOLS:
        for period_end in pd.date_range(sessions[0] - pd.DateOffset(years=1), sessions[-1], freq="QE"):
            known = period_end + pd.Timedelta(days=int(rng.integers(20, 60)))
            values = dict(zip(METRICS, rng.uniform([500, -50, 1, 0, 0, 10], [2000, 400, 80, 900, 900, 500])))
            rows.append(filing(symbol, period_end, known, **values))
            if rng.random() < 0.3:  # a restatement a few weeks later
                rows.append(filing(symbol, period_end, known + pd.Timedelta(days=int(rng.integers(1, 40))),
                                   **(values | {"operating_income": values["operating_income"] * 0.5})))
    frame = fundamentals(*rows)
    return frame[frame["known"] <= sessions[-1]].reset_index(drop=True)


def _random_events(rng: np.random.Generator, sessions: pd.DatetimeIndex, count: int) -> pd.DataFrame:
    rows = []
    for _ in range(count):
        day = sessions[int(rng.integers(0, len(sessions)))]
        named = ";".join(rng.choice(SYMBOLS + ["ZZZ"], int(rng.integers(0, 3)), replace=False))
        rows.append(event(day, day, str(rng.choice(EVENT_KINDS)), named, title=f"t{rng.integers(9)}",
                          confidence=str(rng.choice(["low", "medium", "high"]))))
    return pd.DataFrame(rows)
