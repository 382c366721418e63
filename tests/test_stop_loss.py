"""rules.stop_loss: a hand-built path, its re-entry, and the slow reference on the same path."""

from __future__ import annotations

import numpy as np
import pytest
from staging_reference import reference_staged
from test_staging import decide, frames

from engine.sim.simulate import ExecutionSettings, simulate
from strategies.staging import compile_rules
from strategies.stop_loss import StopLossConfig

# bought at the open of 1 (99 = average cost); the close of 4 (89) is 10.1% below it; then it recovers
PATH = [100, 100, 95, 92, 89, 85, 90, 95, 100, 105, 110, 112, 115, 118]


def run(stop_loss: StopLossConfig, rows):
    open_, close = frames({"A": PATH, "B": [100.0] * len(PATH)})
    targets = decide(close, rows)
    result = simulate(targets, open_, close, ExecutionSettings(), compile_rules(["A", "B"], {}, stop_loss=stop_loss))
    equity = reference_staged(targets, open_, close, {}, stop_loss=stop_loss)[0]
    np.testing.assert_allclose(result.equity, equity, rtol=1e-12)
    return result, open_, result.orders[result.orders.symbol == "A"]


def test_half_is_sold_once_below_the_loss_and_a_rebalance_cannot_buy_it_back():
    result, open_, orders = run(StopLossConfig(loss=0.10, sell=0.5), {0: {"A": 0.5, "B": 0.5}, 7: {"A": 0.5}})
    bought = 500_000 / PATH[0]  # sized at the decision close (execution.size_at: decision)
    assert list(orders.session) == list(open_.index[[1, 5]]) and list(orders.side) == ["buy", "sell"]
    np.testing.assert_allclose(orders.shares, [bought, bought / 2], rtol=1e-12)
    log = result.kernel_log
    assert list(zip(log.session, log.rule)) == [(open_.index[5], "stop_loss"), (open_.index[8], "stop_loss")]
    assert log.reason.iloc[0].startswith("close -10.1% from the average cost 99.00: sell")
    assert log.reason.iloc[1].startswith("target capped at what the stop-loss left")


@pytest.mark.parametrize("reentry, first_rebuy", [(None, 6), ({"cooldown": 4}, 9)])
def test_a_full_stop_exits_and_reentry_waits_its_cooldown(reentry, first_rebuy):
    rows = {0: {"A": 0.5, "B": 0.5}} | {t: {"A": 0.5} for t in range(5, len(PATH) - 1)}
    result, open_, orders = run(StopLossConfig(loss=0.10, sell=1.0, reentry=reentry), rows)
    assert list(orders.session[:2]) == list(open_.index[[1, 5]])
    assert result.positions.A.iloc[5] == 0.0
    assert orders.session.iloc[2] == open_.index[first_rebuy] and orders.side.iloc[2] == "buy"


def test_a_loss_short_of_the_threshold_does_nothing():
    result, _, orders = run(StopLossConfig(loss=0.15), {0: {"A": 0.5, "B": 0.5}})
    assert len(orders) == 1 and result.kernel_log.empty
