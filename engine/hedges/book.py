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
    value: pd.Series  # mark-to-model value of the open legs at each close
    cash: pd.Series  # hedge cash account: cumulative premiums + fees + settlements

    @cached_property
    def legs(self) -> pd.DataFrame:
        """HEDGE_COLUMNS; value/delta after the session's trades, flows signed (+ = cash in). Framed on first
        use: a sweep needs only the two series and the fees."""
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
    pricing = pricing if pricing is not None else price_hedges(hedges, data, calendar=calendar,
                                                               periods_per_year=periods_per_year)
    held = tuple(package for priced in pricing
                 for package in _run_one(priced, _hedged_value(priced.index, priced.hedge, book_equity,
                                                               position_values, data.sessions)))
    legs = [len(package.pricing.legs) for package in held]
    session = np.concatenate([np.repeat(p.priced.rows[:, 0], n) for p, n in zip(held, legs)]) if held else \
        np.zeros(0, dtype=np.int64)
    values = np.column_stack([np.concatenate([getattr(p, name).ravel() for p in held]) if held else np.zeros(0)
                              for name in ("value", "cash_flow")])
    sums = _session_sums(session, values, len(data.sessions))
    return HedgeBook(held, pd.Series(sums[:, 0], index=data.sessions, name="hedge_value"),
                     pd.Series(sums[:, 1], index=data.sessions, name="hedge_cash").cumsum())


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


def _run_one(pricing: HedgePricing, base: np.ndarray) -> list[_Held]:
    """One hedge's packages, one after another; the loop runs once per package (a few hundred at most)."""
    scale = pricing.scale
    ready = (base > 0) & pricing.ready
    scheduled = np.flatnonzero(pricing.scheduled & ready)
    n, packages, start, roll_at = pricing.n, [], 0, None
    while True:
        decided = roll_at if roll_at is not None and ready[roll_at] else _first_at_or_after(scheduled, start)
        if decided is None or decided + 1 >= n:
            break
        priced = pricing.package(decided)
        contracts = _contracts(pricing, priced, base[decided] * scale[decided])
        if np.any(contracts != 0):
            packages.append(_held(pricing, priced, len(packages), contracts))
        if priced.close >= n:
            break
        start, roll_at = (priced.close, priced.close - 1) if np.any(contracts != 0) else (decided + 1, None)
    return packages


def _contracts(pricing: HedgePricing, priced: PricedPackage, notional: float) -> np.ndarray:
    """Signed contract counts of a package: the legs' ratios of the notional, at the decision's spot."""
    hedge = pricing.hedge
    counts = [leg.ratio * notional / (spot * hedge.costs.multiplier) for leg, spot in zip(pricing.legs,
                                                                                         priced.decision_spot)]
    return np.array([np.rint(count) if hedge.costs.whole_contracts else count for count in counts])


def _held(pricing: HedgePricing, priced: PricedPackage, number: int, contracts: np.ndarray) -> _Held:
    """A package's cash flows for ``contracts``, every session × leg from its fill to its close (or the
    last session): premium at the fill and a sale's close, fees on both, settlement at expiry."""
    notional = contracts * priced.price * pricing.hedge.costs.multiplier
    premium = np.where(priced.opening, -notional, 0.0) + np.where(priced.sells, notional, 0.0)
    fees = -np.where(priced.opening | priced.sells, np.abs(contracts) * priced.unit_cost, 0.0)
    return _Held(pricing, priced, number, contracts, np.where(priced.closing, 0.0, notional), premium, fees,
                 np.where(priced.settles, notional, 0.0))


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
    return value.reindex(sessions).fillna(0.0).to_numpy(float) * hedge.size.fraction


def _first_at_or_after(sorted_indices: np.ndarray, start: int) -> int | None:
    at = np.searchsorted(sorted_indices, start)
    return int(sorted_indices[at]) if at < len(sorted_indices) else None


def total_equity(book_equity: pd.Series, hedges: HedgeBook | None) -> pd.Series:
    """The portfolio's value: the stock book plus the hedge cash account and the hedges' marks."""
    if hedges is None:
        return book_equity
    return (book_equity + hedges.cash.reindex(book_equity.index) + hedges.value.reindex(book_equity.index)
            ).rename(book_equity.name)
