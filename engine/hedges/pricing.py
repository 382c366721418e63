"""A hedge's prices on one dataset: its market inputs and every package it may open, priced once.

What a package's legs cost and are worth at each session depends on the market (spot, vol, rate),
the hedge's config and the session the package is decided on, never on the stock book it protects:
the book only sets how many contracts are bought (engine.hedges.book). So a sweep of many stock books
on one dataset (engine.sweep.compare) prices each package once for all of them; a single run goes
through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.config.hedges import HedgeConfig
from engine.data.calendar import get_sessions
from engine.data.dataset import Dataset
from engine.errors import ConfigError
from engine.hedges.options import DAYS_PER_YEAR, SurfaceShape, bsm_delta, bsm_price, strike_for_delta
from strategies.schedule import rebalance_sessions


@dataclass(frozen=True)
class _Market:
    """Per-session pricing inputs of one underlying, all known at each session's close."""

    spot: np.ndarray  # as-traded close, last known value carried
    reference_vol: np.ndarray  # the vol source at its reference tenor
    long_run_vol: np.ndarray
    rate: np.ndarray


@dataclass(frozen=True)
class PricedPackage:
    """One package decided at session ``decided``: its legs priced at every session it is held.

    Row arrays are sessions ``fill``…min(``close``, last) × legs."""

    decided: int
    fill: int
    close: int
    expiries: np.ndarray  # per leg, the expiry's position on the session axis
    strikes: np.ndarray  # per leg
    decision_spot: np.ndarray  # per leg, the underlying's spot at the decision (sizes the contracts)
    rows: np.ndarray  # sessions × 1, positions in the dataset's sessions
    spot: np.ndarray
    vol: np.ndarray
    rate: np.ndarray
    tau: np.ndarray
    price: np.ndarray
    delta: np.ndarray
    opening: np.ndarray  # rows × legs: the fill
    closing: np.ndarray  # the close (sold, or settled at expiry)
    settles: np.ndarray
    sells: np.ndarray
    unit_cost: np.ndarray  # spread and commission per contract traded


class HedgePricing:
    """Hedge ``index`` of a config on ``data``: market inputs, the sessions it may decide on, and its packages
    priced on first use (by decision session)."""

    def __init__(self, index: int, hedge: HedgeConfig, data: Dataset, axis: pd.DatetimeIndex, ppy: float):
        self.index, self.hedge, self.n = index, hedge, len(data.sessions)
        self.legs = hedge.package  # expanded once (a property building the legs anew)
        self.markets = {leg.underlying: _market(index, hedge, leg.underlying, data, ppy) for leg in self.legs}
        self.shape = SurfaceShape(hedge.vol.reference_days / DAYS_PER_YEAR, hedge.vol.reversion, hedge.vol.skew,
                                  hedge.vol.floor)
        self.scale = timing_multiplier(self.markets[hedge.underlying].reference_vol, hedge)
        ready = self.scale > 0
        for market in self.markets.values():
            ready &= np.isfinite(market.spot) & np.isfinite(market.reference_vol) & np.isfinite(market.rate)
        self.ready = ready  # the market's side; the stock book adds "something to hedge"
        self.scheduled = rebalance_sessions(data.sessions, hedge.schedule)
        self.dates = axis.to_numpy()  # numpy: a DatetimeIndex lookup per package adds up
        self._packages: dict[int, PricedPackage] = {}

    def package(self, decided: int) -> PricedPackage:
        if decided not in self._packages:
            self._packages[decided] = self._priced(decided)
        return self._packages[decided]

    def _priced(self, decided: int) -> PricedPackage:
        hedge, legs, dates, fill = self.hedge, self.legs, self.dates, decided + 1
        expiries = np.array([np.searchsorted(dates, dates[fill] + np.timedelta64(leg.tenor_days, "D"), "right") - 1
                             for leg in legs])
        close = int(expiries.min()) - hedge.roll_before
        if close <= fill:
            raise ConfigError("config", f"hedges[{self.index}].roll_before", f"a package filled on "
                              f"{pd.Timestamp(self.dates[fill]).date()} would be rolled on or before its fill",
                              "lengthen tenor_days or lower roll_before")
        strikes = self._strikes(decided, expiries)
        rows = np.arange(fill, min(close, self.n - 1) + 1)[:, None]  # sessions × 1
        spot = np.column_stack([self.markets[leg.underlying].spot[rows[:, 0]] for leg in legs])
        ref, long_run, rate = (np.column_stack([getattr(self.markets[leg.underlying], name)[rows[:, 0]]
                                                for leg in legs]) for name in ("reference_vol", "long_run_vol", "rate"))
        tau = (dates[expiries][None, :] - dates[rows[:, 0]][:, None]) / np.timedelta64(1, "D")
        tau = np.maximum(tau / DAYS_PER_YEAR, 0.0)
        is_call = np.array([leg.right == "call" for leg in legs])[None, :]
        vol = self.shape.vol(ref, long_run, tau, spot, strikes[None, :])
        price = bsm_price(spot, strikes, tau, vol, rate, hedge.dividend_yield, is_call)
        delta = bsm_delta(spot, strikes, tau, vol, rate, hedge.dividend_yield, is_call)
        decision_spot = np.array([self.markets[leg.underlying].spot[decided] for leg in legs])
        opening, closing = rows == fill, (rows == close) & np.ones_like(spot, dtype=bool)
        settles = closing & (rows == expiries[None, :])
        costs = hedge.costs
        return PricedPackage(decided, fill, close, expiries, strikes, decision_spot, rows, spot, vol, rate, tau,
                             price, delta, opening, closing, settles, closing & ~settles,
                             price * costs.multiplier * costs.spread / 2 + costs.commission)

    def _strikes(self, decided: int, expiries: np.ndarray) -> np.ndarray:
        """Each leg's strike, from data of the decision session only."""
        strikes = []
        for leg, expiry in zip(self.legs, expiries):
            m = self.markets[leg.underlying]
            spot, ref, long_run, rate = (m.spot[decided], m.reference_vol[decided], m.long_run_vol[decided],
                                         m.rate[decided])
            tau = (self.dates[expiry] - self.dates[decided]) / np.timedelta64(1, "D") / DAYS_PER_YEAR
            if leg.moneyness is not None:
                strikes.append(leg.moneyness * spot)
            else:
                strikes.append(float(strike_for_delta(
                    spot, tau, leg.delta, rate, self.hedge.dividend_yield, leg.right == "call",
                    lambda k: self.shape.vol(ref, long_run, tau, spot, k))))
        return np.array(strikes)


