"""A book that buys once and holds (the benchmark, the event study's holding), computed from prices by
engine.sim.held_book, equals the compiled loop's book to the last bit: equity, cash, shares, fills, buy scale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st

from engine.data.calendar import get_sessions
from engine.sim.held_book import held_book, simulate_held
from engine.sim.simulate import ExecutionSettings, simulate

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = get_sessions("2024-01-02", "2024-04-30")
NAMES = ["A", "B", "C", "D"]


def prices(seed: int, listed: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random opens and closes; name k is unpriced before session ``listed[k]`` and on a few later sessions."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (len(SESSIONS), len(NAMES))), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.01, close.shape))  # gaps at the open: buys can lack cash
    for k, first in enumerate(listed):
        close[:first, k] = open_[:first, k] = np.nan
    holes = rng.random(close.shape) < 0.03
    close[holes] = np.nan
    open_[np.roll(holes, 1, axis=0)] = np.nan
    frame = lambda values: pd.DataFrame(values, index=SESSIONS, columns=NAMES)  # noqa: E731
    return frame(open_), frame(close)


def assert_same_book(got, expected) -> None:
    np.testing.assert_array_equal(got.equity.to_numpy(), expected.equity.to_numpy())
    np.testing.assert_array_equal(got.cash_values, expected.cash_values)
    np.testing.assert_array_equal(got.held_values, expected.held_values)
    np.testing.assert_array_equal(got.buy_scale, expected.buy_scale)
    assert got.order_records.dtype == expected.order_records.dtype
    np.testing.assert_array_equal(got.order_records, expected.order_records)
    assert got.kernel_log.empty and expected.kernel_log.empty
    pd.testing.assert_frame_equal(got.orders, expected.orders)


@hypothesis_settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), listed=st.lists(st.integers(0, 30), min_size=4, max_size=4),
       weights=st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.6, np.nan]), min_size=4, max_size=4),
       decided=st.integers(0, len(SESSIONS) - 1), fees=st.sampled_from([0.0, 5.0, 30.0]),
       slippage=st.sampled_from([0.0, 5.0, 50.0]), band=st.sampled_from([0.0, 0.2]),
       fill=st.sampled_from(["next_open", "next_close"]), size_at=st.sampled_from(["decision", "fill"]))
def test_a_book_bought_once_equals_the_loops(seed, listed, weights, decided, fees, slippage, band, fill, size_at):
    # weights up to 4 x 0.6: the buys can need more cash than the book has (scaled, or the last one cut)
    open_, close = prices(seed, listed)
    targets = pd.DataFrame(np.nan, index=SESSIONS, columns=NAMES)
    targets.iloc[decided] = weights
    for k, first in enumerate(listed):  # a name listed later gets a 0 when it lists, as buy_and_hold's rows
        if first > decided and not np.isnan(weights[k]):
            targets.iloc[first, k] = 0.0
    execution = ExecutionSettings(fill=fill, fees_bps=fees, slippage_bps=slippage, min_trade_weight=band,
                                  size_at=size_at)
    book, loop = held_book(targets, open_, close, execution), simulate(targets, open_, close, execution)
    if book is None:  # only a book the loop trades again (a name bought at its listing, sized at the fill)
        assert (loop.order_records["idx"] > decided + 1).any()
    else:
        assert_same_book(book, loop)


def test_the_benchmark_buy_and_hold_with_costs_equals_the_loops_and_a_hand_calculation():
    open_, close = (frame[["A"]].ffill().bfill() for frame in prices(3, [0, 0, 0, 0]))
    close.iloc[:5] = open_.iloc[:5] = np.nan  # listed on session 5
    open_.iloc[6] = close.iloc[5] * 1.01  # a gap up: 100% of equity plus costs does not fit, the buy is scaled
    targets = pd.DataFrame(np.nan, index=SESSIONS, columns=["A"])
    targets.iloc[5] = 1.0  # engine.run.backtest.hold_one
    execution = ExecutionSettings(fees_bps=5, slippage_bps=5)
    book = held_book(targets, open_, close, execution)
    assert_same_book(book, simulate(targets, open_, close, execution))
    # by hand: 1e6 / close_5 shares ordered, cut so that they cost the cash at the slipped open plus fees
    price = open_["A"].iloc[6] * 1.0005
    shares = 1e6 / (price * 1.0005)
    assert book.buy_scale[6] == pytest.approx(shares / (1e6 / close["A"].iloc[5]), rel=1e-12)
    assert book.order_records[0]["size"] == pytest.approx(shares, rel=1e-12)
    assert book.order_records[0]["fees"] == pytest.approx(shares * price * 0.0005, rel=1e-9)
    assert book.cash_values[-1] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(book.equity.iloc[6:], book.cash_values[-1] + shares * close["A"].iloc[6:], rtol=1e-12)
    assert (book.equity.iloc[:6] == 1e6).all()


def test_a_book_that_trades_again_is_simulated_by_the_loop():
    open_, close = prices(1, [0, 0, 0, 0])
    targets = pd.DataFrame(np.nan, index=SESSIONS, columns=NAMES)
    targets.iloc[0] = 0.25
    targets.iloc[40] = [0.5, 0.5, 0.0, 0.0]  # a rebalance: not a held book
    execution = ExecutionSettings(fees_bps=5)
    assert held_book(targets, open_, close, execution) is None
    assert_same_book(simulate_held(targets, open_, close, execution), simulate(targets, open_, close, execution))


def test_a_run_with_benchmark_and_event_study_builds_one_loop_only():
    # the loop without rules is built (compiled on a first run, loaded after) only for books that trade
    # more than once; the benchmark and the study's holding are bought once, so a run builds the rules' loop
    script = ("import rulebook\nfrom engine.sim import loop\nresult = rulebook.run('configs/column.yaml')\n"
              "rulebook.event_study(result)\nprint(sorted(key == 'no rules' for key in loop._LOOPS))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[False]"
