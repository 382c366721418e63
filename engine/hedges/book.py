"""The hedge book: option packages opened, marked, rolled and settled beside the stock book.

Timing (the one convention, as for stocks): a package is decided at the close of session d
from data known then (spot, implied vol, rate, the stock book's value at d, the vol's
percentile rank over sessions ≤ d); its strikes and contract counts are fixed then, and it
fills at the close of d+1 at the model price of d+1 plus half the bid/ask spread and the
commission. Expiry is the last exchange session on or before the fill date + tenor_days (the
calendar is published in advance, so knowing it is not look-ahead).

Life of a package: an unhedged hedge decides on its schedule sessions (the first session and
each period end) when its timing rule allows. A package is closed at the close of session c,
``roll_before`` sessions before its first expiry: at expiry (roll_before 0) a leg is cash
settled at intrinsic value with no cost; otherwise it is sold at the model price less half the
spread and the commission. The next package is decided at c−1 (the roll) and fills at c; if the
timing rule forbids it there, the hedge waits for its next allowed schedule session.

Accounting: every premium, fee and settlement is a flow of the hedge cash account (it starts
at 0, pays no interest, and goes negative as premium is paid); open legs are marked to model at
every close. Total equity = stock book + hedge cash + hedge value, so buying at mid costs
nothing at the fill and the spread and commissions are lost at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from engine.config.hedges import HedgeConfig
from engine.data.dataset import Dataset
from engine.errors import ConfigError
from engine.hedges.pricing import HedgePricing, PricedPackage, price_hedges

HEDGE_COLUMNS = ["date", "hedge", "package", "leg", "decided", "underlying", "right", "strike", "expiry",
                 "contracts", "spot", "vol", "rate", "tau", "price", "value", "delta", "premium", "fees",
                 "settlement", "cash_flow"]


@dataclass(frozen=True)
class _Held:
    """One package a stock book bought: its prices, contract counts and cash flows (rows × legs)."""

    pricing: HedgePricing
    priced: PricedPackage
    number: int  # the package's number within its hedge
    contracts: np.ndarray  # per leg, signed
    value: np.ndarray  # mark-to-model of the open legs after the session's trades
    premium: np.ndarray
    fees: np.ndarray
    settlement: np.ndarray

    def rows(self) -> dict[str, np.ndarray]:
        """The package's rows of hedges.parquet: HEDGE_COLUMNS as arrays."""
        hedge, priced, dates = self.pricing.hedge, self.priced, self.pricing.dates
        legs, sessions = self.pricing.legs, priced.rows[:, 0]
        size = len(sessions) * len(legs)
        held = np.where(priced.closing, 0.0, self.contracts[None, :])
        return {
            "date": np.repeat(dates[sessions], len(legs)), "hedge": np.full(size, hedge.name, dtype=object),
            "package": np.full(size, self.number, dtype=np.int64), "leg": np.tile(np.arange(len(legs)), len(sessions)),
            "decided": np.full(size, dates[priced.decided]),
            "underlying": np.tile(np.array([leg.underlying for leg in legs], dtype=object), len(sessions)),
            "right": np.tile(np.array([leg.right for leg in legs], dtype=object), len(sessions)),
            "strike": np.tile(priced.strikes, len(sessions)), "expiry": np.tile(dates[priced.expiries], len(sessions)),
            "contracts": np.tile(self.contracts, len(sessions)), "spot": priced.spot.ravel(), "vol": priced.vol.ravel(),
            "rate": priced.rate.ravel(), "tau": priced.tau.ravel(), "price": priced.price.ravel(),
            "value": self.value.ravel(), "delta": (held * priced.delta * hedge.costs.multiplier).ravel(),
            "premium": self.premium.ravel(), "fees": self.fees.ravel(), "settlement": self.settlement.ravel(),
            "cash_flow": self.cash_flow.ravel()}

    @property
    def cash_flow(self) -> np.ndarray:
        return self.premium + self.fees + self.settlement


@dataclass(frozen=True)
class HedgeBook:
    """What the hedges did: per leg and session rows (hedges.parquet), and two session series."""

    held: tuple[_Held, ...]  # every package bought, hedge by hedge
    sessions: pd.DatetimeIndex
    marks: np.ndarray  # per session, the mark-to-model value of the open legs at the close
    account: np.ndarray  # per session, the hedge cash account: cumulative premiums + fees + settlements

    @cached_property
    def value(self) -> pd.Series:
        return pd.Series(self.marks, index=self.sessions, name="hedge_value")

    @cached_property
    def cash(self) -> pd.Series:
        return pd.Series(self.account, index=self.sessions, name="hedge_cash")

    @cached_property
    def legs(self) -> pd.DataFrame:
        """HEDGE_COLUMNS; value/delta after the session's trades, flows signed (+ = cash in). Framed on first
        use: a sweep needs only the two session arrays and the fees."""
        if not self.held:
            return pd.DataFrame(columns=HEDGE_COLUMNS)
        packages = [package.rows() for package in self.held]
        return pd.DataFrame({name: np.concatenate([rows[name] for rows in packages]) for name in HEDGE_COLUMNS})

    @property
    def fees(self) -> float:
        """Spread and commissions paid, in cash (a negative flow, as in the ``fees`` column)."""
        return float(np.concatenate([package.fees.ravel() for package in self.held]).sum()) if self.held else 0.0


