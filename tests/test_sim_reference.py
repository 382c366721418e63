"""engine.sim.simulate agrees with an independent plain-Python loop (tests/reference_loop.py).

Random markets: 2-6 names, 30-120 sessions, names listing late (NaN before), missing
bars (a NaN open, a NaN close, or both), random decision rows mixing NaN (leave alone),
0 (sell out) and weights summing anywhere from 0.3 to 1.1 (over 1 forces partial buys),
random fees, slippage, band, fill mode and sizing (at the decision or at the fill). Equity must agree to 1e-9 relative at every
session; cash, holdings and every fill must agree to 1e-9 of equity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_loop import reference_simulate

from engine.sim.simulate import ExecutionSettings, simulate

RTOL = 1e-9
# an order smaller than this (fraction of initial cash) is dust either engine may drop
DUST = 1e-6


def random_market(seed: int, n_names: int, n_sessions: int, gap_rate: float, late_rate: float = 0.4):
    """(open, close) total-return prices; a name lists late with probability late_rate; bars go missing."""
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2021-01-04", periods=n_sessions)
    symbols = [f"S{k}" for k in range(n_names)]
    vol = rng.uniform(0.005, 0.04, n_names)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, vol, (n_sessions, n_names)), axis=0))
    open_ = np.vstack([close[:1], close[:-1]]) * np.exp(rng.normal(0, 0.01, (n_sessions, n_names)))
    listing = np.where(rng.random(n_names) >= late_rate, 0, rng.integers(1, n_sessions // 2, n_names))
    before_listing = np.arange(n_sessions)[:, None] < listing[None, :]
    open_[before_listing | (rng.random(open_.shape) < gap_rate)] = np.nan
    close[before_listing | (rng.random(close.shape) < gap_rate)] = np.nan
    return pd.DataFrame(open_, sessions, symbols), pd.DataFrame(close, sessions, symbols)


def random_targets(seed: int, sessions: pd.Index, symbols: list[str], decide_rate: float) -> pd.DataFrame:
    """Decision rows at random sessions; NaN = leave alone, 0 = sell out, rows sum to 0.3..1.1."""
    rng = np.random.default_rng(seed + 1)
    weights = np.full((len(sessions), len(symbols)), np.nan)
    for t in np.flatnonzero(rng.random(len(sessions)) < decide_rate):
        raw = rng.random(len(symbols))
        kind = rng.random(len(symbols))
        raw[kind < 0.2] = 0.0
        if raw.sum() > 0:
            raw *= rng.uniform(0.3, 1.1) / raw.sum()
        raw[kind > 0.85] = np.nan
        weights[t] = raw
    return pd.DataFrame(weights, sessions, symbols)


@st.composite
def markets(draw, min_names=2, max_names=6, min_sessions=30, max_sessions=120):
    """A random market, its target rows and execution settings."""
    seed = draw(st.integers(0, 2**31 - 1))
    open_, close = random_market(
        seed,
        draw(st.integers(min_names, max_names)),
        draw(st.integers(min_sessions, max_sessions)),
        draw(st.sampled_from([0.0, 0.0, 0.03])),
    )
    targets = random_targets(seed, close.index, list(close.columns), draw(st.floats(0.05, 0.5)))
    execution = ExecutionSettings(
        fill=draw(st.sampled_from(["next_open", "next_close"])),
        fees_bps=draw(st.sampled_from([0.0, 1.0, 10.0, 50.0])),
        slippage_bps=draw(st.sampled_from([0.0, 2.5, 20.0])),
        min_trade_weight=draw(st.sampled_from([0.0, 0.0, 0.01, 0.05])),
        size_at=draw(st.sampled_from(["decision", "fill"])),
    )
    return targets, open_, close, execution


def run_reference(targets, open_, close, execution: ExecutionSettings):
    return reference_simulate(
        targets, open_, close, fill=execution.fill, fees_bps=execution.fees_bps,
        slippage_bps=execution.slippage_bps, band=execution.min_trade_weight, init_cash=execution.init_cash,
        size_at=execution.size_at,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets())
def test_simulate_matches_reference_loop(case):
    targets, open_, close, execution = case
    result = simulate(targets, open_, close, execution)
    equity, cash, positions, orders = run_reference(targets, open_, close, execution)

    np.testing.assert_allclose(result.equity.to_numpy(), equity.to_numpy(), rtol=RTOL, atol=0)
    scale = equity.to_numpy()[:, None]
    np.testing.assert_allclose(result.cash.to_numpy(), cash.to_numpy(), rtol=0, atol=RTOL * scale.max())
    marks = close.fillna(open_).ffill().fillna(0).to_numpy()
    position_gap = np.abs(result.positions.to_numpy() - positions.to_numpy()) * marks
    assert (position_gap <= RTOL * scale).all()

    ours = result.orders[result.orders.notional > DUST * execution.init_cash].reset_index(drop=True)
    theirs = pd.DataFrame(orders, columns=ours.columns)
    theirs = theirs[theirs.notional > DUST * execution.init_cash].reset_index(drop=True)
    keys = ["session", "decided", "symbol", "side"]
    pd.testing.assert_frame_equal(ours[keys], theirs[keys], check_dtype=False)
    for column in ("shares", "price", "notional", "fees"):
        np.testing.assert_allclose(ours[column].astype(float), theirs[column].astype(float), rtol=RTOL, atol=RTOL)