def price_hedges(hedges: Sequence[HedgeConfig], data: Dataset, *, calendar: str = "XNYS",
                 periods_per_year: float = 252.0) -> list[HedgePricing]:
    """One HedgePricing per hedge, on a session axis running past the data by the longest tenor."""
    sessions = data.sessions
    longest = max((leg.tenor_days for hedge in hedges for leg in hedge.package), default=0)
    axis = sessions.append(get_sessions(sessions[-1] + pd.Timedelta(days=1),
                                        sessions[-1] + pd.Timedelta(days=longest + 14), calendar))
    return [HedgePricing(i, hedge, data, axis, periods_per_year) for i, hedge in enumerate(hedges)]


def timing_rank(reference_vol: np.ndarray, hedge: HedgeConfig) -> np.ndarray:
    """Per session, the reference vol's percentile rank (0–1) in its trailing timing window (NaN until it fills)."""
    window = hedge.timing.window
    return pd.Series(reference_vol).rolling(window, min_periods=window).rank(pct=True).to_numpy()


def reference_vol(hedge: HedgeConfig, data: Dataset, periods_per_year: float) -> np.ndarray:
    """Per session, the underlying's reference vol the hedge prices with and its timing rule reads."""
    return _market(0, hedge, hedge.underlying, data, periods_per_year).reference_vol


def timing_multiplier(reference_vol: np.ndarray, hedge: HedgeConfig) -> np.ndarray:
    """Per session, the size multiplier of the timing rule (0 = buy nothing), from vol history ≤ t."""
    timing = hedge.timing
    if timing.rule == "always":
        return np.ones(len(reference_vol))
    rank = timing_rank(reference_vol, hedge)
    threshold = timing.percentile / 100
    if timing.rule == "below_percentile":
        return np.where(rank <= threshold, 1.0, 0.0)
    shrunk = np.clip((1 - rank) / (1 - threshold), 0.0, 1.0)
    return np.where(np.isnan(rank), 0.0, np.where(rank <= threshold, 1.0, np.maximum(shrunk, timing.min_scale)))


def _market(index: int, hedge: HedgeConfig, symbol: str, data: Dataset, ppy: float) -> _Market:
    if symbol not in data.close.columns:
        raise ConfigError("config", f"hedges[{index}].underlying", f"symbol '{symbol}' is not in the loaded data",
                          "add its prices to prices.parquet")
    vol = hedge.vol
    if vol.source == "realized":
        returns = np.log(data.adjusted("close")[symbol]).diff()
        source = returns.rolling(vol.window, min_periods=vol.window).std() * np.sqrt(ppy)
    else:
        source = _series(index, "vol.source", vol.source, data) / 100
    reference = (source * vol.premium).ffill()
    long_run = (pd.Series(vol.long_run_vol, index=data.sessions) if vol.long_run_vol is not None
                else reference.rolling(vol.long_run_window, min_periods=1).mean())
    rate = (pd.Series(float(hedge.rate), index=data.sessions) if not isinstance(hedge.rate, str)
            else _series(index, "rate", hedge.rate, data) / 100)
    return _Market(data.close[symbol].ffill().to_numpy(float), reference.to_numpy(float),
                   long_run.to_numpy(float), rate.ffill().to_numpy(float))


def _series(index: int, key: str, name: str, data: Dataset) -> pd.Series:
    if name not in data.market.columns:
        available = ", ".join(map(str, data.market.columns)) or "none"
        raise ConfigError("config", f"hedges[{index}].{key}", f"market series '{name}' is not in the dataset "
                          f"(available: {available})", "name one of those series or add it to market.parquet")
    return data.market[name].reindex(data.sessions).astype(float)