def simulate_hedges(hedges: Sequence[HedgeConfig], data: Dataset, book_equity: pd.Series,
                    position_values: pd.DataFrame | None, *, calendar: str = "XNYS", periods_per_year: float = 252.0,
                    pricing: Sequence[HedgePricing] | None = None) -> HedgeBook:
    """Run every hedge against the stock book's value (``book_equity``, ``position_values`` per symbol: needed
    only by a hedge sized on a position, see needs_positions).
    ``pricing``: engine.hedges.pricing.price_hedges of the same hedges and data, shared by many books."""
    return simulate_hedge_books(hedges, data, [book_equity], [position_values], calendar=calendar,
                                periods_per_year=periods_per_year, pricing=pricing)[0]


def simulate_hedge_books(hedges: Sequence[HedgeConfig], data: Dataset, book_equities: Sequence[pd.Series],
                         position_values: Sequence[pd.DataFrame | None], *, calendar: str = "XNYS",
                         periods_per_year: float = 252.0,
                         pricing: Sequence[HedgePricing] | None = None) -> list[HedgeBook]:
    """simulate_hedges of many stock books at once (a sweep's batch): the schedule is walked for all books
    together and a package's cash flows are computed for every book that buys it in one array, so the
    Python work is per package, not per package and book. Each book's numbers are those of its own
    simulate_hedges call, to the bit (the same operations, element by element)."""
    pricing = pricing if pricing is not None else price_hedges(hedges, data, calendar=calendar,
                                                               periods_per_year=periods_per_year)
    n, books = len(data.sessions), len(book_equities)
    held: list[list[_Held]] = [[] for _ in range(books)]
    # one hedge of one leg: a session has at most two rows (a roll's close, the next fill), added in order here
    one_leg = sum(len(priced.legs) for priced in pricing) == 1
    sums = np.zeros((2, books, n))  # value, cash flow
    for priced in pricing:
        base = np.column_stack([_hedged_value(priced.index, priced.hedge, equity, positions, data.sessions)
                                for equity, positions in zip(book_equities, position_values)])
        first = [len(mine) for mine in held]  # packages are numbered within their hedge
        for package, buyers, contracts in _bought(priced, base):
            flows = _Flows.of(priced, package, contracts)
            for row, book in enumerate(buyers):
                held[book].append(_Held(priced, package, len(held[book]) - first[book], contracts[row],
                                        flows.value[row], flows.premium[row], flows.fees[row],
                                        flows.settlement[row]))
            if one_leg:
                rows = slice(package.fill, package.fill + flows.value.shape[1])
                sums[0, buyers, rows] += flows.value[:, :, 0]
                sums[1, buyers, rows] += (flows.premium + flows.fees + flows.settlement)[:, :, 0]
    if not one_leg:
        for book, packages in enumerate(held):
            sums[:, book] = _book_sums(packages, n).T
    cash = np.cumsum(sums[1], axis=1)
    return [HedgeBook(tuple(held[k]), data.sessions, sums[0, k], cash[k]) for k in range(books)]


def _book_sums(held: list[_Held], n: int) -> np.ndarray:
    """Per session (n × 2), the value and cash flow of one book's rows (hedges.parquet's order)."""
    session = np.concatenate([np.repeat(p.priced.rows[:, 0], len(p.pricing.legs)) for p in held]) if held else \
        np.zeros(0, dtype=np.int64)
    values = np.column_stack([np.concatenate([getattr(p, name).ravel() for p in held]) if held else np.zeros(0)
                              for name in ("value", "cash_flow")])
    return _session_sums(session, values, n)


