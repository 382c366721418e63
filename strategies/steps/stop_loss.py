"""The compiled step of strategies.stop_loss (imported when a simulation first runs the rule)."""

from __future__ import annotations

import numpy as np

from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.sim.rule_kernels import exit_by_rule_nb, record_nb
from engine.sim.rule_layout import COST
from strategies.stop_loss import BASE, CAPPED, COOLDOWN, FIRED, LOSS, PULLBACK, SELL, STOPPED


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
