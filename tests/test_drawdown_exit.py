"""rules.drawdown_exit: a hand-built path, its re-entry, and the slow reference on the same path."""

from __future__ import annotations

import numpy as np
import pytest
from staging_reference import reference_staged
from test_staging import decide, frames

from engine.sim.simulate import ExecutionSettings, simulate
from strategies.drawdown_exit import DrawdownExitConfig
from strategies.staging import compile_rules

# bought at the open of 1; peak close 120 on 2; the close of 4 (100) is 16.7% below it
PATH = [100, 110, 120, 115, 100, 95, 90, 99, 101, 104, 108, 110, 112, 115]


def run(drawdown_exit: DrawdownExitConfig, rows):
    open_, close = frames({"A": PATH, "B": [100.0] * len(PATH)})
    targets = decide(close, rows)
    rules = compile_rules(["A", "B"], {}, drawdown_exit=drawdown_exit)
    result = simulate(targets, open_, close, ExecutionSettings(fees_bps=5, slippage_bps=5), rules)
    equity = reference_staged(targets, open_, close, {}, drawdown_exit=drawdown_exit, fees_bps=5, slippage_bps=5)[0]
    np.testing.assert_allclose(result.equity, equity, rtol=1e-12)
    return result, open_, result.orders[result.orders.symbol == "A"]


def test_a_fall_from_the_peak_since_entry_exits_the_name():
    result, open_, orders = run(DrawdownExitConfig(drawdown=0.15), {0: {"A": 0.5, "B": 0.5}})
    assert list(orders.session) == list(open_.index[[1, 5]]) and list(orders.side) == ["buy", "sell"]
    assert result.positions.A.iloc[5] == 0.0
    log = result.kernel_log
    assert list(log.rule) == ["drawdown_exit"] and log.session.iloc[0] == open_.index[5]
    assert log.reason.iloc[0].startswith("close -16.7% from the peak close 120.00 since entry: exit")


def test_the_peak_counts_from_the_entry_not_before_it():
    # bought on the decision of 3 (fills at 4): the peak since entry is the close of 4 (100), not 120
    result, _, orders = run(DrawdownExitConfig(drawdown=0.15), {3: {"A": 0.5, "B": 0.5}})
    assert len(orders) == 1 and result.kernel_log.empty


@pytest.mark.parametrize("reentry, first_rebuy", [(None, 6), ({"cooldown": 3}, 8), ({"cooldown": 9, "pullback": 0.04}, 7)])
def test_reentry_waits_for_the_cooldown_or_a_pullback(reentry, first_rebuy):
    # the exit fills at the open of 5 (94.05, 94.00 after slippage); 4% below it is 90.24: the close of 6 (90)
    rows = {0: {"A": 0.5, "B": 0.5}} | {t: {"A": 0.5} for t in range(5, len(PATH) - 1)}
    result, open_, orders = run(DrawdownExitConfig(drawdown=0.15, reentry=reentry), rows)
    assert orders.session.iloc[2] == open_.index[first_rebuy] and orders.side.iloc[2] == "buy"