def _session_sums(session: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per session (0…n−1), the sum of the rows' ``values`` (rows × columns), to the bit as a pandas groupby
    sum (compensated) adds them: np.add.at adds in row order, which gives the same bits while a session has
    at most two rows (one leg: a roll's close and the next fill); more rows take the groupby."""
    sums = np.zeros((n, values.shape[1]))
    if len(session) and np.bincount(session).max() > 2:
        grouped = pd.DataFrame(values).groupby(session).sum()
        sums[grouped.index.to_numpy()] = grouped.to_numpy()
    else:
        np.add.at(sums, session, values)
    return sums


@dataclass(frozen=True)
class _Flows:
    """A package's flows for the books that buy it: books × rows × legs (see _Held)."""

    value: np.ndarray
    premium: np.ndarray
    fees: np.ndarray
    settlement: np.ndarray

    @classmethod
    def of(cls, pricing: HedgePricing, priced: PricedPackage, contracts: np.ndarray) -> _Flows:
        """Premium at the fill and a sale's close, fees on both, settlement at expiry, for ``contracts``
        (books × legs), every session × leg from the fill to the close (or the last session)."""
        counts = contracts[:, None, :]
        notional = counts * priced.price * pricing.hedge.costs.multiplier
        premium = np.where(priced.opening, -notional, 0.0) + np.where(priced.sells, notional, 0.0)
        fees = -np.where(priced.opening | priced.sells, np.abs(counts) * priced.unit_cost, 0.0)
        return cls(np.where(priced.closing, 0.0, notional), premium, fees, np.where(priced.settles, notional, 0.0))


def _bought(pricing: HedgePricing, base: np.ndarray):
    """The packages the books (columns of ``base``, the hedged value per session) buy, in order: (package,
    the books buying it, their signed contract counts books × legs). A book decides on its schedule sessions
    when its timing rule allows and it has something to hedge, and rolls at a package's close − 1; books
    whose paths agree (usually all of a sweep) are handled together, one loop step per package."""
    n, books = base.shape
    ready = (base > 0) & pricing.ready[:, None]
    allowed = np.where(pricing.scheduled[:, None] & ready, np.arange(n)[:, None], n)
    next_allowed = np.vstack([np.minimum.accumulate(allowed[::-1], axis=0)[::-1], np.full((1, books), n)])
    start, roll_at, active = np.zeros(books, dtype=np.int64), np.full(books, -1), np.ones(books, dtype=bool)
    while active.any():
        live = np.flatnonzero(active)
        rolls = (roll_at[live] >= 0) & ready[np.maximum(roll_at[live], 0), live]
        decided = np.where(rolls, roll_at[live], next_allowed[start[live], live])
        active[live[decided + 1 >= n]] = False
        for session in np.unique(decided[decided + 1 < n]):
            these = live[decided == session]
            priced = pricing.package(int(session))
            contracts = _contracts(pricing, priced, base[session, these] * pricing.scale[session])
            bought = (contracts != 0).any(axis=1)
            if bought.any():
                yield priced, these[bought], contracts[bought]
            if priced.close >= n:
                active[these] = False
            start[these] = np.where(bought, priced.close, session + 1)
            roll_at[these] = np.where(bought, priced.close - 1, -1)


def _contracts(pricing: HedgePricing, priced: PricedPackage, notional: np.ndarray) -> np.ndarray:
    """Signed contract counts (books × legs): the legs' ratios of each book's notional, at the decision's spot."""
    costs = pricing.hedge.costs
    ratios = np.array([float(leg.ratio) for leg in pricing.legs])
    counts = ratios[None, :] * notional[:, None] / (priced.decision_spot * costs.multiplier)[None, :]
    return np.rint(counts) if costs.whole_contracts else counts


def needs_positions(hedges: Sequence[HedgeConfig]) -> bool:
    """Whether a hedge is sized on one position (simulate_hedges then needs the positions' values)."""
    return any(hedge.size.of == "position" for hedge in hedges)


def _hedged_value(index: int, hedge: HedgeConfig, book_equity: pd.Series, position_values: pd.DataFrame | None,
                  sessions: pd.DatetimeIndex) -> np.ndarray:
    """Per session, the value the hedge's fraction applies to: the stock book or one position."""
    if hedge.size.of == "portfolio":
        value = book_equity
    elif position_values is not None and hedge.size.symbol in position_values.columns:
        value = position_values[hedge.size.symbol]
    else:
        raise ConfigError("config", f"hedges[{index}].size.symbol", f"'{hedge.size.symbol}' is not a position of "
                          "the stock book", "name a symbol of universe.symbols")
    if value.index.equals(sessions):  # the usual case: the book's own sessions, no alignment needed
        values = value.to_numpy(float)
        return np.where(np.isnan(values), 0.0, values) * hedge.size.fraction
    return value.reindex(sessions).fillna(0.0).to_numpy(float) * hedge.size.fraction


def total_equity(book_equity: pd.Series, hedges: HedgeBook | None) -> pd.Series:
    """The portfolio's value: the stock book plus the hedge cash account and the hedges' marks."""
    if hedges is None:
        return book_equity
    if hedges.sessions.equals(book_equity.index):  # the usual case: numpy, the same sums without aligning
        total = book_equity.to_numpy() + hedges.account + hedges.marks
        return pd.Series(total, index=book_equity.index, name=book_equity.name)
    return (book_equity + hedges.cash.reindex(book_equity.index) + hedges.value.reindex(book_equity.index)
            ).rename(book_equity.name)
