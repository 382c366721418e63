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

import numpy as np
import pandas as pd

from engine.data.calendar import get_sessions
from engine.data.dataset import Dataset
from engine.errors import ConfigError
from engine.config.hedges import HedgeConfig, LegConfig
from engine.hedges.options import DAYS_PER_YEAR, SurfaceShape, bsm_delta, bsm_price, strike_for_delta
from strategies.schedule import rebalance_sessions

HEDGE_COLUMNS = ["date", "hedge", "package", "leg", "decided", "underlying", "right", "strike", "expiry",
                 "contracts", "spot", "vol", "rate", "tau", "price", "value", "delta", "premium", "fees",
                 "settlement", "cash_flow"]


@dataclass(frozen=True)
class HedgeBook:
    """What the hedges did: per leg and session rows (hedges.parquet), and two session series."""

    legs: pd.DataFrame  # HEDGE_COLUMNS; value/delta after the session's trades, flows signed (+ = cash in)
    value: pd.Series  # mark-to-model value of the open legs at each close
    cash: pd.Series  # hedge cash account: cumulative premiums + fees + settlements


@dataclass(frozen=True)
class _Market:
    """Per-session pricing inputs of one underlying, all known at each session's close."""

    spot: np.ndarray  # as-traded close, last known value carried
    reference_vol: np.ndarray  # the vol source at its reference tenor
    long_run_vol: np.ndarray
    rate: np.ndarray


def simulate_hedges(hedges: Sequence[HedgeConfig], data: Dataset, book_equity: pd.Series,
                    position_values: pd.DataFrame, *, calendar: str = "XNYS",
                    periods_per_year: float = 252.0) -> HedgeBook:
    """Run every hedge against the stock book's value (``book_equity``, ``position_values`` per symbol)."""
    sessions = data.sessions
    longest = max((leg.tenor_days for hedge in hedges for leg in hedge.package), default=0)
    axis = sessions.append(get_sessions(sessions[-1] + pd.Timedelta(days=1),
                                        sessions[-1] + pd.Timedelta(days=longest + 14), calendar))
    frames = [_run_one(i, hedge, data, axis, book_equity, position_values, periods_per_year)
              for i, hedge in enumerate(hedges)]
    legs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=HEDGE_COLUMNS)
    by_date = legs.groupby("date")
    value = by_date["value"].sum().reindex(sessions, fill_value=0.0).astype(float)
    cash = by_date["cash_flow"].sum().reindex(sessions, fill_value=0.0).astype(float).cumsum()
    return HedgeBook(legs, value.rename("hedge_value"), cash.rename("hedge_cash"))


def _run_one(index: int, hedge: HedgeConfig, data: Dataset, axis: pd.DatetimeIndex, book_equity: pd.Series,
             position_values: pd.DataFrame, ppy: float) -> pd.DataFrame:
    """One hedge's packages, one after another; the loop runs once per package (a few hundred at most)."""
    legs = hedge.package
    markets = {leg.underlying: _market(index, hedge, leg.underlying, data, ppy) for leg in legs}
    shape = SurfaceShape(hedge.vol.reference_days / DAYS_PER_YEAR, hedge.vol.reversion, hedge.vol.skew,
                         hedge.vol.floor)
    base = _hedged_value(index, hedge, book_equity, position_values, data.sessions)
    scale = timing_multiplier(markets[hedge.underlying].reference_vol, hedge)
    ready = (base > 0) & (scale > 0)
    for market in markets.values():
        ready &= np.isfinite(market.spot) & np.isfinite(market.reference_vol) & np.isfinite(market.rate)
    scheduled = np.flatnonzero(rebalance_sessions(data.sessions, hedge.schedule) & ready)
    n, frames, start, roll_at = len(data.sessions), [], 0, None
    dates = axis.to_numpy()  # numpy, not the index: a DatetimeIndex lookup per package adds up over a sweep
    while True:
        decided = roll_at if roll_at is not None and ready[roll_at] else _first_at_or_after(scheduled, start)
        if decided is None or decided + 1 >= n:
            break
        fill = decided + 1
        expiries = np.array([np.searchsorted(dates, dates[fill] + np.timedelta64(leg.tenor_days, "D"), "right") - 1
                             for leg in legs])
        close = int(expiries.min()) - hedge.roll_before
        if close <= fill:
            raise ConfigError("config", f"hedges[{index}].roll_before", f"a package filled on {axis[fill].date()} "
                              f"would be rolled on or before its fill", "lengthen tenor_days or lower roll_before")
        strikes, contracts = _open(hedge, legs, markets, shape, dates, decided, expiries,
                                   base[decided] * scale[decided])
        if np.any(contracts != 0):
            frames.append(_package_rows(hedge, legs, markets, shape, dates, len(frames), decided, fill,
                                        close, expiries, strikes, contracts, n))
        if close >= n:
            break
        start, roll_at = (close, close - 1) if np.any(contracts != 0) else (decided + 1, None)
    return _legs_frame(frames)


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


