"""Stateful rules in the compiled simulation: hand-built paths, invariants, the slow reference, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from staging_reference import reference_staged
from test_sim_reference import random_market, random_targets

from engine.sim.simulate import ExecutionSettings, last_known_price, simulate
from strategies.caps import CapsConfig
from strategies.drawdown_exit import DrawdownExitConfig
from strategies.profit_taking import ProfitTakingConfig
from strategies.stop_loss import StopLossConfig
from strategies.staged_entry import StagedEntryConfig
from strategies.staging import compile_rules

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-9
THIRD = 1 / 3


def frames(closes: dict[str, list[float]], open_ratio: float = 0.99):
    """(open, close) with opens a fixed ratio of the close, so a fill at the open is recognisable."""
    close = pd.DataFrame(closes, index=pd.bdate_range("2024-01-01", periods=len(next(iter(closes.values())))),
                         dtype=float)
    return close * open_ratio, close


def decide(close: pd.DataFrame, rows: dict[int, dict[str, float]]) -> pd.DataFrame:
    targets = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    for row, weights in rows.items():
        for symbol, weight in weights.items():
            targets.iloc[row, targets.columns.get_loc(symbol)] = weight
    return targets


# A: bought at the open of 1 (99); closes 121 (+22% over 99) on 3 and 141 (+42%) on 5; peak 160 on 7;
# 143 on 9 is 10.6% below the peak; then it falls to 110 and recovers
PATH = [100, 100, 110, 121, 130, 141, 150, 160, 150, 143, 140, 130, 110, 120, 125, 126, 127, 128, 129, 130]
TWO_STAGES = dict(stages=[dict(gain=0.2, sell=THIRD), dict(gain=0.4, sell=THIRD)], trailing_stop=0.1)


def run_profit_taking(profit_taking: ProfitTakingConfig, rows: dict[int, dict[str, float]]):
    open_, close = frames({"A": PATH, "B": [100.0] * len(PATH)})
    rules = compile_rules(["A", "B"], {}, profit_taking=profit_taking)
    result = simulate(decide(close, rows), open_, close, ExecutionSettings(), rules)
    return result, open_, result.orders[result.orders.symbol == "A"]


def test_two_stages_sell_a_third_of_the_base_each_then_the_trailing_stop_exits_the_rest():
    rows = {0: {"A": 0.5, "B": 0.5}, 7: {"A": 0.5, "B": 0.5}}  # the rebalance on 7 must not buy A back
    result, open_, orders = run_profit_taking(ProfitTakingConfig(**TWO_STAGES), rows)
    bought = 500_000 / PATH[0]  # sized at the decision close
    assert list(orders.session) == list(open_.index[[1, 4, 6, 10]])
    assert list(orders.side) == ["buy", "sell", "sell", "sell"]
    np.testing.assert_allclose(orders.shares, [bought, bought / 3, bought / 3, bought / 3], rtol=1e-12)
    np.testing.assert_allclose(orders.price, open_.A.iloc[[1, 4, 6, 10]], rtol=1e-15)
    assert result.positions.A.iloc[-1] == 0.0
    log = result.kernel_log[result.kernel_log.symbol == "A"]
    assert list(zip(log.session, log.rule)) == [
        (open_.index[4], "profit_taking"), (open_.index[6], "profit_taking"),
        (open_.index[8], "profit_taking"), (open_.index[10], "trailing_stop")]
    assert log.reason.iloc[2].startswith("target capped at the 33.3% of the position left after 2 stage(s)")
    assert log.reason.iloc[3].startswith("close -10.6% from the peak close 160.00")


@pytest.mark.parametrize("pullback, first_rebuy", [(None, 15), (0.2, 13)])
def test_reentry_waits_for_the_cooldown_or_a_pullback_below_the_exit(pullback, first_rebuy):
    # the stop fills at the open of 10 (138.6); the pipeline asks for A every session from 10 on;
    # cooldown 5: a buy may fill from 15; the close of 12 (110) is 20.6% below the exit price
    rows = {0: {"A": 0.5, "B": 0.5}} | {t: {"A": 0.5} for t in range(10, len(PATH) - 1)}
    profit_taking = ProfitTakingConfig(**TWO_STAGES, reentry=dict(cooldown=5, pullback=pullback))
    result, open_, orders = run_profit_taking(profit_taking, rows)
    buys = orders[(orders.side == "buy") & (orders.session > open_.index[10])]
    assert buys.session.iloc[0] == open_.index[first_rebuy]
    blocked = result.kernel_log[result.kernel_log.rule == "reentry_block"]
    assert list(blocked.session) == list(open_.index[11:first_rebuy])
    without = run_profit_taking(ProfitTakingConfig(**TWO_STAGES), rows)[2]
    assert without[without.side == "buy"].session.iloc[1] == open_.index[11]  # no reentry rule: at once


def test_staged_entry_buys_equal_tranches_on_schedule_and_early_on_a_pullback():
    open_, close = frames({"A": [100.0] * 12, "B": [100.0] * 12}, open_ratio=1.0)  # B: never traded
    targets = decide(close, {0: {"A": 0.6}})
    entry = compile_rules(["A", "B"], {}, staged_entry=StagedEntryConfig(tranches=3, every=2))
    orders = simulate(targets, open_, close, ExecutionSettings(), entry).orders
    assert list(orders.session) == list(close.index[[1, 3, 5]])
    np.testing.assert_allclose(orders.notional, 200_000.0, rtol=1e-12)

    close.iloc[2:, 0] = 94.0  # the close of 2 is 6% below the first tranche's fill (100): buy on 3
    open_.iloc[3:, 0] = 94.0
    early = compile_rules(["A", "B"], {}, staged_entry=StagedEntryConfig(tranches=3, every=3, pullback=0.05))
    result = simulate(targets, open_, close, ExecutionSettings(), early)
    assert list(result.orders.session) == list(close.index[[1, 3, 6]])
    equity_at_fill = result.cash.shift(1) + result.positions.A.shift(1) * open_.A
    np.testing.assert_allclose(result.orders.notional.iloc[:2], 0.2 * equity_at_fill.iloc[[1, 3]], rtol=1e-12)
    # the third and last tranche buys what is left to 60%: more than a fifth, since A fell
    np.testing.assert_allclose(result.positions.A.iloc[6] * 94.0, 0.6 * equity_at_fill.iloc[6], rtol=1e-12)


def test_no_buy_mask_holds_a_buy_until_it_lifts():
    open_, close = frames({"A": [100.0] * 8, "B": [100.0] * 8})
    no_buy = pd.DataFrame(False, index=close.index, columns=["A", "B"])
    no_buy.iloc[:4, 0] = True  # decisions on 0..3 may not buy A: the buy decided on 0 fills on 5
    result = simulate(decide(close, {0: {"A": 0.5}}), open_, close, ExecutionSettings(),
                      compile_rules(["A", "B"], {}, no_buy=no_buy))
    assert list(result.orders.session) == [close.index[5]]
    assert list(result.kernel_log.rule) == ["no_buy"]


def test_kernel_log_overflow_is_a_clear_error():
    rules = compile_rules(["A", "B"], {}, staged_entry=StagedEntryConfig(tranches=3))
    open_, close = frames({"A": [100.0] * 8, "B": [100.0] * 8})
    with pytest.raises(ValueError, match="log_capacity"):
        simulate(decide(close, {0: {"A": 0.6}}), open_, close, ExecutionSettings(),
                 type(rules)(**{**rules.__dict__, "log_capacity": 2}))


def test_stage_configs_are_checked():
    with pytest.raises(ValidationError, match="strictly rising"):
        ProfitTakingConfig(stages=[dict(gain=0.4, sell=0.3), dict(gain=0.2, sell=0.3)])
    with pytest.raises(ValidationError, match="at most 1"):
        ProfitTakingConfig(stages=[dict(gain=0.2, sell=0.6), dict(gain=0.4, sell=0.6)])
    assert ProfitTakingConfig.model_validate(
        dict(stages=[dict(gain=0.2, sell=0.5)], surge={"sessions": 5, "return": 0.3})).surge.return_ == 0.3


# ---- random cases: every rule on at once -------------------------------------------------------

@st.composite
def rule_cases(draw, max_sessions=100):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n, n_sessions = draw(st.integers(2, 5)), draw(st.integers(30, max_sessions))
    open_, close = random_market(seed, n, n_sessions, draw(st.sampled_from([0.0, 0.03])))
    trend = np.exp(np.cumsum(np.full(close.shape, draw(st.floats(0.0, 0.006))), axis=0))  # lets stages fire
    open_, close = open_ * trend, close * trend
    symbols = list(close.columns)
    groups = {"g1": symbols[:2], "g2": symbols[1:3]}
    caps = CapsConfig(name=draw(st.sampled_from([0.25, 0.35])), groups={"g1": 0.45, "g2": 0.5},
                      band=draw(st.sampled_from([0.0, 0.01, 0.03])))
    profit_taking = ProfitTakingConfig(
        stages=[dict(gain=0.05, sell=0.3), dict(gain=0.12, sell=0.3), dict(gain=0.25, sell=0.4)],
        surge={"sessions": 5, "return": 0.04}, surge_z=dict(sessions=3, z=1.5, vol_window=10),
        trailing_stop=draw(st.sampled_from([None, 0.05])),
        reentry=draw(st.sampled_from([None, dict(cooldown=4, pullback=0.05), dict(cooldown=0)])),
    )
    entry = draw(st.sampled_from([None, StagedEntryConfig(tranches=3, every=2, pullback=0.02)]))
    stop_loss = draw(st.sampled_from([None, StopLossConfig(loss=0.03, sell=0.5),
                                      StopLossConfig(loss=0.04, sell=1.0, reentry=dict(cooldown=3, pullback=0.02))]))
    drawdown = draw(st.sampled_from([None, DrawdownExitConfig(drawdown=0.06, reentry=dict(cooldown=2))]))
    gross_limit = pd.Series(rng.choice([np.nan, 0.8, 0.9], n_sessions), close.index)
    no_buy = pd.DataFrame(rng.random((n_sessions, n)) < 0.05, close.index, symbols)
    execution = ExecutionSettings(
        fill=draw(st.sampled_from(["next_open", "next_close"])), fees_bps=draw(st.sampled_from([0.0, 10.0])),
        slippage_bps=draw(st.sampled_from([0.0, 5.0])), min_trade_weight=draw(st.sampled_from([0.0, 0.02])),
        size_at=draw(st.sampled_from(["decision", "fill"])))
    targets = random_targets(seed, close.index, symbols, draw(st.floats(0.05, 0.3)))
    configs = dict(caps=caps, profit_taking=profit_taking, staged_entry=entry, gross_limit=gross_limit, no_buy=no_buy,
                   stop_loss=stop_loss, drawdown_exit=drawdown)
    return targets, open_, close, groups, configs, execution


def run_case(case):
    targets, open_, close, groups, configs, execution = case
    return simulate(targets, open_, close, execution, compile_rules(list(close.columns), groups, **configs))


@FAST
@given(rule_cases())
def test_compiled_rules_match_the_slow_reference(case):
    targets, open_, close, groups, configs, execution = case
    result = run_case(case)
    equity, cash, positions, orders, log = reference_staged(
        targets, open_, close, groups, **configs, fill=execution.fill, fees_bps=execution.fees_bps,
        slippage_bps=execution.slippage_bps, band=execution.min_trade_weight, size_at=execution.size_at)
    np.testing.assert_allclose(result.equity, equity, rtol=TOL, atol=0)
    np.testing.assert_allclose(result.cash, cash, rtol=0, atol=TOL * equity.max())
    np.testing.assert_allclose(result.positions * last_known_price(open_, close).fillna(0),
                               positions * last_known_price(open_, close).fillna(0), rtol=0, atol=TOL * equity.max())
    theirs = pd.DataFrame(log, columns=["session", "symbol", "rule", "before", "after"])
    ours = result.kernel_log[theirs.columns]
    pd.testing.assert_frame_equal(ours[["session", "symbol", "rule"]], theirs[["session", "symbol", "rule"]],
                                  check_dtype=False)
    np.testing.assert_allclose(ours[["before", "after"]].astype(float), theirs[["before", "after"]].astype(float),
                               rtol=0, atol=TOL)
    assert len(result.orders) == len(orders)


@FAST
@given(rule_cases())
def test_book_invariants_with_every_rule_on(case):
    """Cash >= 0, never short, never sell more than held, equity = cash + holdings."""
    targets, open_, close, groups, configs, execution = case
    result = run_case(case)
    assert (result.cash >= 0).all() and (result.positions >= 0).all().all()
    marked = (result.positions * last_known_price(open_, close).fillna(0)).sum(axis=1)
    np.testing.assert_allclose(result.equity, result.cash + marked, rtol=TOL)
    held_before = result.positions.shift(1, fill_value=0.0)
    for order in result.orders[result.orders.side == "sell"].itertuples():
        assert order.shares <= held_before.at[order.session, order.symbol] * (1 + 1e-12)


@FAST
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.01, 0.03]), st.sampled_from([0.27, 0.3]))
def test_drift_trims_bring_every_name_over_cap_plus_band_back_to_the_cap_with_sells_only(seed, band, cap):
    """Whenever a name closes above cap + band, the next fill leaves it at most at the cap (of the
    equity the fill is sized on: the decision close's), by sells only, between rebalances; every trim
    is logged."""
    open_, close = random_market(seed, 4, 80, 0.0, late_rate=0.0)
    climb = np.exp(0.02 * np.arange(80))  # S0 outgrows the others: it must be trimmed
    open_["S0"] *= climb
    close["S0"] *= climb
    targets = decide(close, {0: dict.fromkeys(close.columns, 0.25), 40: dict.fromkeys(close.columns, 0.25)})
    rules = compile_rules(list(close.columns), {}, caps=CapsConfig(name=cap, band=band))
    result = simulate(targets, open_, close, ExecutionSettings(), rules)
    weights_at_close = result.positions * last_known_price(open_, close) / result.equity.to_numpy()[:, None]
    marks = last_known_price(open_, close)
    weights_after_fill = result.positions * marks.shift(1) / result.equity.shift(1).to_numpy()[:, None]
    over = weights_at_close.shift(1, fill_value=0.0) > cap + band
    assert over.S0.any()
    assert ((weights_after_fill <= cap + 1e-9) | ~over).all().all()
    between = result.orders[~result.orders.decided.isin(close.index[[0, 40]])]
    assert (between.side == "sell").all()
    trims = result.kernel_log
    assert (trims.rule == "caps_drift").all() and (trims.after < trims.before).all()
    assert sorted(zip(trims.session, trims.symbol)) == sorted(zip(between.session, between.symbol))


@FAST
@given(rule_cases(max_sessions=60), st.data())
def test_no_look_ahead(case, data):
    """Changing every price after session T changes nothing up to and including T."""
    targets, open_, close, groups, configs, execution = case
    cut = data.draw(st.integers(0, len(close) - 2))
    shock = np.random.default_rng(cut).uniform(0.5, 1.5, (2, *close.shape))
    shock[:, : cut + 1] = 1.0
    before = run_case(case)
    after = run_case((targets, open_ * shock[0], close * shock[1], groups, configs, execution))
    head = close.index[: cut + 1]
    pd.testing.assert_series_equal(before.equity[head], after.equity[head])
    pd.testing.assert_frame_equal(before.positions.loc[head], after.positions.loc[head])
    early = before.kernel_log.session <= head[-1]
    pd.testing.assert_frame_equal(before.kernel_log[early], after.kernel_log[after.kernel_log.session <= head[-1]])


@FAST
@given(rule_cases())
def test_rules_all_off_equal_the_plain_simulation(case):
    targets, open_, close, _, _, execution = case
    plain = simulate(targets, open_, close, execution)
    compiled = simulate(targets, open_, close, execution, compile_rules(list(close.columns), {}))
    pd.testing.assert_series_equal(plain.equity, compiled.equity, rtol=1e-12)
    pd.testing.assert_frame_equal(plain.orders, compiled.orders, rtol=1e-12)
    assert compiled.kernel_log.empty
