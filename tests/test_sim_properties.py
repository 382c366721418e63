"""Invariants of engine.sim.simulate on random markets, and the execution bugs it must not have."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sim_reference import markets, random_market, random_targets

from engine.sim.simulate import ExecutionSettings, last_known_price, simulate, simulate_many

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-9


def flat_market(n_names: int, n_sessions: int = 10, price: float = 100.0):
    sessions = pd.bdate_range("2022-03-01", periods=n_sessions)
    frame = pd.DataFrame(price, index=sessions, columns=[f"N{k}" for k in range(n_names)])
    return frame, frame.copy()


def decide(close: pd.DataFrame, rows: dict[int, list[float]]) -> pd.DataFrame:
    targets = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    for row, weights in rows.items():
        targets.iloc[row] = weights
    return targets


def weights_strategy(n_names: int, total_max: float = 1.0):
    """Random long-only weights summing to at most total_max (at least 0.5)."""
    raw = st.lists(st.floats(0.01, 1.0), min_size=n_names, max_size=n_names)
    return st.tuples(raw, st.floats(0.5, total_max)).map(lambda r: list(np.array(r[0]) / sum(r[0]) * r[1]))


@FAST
@given(markets())
def test_book_invariants(case):
    """Cash >= 0, holdings >= 0, equity = cash + holdings at the last known price, orders add up to holdings."""
    targets, open_, close, execution = case
    result = simulate(targets, open_, close, execution)
    equity = result.equity.to_numpy()

    assert (result.cash.to_numpy() >= 0).all()
    assert (result.positions.to_numpy() >= 0).all()
    marked = (result.positions * last_known_price(open_, close).fillna(0)).sum(axis=1)
    np.testing.assert_allclose(equity, result.cash + marked, rtol=TOL, atol=0)
    np.testing.assert_allclose(result.weights.sum(axis=1) + result.cash / result.equity, 1.0, rtol=TOL)

    signed = result.orders.shares.where(result.orders.side == "buy", -result.orders.shares)
    flows = signed.groupby([result.orders.session, result.orders.symbol]).sum().unstack(fill_value=0.0)
    held = flows.reindex(index=close.index, columns=close.columns, fill_value=0.0).cumsum()
    np.testing.assert_allclose(held.to_numpy(), result.positions.to_numpy(), rtol=TOL, atol=TOL)
    cash_flow = np.where(result.orders.side == "buy", -1, 1) * result.orders.notional - result.orders.fees
    # to 1e-9 of the starting cash: a book that spends all its cash ends at 0 +- float noise of its flows' size
    np.testing.assert_allclose(execution.init_cash + cash_flow.sum(), result.cash.iloc[-1], rtol=TOL,
                               atol=TOL * execution.init_cash)


@FAST
@given(markets())
def test_vectorbt_rebuilds_the_same_book_from_the_order_records(case):
    """vectorbt's Portfolio, replaying the kernel's order records, agrees with the kernel's own
    bookkeeping: two independent accountings of the same fills."""
    targets, open_, close, execution = case
    result = simulate(targets, open_, close, execution)
    portfolio = result.portfolio()
    np.testing.assert_allclose(portfolio.value().to_numpy(), result.equity.to_numpy(), rtol=TOL)
    np.testing.assert_allclose(portfolio.assets().to_numpy(), result.positions.to_numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(portfolio.cash().to_numpy(), result.cash.to_numpy(), rtol=TOL, atol=1e-6)


@FAST
@given(markets(max_sessions=60), st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=5))
def test_books_simulated_together_equal_each_simulated_alone(case, seeds):
    """simulate_many runs books in parallel threads; each book's result is its own simulate's, exactly."""
    first, open_, close, execution = case
    targets = [first] + [random_targets(seed, close.index, list(close.columns), 0.3) for seed in seeds]
    together = simulate_many(targets, open_, close, execution)
    for frame, book in zip(targets, together, strict=True):
        alone = simulate(frame, open_, close, execution)
        pd.testing.assert_series_equal(book.equity, alone.equity)
        pd.testing.assert_frame_equal(book.positions, alone.positions)
        pd.testing.assert_frame_equal(book.orders, alone.orders)


@FAST
@given(markets())
def test_fills_at_next_session_price_with_slippage(case):
    """A decision on t fills on t+1 at open[t+1] (or close[t+1]) x (1 +/- slippage), and only if decided."""
    targets, open_, close, execution = case
    orders = simulate(targets, open_, close, execution).orders
    fill_frame = open_ if execution.fill == "next_open" else close
    position = close.index.get_indexer(orders.session)
    assert (close.index.get_indexer(orders.decided) == position - 1).all()
    base = np.array([fill_frame.at[s, sym] for s, sym in zip(orders.session, orders.symbol)])
    side = np.where(orders.side == "buy", 1.0, -1.0)
    np.testing.assert_allclose(orders.price, base * (1 + side * execution.slippage_bps / 1e4), rtol=1e-15)
    decided = np.array([targets.at[d, sym] for d, sym in zip(orders.decided, orders.symbol)])
    assert not np.isnan(decided).any()
    np.testing.assert_allclose(orders.fees, orders.notional * execution.fees_bps / 1e4, rtol=TOL)


@FAST
@given(markets(max_sessions=60), st.data())
def test_no_look_ahead(case, data):
    """Changing every price after session T changes nothing up to and including T."""
    targets, open_, close, execution = case
    cut = data.draw(st.integers(0, len(close) - 2))
    shock = np.random.default_rng(cut).uniform(0.5, 1.5, (2, *close.shape))
    shock[:, : cut + 1] = 1.0
    before = simulate(targets, open_, close, execution)
    after = simulate(targets, open_ * shock[0], close * shock[1], execution)
    head = close.index[: cut + 1]
    pd.testing.assert_series_equal(before.equity[head], after.equity[head])
    pd.testing.assert_series_equal(before.cash[head], after.cash[head])
    pd.testing.assert_frame_equal(before.positions.loc[head], after.positions.loc[head])
    early = before.orders.session <= head[-1]
    pd.testing.assert_frame_equal(before.orders[early], after.orders[after.orders.session <= head[-1]])


@FAST
@given(
    st.integers(2, 6).flatmap(lambda n: weights_strategy(n)),
    st.floats(0.0, 20.0),
    st.floats(0.0, 20.0),
    st.floats(0.01, 0.05),
)
def test_same_targets_twice_on_flat_prices_trade_once_with_band(weights, fees_bps, slippage_bps, band):
    """Re-applying unchanged targets is a no-op when the band exceeds what fees and slippage moved."""
    open_, close = flat_market(len(weights))
    targets = decide(close, {1: weights, 4: weights, 6: weights})
    execution = ExecutionSettings(fees_bps=fees_bps, slippage_bps=slippage_bps, min_trade_weight=band)
    orders = simulate(targets, open_, close, execution).orders
    assert set(orders.session) == {close.index[2]}
    assert len(orders) == sum(w >= band for w in weights)


@FAST
@given(st.integers(2, 6).flatmap(lambda n: weights_strategy(n)))
def test_same_targets_twice_without_costs_or_band_trade_nothing_more(weights):
    open_, close = flat_market(len(weights))
    targets = decide(close, {1: weights, 4: weights})
    result = simulate(targets, open_, close, ExecutionSettings())
    assert set(result.orders.session) == {close.index[2]}
    np.testing.assert_allclose(result.weights.iloc[-1], weights, rtol=1e-12)


@FAST
@given(st.integers(0, 2**31 - 1))
def test_equal_weight_is_a_fifth_of_total_equity_at_the_decision_close(seed):
    """20% each of total equity at the decision close (not 20/16/12.8% of what cash is left), also after
    drift: share counts are fixed from the close of t, the buys scaled together when the open gaps up."""
    open_, close = random_market(seed, n_names=5, n_sessions=30, gap_rate=0.0, late_rate=0.0)
    targets = decide(close, {0: [0.2] * 5, 20: [0.2] * 5})
    result = simulate(targets, open_, close, ExecutionSettings())
    orders = result.orders.assign(ordered=result.ordered_shares)
    for decided in (0, 20):
        fills = orders[orders.session == close.index[decided + 1]].set_index("symbol")
        signed = fills.ordered.where(fills.side == "buy", -fills.ordered).reindex(close.columns, fill_value=0.0)
        ordered_to = result.positions.iloc[decided] + signed
        np.testing.assert_allclose(ordered_to * close.iloc[decided] / result.equity.iloc[decided], 0.2, rtol=1e-12)
        scale = result.buy_scale[decided + 1]
        np.testing.assert_allclose(fills.shares[fills.side == "buy"], fills.ordered[fills.side == "buy"] * scale,
                                   rtol=1e-12)
        assert result.cash.iloc[decided + 1] >= 0 and (scale == 1.0 or result.cash.iloc[decided + 1] < 1e-6)


@FAST
@given(st.integers(0, 2**31 - 1))
def test_equal_weight_is_a_fifth_of_total_equity_at_the_fill_when_sized_there(seed):
    """size_at: fill: 20% each of total equity at the fill prices, also after drift."""
    open_, close = random_market(seed, n_names=5, n_sessions=30, gap_rate=0.0, late_rate=0.0)
    targets = decide(close, {0: [0.2] * 5, 20: [0.2] * 5})
    result = simulate(targets, open_, close, ExecutionSettings(size_at="fill"))
    for fill in (1, 21):
        held = result.positions.iloc[fill] * open_.iloc[fill]
        np.testing.assert_allclose(held / held.sum(), 0.2, rtol=1e-12)
        equity_at_fill = result.cash.iloc[fill] + held.sum()
        np.testing.assert_allclose(held / equity_at_fill, 0.2, rtol=1e-12)
    first = result.orders[result.orders.session == close.index[1]]
    np.testing.assert_allclose(first.notional, 200_000.0, rtol=1e-12)


@FAST
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 30.0), st.floats(0.0, 30.0), st.sampled_from(["decision", "fill"]))
def test_rotation_without_spare_cash_completes(seed, fees_bps, slippage_bps, size_at):
    """All-in S1, then all-in S0: the sell of S1 funds the buy of S0 although S0 comes first in column order.
    Sized at the fill, S0 gets the whole book less costs; sized at the decision close, S0 gets the shares
    ordered then, or what the cash pays for if the open gapped up."""
    open_, close = random_market(seed, n_names=2, n_sessions=12, gap_rate=0.0, late_rate=0.0)
    targets = decide(close, {2: [0.0, 1.0], 6: [1.0, 0.0]})
    execution = ExecutionSettings(fees_bps=fees_bps, slippage_bps=slippage_bps, size_at=size_at)
    result = simulate(targets, open_, close, execution)
    rotation = result.orders[result.orders.session == close.index[7]]
    assert list(zip(rotation.symbol, rotation.side)) == [("S1", "sell"), ("S0", "buy")]
    assert result.positions.iloc[7, 1] == 0.0
    if size_at == "decision":
        ordered = result.equity.iloc[6] / close.iloc[6, 0]
        affordable = result.cash.iloc[7] + rotation.notional.iloc[1] + rotation.fees.iloc[1]
        cost = open_.iloc[7, 0] * (1 + slippage_bps / 1e4) * (1 + fees_bps / 1e4)
        np.testing.assert_allclose(result.positions.iloc[7, 0], min(ordered, affordable / cost), rtol=1e-9)
        return
    book_at_fill = result.cash.iloc[6] + result.positions.iloc[6, 1] * open_.iloc[7, 1]
    s0_at_fill = result.positions.iloc[7, 0] * open_.iloc[7, 0]
    costs = 2 * (fees_bps + slippage_bps) / 1e4  # one sell and one buy, each paying fee and slippage
    assert 1 - costs - TOL <= s0_at_fill / book_at_fill <= 1 + TOL


def test_last_session_decision_never_fills_and_unlisted_names_are_skipped():
    open_, close = flat_market(3, n_sessions=5)
    open_.iloc[:3, 2] = np.nan
    close.iloc[:3, 2] = np.nan
    targets = decide(close, {1: [0.3, 0.3, 0.3], 4: [0.0, 0.0, 0.0]})
    orders = simulate(targets, open_, close, ExecutionSettings()).orders
    assert list(orders.symbol) == ["N0", "N1"]
    assert set(orders.session) == {close.index[2]}


def test_missing_fill_price_skips_only_that_name_and_marks_it_at_last_price():
    open_, close = flat_market(2, n_sessions=6)
    targets = decide(close, {0: [0.5, 0.5], 2: [0.0, 0.0]})
    open_.iloc[3, 1] = np.nan  # N1 has no open on the session the sell-out fills
    result = simulate(targets, open_, close, ExecutionSettings())
    sell = result.orders[result.orders.session == close.index[3]]
    assert list(sell.symbol) == ["N0"]
    assert result.positions.iloc[-1].tolist() == [0.0, 5000.0]


@pytest.mark.parametrize("bad", [-0.1, np.inf])
def test_negative_or_infinite_targets_are_refused(bad):
    open_, close = flat_market(2)
    with pytest.raises(ValueError, match="N1.*long-only"):
        simulate(decide(close, {1: [0.5, bad]}), open_, close, ExecutionSettings())


def test_misaligned_frames_are_refused():
    open_, close = flat_market(2)
    with pytest.raises(ValueError, match="targets columns differ"):
        simulate(decide(close, {1: [0.5, 0.5]}).rename(columns={"N1": "X"}), open_, close, ExecutionSettings())
    with pytest.raises(ValueError, match="open_ index differs"):
        simulate(decide(close, {1: [0.5, 0.5]}), open_.iloc[1:], close, ExecutionSettings())


def test_a_cash_shortfall_cuts_every_buy_by_the_same_factor():
    """Half in each name at the decision close; A opens 20% up, so the orders cost more than the cash:
    both buys get the same fraction of their ordered shares (sized at the fill, A alone fell short)."""
    open_, close = flat_market(2, n_sessions=4)
    open_.iloc[2, 0] = 120.0
    targets = decide(close, {1: [0.5, 0.5]})
    result = simulate(targets, open_, close, ExecutionSettings(fees_bps=10.0))
    scale = 1_000_000 / (5_000 * 120.0 * 1.001 + 5_000 * 100.0 * 1.001)  # a hand count: 5,000 shares each ordered
    np.testing.assert_allclose(result.positions.iloc[2], [5_000 * scale, 5_000 * scale], rtol=1e-12)
    np.testing.assert_allclose(result.buy_scale[2], scale, rtol=1e-12)
    assert 0 <= result.cash.iloc[2] < 1e-6
    at_fill = simulate(targets, open_, close, ExecutionSettings(fees_bps=10.0, size_at="fill"))
    assert at_fill.positions.iloc[2, 1] == pytest.approx(5_000.0)  # N1, the smaller order, filled in full
    assert at_fill.positions.iloc[2, 0] < 0.999 * 500_000 / 120  # N0 took the whole shortfall


def test_the_readme_worked_example_of_one_rebalance():
    """README "When orders are sized": the numbers worked out by hand there."""
    sessions = pd.bdate_range("2025-03-03", periods=3)
    close = pd.DataFrame({"A": [100.0] * 3, "B": [50.0] * 3, "C": [20.0] * 3, "D": [10.0] * 3}, sessions)
    open_ = close.copy()
    open_.iloc[1] = [104.0, 49.0, 20.5, 10.0]
    targets = decide(close, {0: [0.5, 0.3, 0.19, 0.01]})
    execution = ExecutionSettings(fees_bps=5, slippage_bps=5, min_trade_weight=0.02, init_cash=100_000.0)
    result = simulate(targets, open_, close, execution)
    ordered = np.array([500.0, 600.0, 950.0])  # 50,000 / 100, 30,000 / 50, 19,000 / 20; D inside the band
    cost = (ordered * np.array([104.0, 49.0, 20.5]) * 1.0005 * 1.0005).sum()
    assert cost == pytest.approx(100_975.90, abs=0.01)
    fills = result.orders.set_index("symbol")
    assert "D" not in fills.index
    np.testing.assert_allclose(fills.shares[["A", "B", "C"]], ordered * 100_000 / cost, rtol=1e-12)
    np.testing.assert_allclose(fills.shares[["A", "B", "C"]], [495.17, 594.20, 940.82], atol=0.005)
    at_fill = simulate(targets, open_, close, ExecutionSettings(**{**execution.__dict__, "size_at": "fill"}))
    np.testing.assert_allclose(at_fill.orders.set_index("symbol").shares[["A", "B", "C"]],
                               [480.77, 612.24, 926.83], atol=0.005)


def test_simulation_runs_before_any_rule_is_registered(tmp_path):
    """engine.sim alone (no strategies imported, so no stateful rule registered) still simulates: a phase
    without rules gets a placeholder step (numba cannot type a loop over an empty tuple)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from engine.sim.simulate import ExecutionSettings, simulate\n"
        "assert 'strategies' not in sys.modules\n"
        "idx = pd.bdate_range('2024-01-01', periods=5)\n"
        "px = pd.DataFrame({'A': [10.0, 11, 12, 13, 14]}, index=idx)\n"
        "targets = pd.DataFrame({'A': [1.0] + [np.nan] * 4}, index=idx)\n"
        "r = simulate(targets, px, px, ExecutionSettings(fill='next_open', fees_bps=0.0, slippage_bps=0.0,"
        " min_trade_weight=0.0, init_cash=1000.0))\n"
        "print(round(float(r.equity.iloc[-1]), 6))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip()) == pytest.approx(1000.0 / 11 * 14)  # bought at the open of day 2 (11), marked at 14
