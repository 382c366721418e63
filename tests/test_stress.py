"""Historical stress replay: realised window moves applied to today's weights, proxies and hedges."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.errors import DataError
from engine.hedges.options import bsm_price
from engine.analysis.scenarios import HEDGE_LEG_COLUMNS, Portfolio
from engine.config.scenarios import StressWindow
from engine.analysis.stress import replay

SESSIONS = pd.bdate_range("2025-01-20", periods=8)  # 20 Jan .. 29 Jan
CLOSE = pd.DataFrame({
    "SPY": [100, 101, 100, 102, 100, 98.5, 99, 100],
    "NVDA": [50, 51, 52, 52, 52, 43.0, 45, 46],
    "NEW": [None, None, None, None, None, None, 20, 21],
}, index=SESSIONS, dtype=float)
DEEPSEEK = {"deepseek": StressWindow(start="2025-01-27", end="2025-01-27")}


def portfolio(legs: pd.DataFrame | None = None) -> Portfolio:
    legs = legs if legs is not None else pd.DataFrame(columns=HEDGE_LEG_COLUMNS)
    return Portfolio(pd.Timestamp("2025-12-31"), pd.Series({"NVDA": 600.0, "NEW": 400.0}), 1000.0, legs, "SPY")


def test_one_session_window_replays_its_close_to_close_moves_with_proxies() -> None:
    table = replay(portfolio(), CLOSE, DEEPSEEK, pd.Series({"NEW": 2.0}))
    row = table[~table["with_hedges"]].iloc[0]
    assert row["pnl"] == pytest.approx(600 * (43 / 52 - 1) + 400 * 2.0 * (98.5 / 100 - 1))
    assert row["proxied"] == "NEW" and row["start"] == pd.Timestamp("2025-01-24")
    assert row["benchmark_return"] == pytest.approx(-0.015)


def test_multi_session_window_compounds_and_weekend_end_uses_the_last_session() -> None:
    window = {"w": StressWindow(start="2025-01-22", end="2025-01-26")}  # Wed .. Sun
    row = replay(portfolio(), CLOSE, window, pd.Series(dtype=float)).iloc[0]
    assert row["pnl"] == pytest.approx(600 * (52 / 51 - 1) + 400 * (100 / 101 - 1))
    assert row["end"] == pd.Timestamp("2025-01-24")


def test_hedges_are_repriced_with_the_realised_move_and_vol_change() -> None:
    price = float(bsm_price(100.0, 95.0, 0.2, 0.2, 0.04, 0.0, False))
    legs = pd.DataFrame([{"underlying": "SPY", "right": "put", "strike": 95.0, "contracts": 3.0, "spot": 100.0,
                          "vol": 0.2, "rate": 0.04, "tau": 0.2, "price": price, "multiplier": 100.0, "div_yield": 0.0}])
    vix = pd.Series([15.0] * 5 + [22.0] * 3, index=SESSIONS)
    table = replay(portfolio(legs), CLOSE, DEEPSEEK, pd.Series(dtype=float), vix).set_index("with_hedges")
    repriced = float(bsm_price(98.5, 95.0, 0.2 - 3 / 365, 0.27, 0.04, 0.0, False))
    assert table.loc[True, "pnl"] - table.loc[False, "pnl"] == pytest.approx(300 * (repriced - price))
    assert table.loc[True, "vol_shift"] == pytest.approx(7.0)


def test_window_outside_the_data_names_it() -> None:
    with pytest.raises(DataError, match="stress window 'early'"):
        replay(portfolio(), CLOSE, {"early": StressWindow(start="2025-01-20", end="2025-01-21")}, pd.Series(dtype=float))