def _open(hedge: HedgeConfig, legs: Sequence[LegConfig], markets: dict[str, _Market], shape: SurfaceShape,
          dates: np.ndarray, decided: int, expiries: np.ndarray, notional: float) -> tuple[np.ndarray, np.ndarray]:
    """Strikes and signed contract counts of a package, from data of the decision session only."""
    strikes, contracts = [], []
    for leg, expiry in zip(legs, expiries):
        m = markets[leg.underlying]
        spot, ref, long_run, rate = (m.spot[decided], m.reference_vol[decided], m.long_run_vol[decided],
                                     m.rate[decided])
        tau = (dates[expiry] - dates[decided]) / np.timedelta64(1, "D") / DAYS_PER_YEAR
        if leg.moneyness is not None:
            strike = leg.moneyness * spot
        else:
            strike = float(strike_for_delta(spot, tau, leg.delta, rate, hedge.dividend_yield, leg.right == "call",
                                            lambda k: shape.vol(ref, long_run, tau, spot, k)))
        count = leg.ratio * notional / (spot * hedge.costs.multiplier)
        strikes.append(strike)
        contracts.append(np.rint(count) if hedge.costs.whole_contracts else count)
    return np.array(strikes), np.array(contracts)


def _package_rows(hedge: HedgeConfig, legs: Sequence[LegConfig], markets: dict[str, _Market], shape: SurfaceShape,
                  dates: np.ndarray, package: int, decided: int, fill: int, close: int, expiries: np.ndarray,
                  strikes: np.ndarray, contracts: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Every session × leg of one package from its fill to its close (or the last session), vectorised:
    the columns of HEDGE_COLUMNS as arrays."""
    rows = np.arange(fill, min(close, n - 1) + 1)[:, None]  # sessions × 1
    spot = np.column_stack([markets[leg.underlying].spot[rows[:, 0]] for leg in legs])
    ref, long_run, rate = (np.column_stack([getattr(markets[leg.underlying], name)[rows[:, 0]] for leg in legs])
                           for name in ("reference_vol", "long_run_vol", "rate"))
    tau = (dates[expiries][None, :] - dates[rows[:, 0]][:, None]) / np.timedelta64(1, "D")
    tau = np.maximum(tau / DAYS_PER_YEAR, 0.0)
    is_call = np.array([leg.right == "call" for leg in legs])[None, :]
    vol = shape.vol(ref, long_run, tau, spot, strikes[None, :])
    price = bsm_price(spot, strikes, tau, vol, rate, hedge.dividend_yield, is_call)
    delta = bsm_delta(spot, strikes, tau, vol, rate, hedge.dividend_yield, is_call)
    costs, mult = hedge.costs, hedge.costs.multiplier
    opening, closing = rows == fill, (rows == close) & np.ones_like(spot, dtype=bool)
    settles = closing & (rows == expiries[None, :])
    sells = closing & ~settles
    held = np.where(closing, 0.0, contracts[None, :])
    traded = opening | sells
    premium = np.where(opening, -contracts * price * mult, 0.0) + np.where(sells, contracts * price * mult, 0.0)
    fees = -np.where(traded, np.abs(contracts) * (price * mult * costs.spread / 2 + costs.commission), 0.0)
    settlement = np.where(settles, contracts * price * mult, 0.0)
    size = rows.shape[0] * len(legs)
    return {
        "date": np.repeat(dates[rows[:, 0]], len(legs)), "hedge": np.full(size, hedge.name, dtype=object),
        "package": np.full(size, package, dtype=np.int64), "leg": np.tile(np.arange(len(legs)), len(rows)),
        "decided": np.full(size, dates[decided]),
        "underlying": np.tile(np.array([leg.underlying for leg in legs], dtype=object), len(rows)),
        "right": np.tile(np.array([leg.right for leg in legs], dtype=object), len(rows)),
        "strike": np.tile(strikes, len(rows)), "expiry": np.tile(dates[expiries], len(rows)),
        "contracts": np.tile(contracts, len(rows)), "spot": spot.ravel(), "vol": vol.ravel(), "rate": rate.ravel(),
        "tau": tau.ravel(), "price": price.ravel(), "value": (held * price * mult).ravel(),
        "delta": (held * delta * mult).ravel(), "premium": premium.ravel(), "fees": fees.ravel(),
        "settlement": settlement.ravel(), "cash_flow": premium.ravel() + fees.ravel() + settlement.ravel()}


def _legs_frame(packages: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """One frame of every package's rows, built once: a DataFrame per package cost ~1 ms each, the most
    of a sweep with hedges (a book per variant)."""
    if not packages:
        return pd.DataFrame(columns=HEDGE_COLUMNS)
    return pd.DataFrame({name: np.concatenate([rows[name] for rows in packages]) for name in HEDGE_COLUMNS})


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


def _hedged_value(index: int, hedge: HedgeConfig, book_equity: pd.Series, position_values: pd.DataFrame,
                  sessions: pd.DatetimeIndex) -> np.ndarray:
    """Per session, the value the hedge's fraction applies to: the stock book or one position."""
    if hedge.size.of == "portfolio":
        value = book_equity
    elif hedge.size.symbol in position_values.columns:
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
