"""Stop-loss: sell part of a name whose close falls ``loss`` below its average cost (path-dependent).

On a held name, at session t (on the close of t-1): when close / average cost - 1 <= -loss
(the cost includes slippage and fees, on the simulated total-return prices) the rule sells
the fraction ``sell`` of the shares held, once per holding: the name is then capped at the
shares left until it is flat again, so a rebalance cannot buy back what the stop sold. With
``sell: 1`` the name is exited and ``reentry`` governs when buying may start again.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from engine.strict import StrictModel
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_kernels import COST, LogCode, State, StatefulRule, columns, exit_by_rule_nb, record_nb
from strategies.reentry import ReentryConfig, reentry_values
from strategies.rule_types import Rule

PARAMS = ("loss", "sell", "cooldown", "pullback")
LOSS, SELL, COOLDOWN, PULLBACK = columns(PARAMS, 1)
FIRED, BASE = range(2)  # state: the stop fired in this holding, shares held when it fired
STOPPED, CAPPED = range(2)  # log codes


class StopLossConfig(StrictModel):
    loss: float = Field(0.10, gt=0, lt=1, description="fall of the close below the average cost that fires "
                        "the stop, e.g. 0.10")
    sell: float = Field(1.0, gt=0, le=1, description="fraction of the position sold when it fires (1 = exit)")
    reentry: ReentryConfig | None = Field(None, description="after a full stop-loss exit, no buying until this "
                                          "holds; null = buy again at once")


def _values(cfg: StopLossConfig, symbols: list[str]) -> dict:
    return {"loss": cfg.loss, "sell": cfg.sell, **reentry_values(cfg.reentry)}


def stop_loss_step(i, col, k, pos, price, w_fill, equity, due, target, marks, rules, p, state, s, log,
                   log_count, c):
    """(weight cap after the stop fired (inf = not fired), forced target or NaN)."""
    left = 1.0 - rules[col, p + SELL]
    if state[col, s + FIRED] == 0.0:
        mark, average = marks[i - 1, k], state[col, COST] / pos
        if not mark / average - 1.0 <= -rules[col, p + LOSS]:
            return np.inf, np.nan
        state[col, s + FIRED], state[col, s + BASE] = 1.0, pos
        limit = w_fill * left if left > 1e-12 else 0.0  # weights at the sizing price
        record_nb(log, log_count, i, col, c + STOPPED, w_fill, limit, mark / average - 1.0, average)
        if limit == 0.0:
            exit_by_rule_nb(state, col, i, price, rules[col, p + COOLDOWN], rules[col, p + PULLBACK])
        return limit, limit if np.isnan(due) else min(due, limit)
    limit = w_fill * (min(state[col, s + BASE] * left, pos) / pos)
    if due > limit + FLOAT_NOISE_WEIGHT and due > w_fill + FLOAT_NOISE_WEIGHT:
        record_nb(log, log_count, i, col, c + CAPPED, due, limit, 0.0, 0.0)
        return limit, limit
    return limit, np.nan


STOP_LOSS = StatefulRule(
    "stop_loss", "exit", PARAMS, (State("fired"), State("base")),
    (LogCode("stop_loss", "close {a:+.1%} from the average cost {b:.2f}: sell {move}"),
     LogCode("stop_loss", "target capped at what the stop-loss left: {move}")),
    stop_loss_step, _values)

RULES = (Rule("stop_loss", "path", StopLossConfig, "sell a name whose close falls below its average cost",
              {"loss": 0.08, "sell": 1.0, "reentry": {"cooldown": 5}}, kernel=STOP_LOSS),)
